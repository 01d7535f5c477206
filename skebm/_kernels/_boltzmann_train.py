"""Training kernels of general Boltzmann machines: stochastic maximum
likelihood (persistent chains, sequential Gibbs sweeps) and minibatch
gradient ascent on the pseudo-likelihood or the exact likelihood.

Sampling, enumeration and AIS live in :mod:`._boltzmann`; the notation
(``W`` symmetric with zero diagonal, local fields ``f = Wx + b``) is
explained there.
"""

import numpy as np
from numba import njit

from ._arrays import copy_2d
from ._blas import NO_TRANS, TRANS, gemm
from ._boltzmann import (
    MEAN_FIELD_TOL,
    _gibbs_sweeps_,
    _mean_field_rows,
    bm_model_moments,
    local_fields,
)
from ._jit import helper, kernel
from ._layers import sigmoid
from ._sync import barrier, run_threads, span


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
def _apply_update_rows(W, b, W_velocity, b_velocity, G, g_bias, lr, momentum,
                       decay, i0, i1):  # fmt: skip
    """``Δ ← m Δ + lr (G - λ W)``, ``W ← W + Δ`` on rows ``i0..i1-1``
    (``λ`` not on biases).

    ``G`` must be symmetric: the same arithmetic on ``(i, j)`` and
    ``(j, i)`` keeps ``W`` exactly symmetric whichever thread updates which
    rows; the diagonal is never touched.
    """
    n = b.size
    use_momentum = momentum != 0.0
    for i in range(i0, i1):
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
def _symmetrise_rows(G, scale, i0, i1):
    """``G_ij, G_ji ← scale (G_ij + G_ji)`` for ``i0 <= i < i1``, ``j > i``;
    zero ``G_ii``.  Rows ``i0..i1-1`` own the pairs they start, so blocks of
    rows can run at once: a block reads and writes only its own rows and, in
    rows below it, columns inside its own range, which no other block
    touches."""
    n = G.shape[0]
    for i in range(i0, i1):
        G[i, i] = 0.0
        for j in range(i + 1, n):
            g = scale * (G[i, j] + G[j, i])
            G[i, j] = g
            G[j, i] = g


@njit(inline="always")
def _symmetrise(G, scale):
    """``G ← scale (G + Gᵀ)`` off the diagonal, zero diagonal."""
    _symmetrise_rows(G, scale, 0, G.shape[0])


@njit(inline="always")
def _triangle_span(n, block, n_blocks):
    """Rows of block ``block`` of ``n_blocks`` (1 or 2) such that the blocks
    start near-equal numbers of upper-triangle pairs (rows near 0 start
    the most)."""
    if n_blocks == 1:
        return 0, n
    split = n - int(n / np.sqrt(2.0))
    return (0, split) if block == 0 else (split, n)


#: Work per SML minibatch, ``(rows + chains * sweeps) * n_units**2``, from
#: which its rows, chains and weight rows are split into two blocks.
_SML_TWO_BLOCK_WORK = 1 << 18


def sml_blocks(batch_size, n_chains, n_units, n_sweeps):
    """Blocks of rows, chains and weight rows per minibatch in
    :func:`bm_sml_epoch`: 2 when a minibatch is large enough for two
    threads to pay for their six barriers, else 1.  A function of the
    parameters and shapes only, so results never depend on the thread
    count."""
    work = (int(batch_size) + int(n_chains) * max(int(n_sweeps), 1)) * n_units**2
    return 2 if work >= _SML_TWO_BLOCK_WORK else 1


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
    n_blocks=1,
    n_threads=1,
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
    ``rng_state`` (at least max(B, C) rows) are updated.  Rows, chains and
    rows of the weights go in ``n_blocks`` (1 or 2, see :func:`sml_blocks`)
    fixed blocks run by up to ``n_threads`` threads; the result depends on
    ``n_blocks`` only.
    """
    if int(n_blocks) not in (1, 2) or int(n_threads) < 1:
        # _triangle_span splits the symmetrisation in at most two blocks
        raise ValueError(
            f"n_blocks must be 1 or 2 and n_threads >= 1, got {n_blocks} and "
            f"{n_threads}"
        )
    n = b.size
    n_hidden = n - X.shape[1]
    n_chains = chains.shape[0]
    max_batch = int(np.diff(batch_bounds).max()) if batch_bounds.size > 1 else 0
    S = np.empty((max_batch + n_chains, n))
    scratch = (
        S,
        np.empty_like(S),  # A: S scaled by 1/B and -1/C
        np.empty((max_batch, n)),  # positive phase's local fields
        np.empty((n_chains, n)),  # chains' local fields ...
        np.empty((n_chains, n), np.float32),  # ... in float32
        np.empty((n, n), np.float32),  # float32 weights
        np.empty((n, n)),  # weight gradient
        np.empty(n),  # bias gradient
        np.empty(n_hidden * max_batch),  # positive phase's thresholds
        np.empty(n * n_chains),  # chains' thresholds
    )
    state = (
        (X, batch_bounds),
        (W, b),
        (W_velocity, b_velocity),
        (chains, rng_state),
        (float(learning_rate), float(momentum), float(weight_decay)),
        (
            int(n_sweeps),
            int(n_positive_sweeps),
            bool(mean_field_positive),
            int(n_blocks),
        ),  # fmt: skip
        scratch,
    )
    run_threads(_bm_sml_kernel, (state,), min(int(n_threads), int(n_blocks)))


# Phases of an SML minibatch, run in this order, each split into blocks
# with a barrier after it.
_POSITIVE = 0  # float32 weights for the chains; clamped positive phase
_NEGATIVE = 1  # Gibbs sweeps of this block's persistent chains
_SCALE = 2  # A = [S_pos / B; -S_neg / C]
_PRODUCT = 3  # bias gradient and rows of Aᵀ [S_pos; S_neg]
_SYMMETRISE = 4  # G ← (G + Gᵀ) / 2 on a triangle block
_UPDATE = 5  # the parameter step
_N_PHASES = 6


@kernel
def _bm_sml_kernel(state, tid, n_threads, sync):
    """The work of :func:`bm_sml_epoch` for thread ``tid`` of ``n_threads``:
    for each minibatch, blocks ``tid, tid + n_threads, ...`` of each phase,
    then a barrier (the positive phase's and the chains' draws share RNG
    rows, so the chains wait for the positive phase)."""
    bounds, n_blocks = state[0][1], state[5][3]
    for k in range(bounds.size - 1):
        batch = (bounds[k], bounds[k + 1] - bounds[k])
        for phase in range(_N_PHASES):  # a loop variable: not a literal
            for blk in range(tid, n_blocks, n_threads):
                _sml_block(phase, blk, n_blocks, batch, state)
            if not barrier(sync, n_threads):
                return


@helper
def _sml_block(phase, blk, n_blocks, batch, state):
    """Block ``blk`` of ``n_blocks`` of one phase of a minibatch."""
    data, params, velocity, chain_state, hyper, plan, scratch = state
    X, W, b = data[0], params[0], params[1]
    chains, rng_state = chain_state
    S, A, F_pos, F_neg, F32, W32, G, g_bias, T_pos, T_neg = scratch
    n = b.size
    n_visible = X.shape[1]
    n_hidden = n - n_visible
    n_chains = chains.shape[0]
    start, n_pos = batch
    n_all = n_pos + n_chains
    i0, i1 = span(n, blk, n_blocks)
    if phase == _POSITIVE:
        for i in range(i0, i1):
            for j in range(n):
                W32[i, j] = np.float32(W[i, j])
        r0, r1 = span(n_pos, blk, n_blocks)
        if r1 > r0 and n_hidden > 0:
            _positive_phase(X, start, r0, r1, S, F_pos, T_pos, W, b, rng_state, plan)
        elif r1 > r0:
            _load_batch(X, start + r0, start + r1, S[r0:r1])
    elif phase == _NEGATIVE:
        q0, q1 = span(n_chains, blk, n_blocks)
        if q1 > q0:
            Q = S[n_pos + q0 : n_pos + q1]
            copy_2d(Q, chains[q0:q1])
            local_fields(Q, W, b, F_neg[q0:q1])
            for r in range(q0, q1):
                for j in range(n):
                    F32[r, j] = np.float32(F_neg[r, j])
            T = T_neg[n * q0 : n * q1].reshape((n, q1 - q0))
            _gibbs_sweeps_(Q, F32[q0:q1], W32, 0, 0, plan[0], rng_state[q0:q1], T, None)
            copy_2d(chains[q0:q1], Q)
    elif phase == _SCALE:
        r0, r1 = span(n_all, blk, n_blocks)
        for r in range(r0, r1):
            scale = 1.0 / n_pos if r < n_pos else -1.0 / n_chains
            for i in range(n):
                A[r, i] = scale * S[r, i]
    elif phase == _PRODUCT:
        for i in range(i0, i1):
            acc = 0.0
            for r in range(n_all):
                acc += A[r, i]
            g_bias[i] = acc
        if i1 > i0:
            gemm(TRANS, NO_TRANS, 1.0, A[:n_all, i0:i1], S[:n_all, :], 0.0,
                 G[i0:i1, :])  # fmt: skip
    elif phase == _SYMMETRISE:
        t0, t1 = _triangle_span(n, blk, n_blocks)
        _symmetrise_rows(G, 0.5, t0, t1)
    else:
        _apply_update_rows(W, b, velocity[0], velocity[1], G, g_bias, hyper[0],
                           hyper[1], hyper[2], i0, i1)  # fmt: skip


@helper
def _positive_phase(X, start, r0, r1, S, F_pos, T_pos, W, b, rng_state, plan):
    """Rows ``r0:r1`` of the minibatch: visible units clamped to the data,
    hidden units by ``plan[1]`` mean-field updates or Gibbs sweeps."""
    n_visible = X.shape[1]
    n_hidden = b.size - n_visible
    P = S[r0:r1]
    _load_batch(X, start + r0, start + r1, P)
    F = F_pos[r0:r1]
    local_fields(P, W, b, F)
    if plan[2]:
        _mean_field_rows(P, F, W, n_visible, plan[1], MEAN_FIELD_TOL)
    else:
        # thresholds in a C-contiguous (hidden units, rows) array
        T = T_pos[n_hidden * r0 : n_hidden * r1].reshape((n_hidden, r1 - r0))
        _gibbs_sweeps_(
            P, F, W, n_visible, n_visible, plan[1], rng_state[r0:r1], T, None
        )


@kernel
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
    gemm(TRANS, NO_TRANS, 1.0, R[:, :], P[:, :], 0.0, G[:, :])
    _symmetrise(G, 1.0)


@kernel
def bm_exact_gradient(P, W, b, G, g_bias):
    """Exact gradient of the mean log-likelihood of the rows of ``P`` (fully
    visible): data moments minus model moments by enumeration."""
    n_rows, n = P.shape
    mean, second = bm_model_moments(W, b)
    gemm(TRANS, NO_TRANS, 1.0 / n_rows, P[:, :], P[:, :], 0.0, G[:, :])
    for i in range(n):
        acc = 0.0
        for r in range(n_rows):
            acc += P[r, i]
        g_bias[i] = acc / n_rows - mean[i]
        for j in range(n):
            G[i, j] -= second[i, j]
    _symmetrise(G, 0.5)


@kernel
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
        # G is symmetric already: (G_ij + G_ji) / 2 = G_ij exactly
        _apply_update_rows(W, b, W_velocity, b_velocity, G, g_bias, learning_rate,
                           momentum, weight_decay, 0, n)  # fmt: skip
