"""Whole-epoch contrastive-divergence training of a Bernoulli RBM.

One call of :func:`bernoulli_rbm_epoch` runs every minibatch of an epoch, so
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
    bernoulli_rbm_free_energy,
    bernoulli_sample_,
    hidden_preactivation,
    softplus,
    visible_preactivation,
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
def bernoulli_rbm_epoch(
    X,
    data,
    indices,
    indptr,
    is_sparse,
    batch_bounds,
    W,
    vis_bias,
    hid_bias,
    W_velocity,
    vis_velocity,
    hid_velocity,
    chain_hidden,
    rng_state,
    learning_rate,
    momentum,
    weight_decay,
    n_gibbs_steps,
    persistent,
):
    """Train one epoch in place; returns nothing.

    Parameters
    ----------
    X : (n_samples, n_visible) dense data, or a (0, n_visible) placeholder.
    data, indices, indptr : CSR arrays of the data when ``is_sparse``.
    batch_bounds : int64 array; minibatch ``i`` is rows
        ``batch_bounds[i]:batch_bounds[i + 1]``.
    W, vis_bias, hid_bias : parameters, updated in place.
    *_velocity : momentum buffers, updated in place (unused if momentum == 0).
    chain_hidden : (n_chains, n_hidden) persistent hidden samples, updated.
    rng_state : (n_rows, 4) uint64, at least max(batch, n_chains) rows.
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
    use_momentum = momentum != 0.0

    for i in range(batch_bounds.size - 1):
        start = batch_bounds[i]
        n_pos = batch_bounds[i + 1] - start
        n_neg = n_chains if persistent else n_pos
        n_all = n_pos + n_neg
        load_rows(X, data, indices, indptr, is_sparse, start, start + n_pos, V)
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
            bernoulli_mean_sample_(V_neg, rng_state)
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

        # Bias gradients, then scale H rows so one product gives the W gradient.
        pos_scale = 1.0 / n_pos
        neg_scale = 1.0 / n_neg
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


@njit(cache=True, nogil=True)
def bernoulli_rbm_gibbs(V, W, vis_bias, hid_bias, rng_state, n_steps):
    """Run ``n_steps`` block-Gibbs steps v -> h -> v from each row of ``V``.

    Returns the last visible samples (binary, dtype of ``W``).
    """
    n, n_visible = V.shape
    n_hidden = W.shape[0]
    v = np.empty((n, n_visible), W.dtype)
    for r in range(n):
        for c in range(n_visible):
            v[r, c] = V[r, c]
    h = np.empty((n, n_hidden), W.dtype)
    for _ in range(n_steps):
        hidden_preactivation(v, W, hid_bias, h)
        bernoulli_mean_sample_(h, rng_state)
        visible_preactivation(h, W, vis_bias, v)
        bernoulli_mean_sample_(v, rng_state)
    return v


@njit(cache=True, nogil=True)
def random_binary(n_rows, n_cols, dtype_like, rng_state):
    """``(n_rows, n_cols)`` fair coin flips (dtype of ``dtype_like``)."""
    out = np.full((n_rows, n_cols), 0.5, dtype_like.dtype)
    bernoulli_sample_(out, rng_state)
    return out


@njit(cache=True, nogil=True)
def bernoulli_rbm_monitor(V, V_flip, W, vis_bias, hid_bias):
    """Per-epoch monitoring on rows ``V`` (dense).

    Returns ``(pseudo_log_likelihood, reconstruction_error)``: the mean of
    ``n_features * log sigmoid(F(V_flip) - F(V))`` (one feature flipped per
    row) and the mean squared error of the mean-field reconstruction
    ``p(v | E[h | v])``.
    """
    n, n_visible = V.shape
    fe = bernoulli_rbm_free_energy(V, W, vis_bias, hid_bias)
    fe_flip = bernoulli_rbm_free_energy(V_flip, W, vis_bias, hid_bias)
    pll = 0.0
    for r in range(n):
        pll -= n_visible * softplus(-(fe_flip[r] - fe[r]))
    H = np.empty((n, W.shape[0]), W.dtype)
    hidden_preactivation(V, W, hid_bias, H)
    bernoulli_mean_(H)
    R = np.empty((n, n_visible), W.dtype)
    visible_preactivation(H, W, vis_bias, R)
    bernoulli_mean_(R)
    err = 0.0
    for r in range(n):
        for c in range(n_visible):
            d = V[r, c] - R[r, c]
            err += d * d
    return pll / n, err / (n * n_visible)
