"""Whole-epoch contrastive-divergence training of RBMs (Bernoulli or
Gaussian visible units, or softmax groups of Bernoulli units; Bernoulli
hidden units).

One call of :func:`rbm_epoch` runs every minibatch of an epoch, so
Python only loops over epochs.  Per minibatch of ``B`` rows and ``C`` chains
(persistent CD, PCD-1) the kernel makes three BLAS calls:

1. ``V_neg ~ p(v | H_chain)``: ``H_chain @ W + b`` then a fused sigmoid+draw;
2. ``[H_pos; H_neg] = sigmoid([V_pos; V_neg] @ Wᵀ + c)``: both hidden phases in
   one product over the stacked rows;
3. ``W ← (1 - lr·λ) W + lr · [H_pos/B; -H_neg/C]ᵀ @ [V_pos; V_neg]``: both
   gradient products accumulated straight into ``W`` (``beta = 1 - lr·λ``).

The positive statistics use hidden probabilities (mean field), the negative
ones the chains' visible samples and hidden probabilities, and the chains
keep hidden *samples* between minibatches, exactly as
``sklearn.neural_network.BernoulliRBM`` does (Tieleman 2008).  With
``persistent=False`` the chains restart from the data each minibatch (CD-k,
Hinton 2002).  Momentum keeps a velocity: ``Δ ← m Δ + lr (∇ - λ W)``,
``W ← W + Δ``.  With parallel tempering (:mod:`._tempering`) the chains
are ``K`` temperatures times ``C`` rows, a swap phase follows every visible
draw, and only the first ``C`` chains (``beta = 1``) enter the gradient.
"""

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from numba import njit

from ._arrays import copy_2d, copy_columns, fill_columns
from ._blas import NO_TRANS, TRANS, gemm
from ._jit import helper, kernel
from ._layers import (
    bernoulli_mean_columns_,
    bernoulli_mean_sample_,
    bernoulli_sample_,
)
from ._sync import barrier, run_threads, span
from ._tempering import (
    draw_visible_,
    hidden_mean_columns_,
    n_temperatures,
    swap_,
    temper_rows_,
)


def epoch_blocks(max_batch, n_chains, n_visible, n_hidden):
    """Column blocks per product in :func:`rbm_epoch`: 2 when a minibatch's
    products are large enough for two threads to pay off, else 1.

    A function of the shapes only, so results never depend on how many
    threads run the blocks.  Splitting costs a few microseconds per
    minibatch (barriers, twice the BLAS calls) and halves the products; on
    the 2-core development machine two threads were 1.3-1.6x faster than one
    on MNIST shapes (784 x 500) at every batch size and about even on digits
    (64 x 100) up to batch 100, hence the threshold.
    """
    work = (max_batch + n_chains) * n_visible * n_hidden
    return 2 if work >= _TWO_BLOCK_WORK else 1


#: Multiply-adds per minibatch product from which products are split in 2.
_TWO_BLOCK_WORK = 1 << 21


class GaussianVisible(NamedTuple):
    """Gaussian visible units of an RBM in :func:`rbm_epoch`.

    ``log_sigma`` : (n_visible,) log standard deviations, updated in place
    when ``learn``. ``floor`` : (n_visible,) lower bounds of learned values
    (the likelihood is unbounded as a sigma goes to 0 on a feature with
    repeated values; the bound keeps training well-posed). ``velocity`` :
    (n_visible,) momentum buffer of ``log_sigma``. ``max_step`` : largest
    change of any ``log_sigma`` per minibatch (the log-sigma gradient grows
    with ``v'²``, so one outlier in a heavy-tailed feature could otherwise
    throw sigma out of range).
    """

    log_sigma: np.ndarray
    learn: bool = False
    floor: np.ndarray | None = None
    velocity: np.ndarray | None = None
    max_step: float = np.inf


def rbm_epoch(
    X,
    bounds,
    params,
    chains,
    *,
    learning_rate,
    momentum=0.0,
    weight_decay=0.0,
    n_gibbs_steps=1,
    persistent=True,
    velocity=None,
    gaussian=None,
    groups=None,
    tempering=None,
    n_blocks=1,
    n_threads=1,
):
    """Train one epoch in place.

    Parameters
    ----------
    X : (n_samples, n_visible) dense array or sparse matrix, or the
        ``(dense, csr)`` pair :func:`split_input` makes of one (callers that
        run many epochs split once).
    bounds : int64 array; minibatch ``i`` is rows ``bounds[i]:bounds[i + 1]``.
    params : ``(W, vis_bias, hid_bias)``, updated in place. For Gaussian
        visible units ``vis_bias`` is the scaled mean ``a' = a / sigma``.
    chains : ``(chain_hidden, rng_state)``: the (n_chains, n_hidden)
        persistent hidden samples (updated) and the (n_rows, 4) uint64
        generator state, at least max(batch, n_chains) rows.
    velocity : ``(W_velocity, vis_velocity, hid_velocity)`` momentum
        buffers, updated in place; needed (and used) only if momentum != 0.
    gaussian : None for Bernoulli visible units, else a
        :class:`GaussianVisible`.
    groups : None, or for softmax visible groups (Bernoulli units of which
        exactly one per group is on, ``_layers.softmax_sample_``) the int64
        offsets ``groups[g]:groups[g + 1]`` of group ``g``. The gradients
        are those of Bernoulli units; only the visible draw changes.
    tempering : None, or a :class:`~._tempering.Tempering` for parallel
        tempering (persistent chains only): the chains are then ``K`` times
        ``n_ladders`` rows, the ``beta = 1`` ones first.
    n_blocks : 1 or 2, blocks each product and row loop is split into (see
        :func:`epoch_blocks`); the result depends on it.
    n_threads : threads that run the blocks (at most ``n_blocks``); the
        result does not depend on it.

    Returns
    -------
    acceptance : None, or with ``tempering`` the fraction of accepted
        swaps per neighbouring pair of temperatures (coldest first).

    Notes
    -----
    Gaussian units run in scaled coordinates ``v' = v / sigma`` (see
    ``_layers``), and their parameters are ``a' = a / sigma`` and
    ``log sigma``: the energy is ``|v' - a'|²/2 - c·h - hᵀW v'``. Gradients
    of the log-likelihood, each the positive minus the negative phase
    average: ``h v'ᵀ`` for ``W``; ``v'`` for ``a'``; and, since
    ``dv'/dlog sigma = -v'``, ``v' ⊙ (v' - a' - hW)`` for ``log sigma``
    (with hidden probabilities for ``h``). In these coordinates no gradient
    carries a ``1 / sigma`` factor, so a small ``sigma`` cannot blow up an
    update.

    Options that are off are not compiled: the kernel receives ``None`` for
    the momentum buffers, the Gaussian state (and unit standard deviations)
    and the sparse arrays, and numba prunes their branches by type.
    """
    if int(n_blocks) < 1 or int(n_threads) < 1:
        raise ValueError(
            f"n_blocks and n_threads must be >= 1, got {n_blocks} and {n_threads}"
        )
    W = params[0]
    dtype = W.dtype
    n_hidden, n_visible = W.shape
    if float(momentum) != 0.0 and velocity is None:
        raise ValueError("momentum != 0 needs the velocity buffers")
    dense, csr = X if isinstance(X, tuple) else split_input(X)
    max_batch = int(np.diff(bounds).max()) if bounds.size > 1 else 0
    max_neg = chains[0].shape[0] if persistent else max_batch
    _check_visible_options(tempering, persistent, max_neg, groups, gaussian)
    rows = max_batch + max_neg
    gauss = learn = None
    if gaussian is not None:
        gauss = gaussian.log_sigma
        if gaussian.learn:
            floor = gaussian.floor
            if floor is None:
                floor = np.full(n_visible, -np.inf, dtype)
            ls_velocity = gaussian.velocity
            if ls_velocity is None:
                ls_velocity = np.zeros(n_visible, dtype)
            learn = (
                floor,
                ls_velocity,
                np.zeros(n_visible, np.float64),  # the log-sigma gradient
                np.empty((rows, n_visible), dtype),  # H W, for that gradient
                float(gaussian.max_step),
            )
    scratch = (
        np.empty((rows, n_visible), dtype),  # V: [V_pos; V_neg]
        np.empty((rows, n_hidden), dtype),  # H: [H_pos; H_neg]
        np.empty((max_neg, n_hidden), dtype),  # the chains' working copy
        np.empty(n_visible, np.float64),  # visible-bias gradient
        np.empty(n_hidden, np.float64),  # hidden-bias gradient
    )
    state = (
        dense,
        csr,
        bounds,
        tuple(params),
        None if float(momentum) == 0.0 else tuple(velocity),
        gauss,
        None if gauss is None else np.ones(n_visible, dtype),  # unit std
        learn,
        tuple(chains),
        scratch,
        (float(learning_rate), float(momentum), float(weight_decay)),
        (int(n_gibbs_steps), bool(persistent), int(n_blocks)),
        None if tempering is None else tempering.kernel_state(),
        groups,
    )
    run_threads(rbm_epoch_kernel, (state,), min(int(n_threads), int(n_blocks)))
    if tempering is not None:
        return tempering.acceptance((bounds.size - 1) * int(n_gibbs_steps))
    return None


def _check_visible_options(tempering, persistent, max_neg, groups, gaussian):
    """The combinations :func:`rbm_epoch` cannot run."""
    if tempering is not None and (
        not persistent or max_neg != tempering.row_betas.shape[0]
    ):
        raise ValueError("tempering needs persistent chains, K * n_ladders rows")
    if groups is not None and (tempering is not None or gaussian is not None):
        raise ValueError("softmax groups need Bernoulli units and no tempering")


def split_input(X):
    """``(dense, csr)`` for the kernels: a C-contiguous array and None, or
    an empty ``(0, n_features)`` placeholder and ``(data, indices, indptr)``
    of X as CSR with int64 indices."""
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        csr = (
            np.ascontiguousarray(X.data),
            np.ascontiguousarray(X.indices, dtype=np.int64),
            np.ascontiguousarray(X.indptr, dtype=np.int64),
        )
        return np.empty((0, X.shape[1]), dtype=X.dtype), csr
    return np.ascontiguousarray(X), None


# Phases of a minibatch. Each is split into column blocks (products and
# elementwise maths, RNG-free) or row blocks (draws: row r always uses
# generator row r); a barrier follows each phase.
_LOAD = 0  # data rows in (scaled if Gaussian); persistent chains copied
_CD_START = 1  # CD: chains start from p(h | v_data) ...
_CD_DRAW = 2  # ... and a draw from it
_VISIBLE_PRE = 3  # V_neg = chains W + b
_VISIBLE_DRAW = 4  # V_neg ~ p(v | chains)
_HIDDEN_PRE = 5  # chains = V_neg Wᵀ + c (a middle Gibbs step)
_HIDDEN_DRAW = 6  # chains ~ p(h | V_neg)
_HIDDEN_PROBS = 7  # H = p(h | V), both phases; chains keep H_neg
_GRADIENTS = 8  # chains' draw; visible (and log-sigma) gradients
_UPDATE = 9  # hidden gradient and the parameter updates
_SWAP = 10  # parallel tempering: neighbour swaps after a visible draw


@kernel(error_model="numpy")
def rbm_epoch_kernel(state, tid, n_threads, sync):
    """The work of :func:`rbm_epoch` for thread ``tid`` of ``n_threads``:
    every minibatch runs the same program of phases, each split into
    blocks."""
    bounds, gauss, chains, plan = state[2], state[5], state[8], state[11]
    n_steps, persistent, n_blocks = plan
    n_chains = chains[0].shape[0]
    # Chains whose samples enter the gradient: with tempering, the first
    # n_chains / K (at beta = 1)
    K = n_temperatures(state[12])
    inv_sigma = np.ones(state[3][0].shape[1], state[3][0].dtype)
    program = _minibatch_program(n_steps, persistent, K > 1)
    for i in range(bounds.size - 1):
        start = bounds[i]
        n_pos = bounds[i + 1] - start
        n_neg = n_chains if persistent else n_pos
        _inverse_sigma(gauss, inv_sigma)
        batch = (start, n_pos, n_neg, n_neg // K, inv_sigma)
        for phase in program:
            # The block-parallel loop, the one every phase goes through:
            # this thread's blocks, then wait for the other threads (and
            # leave if one of them failed).
            for blk in range(tid, n_blocks, n_threads):
                _run_block(phase, blk, n_blocks, batch, state)
            if not barrier(sync, n_threads):
                return


@helper(error_model="numpy")
def _minibatch_program(n_steps, persistent, swaps):
    """The phases of one minibatch, in order. (An array, not constants in
    the code: numba compiles a function once per literal argument, so
    calling ``_run_block`` with each phase constant would compile it once
    per phase.)"""
    program = np.empty(4 + 5 * n_steps, np.int64)
    n = 0
    program[n] = _LOAD
    n += 1
    if not persistent:
        program[n] = _CD_START
        program[n + 1] = _CD_DRAW
        n += 2
    for step in range(n_steps):
        program[n] = _VISIBLE_PRE
        program[n + 1] = _VISIBLE_DRAW
        n += 2
        if swaps:
            program[n] = _SWAP
            n += 1
        if step < n_steps - 1:
            program[n] = _HIDDEN_PRE
            program[n + 1] = _HIDDEN_DRAW
            n += 2
    for phase in (_HIDDEN_PROBS, _GRADIENTS, _UPDATE):
        program[n] = phase
        n += 1
    return program[:n]


@helper
def _inverse_sigma(log_sigma, inv_sigma):
    if log_sigma is not None:
        for c in range(inv_sigma.shape[0]):
            inv_sigma[c] = np.exp(-log_sigma[c])


@njit(inline="always")
def _run_block(phase, blk, n_blocks, batch, state):
    """Block ``blk`` of ``n_blocks`` of one phase of a minibatch."""
    X, csr, _, params, velocity, gauss, unit_std, learn, chains, scratch = state[:10]
    hyper, plan, pt, groups = state[10], state[11], state[12], state[13]
    W = params[0]
    n_hidden, n_visible = W.shape
    start, n_pos, n_neg, n_grad, inv_sigma = batch
    persistent = plan[1]
    V, H, H_chain = scratch[0], scratch[1], scratch[2]
    chain_hidden, rng_state = chains
    n_all = n_pos + n_neg
    chain = H_chain[:n_neg]
    h0, h1 = span(n_hidden, blk, n_blocks)
    v0, v1 = span(n_visible, blk, n_blocks)
    q0, q1 = span(n_neg, blk, n_blocks)
    # (A run-time flag, not literals: see _minibatch_program.)
    # Only the CD start takes the sigmoid with the product; the other hidden
    # phases draw or take it after, at the chains' temperatures.
    probabilities = phase == _CD_START
    if phase == _LOAD:
        r0, r1 = span(n_pos, blk, n_blocks)
        _load_rows(X, csr, start + r0, start + r1, V[r0:r1])
        _scale_rows(gauss, V[r0:r1], inv_sigma)
        if persistent:
            copy_2d(chain[q0:q1], chain_hidden[q0:q1])
    elif phase == _CD_START:
        _hidden_columns(V[:n_pos], W, params[2], H[:n_pos], h0, h1, probabilities)
        copy_columns(chain, H[:n_pos], h0, h1)
    elif phase == _CD_DRAW or (phase == _GRADIENTS and persistent):
        target = chain if phase == _CD_DRAW else chain_hidden
        bernoulli_sample_(target[q0:q1], rng_state[q0:q1])
    elif phase == _VISIBLE_PRE:
        _visible_columns(chain, W, params[1], V[n_pos:n_all], v0, v1)
    elif phase == _VISIBLE_DRAW:
        draw_visible_(V[n_pos + q0 : n_pos + q1], chain[q0:q1], params[2], pt, q0,
                      unit_std, groups, rng_state[q0:q1])  # fmt: skip
    elif phase == _SWAP:
        swap_(V[n_pos:n_all], pt, n_grad, blk, n_blocks, rng_state)
    elif phase == _HIDDEN_PRE:
        _hidden_columns(V[n_pos:n_all], W, params[2], chain, h0, h1, probabilities)
    elif phase == _HIDDEN_DRAW:
        temper_rows_(chain[q0:q1], pt, q0)
        bernoulli_mean_sample_(chain[q0:q1], rng_state[q0:q1])
    elif phase == _HIDDEN_PROBS:
        first = 0 if persistent else n_pos  # CD has the positive ones already
        _hidden_columns(V[first:n_all], W, params[2], H[first:n_all], h0, h1,
                        probabilities)  # fmt: skip
        hidden_mean_columns_(H[first:n_all], n_pos - first, pt, h0, h1)
        if persistent:
            copy_columns(chain_hidden, H[n_pos:n_all], h0, h1)
    # The gradient: the positive rows and the first n_grad chains
    n_used = n_pos + n_grad
    if phase == _GRADIENTS:
        _visible_gradients(V, H, params, learn, n_pos, n_grad, scratch[3], v0, v1)
    elif phase == _UPDATE:
        _hidden_gradient(H, n_pos, n_grad, scratch[4], h0, h1)
        _update(params, velocity, gauss, learn, V[:n_used], H[:n_used], scratch,
                hyper, h0, h1, v0, v1)  # fmt: skip


@helper
def _load_rows(X, csr, start, stop, out):
    """Copy rows ``start:stop`` of dense ``X`` or of CSR ``csr = (data,
    indices, indptr)`` into the first ``stop - start`` rows of ``out``."""
    n = stop - start
    if csr is None:
        copy_2d(out[:n], X[start:stop])
    else:
        data, indices, indptr = csr
        for r in range(n):
            for c in range(out.shape[1]):
                out[r, c] = 0.0
            for p in range(indptr[start + r], indptr[start + r + 1]):
                out[r, indices[p]] = data[p]


@helper
def _scale_rows(log_sigma, V, inv_sigma):
    """Gaussian units: data rows to scaled coordinates ``v / sigma``."""
    if log_sigma is not None:
        for r in range(V.shape[0]):
            for c in range(V.shape[1]):
                V[r, c] *= inv_sigma[c]


@helper(error_model="numpy")
def _hidden_columns(V, W, hid_bias, out, h0, h1, probabilities):
    """Columns ``h0:h1`` of ``out = V @ W.T + c``, then the sigmoid if
    ``probabilities``. Loops run over whole C-contiguous rows (they
    vectorise; loops over a column slice's rows do not), and the product
    sees strided views, so ``gemm`` is compiled once per dtype."""
    fill_columns(out, hid_bias, h0, h1)
    gemm(NO_TRANS, TRANS, 1.0, V[:, :], W[h0:h1, :], 1.0, out[:, h0:h1])
    if probabilities:
        bernoulli_mean_columns_(out, h0, h1)


@helper
def _visible_columns(H, W, vis_bias, out, v0, v1):
    """Columns ``v0:v1`` of ``out = H @ W + b`` (as :func:`_hidden_columns`)."""
    fill_columns(out, vis_bias, v0, v1)
    gemm(NO_TRANS, NO_TRANS, 1.0, H[:, :], W[:, v0:v1], 1.0, out[:, v0:v1])


@helper(error_model="numpy")
def _visible_gradients(V, H, params, learn, n_pos, n_neg, vis_grad, v0, v1):
    """Columns ``v0:v1`` of the visible-bias gradient, and of the log-sigma
    one when sigma is learned (both: positive minus negative phase mean)."""
    pos_scale = 1.0 / n_pos
    neg_scale = 1.0 / n_neg
    n_all = n_pos + n_neg
    if learn is not None:
        # recon = H W (probabilities) for the interaction part of the
        # log-sigma gradient, before H is rescaled in the update phase.
        sigma_grad, recon = learn[2], learn[3]
        W, vis_bias = params[0], params[1]
        R = recon[:n_all, v0:v1]
        R[:] = 0.0
        gemm(NO_TRANS, NO_TRANS, 1.0, H[:n_all, :], W[:, v0:v1], 0.0, R)
        for c in range(v0, v1):
            sigma_grad[c] = 0.0
        for r in range(n_all):
            scale = pos_scale if r < n_pos else -neg_scale
            for c in range(v0, v1):
                v = V[r, c]
                sigma_grad[c] += scale * v * (v - vis_bias[c] - recon[r, c])
    # Loops over segments from index 0: loops from a run-time start do not
    # vectorise (numba's negative-index wraparound stays in them).
    grad = vis_grad[v0:v1]
    grad[:] = 0.0
    for r in range(n_pos):
        row = V[r][v0:v1]
        for k in range(grad.shape[0]):
            grad[k] += row[k] * pos_scale
    for r in range(n_pos, n_all):
        row = V[r][v0:v1]
        for k in range(grad.shape[0]):
            grad[k] -= row[k] * neg_scale


@helper(error_model="numpy")
def _hidden_gradient(H, n_pos, n_neg, hid_grad, h0, h1):
    """Columns ``h0:h1`` of the hidden-bias gradient; the rows of ``H`` are
    scaled (by ``1/B`` and ``-1/C``) so one product gives the ``W``
    gradient."""
    pos_scale = 1.0 / n_pos
    neg_scale = 1.0 / n_neg
    grad = hid_grad[h0:h1]  # segments from 0 vectorise (_visible_gradients)
    grad[:] = 0.0
    for r in range(n_pos + n_neg):
        scale = pos_scale if r < n_pos else -neg_scale
        row = H[r][h0:h1]
        for k in range(grad.shape[0]):
            row[k] *= scale
            grad[k] += row[k]


@helper(error_model="numpy")
def _update(params, velocity, gauss, learn, V, H, scratch, hyper, h0, h1, v0, v1):
    """Rows ``h0:h1`` of ``W``, and the biases' (and log sigmas') blocks,
    one gradient step: plain, ``W ← (1 - lr·λ) W + lr ∇``, or with
    momentum, ``Δ ← m Δ + lr (∇ - λ W)``, ``W ← W + Δ``."""
    W, vis_bias, hid_bias = params
    vis_grad, hid_grad = scratch[3], scratch[4]
    learning_rate, momentum, weight_decay = hyper
    decay = learning_rate * weight_decay
    if velocity is None:
        gemm(TRANS, NO_TRANS, learning_rate, H[:, h0:h1], V[:, :], 1.0 - decay,
             W[h0:h1, :])  # fmt: skip
        _add_scaled(vis_bias[v0:v1], learning_rate, vis_grad[v0:v1])
        _add_scaled(hid_bias[h0:h1], learning_rate, hid_grad[h0:h1])
        if learn is not None:
            for c in range(v0, v1):
                _sigma_step(learning_rate * learn[2][c], gauss, learn, c)
        return
    W_velocity, vis_velocity, hid_velocity = velocity
    gemm(TRANS, NO_TRANS, learning_rate, H[:, h0:h1], V[:, :], momentum,
         W_velocity[h0:h1, :])  # fmt: skip
    for r in range(h0, h1):
        for c in range(W.shape[1]):
            W_velocity[r, c] -= decay * W[r, c]
            W[r, c] += W_velocity[r, c]
    _momentum_step(vis_bias[v0:v1], vis_velocity[v0:v1], momentum, learning_rate,
                   vis_grad[v0:v1])  # fmt: skip
    _momentum_step(hid_bias[h0:h1], hid_velocity[h0:h1], momentum, learning_rate,
                   hid_grad[h0:h1])  # fmt: skip
    if learn is not None:
        ls_velocity, sigma_grad = learn[1], learn[2]
        for c in range(v0, v1):
            ls_velocity[c] = _sigma_step(
                momentum * ls_velocity[c] + learning_rate * sigma_grad[c],
                gauss, learn, c,
            )  # fmt: skip


@helper(error_model="numpy")
def _add_scaled(x, scale, g):
    """``x += scale * g`` (segments from 0, see :func:`_visible_gradients`)."""
    for k in range(x.shape[0]):
        x[k] += scale * g[k]


@helper(error_model="numpy")
def _momentum_step(x, velocity, momentum, learning_rate, g):
    """``Δ ← m Δ + lr g``, ``x ← x + Δ`` on segments."""
    for k in range(x.shape[0]):
        velocity[k] = momentum * velocity[k] + learning_rate * g[k]
        x[k] += velocity[k]


@helper(error_model="numpy")
def _sigma_step(step, log_sigma, learn, c):
    """``log_sigma[c] += step``, the step clipped to ``±max_step`` and the
    result to the floor; returns the step taken."""
    floor, max_step = learn[0], learn[4]
    step = min(max(step, -max_step), max_step)
    log_sigma[c] += step
    if log_sigma[c] < floor[c]:
        log_sigma[c] = floor[c]
        return 0.0
    return step
