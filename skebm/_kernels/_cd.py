"""Whole-epoch contrastive-divergence training of RBMs (Bernoulli or
Gaussian visible units, Bernoulli hidden units).

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
``W ← W + Δ``.
"""

import numpy as np
from numba import njit

from ._blas import matmul_add
from ._layers import (
    bernoulli_mean_,
    bernoulli_mean_columns_,
    bernoulli_mean_sample_,
    bernoulli_sample_,
    hidden_preactivation,
    rbm_free_energy,
    softplus,
    softplus_sum,
    visible_energy_term,
    visible_mean_,
    visible_preactivation,
    visible_sample_,
)
from ._sync import barrier, copy_1d, copy_2d, run_threads, span


@njit(cache=True, nogil=True)
def load_rows(X, data, indices, indptr, is_sparse, start, stop, out):
    """Copy rows ``start:stop`` of dense ``X`` or CSR ``(data, indices,
    indptr)`` into the first ``stop - start`` rows of ``out`` (densified)."""
    n = stop - start
    if is_sparse:
        for r in range(n):
            for c in range(out.shape[1]):
                out[r, c] = 0.0
            for p in range(indptr[start + r], indptr[start + r + 1]):
                out[r, indices[p]] = data[p]
    else:
        for r in range(n):
            for c in range(out.shape[1]):
                out[r, c] = X[start + r, c]


@njit(cache=True, nogil=True)
def _scale_columns(V, factor):
    for r in range(V.shape[0]):
        for c in range(V.shape[1]):
            V[r, c] *= factor[c]


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


def rbm_epoch(
    X,
    data,
    indices,
    indptr,
    is_sparse,
    batch_bounds,
    W,
    vis_bias,
    hid_bias,
    log_sigma,
    W_velocity,
    vis_velocity,
    hid_velocity,
    log_sigma_velocity,
    chain_hidden,
    rng_state,
    learning_rate,
    momentum,
    weight_decay,
    n_gibbs_steps,
    persistent,
    gaussian,
    learn_sigma,
    log_sigma_floor,
    max_log_sigma_step,
    n_blocks=1,
    n_threads=1,
):
    """Train one epoch in place; returns nothing.

    Parameters
    ----------
    X : (n_samples, n_visible) dense data, or a (0, n_visible) placeholder.
    data, indices, indptr : CSR arrays of the data when ``is_sparse``.
    batch_bounds : int64 array; minibatch ``i`` is rows
        ``batch_bounds[i]:batch_bounds[i + 1]``.
    W, vis_bias, hid_bias : parameters, updated in place. For Gaussian
        visible units ``vis_bias`` is the scaled mean ``a' = a / sigma``.
    log_sigma : (n_visible,) log standard deviations of Gaussian visible
        units (ignored for Bernoulli ones); updated when ``learn_sigma``.
    *_velocity : momentum buffers, updated in place (unused if momentum == 0).
    chain_hidden : (n_chains, n_hidden) persistent hidden samples, updated.
    rng_state : (n_rows, 4) uint64, at least max(batch, n_chains) rows.
    gaussian : bool, Gaussian (True) or Bernoulli (False) visible units.
    learn_sigma : bool, learn ``log_sigma`` by gradient ascent too.
    log_sigma_floor : (n_visible,) lower bounds of learned ``log_sigma``
        (the likelihood is unbounded as a sigma goes to 0 on a feature with
        repeated values; the bound keeps training well-posed).
    max_log_sigma_step : largest change of any ``log_sigma`` per minibatch
        (the log-sigma gradient grows with ``v'²``, so one outlier in a
        heavy-tailed feature could otherwise throw sigma out of range).
    n_blocks : 1 or 2, blocks each product and row loop is split into (see
        :func:`epoch_blocks`); the result depends on it.
    n_threads : threads that run the blocks (at most ``n_blocks``); the
        result does not depend on it.

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
    """
    if int(n_blocks) < 1 or int(n_threads) < 1:
        raise ValueError(
            f"n_blocks and n_threads must be >= 1, got {n_blocks} and {n_threads}"
        )
    n_hidden, n_visible = W.shape
    max_batch = int(np.diff(batch_bounds).max()) if batch_bounds.size > 1 else 0
    max_neg = chain_hidden.shape[0] if persistent else max_batch
    dtype = W.dtype
    V = np.empty((max_batch + max_neg, n_visible), dtype)
    H = np.empty((max_batch + max_neg, n_hidden), dtype)
    H_chain = np.empty((max_neg, n_hidden), dtype)
    recon = np.empty((max_batch + max_neg if learn_sigma else 0, n_visible), dtype)
    vis_grad = np.empty(n_visible, np.float64)
    hid_grad = np.empty(n_hidden, np.float64)
    sigma_grad = np.zeros(n_visible, np.float64)
    args = (
        X, data, indices, indptr, is_sparse, batch_bounds, W, vis_bias, hid_bias,
        log_sigma, W_velocity, vis_velocity, hid_velocity, log_sigma_velocity,
        chain_hidden, rng_state, float(learning_rate), float(momentum),
        float(weight_decay), int(n_gibbs_steps), bool(persistent), bool(gaussian),
        bool(learn_sigma), log_sigma_floor, float(max_log_sigma_step),
        V, H, H_chain, recon, vis_grad, hid_grad, sigma_grad, int(n_blocks),
    )  # fmt: skip
    run_threads(rbm_epoch_kernel, args, min(int(n_threads), int(n_blocks)))


# Column-block steps. With one block they run on the whole (C-contiguous)
# arrays: numba types a column slice as non-contiguous, and the sigmoid and
# copy loops over such slices cost 15 µs per minibatch of digits at batch 10.
@njit(inline="always")
def _hidden_pre_(V, W, hid_bias, out, h0, h1, whole, probabilities):
    """``out[:, h0:h1] = V @ W[h0:h1].T + c[h0:h1]``, then the sigmoid if
    ``probabilities``."""
    if whole:
        hidden_preactivation(V, W, hid_bias, out)
        if probabilities:
            bernoulli_mean_(out)
    else:
        hidden_preactivation(V, W[h0:h1], hid_bias[h0:h1], out[:, h0:h1])
        if probabilities:
            bernoulli_mean_columns_(out, h0, h1)


@njit(inline="always")
def _visible_pre_(H, W, vis_bias, out, v0, v1, whole):
    """``out[:, v0:v1] = H @ W[:, v0:v1] + b[v0:v1]``."""
    if whole:
        visible_preactivation(H, W, vis_bias, out)
    else:
        visible_preactivation(H, W[:, v0:v1], vis_bias[v0:v1], out[:, v0:v1])


@njit(inline="always")
def _weight_step_(H, V, learning_rate, beta, out, h0, h1, whole):
    """``out[h0:h1] = beta * out[h0:h1] + lr * H[:, h0:h1]ᵀ V``."""
    if whole:
        matmul_add(True, False, learning_rate, H, V, beta, out)
    else:
        matmul_add(True, False, learning_rate, H[:, h0:h1], V, beta, out[h0:h1])


@njit(inline="always")
def _copy_columns_(dst, src, c0, c1):
    """``dst[:, c0:c1] = src[:, c0:c1]`` (loops over whole rows' ranges)."""
    for r in range(dst.shape[0]):
        d = dst[r]
        s = src[r]
        for c in range(c0, c1):
            d[c] = s[c]


@njit(inline="always")
def _clip_log_sigma_step(step, log_sigma, floor, c, max_step):
    step = min(max(step, -max_step), max_step)
    log_sigma[c] += step
    if log_sigma[c] < floor[c]:
        log_sigma[c] = floor[c]
        return 0.0
    return step


@njit(cache=True, nogil=True, error_model="numpy")
def rbm_epoch_kernel(
    X,
    data,
    indices,
    indptr,
    is_sparse,
    batch_bounds,
    W,
    vis_bias,
    hid_bias,
    log_sigma,
    W_velocity,
    vis_velocity,
    hid_velocity,
    log_sigma_velocity,
    chain_hidden,
    rng_state,
    learning_rate,
    momentum,
    weight_decay,
    n_gibbs_steps,
    persistent,
    gaussian,
    learn_sigma,
    log_sigma_floor,
    max_log_sigma_step,
    V,
    H,
    H_chain,
    recon,
    vis_grad,
    hid_grad,
    sigma_grad,
    n_blocks,
    tid,
    n_threads,
    sync,
):
    """The work of :func:`rbm_epoch` for thread ``tid`` of ``n_threads``.

    ``V``, ``H``, ``H_chain``, ``recon`` and the ``*_grad`` vectors are
    shared scratch.  Each step of a minibatch is split into ``n_blocks``
    blocks, of hidden or visible columns for products and elementwise maths
    (each RNG-free), or of rows for draws (row ``r`` always uses generator
    row ``r``); thread ``tid`` runs blocks ``tid, tid + n_threads, ...`` and
    the threads meet at a barrier wherever a step reads what another block
    of the previous step wrote.
    """
    n_hidden, n_visible = W.shape
    n_chains = chain_hidden.shape[0]
    dtype = W.dtype
    inv_sigma = np.ones(n_visible, dtype)
    unit_std = np.ones(n_visible, dtype)
    use_momentum = momentum != 0.0
    decay = learning_rate * weight_decay
    whole = n_blocks == 1

    for i in range(batch_bounds.size - 1):
        start = batch_bounds[i]
        n_pos = batch_bounds[i + 1] - start
        n_neg = n_chains if persistent else n_pos
        n_all = n_pos + n_neg
        first = 0 if persistent else n_pos  # rows of H the last phase fills
        V_pos = V[:n_pos]
        V_neg = V[n_pos:n_all]
        H_pos = H[:n_pos]
        H_neg = H[n_pos:n_all]
        chain = H_chain[:n_neg]
        if gaussian:
            for c in range(n_visible):
                inv_sigma[c] = np.exp(-log_sigma[c])

        # Data rows in (scaled if Gaussian); persistent chains copied.
        for blk in range(tid, n_blocks, n_threads):
            r0, r1 = span(n_pos, blk, n_blocks)
            load_rows(X, data, indices, indptr, is_sparse, start + r0, start + r1,
                      V_pos[r0:r1])  # fmt: skip
            if gaussian:
                _scale_columns(V_pos[r0:r1], inv_sigma)
            if persistent:
                q0, q1 = span(n_neg, blk, n_blocks)
                copy_2d(chain[q0:q1], chain_hidden[q0:q1])
        if not barrier(sync, n_threads):
            return

        if not persistent:  # CD: the chains start from h ~ p(h | v_data)
            for blk in range(tid, n_blocks, n_threads):
                h0, h1 = span(n_hidden, blk, n_blocks)
                _hidden_pre_(V_pos, W, hid_bias, H_pos, h0, h1, whole, True)
                _copy_columns_(chain, H_pos, h0, h1)
            if not barrier(sync, n_threads):
                return
            for blk in range(tid, n_blocks, n_threads):
                q0, q1 = span(n_neg, blk, n_blocks)
                bernoulli_sample_(chain[q0:q1], rng_state[q0:q1])
            if not barrier(sync, n_threads):
                return

        for step in range(n_gibbs_steps):
            for blk in range(tid, n_blocks, n_threads):
                v0, v1 = span(n_visible, blk, n_blocks)
                _visible_pre_(chain, W, vis_bias, V_neg, v0, v1, whole)
            if not barrier(sync, n_threads):
                return
            for blk in range(tid, n_blocks, n_threads):
                q0, q1 = span(n_neg, blk, n_blocks)
                visible_sample_(V_neg[q0:q1], gaussian, unit_std, rng_state[q0:q1])
            if not barrier(sync, n_threads):
                return
            if step < n_gibbs_steps - 1:
                for blk in range(tid, n_blocks, n_threads):
                    h0, h1 = span(n_hidden, blk, n_blocks)
                    _hidden_pre_(V_neg, W, hid_bias, chain, h0, h1, whole, False)
                if not barrier(sync, n_threads):
                    return
                for blk in range(tid, n_blocks, n_threads):
                    q0, q1 = span(n_neg, blk, n_blocks)
                    bernoulli_mean_sample_(chain[q0:q1], rng_state[q0:q1])
                if not barrier(sync, n_threads):
                    return

        # Hidden probabilities: both phases in one product when persistent
        # (for CD the positive ones are already there).
        for blk in range(tid, n_blocks, n_threads):
            h0, h1 = span(n_hidden, blk, n_blocks)
            _hidden_pre_(V[first:n_all], W, hid_bias, H[first:n_all], h0, h1,
                         whole, True)  # fmt: skip
            if persistent:
                _copy_columns_(chain_hidden, H_neg, h0, h1)
        if not barrier(sync, n_threads):
            return

        pos_scale = 1.0 / n_pos
        neg_scale = 1.0 / n_neg
        for blk in range(tid, n_blocks, n_threads):
            if persistent:
                q0, q1 = span(n_neg, blk, n_blocks)
                bernoulli_sample_(chain_hidden[q0:q1], rng_state[q0:q1])
            v0, v1 = span(n_visible, blk, n_blocks)
            if learn_sigma:
                # recon = H W (probabilities) for the interaction part of the
                # log-sigma gradient, before H is rescaled below.
                R = recon[:n_all, v0:v1]
                R[:] = 0.0
                matmul_add(False, False, 1.0, H[:n_all], W[:, v0:v1], 0.0, R)
                for c in range(v0, v1):
                    sigma_grad[c] = 0.0
                for r in range(n_all):
                    scale = pos_scale if r < n_pos else -neg_scale
                    for c in range(v0, v1):
                        v = V[r, c]
                        sigma_grad[c] += scale * v * (v - vis_bias[c] - recon[r, c])
            for c in range(v0, v1):
                vis_grad[c] = 0.0
            for r in range(n_pos):
                for c in range(v0, v1):
                    vis_grad[c] += V_pos[r, c] * pos_scale
            for r in range(n_neg):
                for c in range(v0, v1):
                    vis_grad[c] -= V_neg[r, c] * neg_scale
        if learn_sigma:  # the rescaling below writes what recon read
            if not barrier(sync, n_threads):
                return

        for blk in range(tid, n_blocks, n_threads):
            # Hidden-bias gradient, then H rows scaled so one product gives
            # this block's rows of the W gradient.
            h0, h1 = span(n_hidden, blk, n_blocks)
            for c in range(h0, h1):
                hid_grad[c] = 0.0
            for r in range(n_pos):
                for c in range(h0, h1):
                    H_pos[r, c] *= pos_scale
                    hid_grad[c] += H_pos[r, c]
            for r in range(n_neg):
                for c in range(h0, h1):
                    H_neg[r, c] *= -neg_scale
                    hid_grad[c] += H_neg[r, c]
            v0, v1 = span(n_visible, blk, n_blocks)
            if use_momentum:
                _weight_step_(H[:n_all], V[:n_all], learning_rate, momentum,
                              W_velocity, h0, h1, whole)  # fmt: skip
                for r in range(h0, h1):
                    for c in range(n_visible):
                        W_velocity[r, c] -= decay * W[r, c]
                        W[r, c] += W_velocity[r, c]
                for c in range(v0, v1):
                    vis_velocity[c] = (
                        momentum * vis_velocity[c] + learning_rate * vis_grad[c]
                    )
                    vis_bias[c] += vis_velocity[c]
                for c in range(h0, h1):
                    hid_velocity[c] = (
                        momentum * hid_velocity[c] + learning_rate * hid_grad[c]
                    )
                    hid_bias[c] += hid_velocity[c]
                if learn_sigma:
                    for c in range(v0, v1):
                        log_sigma_velocity[c] = _clip_log_sigma_step(
                            momentum * log_sigma_velocity[c]
                            + learning_rate * sigma_grad[c],
                            log_sigma, log_sigma_floor, c, max_log_sigma_step,
                        )  # fmt: skip
            else:
                _weight_step_(H[:n_all], V[:n_all], learning_rate, 1.0 - decay, W,
                              h0, h1, whole)  # fmt: skip
                for c in range(v0, v1):
                    vis_bias[c] += learning_rate * vis_grad[c]
                for c in range(h0, h1):
                    hid_bias[c] += learning_rate * hid_grad[c]
                if learn_sigma:
                    for c in range(v0, v1):
                        _clip_log_sigma_step(
                            learning_rate * sigma_grad[c],
                            log_sigma, log_sigma_floor, c, max_log_sigma_step,
                        )  # fmt: skip
        if not barrier(sync, n_threads):
            return


#: Rows per block of the row-parallel inference functions below.
_ROW_BLOCK = 1024


def _row_threads(n_rows, n_threads):
    return max(1, min(int(n_threads), -(-n_rows // _ROW_BLOCK)))


def hidden_probabilities(V, W, hid_bias, n_threads=1):
    """``sigmoid(V @ W.T + c)`` for dense C-contiguous ``V`` of ``W``'s dtype.

    Rows go in fixed blocks of ``_ROW_BLOCK``, shared out to ``n_threads``
    threads (one product per block), so the result does not depend on the
    thread count. BLAS runs on one thread (the estimators pin it).
    """
    out = np.empty((V.shape[0], W.shape[0]), W.dtype)
    args = (V, W, hid_bias, out)
    run_threads(_hidden_probabilities_kernel, args, _row_threads(len(V), n_threads))
    return out


@njit(cache=True, nogil=True)
def _hidden_probabilities_kernel(V, W, hid_bias, out, tid, n_threads, sync):
    n = V.shape[0]
    for start in range(tid * _ROW_BLOCK, n, n_threads * _ROW_BLOCK):
        stop = min(n, start + _ROW_BLOCK)
        hidden_preactivation(V[start:stop], W, hid_bias, out[start:stop])
        bernoulli_mean_(out[start:stop])


def free_energies(V, W, vis_bias, hid_bias, gaussian, n_threads=1):
    """:func:`~._layers.rbm_free_energy` of every row of dense ``V``, rows in
    fixed blocks shared out to ``n_threads`` threads (as
    :func:`hidden_probabilities`)."""
    out = np.empty(V.shape[0], np.float64)
    args = (V, W, vis_bias, hid_bias, bool(gaussian), out)
    run_threads(_free_energies_kernel, args, _row_threads(len(V), n_threads))
    return out


@njit(cache=True, nogil=True)
def _free_energies_kernel(
    V, W, vis_bias, hid_bias, gaussian, out, tid, n_threads, sync
):
    n = V.shape[0]
    for start in range(tid * _ROW_BLOCK, n, n_threads * _ROW_BLOCK):
        stop = min(n, start + _ROW_BLOCK)
        copy_1d(
            out[start:stop],
            rbm_free_energy(V[start:stop], W, vis_bias, hid_bias, gaussian),
        )


#: Rows per block of the row-parallel Gibbs sampler.
_GIBBS_BLOCK = 128


def rbm_gibbs(V, W, vis_bias, hid_bias, rng_state, n_steps, gaussian, n_threads=1):
    """Run ``n_steps`` block-Gibbs steps v -> h -> v from each row of ``V``
    (see :func:`_rbm_gibbs_block`).

    Rows go in fixed blocks of ``_GIBBS_BLOCK`` shared out to ``n_threads``
    threads; row ``r`` draws from generator row ``r``, so the samples do not
    depend on the thread count.
    """
    out = np.empty((V.shape[0], W.shape[1]), W.dtype)
    n_blocks = -(-V.shape[0] // _GIBBS_BLOCK)
    args = (V, W, vis_bias, hid_bias, rng_state, int(n_steps), bool(gaussian), out)
    run_threads(_rbm_gibbs_kernel, args, max(1, min(int(n_threads), n_blocks)))
    return out


@njit(cache=True, nogil=True)
def _rbm_gibbs_kernel(V, W, b, c, rng_state, n_steps, gaussian, out, tid, n_threads,
                      sync):  # fmt: skip
    n = V.shape[0]
    for start in range(tid * _GIBBS_BLOCK, n, n_threads * _GIBBS_BLOCK):
        stop = min(n, start + _GIBBS_BLOCK)
        samples = _rbm_gibbs_block(
            V[start:stop], W, b, c, rng_state[start:stop], n_steps, gaussian
        )
        copy_2d(out[start:stop], samples)


@njit(cache=True, nogil=True)
def _rbm_gibbs_block(V, W, vis_bias, hid_bias, rng_state, n_steps, gaussian):
    """Run ``n_steps`` block-Gibbs steps v -> h -> v from each row of ``V``.

    Returns the last visible samples (dtype of ``W``): binary, or for
    Gaussian units real values in scaled coordinates (``V`` and
    ``vis_bias`` scaled too).
    """
    n, n_visible = V.shape
    n_hidden = W.shape[0]
    v = np.empty((n, n_visible), W.dtype)
    for r in range(n):
        for c in range(n_visible):
            v[r, c] = V[r, c]
    h = np.empty((n, n_hidden), W.dtype)
    unit_std = np.ones(n_visible, W.dtype)
    for _ in range(n_steps):
        hidden_preactivation(v, W, hid_bias, h)
        bernoulli_mean_sample_(h, rng_state)
        visible_preactivation(h, W, vis_bias, v)
        visible_sample_(v, gaussian, unit_std, rng_state)
    return v


@njit(cache=True, nogil=True)
def random_binary(n_rows, n_cols, dtype_like, rng_state):
    """``(n_rows, n_cols)`` fair coin flips (dtype of ``dtype_like``)."""
    out = np.full((n_rows, n_cols), 0.5, dtype_like.dtype)
    bernoulli_sample_(out, rng_state)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def rbm_monitor(V, V_flip, W, vis_bias, hid_bias, gaussian, sigma):
    """Per-epoch monitoring on rows ``V`` (dense; scaled if Gaussian).

    Returns ``(pseudo_log_likelihood, reconstruction_error)``: the mean of
    ``n_features * log sigmoid(F(V_flip) - F(V))`` (``V_flip`` differs from
    ``V`` in one feature per row; NaN for Gaussian units, where no flip
    exists) and the mean squared error, in data units, of the mean-field
    reconstruction ``E[v | E[h | v]]``.

    Two products in all: the hidden pre-activations of ``V`` serve both
    free energies (a flipped row's differ by the flipped columns of ``W``)
    and the reconstruction.
    """
    n, n_visible = V.shape
    n_hidden = W.shape[0]
    pre = np.empty((n, n_hidden), W.dtype)
    hidden_preactivation(V, W, hid_bias, pre)
    pll = np.nan
    if not gaussian:
        fe = np.empty(n, np.float64)
        fe_flip = np.empty(n, np.float64)
        visible_energy_term(V, vis_bias, False, fe)
        visible_energy_term(V_flip, vis_bias, False, fe_flip)
        tmp = np.empty(n_hidden, np.float64)
        pre_flip = np.empty(n_hidden, np.float64)
        pll = 0.0
        for r in range(n):
            fe[r] -= softplus_sum(pre[r], 1.0, tmp)
            for j in range(n_hidden):
                pre_flip[j] = pre[r, j]
            for c in range(n_visible):
                delta = V_flip[r, c] - V[r, c]
                if delta != 0.0:
                    for j in range(n_hidden):
                        pre_flip[j] += delta * W[j, c]
            fe_flip[r] -= softplus_sum(pre_flip, 1.0, tmp)
            pll -= n_visible * softplus(-(fe_flip[r] - fe[r]))
        pll /= n
    bernoulli_mean_(pre)
    R = np.empty((n, n_visible), W.dtype)
    visible_preactivation(pre, W, vis_bias, R)
    visible_mean_(R, gaussian)
    err = 0.0
    for r in range(n):
        for c in range(n_visible):
            d = (V[r, c] - R[r, c]) * sigma[c]
            err += d * d
    return pll, err / (n * n_visible)
