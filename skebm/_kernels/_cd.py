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
    bernoulli_mean_sample_,
    bernoulli_sample_,
    hidden_preactivation,
    rbm_free_energy,
    softplus,
    visible_mean_,
    visible_preactivation,
    visible_sample_,
)


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


@njit(cache=True, nogil=True)
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
    n_hidden, n_visible = W.shape
    n_chains = chain_hidden.shape[0]
    max_batch = 0
    for i in range(batch_bounds.size - 1):
        max_batch = max(max_batch, batch_bounds[i + 1] - batch_bounds[i])
    max_neg = n_chains if persistent else max_batch
    dtype = W.dtype
    V = np.empty((max_batch + max_neg, n_visible), dtype)
    H = np.empty((max_batch + max_neg, n_hidden), dtype)
    H_chain = np.empty((max_neg, n_hidden), dtype)
    vis_grad = np.empty(n_visible, np.float64)
    hid_grad = np.empty(n_hidden, np.float64)
    sigma_grad = np.zeros(n_visible, np.float64)
    inv_sigma = np.ones(n_visible, dtype)
    unit_std = np.ones(n_visible, dtype)
    recon = np.empty((max_batch + max_neg, n_visible), dtype) if learn_sigma else V
    use_momentum = momentum != 0.0

    for i in range(batch_bounds.size - 1):
        start = batch_bounds[i]
        n_pos = batch_bounds[i + 1] - start
        n_neg = n_chains if persistent else n_pos
        n_all = n_pos + n_neg
        load_rows(X, data, indices, indptr, is_sparse, start, start + n_pos, V)
        if gaussian:
            for c in range(n_visible):
                inv_sigma[c] = np.exp(-log_sigma[c])
            _scale_columns(V[:n_pos], inv_sigma)
        V_pos = V[:n_pos]
        V_neg = V[n_pos:n_all]
        H_pos = H[:n_pos]
        H_neg = H[n_pos:n_all]
        chain = H_chain[:n_neg]

        if persistent:
            for r in range(n_neg):
                for c in range(n_hidden):
                    chain[r, c] = chain_hidden[r, c]
        else:
            hidden_preactivation(V_pos, W, hid_bias, H_pos)
            bernoulli_mean_(H_pos)
            for r in range(n_neg):
                for c in range(n_hidden):
                    chain[r, c] = H_pos[r, c]
            bernoulli_sample_(chain, rng_state)

        for step in range(n_gibbs_steps):
            visible_preactivation(chain, W, vis_bias, V_neg)
            visible_sample_(V_neg, gaussian, unit_std, rng_state)
            if step < n_gibbs_steps - 1:
                hidden_preactivation(V_neg, W, hid_bias, chain)
                bernoulli_mean_sample_(chain, rng_state)

        if persistent:
            # Positive and negative hidden phases in one product.
            hidden_preactivation(V[:n_all], W, hid_bias, H[:n_all])
            bernoulli_mean_(H[:n_all])
            for r in range(n_neg):
                for c in range(n_hidden):
                    chain_hidden[r, c] = H_neg[r, c]
            bernoulli_sample_(chain_hidden, rng_state)
        else:
            hidden_preactivation(V_neg, W, hid_bias, H_neg)
            bernoulli_mean_(H_neg)

        pos_scale = 1.0 / n_pos
        neg_scale = 1.0 / n_neg
        if learn_sigma:
            # recon = H W (probabilities), for the interaction part of the
            # log-sigma gradient; before H is rescaled below.
            recon[:n_all] = 0.0
            matmul_add(False, False, 1.0, H[:n_all], W, 0.0, recon[:n_all])
            sigma_grad[:] = 0.0
            for r in range(n_all):
                scale = pos_scale if r < n_pos else -neg_scale
                for c in range(n_visible):
                    v = V[r, c]
                    sigma_grad[c] += scale * v * (v - vis_bias[c] - recon[r, c])

        # Bias gradients, then scale H rows so one product gives the W gradient.
        vis_grad[:] = 0.0
        hid_grad[:] = 0.0
        for r in range(n_pos):
            for c in range(n_visible):
                vis_grad[c] += V_pos[r, c] * pos_scale
            for c in range(n_hidden):
                H_pos[r, c] *= pos_scale
                hid_grad[c] += H_pos[r, c]
        for r in range(n_neg):
            for c in range(n_visible):
                vis_grad[c] -= V_neg[r, c] * neg_scale
            for c in range(n_hidden):
                H_neg[r, c] *= -neg_scale
                hid_grad[c] += H_neg[r, c]

        if use_momentum:
            matmul_add(
                True, False, learning_rate, H[:n_all], V[:n_all], momentum, W_velocity
            )
            decay = learning_rate * weight_decay
            for r in range(n_hidden):
                for c in range(n_visible):
                    W_velocity[r, c] -= decay * W[r, c]
                    W[r, c] += W_velocity[r, c]
            for c in range(n_visible):
                vis_velocity[c] = (
                    momentum * vis_velocity[c] + learning_rate * vis_grad[c]
                )
                vis_bias[c] += vis_velocity[c]
            for c in range(n_hidden):
                hid_velocity[c] = (
                    momentum * hid_velocity[c] + learning_rate * hid_grad[c]
                )
                hid_bias[c] += hid_velocity[c]
            if learn_sigma:
                for c in range(n_visible):
                    step = (
                        momentum * log_sigma_velocity[c] + learning_rate * sigma_grad[c]
                    )
                    step = min(max(step, -max_log_sigma_step), max_log_sigma_step)
                    log_sigma_velocity[c] = step
                    log_sigma[c] += step
                    if log_sigma[c] < log_sigma_floor[c]:
                        log_sigma[c] = log_sigma_floor[c]
                        log_sigma_velocity[c] = 0.0
        else:
            matmul_add(
                True,
                False,
                learning_rate,
                H[:n_all],
                V[:n_all],
                1.0 - learning_rate * weight_decay,
                W,
            )
            for c in range(n_visible):
                vis_bias[c] += learning_rate * vis_grad[c]
            for c in range(n_hidden):
                hid_bias[c] += learning_rate * hid_grad[c]
            if learn_sigma:
                for c in range(n_visible):
                    step = learning_rate * sigma_grad[c]
                    step = min(max(step, -max_log_sigma_step), max_log_sigma_step)
                    log_sigma[c] += step
                    if log_sigma[c] < log_sigma_floor[c]:
                        log_sigma[c] = log_sigma_floor[c]


@njit(cache=True, nogil=True)
def rbm_gibbs(V, W, vis_bias, hid_bias, rng_state, n_steps, gaussian):
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


@njit(cache=True, nogil=True)
def rbm_monitor(V, V_flip, W, vis_bias, hid_bias, gaussian, sigma):
    """Per-epoch monitoring on rows ``V`` (dense; scaled if Gaussian).

    Returns ``(pseudo_log_likelihood, reconstruction_error)``: the mean of
    ``n_features * log sigmoid(F(V_flip) - F(V))`` (one feature flipped per
    row; NaN for Gaussian units, where no flip exists) and the mean squared
    error, in data units, of the mean-field reconstruction
    ``E[v | E[h | v]]``.
    """
    n, n_visible = V.shape
    pll = np.nan
    if not gaussian:
        fe = rbm_free_energy(V, W, vis_bias, hid_bias, False)
        fe_flip = rbm_free_energy(V_flip, W, vis_bias, hid_bias, False)
        pll = 0.0
        for r in range(n):
            pll -= n_visible * softplus(-(fe_flip[r] - fe[r]))
        pll /= n
    H = np.empty((n, W.shape[0]), W.dtype)
    hidden_preactivation(V, W, hid_bias, H)
    bernoulli_mean_(H)
    R = np.empty((n, n_visible), W.dtype)
    visible_preactivation(H, W, vis_bias, R)
    visible_mean_(R, gaussian)
    err = 0.0
    for r in range(n):
        for c in range(n_visible):
            d = (V[r, c] - R[r, c]) * sigma[c]
            err += d * d
    return pll, err / (n * n_visible)
