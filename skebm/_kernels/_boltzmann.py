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

Products call the serial in-place ``gemm`` of :mod:`._blas` (see there why
no kernel is ``parallel=True``); the matrices here are small next to the
sequential sweeps anyway.
"""

import numpy as np
from numba import njit

from ._arrays import copy_1d, copy_2d, fill_rows
from ._blas import NO_TRANS, gemm
from ._gray import add_log_term, gray_flip
from ._jit import kernel
from ._layers import sigmoid, softplus
from ._rng import fill_uniform
from ._sync import run_threads, span
from ._vmath import logit_unit

#: Mean-field iterations stop when no marginal moves by more than this, or
#: after this many sweeps.
MEAN_FIELD_TOL = 1e-8
MEAN_FIELD_MAX_ITER = 200


# ---------------------------------------------------------------- helpers
@kernel(error_model="numpy")
def _logits_(T):
    """In place, vectorised: uniforms -> ``logit_unit`` thresholds."""
    for i in range(T.shape[0]):
        row = T[i]
        for r in range(row.shape[0]):
            row[r] = logit_unit(row[r])


@kernel
def sweep_thresholds_(T, rng_state):
    """Fill ``T`` (n_units, n_chains) with the draw thresholds of one
    sweep: ``T[i, r] = logit(u)`` for chain ``r``'s next uniform, each
    chain drawing its uniforms in unit order from RNG row ``r``.

    A unit is set to 1 when its (tempered) field ``a`` exceeds its
    threshold, which happens with probability ``sigmoid(a)``.  Thresholds
    do not depend on the state, so a whole sweep's are drawn at once and
    their logits computed in one vectorised pass; the sequential sweep that
    follows only compares (a scalar ``exp`` per unit update had been half
    the cost of a sweep over 100 units).
    """
    fill_uniform(rng_state, T.T)  # column r from generator r, in unit order
    _logits_(T)


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


@kernel
def _mean_field_rows(X, F, W, lo, n_iter, tol):
    """:func:`_mean_field` on every row of ``X`` (fields ``F``).  Compiled on
    its own (see :func:`_gibbs_sweeps_`)."""
    for r in range(X.shape[0]):
        _mean_field(X[r], F[r], W, lo, X.shape[1], n_iter, tol)


@njit(inline="always")
def _neg_energy(x, f, b):
    """``-U(x) = ½ Σ x_i (f_i + b_i)`` given up-to-date fields ``f``."""
    acc = 0.0
    for i in range(x.size):
        acc += x[i] * (f[i] + b[i])
    return 0.5 * acc


@kernel
def local_fields(X, W, b, F):
    """``F = X W + b`` (W is symmetric) with one BLAS call."""
    fill_rows(F, b)
    gemm(NO_TRANS, NO_TRANS, 1.0, X[:, :], W[:, :], 1.0, F[:, :])


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
        u = lo + gray_flip(t)
        delta = 1.0 - 2.0 * x[u]
        lw += delta * f[u]
        x[u] += delta
        for k in range(lo, hi):
            f[k] += delta * W[u, k]
        running_max, running_sum, scale, w = add_log_term(lw, running_max, running_sum)
        if want:
            for k in range(n):
                marginals[k] = marginals[k] * scale + w * x[lo + k]
    if want:
        for k in range(n):
            marginals[k] /= running_sum
    return running_max + np.log(running_sum)


# ------------------------------------------------------- exact quantities
@kernel
def bm_log_partition(W, b):
    """Exact ``log Z`` by enumerating all ``2**n_units`` states."""
    n = b.size
    x = np.zeros(n)
    f = np.empty(n)
    for i in range(n):
        f[i] = b[i]
    return _enumerate(x, f, W, 0, n, 0.0, np.empty(0))


@kernel
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
    copy_2d(X[:, :n_visible], V)
    F = np.empty((n_rows, n))
    local_fields(X, W, b, F)
    for r in range(n_rows):
        out[r] = _enumerate(
            X[r], F[r], W, n_visible, n, _neg_energy(X[r], F[r], b), marg[r]
        )
    return out, marg


@kernel
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
        j = gray_flip(t)
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
            state ^= 1 << gray_flip(t)
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


@kernel
def bm_mean_field(V, W, b, n_iter, tol):
    """Mean-field marginals ``q(h_j = 1)`` of the hidden units given each row
    of ``V`` (sequential updates from ``h = 0``)."""
    n_rows, n_visible = V.shape
    n = b.size
    X = np.zeros((n_rows, n))
    copy_2d(X[:, :n_visible], V)
    F = np.empty((n_rows, n))
    local_fields(X, W, b, F)
    _mean_field_rows(X, F, W, n_visible, n_iter, tol)
    return X[:, n_visible:].copy()


@kernel
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
@kernel
def _gibbs_sweeps_(X, F, W, lo, j0, n_sweeps, rng_state, T, pinned):
    """``n_sweeps`` sequential Gibbs sweeps over units ``lo..`` of every row
    (chain) of ``X``; units before ``lo`` stay clamped, and so do the
    entries where ``pinned`` (None, or booleans of ``X``'s shape) is True
    (their thresholds are drawn all the same: the stream does not depend
    on the mask).  ``F = X W + b``
    are the local fields (updated), ``W`` the weights in the dtype of ``F``;
    a flip updates fields ``j0..`` only.  ``T`` is (n_units - lo, n_rows)
    scratch; row ``r`` draws from RNG row ``r``.

    The free chains keep float32 fields and weights (``j0 = 0``): half the
    memory traffic of the flip updates, which dominate beyond ~100 units
    (2-4x faster measured at 300-1000 units).  Fields start exact at every
    call; the float32 rounding of k flips drifts them by about
    sqrt(k) 6e-8 |W_ij|, far below any Monte Carlo error.  (Updating all
    fields rather than those from ``lo`` lets the loop vectorise.)  The
    clamped positive phase of training keeps float64 fields of the hidden
    units only (``j0 = lo``).

    Unit-outer, chain-inner: row W_i is read from memory once per unit for
    all chains (chain-outer order streams all of W once per chain, which is
    memory-bound beyond a few hundred units).  Each chain still draws from
    its own stream in unit order, so the loop order changes no result.

    Compiled on its own rather than inlined into its callers, as is
    :func:`_mean_field_rows`: inside the SML epoch kernel the same loops ran
    up to 20% slower.
    """
    n = X.shape[1]
    delta = np.empty(1, F.dtype)  # a flip's change, in the fields' dtype
    for _ in range(n_sweeps):
        sweep_thresholds_(T, rng_state)
        for i in range(lo, n):
            W_i = W[i]
            T_i = T[i - lo]
            for r in range(X.shape[0]):
                if pinned is not None:
                    if pinned[r, i]:
                        continue
                new = 1.0 if np.float64(F[r, i]) > T_i[r] else 0.0
                if new != X[r, i]:
                    delta[0] = new - X[r, i]
                    d = delta[0]
                    X[r, i] = new
                    F_r = F[r]
                    for j in range(j0, n):
                        F_r[j] += d * W_i[j]


@kernel
def bm_gibbs_(X, W, b, lo, n_sweeps, rng_state, pinned):
    """In place: ``n_sweeps`` sequential Gibbs sweeps over units ``lo..`` of
    every row (chain) of ``X``; units before ``lo`` stay clamped, and so do
    the entries marked in ``pinned`` (None, or booleans of ``X``'s shape).
    Row ``r`` uses RNG row ``r``.  One thread; see :func:`bm_gibbs` for
    two."""
    F64 = np.empty(X.shape)
    local_fields(X, W, b, F64)
    F = F64.astype(np.float32)
    T = np.empty((b.size - lo, X.shape[0]))
    _gibbs_sweeps_(X, F, W.astype(np.float32), lo, 0, n_sweeps, rng_state, T, pinned)


#: Unit updates per call from which :func:`bm_gibbs` starts a second thread.
_GIBBS_THREAD_WORK = 1 << 20


def bm_gibbs(X, W, b, lo, n_sweeps, rng_state, n_threads=1, pinned=None):
    """:func:`bm_gibbs_` with the chains in two fixed blocks (one when there
    is a single chain), run on up to ``n_threads`` threads when the call is
    large enough to pay for a thread; results do not depend on
    ``n_threads``."""
    n_rows = X.shape[0]
    n_blocks = min(2, n_rows)
    if n_blocks == 0:
        return
    work = n_rows * (b.size - int(lo)) * int(n_sweeps)
    n_threads = min(int(n_threads), n_blocks) if work >= _GIBBS_THREAD_WORK else 1
    args = (X, W, b, int(lo), int(n_sweeps), rng_state, pinned, n_blocks)
    run_threads(_bm_gibbs_kernel, args, max(1, n_threads))


@kernel
def _bm_gibbs_kernel(X, W, b, lo, n_sweeps, rng_state, pinned, n_blocks, tid,
                     n_threads, sync):  # fmt: skip
    for blk in range(tid, n_blocks, n_threads):
        q0, q1 = span(X.shape[0], blk, n_blocks)
        if pinned is None:
            bm_gibbs_(X[q0:q1], W, b, lo, n_sweeps, rng_state[q0:q1], None)
        else:
            bm_gibbs_(X[q0:q1], W, b, lo, n_sweeps, rng_state[q0:q1], pinned[q0:q1])


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


@kernel
def _bm_ais_kernel(W, b, base_bias, betas, rng_state, n_blocks, log_w, tid,
                   n_threads, sync):  # fmt: skip
    n_chains = rng_state.shape[0]
    for blk in range(tid, n_blocks, n_threads):
        q0, q1 = span(n_chains, blk, n_blocks)
        copy_1d(log_w[q0:q1], _bm_ais_block(W, b, base_bias, betas, rng_state[q0:q1]))


@kernel
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
    T = np.empty((n, n_chains))
    sweep_thresholds_(T, rng_state)
    for r in range(n_chains):
        for i in range(n):
            X[r, i] = 1.0 if base_bias[i] > T[i, r] else 0.0
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
        sweep_thresholds_(T, rng_state)
        for i in range(n):
            W_i = W[i]
            T_i = T[i]
            base_i = (1.0 - beta) * base_bias[i]
            for r in range(n_chains):
                new = 1.0 if beta * F[r, i] + base_i > T_i[r] else 0.0
                delta = new - X[r, i]
                if delta != 0.0:
                    X[r, i] = new
                    F_r = F[r]
                    for j in range(n):
                        F_r[j] += delta * W_i[j]
    return log_w
