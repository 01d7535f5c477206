"""General (fully connected) Boltzmann machines: sequential Gibbs sweeps,
exact enumeration, AIS and whole-epoch training loops.

A state ``x`` concatenates the visible and the hidden units (visible first).
With a symmetric, zero-diagonal coupling matrix ``W`` and biases ``b``,

    U(x) = -(sum_{i<j} W_ij x_i x_j + sum_i b_i x_i) = -(½ xᵀ W x + bᵀ x).

Every unit's conditional is ``p(x_i = 1 | x_-i) = sigmoid(f_i)`` with the
*local field* ``f = b + W x`` (``W_ii = 0``).  Units are connected to each
other, so they must be updated one at a time (a block update of coupled units
does not leave ``p`` invariant).  The kernels keep ``f`` per chain and, when
unit ``i`` flips by ``δ = ±1``, add ``δ W_i`` to it: a unit update costs
O(1) plus O(n_units) only when the unit changes, instead of a fresh O(n_units)
dot product each time.  Fields are recomputed from scratch at the start of
every kernel call (one BLAS product for all chains), so rounding never
accumulates across calls.

Flipping unit ``u`` by ``δ`` changes ``-U`` by ``δ f_u``: the same fields
drive the Gray-code enumerations (exact ``log Z``, free energies, exact
moments) and the AIS weights.  All scalar maths is float64.

Products call the serial in-place ``gemm`` rather than ``matmul_add``: a
cached kernel that calls the cached ``parallel=True`` block split, compiled
in a process that loaded that split from the disk cache, segfaults when it is
itself loaded from the cache later (numba 0.6x; reproduced here).  The
matrices here are small next to the sequential sweeps anyway.
"""

import numpy as np
from numba import njit

from ._blas import gemm
from ._layers import fill_rows, sigmoid, softplus
from ._rng import draw_u64, load_row, store_row, u64_to_unit, xoshiro_step
from ._sync import run_threads, span


# ---------------------------------------------------------------- helpers
@njit(inline="always")
def _draw(u, a):
    """1.0 with probability ``sigmoid(a)`` given a uniform ``u``, branch-free:
    ``u < 1 / (1 + e^-a)`` as ``u (1 + e^-a) < 1`` (``e^-a = inf`` gives 0)."""
    return 1.0 if u * (1.0 + np.exp(-a)) < 1.0 else 0.0


@njit(inline="always")
def _sweep(x, f, W, beta, base, lo, hi, s0, s1, s2, s3):
    """One sequential Gibbs sweep over units ``lo..hi-1`` of one chain.

    Unit ``i`` is drawn from ``sigmoid(beta f_i + (1 - beta) base_i)`` (a
    tempered conditional; ``beta = 1`` is plain Gibbs).  Only the fields of
    units ``lo..hi-1`` are kept up to date.  Used for the clamped positive
    phase, one training row at a time.
    """
    for i in range(lo, hi):
        r, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
        new = _draw(u64_to_unit(r), beta * f[i] + (1.0 - beta) * base[i])
        delta = new - x[i]
        if delta != 0.0:
            x[i] = new
            for j in range(lo, hi):
                f[j] += delta * W[i, j]
    return s0, s1, s2, s3


@njit(inline="always")
def _mean_field(x, f, W, lo, hi, n_iter, tol):
    """Sequential mean-field updates ``x_i <- sigmoid(f_i)`` for units
    ``lo..hi-1`` (coordinate ascent of the variational free energy, so it
    never needs damping); stops after ``n_iter`` sweeps or when no unit
    moves by more than ``tol``."""
    for _ in range(n_iter):
        largest = 0.0
        for i in range(lo, hi):
            new = sigmoid(f[i])
            delta = new - x[i]
            if delta != 0.0:
                x[i] = new
                largest = max(largest, abs(delta))
                for j in range(lo, hi):
                    f[j] += delta * W[i, j]
        if largest <= tol:
            break


@njit(inline="always")
def _neg_energy(x, f, b):
    """``-U(x) = ½ Σ x_i (f_i + b_i)`` given up-to-date fields ``f``."""
    acc = 0.0
    for i in range(x.size):
        acc += x[i] * (f[i] + b[i])
    return 0.5 * acc


@njit(cache=True, nogil=True)
def local_fields(X, W, b, F):
    """``F = X W + b`` (W is symmetric) with one BLAS call."""
    fill_rows(F, b)
    gemm(False, False, 1.0, X, W, 1.0, F)


@njit(inline="always")
def _enumerate(x, f, W, lo, hi, neg_energy0, marginals):
    """``log Σ exp(-U)`` over the ``2**(hi - lo)`` states of units
    ``lo..hi-1`` (which must be 0 in ``x`` on entry), the others fixed.

    Gray-code order: each step flips one unit, so ``-U`` changes by
    ``δ f_u`` and the fields by ``δ W_u``.  If ``marginals`` has
    ``hi - lo`` entries it receives ``p(x_i = 1 | others)`` of those units.
    ``x`` and ``f`` are modified.
    """
    n = hi - lo
    want = marginals.size > 0
    for k in range(marginals.size):
        marginals[k] = 0.0
    lw = neg_energy0
    running_max = lw
    running_sum = 1.0
    for t in range(1, 1 << n):
        j = 0
        while not (t >> j) & 1:
            j += 1
        u = lo + j
        delta = 1.0 - 2.0 * x[u]
        lw += delta * f[u]
        x[u] += delta
        for k in range(lo, hi):
            f[k] += delta * W[u, k]
        if lw > running_max:
            scale = np.exp(running_max - lw)
            running_sum = running_sum * scale + 1.0
            if want:
                for k in range(n):
                    marginals[k] = marginals[k] * scale + x[lo + k]
            running_max = lw
        else:
            w = np.exp(lw - running_max)
            running_sum += w
            if want:
                for k in range(n):
                    marginals[k] += w * x[lo + k]
    if want:
        for k in range(n):
            marginals[k] /= running_sum
    return running_max + np.log(running_sum)


# ------------------------------------------------------- exact quantities
@njit(cache=True, nogil=True)
def bm_log_partition(W, b):
    """Exact ``log Z`` by enumerating all ``2**n_units`` states."""
    n = b.size
    x = np.zeros(n)
    f = np.empty(n)
    for i in range(n):
        f[i] = b[i]
    return _enumerate(x, f, W, 0, n, 0.0, np.empty(0))


@njit(cache=True, nogil=True)
def bm_visible_scores(V, W, b, want_marginals):
    """Per row of ``V`` (visible units only): ``-F(v) = log Σ_h exp(-U(v, h))``
    by enumerating the hidden units, and (if asked) the exact marginals
    ``p(h_j = 1 | v)``.  Returns ``(neg_free_energy, marginals)``."""
    n_rows, n_visible = V.shape
    n = b.size
    n_hidden = n - n_visible
    out = np.empty(n_rows)
    marg = np.zeros((n_rows, n_hidden if want_marginals else 0))
    X = np.zeros((n_rows, n))
    X[:, :n_visible] = V
    F = np.empty((n_rows, n))
    local_fields(X, W, b, F)
    for r in range(n_rows):
        out[r] = _enumerate(
            X[r], F[r], W, n_visible, n, _neg_energy(X[r], F[r], b), marg[r]
        )
    return out, marg


@njit(cache=True, nogil=True)
def bm_model_moments(W, b):
    """Exact ``E[x]`` and ``E[x xᵀ]`` under the model (two Gray-code passes:
    log-weights first, then the normalised moments)."""
    n = b.size
    n_states = 1 << n
    log_w = np.empty(n_states)
    x = np.zeros(n)
    f = b.copy()
    lw = 0.0
    log_w[0] = 0.0
    for t in range(1, n_states):
        j = 0
        while not (t >> j) & 1:
            j += 1
        delta = 1.0 - 2.0 * x[j]
        lw += delta * f[j]
        x[j] += delta
        for k in range(n):
            f[k] += delta * W[j, k]
        log_w[t] = lw
    top = log_w.max()
    total = 0.0
    for t in range(n_states):
        log_w[t] = np.exp(log_w[t] - top)
        total += log_w[t]
    mean = np.zeros(n)
    second = np.zeros((n, n))
    active = np.empty(n, np.int64)
    state = 0
    for t in range(n_states):
        if t > 0:
            j = 0
            while not (t >> j) & 1:
                j += 1
            state ^= 1 << j
        p = log_w[t] / total
        n_active = 0
        for i in range(n):
            if (state >> i) & 1:
                active[n_active] = i
                n_active += 1
        for a in range(n_active):
            i = active[a]
            mean[i] += p
            for c in range(n_active):
                second[i, active[c]] += p
    return mean, second


@njit(cache=True, nogil=True)
def bm_mean_field(V, W, b, n_iter, tol):
    """Mean-field marginals ``q(h_j = 1)`` of the hidden units given each row
    of ``V`` (sequential updates from ``h = 0``)."""
    n_rows, n_visible = V.shape
    n = b.size
    X = np.zeros((n_rows, n))
    X[:, :n_visible] = V
    F = np.empty((n_rows, n))
    local_fields(X, W, b, F)
    for r in range(n_rows):
        _mean_field(X[r], F[r], W, n_visible, n, n_iter, tol)
    return X[:, n_visible:].copy()


@njit(cache=True, nogil=True)
def bm_pseudo_log_likelihood(X, W, b, n_terms):
    """Mean over rows of ``Σ_{i < n_terms} log p(x_i | x_-i)`` (full states)."""
    n_rows = X.shape[0]
    F = np.empty(X.shape)
    local_fields(X, W, b, F)
    total = 0.0
    for r in range(n_rows):
        for i in range(n_terms):
            total += X[r, i] * F[r, i] - softplus(F[r, i])
    return total / max(n_rows, 1)


# --------------------------------------------------------------- sampling
@njit(cache=True, nogil=True)
def bm_gibbs_(X, W, b, lo, n_sweeps, rng_state):
    """In place: ``n_sweeps`` sequential Gibbs sweeps over units ``lo..`` of
    every row (chain) of ``X``; units before ``lo`` stay clamped.  Row ``r``
    uses RNG row ``r``."""
    n = b.size
    F64 = np.empty(X.shape)
    local_fields(X, W, b, F64)
    # The fields and the copy of W that updates them are float32: half the
    # memory traffic of the flip updates, which dominate beyond ~100 units
    # (2-4x faster measured at 300-1000 units).  Fields start exact at every
    # call; the float32 rounding of k flips drifts them by about
    # sqrt(k) 6e-8 |W_ij|, far below any Monte Carlo error.
    F = F64.astype(np.float32)
    W32 = W.astype(np.float32)
    # Unit-outer, chain-inner: row W_i is read from memory once per unit for
    # all chains (chain-outer order streams all of W once per chain, which
    # is memory-bound beyond a few hundred units).  Each chain still draws
    # from its own stream in unit order, so the order of the loops does not
    # change any result.
    for _ in range(n_sweeps):
        for i in range(lo, n):
            W_i = W32[i]
            for r in range(X.shape[0]):
                u = draw_u64(rng_state, r)
                new = _draw(u64_to_unit(u), np.float64(F[r, i]))
                delta = new - X[r, i]
                if delta != 0.0:
                    X[r, i] = new
                    F_r = F[r]
                    d = np.float32(delta)
                    # all n fields (not only lo..): a loop from 0 vectorises
                    for j in range(n):
                        F_r[j] += d * W_i[j]


def bm_ais(W, b, base_bias, betas, rng_state, n_threads=1):
    """AIS log-weights, one chain per row of ``rng_state``.

    Chains are independent: they go in two fixed blocks (one for a single
    chain), each run by a thread through every temperature, so the result
    does not depend on ``n_threads``. See :func:`_bm_ais_block`.
    """
    n_chains = rng_state.shape[0]
    n_blocks = min(2, n_chains)
    log_w = np.zeros(n_chains)
    if n_blocks > 0:
        args = (W, b, base_bias, betas, rng_state, n_blocks, log_w)
        run_threads(_bm_ais_kernel, args, max(1, min(int(n_threads), n_blocks)))
    return log_w


@njit(cache=True, nogil=True)
def _bm_ais_kernel(W, b, base_bias, betas, rng_state, n_blocks, log_w, tid,
                   n_threads, sync):  # fmt: skip
    n_chains = rng_state.shape[0]
    for blk in range(tid, n_blocks, n_threads):
        q0, q1 = span(n_chains, blk, n_blocks)
        log_w[q0:q1] = _bm_ais_block(W, b, base_bias, betas, rng_state[q0:q1])


@njit(cache=True, nogil=True)
def _bm_ais_block(W, b, base_bias, betas, rng_state):
    """AIS log-weights, one chain per row of ``rng_state``.

    Anneals ``log f_β(x) = (1 - β) base_biasᵀ x - β U(x)`` from the
    independent model (``log Z_0 = Σ softplus(base_bias)``) to the machine,
    with one tempered sequential Gibbs sweep per intermediate ``β``.
    ``log Z ≈ log Z_0 + logmeanexp(weights)``.
    """
    n = b.size
    n_chains = rng_state.shape[0]
    log_w = np.zeros(n_chains)
    X = np.empty((n_chains, n))
    for r in range(n_chains):
        s0, s1, s2, s3 = load_row(rng_state, r)
        for i in range(n):
            u, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            X[r, i] = _draw(u64_to_unit(u), base_bias[i])
        store_row(rng_state, r, s0, s1, s2, s3)
    F = np.empty((n_chains, n))
    local_fields(X, W, b, F)
    for k in range(1, betas.size):
        step = betas[k] - betas[k - 1]
        for r in range(n_chains):
            base_term = 0.0
            for i in range(n):
                base_term += base_bias[i] * X[r, i]
            log_w[r] += step * (_neg_energy(X[r], F[r], b) - base_term)
        if k == betas.size - 1:
            break
        # one tempered sweep, units outside and chains inside (as bm_gibbs_,
        # but float64 fields: the weights accumulate over every temperature)
        beta = betas[k]
        for i in range(n):
            W_i = W[i]
            base_i = (1.0 - beta) * base_bias[i]
            for r in range(n_chains):
                u = draw_u64(rng_state, r)
                new = _draw(u64_to_unit(u), beta * F[r, i] + base_i)
                delta = new - X[r, i]
                if delta != 0.0:
                    X[r, i] = new
                    F_r = F[r]
                    for j in range(n):
                        F_r[j] += delta * W_i[j]
    return log_w


# --------------------------------------------------------------- training
@njit(inline="always")
def _load_batch(X, start, stop, S):
    n_visible = X.shape[1]
    for r in range(stop - start):
        for i in range(n_visible):
            S[r, i] = X[start + r, i]
        for i in range(n_visible, S.shape[1]):
            S[r, i] = 0.0


@njit(inline="always")
def _apply_update(W, b, W_velocity, b_velocity, G, g_bias, lr, momentum, decay):
    """``Δ ← m Δ + lr (∇ - λ W)``, ``W ← W + Δ`` (``λ`` not on biases).

    ``G`` must be symmetric: the same arithmetic on ``(i, j)`` and ``(j, i)``
    keeps ``W`` exactly symmetric; the diagonal is never touched.
    """
    n = b.size
    use_momentum = momentum != 0.0
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            step = lr * (G[i, j] - decay * W[i, j])
            if use_momentum:
                W_velocity[i, j] = momentum * W_velocity[i, j] + step
                step = W_velocity[i, j]
            W[i, j] += step
        step = lr * g_bias[i]
        if use_momentum:
            b_velocity[i] = momentum * b_velocity[i] + step
            step = b_velocity[i]
        b[i] += step


@njit(inline="always")
def _symmetrise(G, scale):
    """``G ← scale (G + Gᵀ)`` off the diagonal, zero diagonal."""
    n = G.shape[0]
    for i in range(n):
        G[i, i] = 0.0
        for j in range(i + 1, n):
            g = scale * (G[i, j] + G[j, i])
            G[i, j] = g
            G[j, i] = g


@njit(cache=True, nogil=True)
def bm_sml_epoch(
    X,
    batch_bounds,
    W,
    b,
    W_velocity,
    b_velocity,
    chains,
    rng_state,
    learning_rate,
    momentum,
    weight_decay,
    n_sweeps,
    n_positive_sweeps,
    mean_field_positive,
):
    """One epoch of stochastic maximum likelihood (persistent chains), in place.

    Per minibatch of ``B`` rows: positive phase with the visible units
    clamped to the data (hidden units: ``n_positive_sweeps`` sequential
    mean-field updates or Gibbs sweeps from ``h = 0``); negative phase:
    ``n_sweeps`` sequential Gibbs sweeps over all units of every persistent
    chain; then the gradient of the mean log-likelihood,
    ``∂/∂W_ij = <x_i x_j>_data - <x_i x_j>_model``,
    ``∂/∂b_i = <x_i>_data - <x_i>_model``, from one product
    ``[S_pos / B; -S_neg / C]ᵀ [S_pos; S_neg]``.

    ``X`` is dense (n_samples, n_visible); ``chains`` (C, n_units) and
    ``rng_state`` (at least max(B, C) rows) are updated.
    """
    n = b.size
    n_visible = X.shape[1]
    n_chains = chains.shape[0]
    max_batch = 0
    for k in range(batch_bounds.size - 1):
        max_batch = max(max_batch, batch_bounds[k + 1] - batch_bounds[k])
    S = np.empty((max_batch + n_chains, n))
    A = np.empty((max_batch + n_chains, n))
    F = np.empty((max(max_batch, n_chains), n))
    G = np.empty((n, n))
    g_bias = np.empty(n)
    for k in range(batch_bounds.size - 1):
        start = batch_bounds[k]
        n_pos = batch_bounds[k + 1] - start
        P = S[:n_pos]
        _load_batch(X, start, start + n_pos, P)
        if n > n_visible:
            local_fields(P, W, b, F[:n_pos])
            for r in range(n_pos):
                if mean_field_positive:
                    _mean_field(P[r], F[r], W, n_visible, n, n_positive_sweeps, 1e-8)
                else:
                    s0, s1, s2, s3 = load_row(rng_state, r)
                    for _ in range(n_positive_sweeps):
                        s0, s1, s2, s3 = _sweep(
                            P[r], F[r], W, 1.0, b, n_visible, n, s0, s1, s2, s3
                        )
                    store_row(rng_state, r, s0, s1, s2, s3)
        Q = S[n_pos : n_pos + n_chains]
        Q[:, :] = chains
        bm_gibbs_(Q, W, b, 0, n_sweeps, rng_state)
        chains[:, :] = Q
        for r in range(n_pos + n_chains):
            scale = 1.0 / n_pos if r < n_pos else -1.0 / n_chains
            for i in range(n):
                A[r, i] = scale * S[r, i]
        for i in range(n):
            acc = 0.0
            for r in range(n_pos + n_chains):
                acc += A[r, i]
            g_bias[i] = acc
        gemm(True, False, 1.0, A[: n_pos + n_chains], S[: n_pos + n_chains], 0.0, G)
        _symmetrise(G, 0.5)
        _apply_update(
            W,
            b,
            W_velocity,
            b_velocity,
            G,
            g_bias,
            learning_rate,
            momentum,
            weight_decay,
        )


@njit(cache=True, nogil=True)
def bm_pseudolikelihood_gradient(P, W, b, G, g_bias):
    """Gradient of the mean pseudo-log-likelihood of the rows of ``P``
    (fully visible) into ``G`` (symmetric, zero diagonal) and ``g_bias``.

    With ``r_i = x_i - sigmoid(f_i)``: ``∂/∂b_i = <r_i>`` and, for the tied
    pair ``W_ij = W_ji``, ``∂/∂W_ij = <r_i x_j + r_j x_i>`` (Besag 1975).
    """
    n_rows, n = P.shape
    R = np.empty((n_rows, n))
    local_fields(P, W, b, R)
    inv = 1.0 / n_rows
    for i in range(n):
        g_bias[i] = 0.0
    for r in range(n_rows):
        for i in range(n):
            R[r, i] = inv * (P[r, i] - sigmoid(R[r, i]))
            g_bias[i] += R[r, i]
    gemm(True, False, 1.0, R, P, 0.0, G)
    _symmetrise(G, 1.0)


@njit(cache=True, nogil=True)
def bm_exact_gradient(P, W, b, G, g_bias):
    """Exact gradient of the mean log-likelihood of the rows of ``P`` (fully
    visible): data moments minus model moments by enumeration."""
    n_rows, n = P.shape
    mean, second = bm_model_moments(W, b)
    gemm(True, False, 1.0 / n_rows, P, P, 0.0, G)
    for i in range(n):
        acc = 0.0
        for r in range(n_rows):
            acc += P[r, i]
        g_bias[i] = acc / n_rows - mean[i]
        for j in range(n):
            G[i, j] -= second[i, j]
    _symmetrise(G, 0.5)


@njit(cache=True, nogil=True)
def bm_gradient_epoch(
    X,
    batch_bounds,
    W,
    b,
    W_velocity,
    b_velocity,
    learning_rate,
    momentum,
    weight_decay,
    exact,
):
    """One epoch of minibatch gradient ascent on the pseudo-likelihood
    (``exact=False``) or, by enumeration, the exact log-likelihood."""
    n = b.size
    G = np.empty((n, n))
    g_bias = np.empty(n)
    for k in range(batch_bounds.size - 1):
        P = X[batch_bounds[k] : batch_bounds[k + 1]]
        if exact:
            bm_exact_gradient(P, W, b, G, g_bias)
        else:
            bm_pseudolikelihood_gradient(P, W, b, G, g_bias)
        _apply_update(
            W,
            b,
            W_velocity,
            b_velocity,
            G,
            g_bias,
            learning_rate,
            momentum,
            weight_decay,
        )
