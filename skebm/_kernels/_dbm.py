"""Kernels of the deep Boltzmann machine: mean-field inference, alternating
Gibbs sampling and whole-epoch training.

A model of ``L + 1`` binary layers (layer 0 visible) is one tuple
``model = (w, b, sizes, offsets, w_offsets, scales)``:

- ``w``: every weight matrix, flattened one after the other; ``W_i`` (shape
  ``(sizes[i], sizes[i + 1])``, C order) is ``w[w_offsets[i]:w_offsets[i +
  1]]``;
- ``b``: every bias, layer after layer; layer ``i``'s units are columns
  ``offsets[i]:offsets[i + 1]`` of ``b`` and of every state array;
- ``scales``: ``(L + 1, 2)`` factors on layer ``i``'s input from below and
  from above. A deep Boltzmann machine has all ones; the RBMs of greedy
  pretraining (Salakhutdinov & Hinton 2009, 2012) are two-layer models
  with doubled inputs where the finished machine will give a layer a
  second neighbour.

The total input of layer ``i`` is ``b_i + s_i,below x_{i-1} W_{i-1} +
s_i,above x_{i+1} W_iᵀ``. With unit scales the energy is
``E(x) = -Σ_i b_i·x_i - Σ_i x_i W_i x_{i+1}``: even and odd layers are
conditionally independent given each other, so mean-field and Gibbs
updates go odd layers first, then even ones.

A layered model is one compiled specialisation for every depth. Serial:
BLAS is pinned to one thread by the estimator, so results do not depend on
the thread count.
"""

import numpy as np

from ._arrays import fill_rows
from ._blas import NO_TRANS, TRANS, gemm
from ._jit import helper, kernel
from ._layers import bernoulli_mean_, bernoulli_mean_sample_


@helper
def layer_weights(w, sizes, w_offsets, i):
    """``W_i`` as a ``(sizes[i], sizes[i + 1])`` view of the flat ``w``."""
    return w[w_offsets[i] : w_offsets[i + 1]].reshape((sizes[i], sizes[i + 1]))


@helper
def layer_input(model, X, i, out):
    """``out`` (rows of ``X``, ``sizes[i]``) = total input of layer ``i``
    given the other layers' states in ``X``."""
    w, b, sizes, offsets, w_offsets, scales = model
    fill_rows(out, b[offsets[i] : offsets[i + 1]])
    if i > 0:
        below = X[:, offsets[i - 1] : offsets[i]]
        W = layer_weights(w, sizes, w_offsets, i - 1)
        gemm(NO_TRANS, NO_TRANS, scales[i, 0], below, W[:, :], 1.0, out[:, :])
    if i < sizes.shape[0] - 1:
        above = X[:, offsets[i + 1] : offsets[i + 2]]
        W = layer_weights(w, sizes, w_offsets, i)
        gemm(NO_TRANS, TRANS, scales[i, 1], above, W[:, :], 1.0, out[:, :])


@helper
def _store(X, c0, values):
    """``X[:, c0:c0 + values.shape[1]] = values``; returns the largest
    absolute change."""
    change = 0.0
    for r in range(values.shape[0]):
        row = X[r][c0 : c0 + values.shape[1]]
        for c in range(values.shape[1]):
            change = max(change, abs(row[c] - values[r, c]))
            row[c] = values[r, c]
    return change


@helper
def _mean_field_start(model, MU, pre):
    """A bottom-up pass: each hidden layer from the one below, its input
    doubled where a layer above will also feed it (Salakhutdinov & Hinton
    2012). Exact for a two-layer model."""
    w, b, sizes, offsets, w_offsets, scales = model
    top = sizes.shape[0] - 1
    for i in range(1, top + 1):
        P = pre[:, : sizes[i]]
        fill_rows(P, b[offsets[i] : offsets[i + 1]])
        below = MU[:, offsets[i - 1] : offsets[i]]
        W = layer_weights(w, sizes, w_offsets, i - 1)
        factor = scales[i, 0] * (2.0 if i < top else 1.0)
        gemm(NO_TRANS, NO_TRANS, factor, below, W[:, :], 1.0, P[:, :])
        bernoulli_mean_(P)
        _store(MU, offsets[i], P)


@kernel
def mean_field(model, MU, max_iter, tol):
    """Mean-field posteriors of the hidden layers, in place on ``MU``
    (whose visible columns hold the data): a bottom-up start, then sweeps
    of odd-layer then even-layer updates (each a coordinate ascent step of
    the variational bound) until no marginal moves by more than ``tol``,
    at most ``max_iter`` sweeps. Returns the sweeps made."""
    sizes = model[2]
    pre = np.empty((MU.shape[0], sizes[1:].max()), MU.dtype)
    _mean_field_start(model, MU, pre)
    for sweep in range(max_iter):
        change = 0.0
        for parity in (1, 0):
            for i in range(1 if parity == 1 else 2, sizes.shape[0], 2):
                P = pre[:, : sizes[i]]
                layer_input(model, MU, i, P)
                bernoulli_mean_(P)
                change = max(change, _store(MU, model[3][i], P))
        if change <= tol:
            return sweep + 1
    return max_iter


@helper
def _gibbs_sweep(model, X, pre, rng_state):
    """Odd layers given the even ones, then even layers (the visible one
    included) given the odd ones; row ``r`` draws from generator row
    ``r``."""
    sizes, offsets = model[2], model[3]
    for first in (1, 0):
        for i in range(first, sizes.shape[0], 2):
            P = pre[:, : sizes[i]]
            layer_input(model, X, i, P)
            bernoulli_mean_sample_(P, rng_state)
            _store(X, offsets[i], P)


@kernel
def gibbs(model, X, n_steps, rng_state):
    """``n_steps`` alternating Gibbs sweeps of the chains ``X`` (binary,
    ``(n_chains, n_units)``), in place."""
    pre = np.empty((X.shape[0], model[2].max()), X.dtype)
    for _ in range(n_steps):
        _gibbs_sweep(model, X, pre, rng_state)


@helper
def _update(model, velocity, MU, C, hyper):
    """One step: velocities ``v ← momentum v + lr (<x_i x_{i+1}>_data -
    <x_i x_{i+1}>_chains - weight_decay W_i)`` (no decay on biases), then
    the parameters ``+= v``."""
    w, b, sizes, offsets, w_offsets, scales = model
    vw, vb = velocity
    learning_rate, momentum, weight_decay = hyper
    k, m = MU.shape[0], C.shape[0]
    for t in range(vw.shape[0]):
        vw[t] = momentum * vw[t] - learning_rate * weight_decay * w[t]
    for i in range(sizes.shape[0] - 1):
        V = layer_weights(vw, sizes, w_offsets, i)
        lo, mid, hi = offsets[i], offsets[i + 1], offsets[i + 2]
        grad = V[:, :]
        gemm(
            TRANS, NO_TRANS, learning_rate / k, MU[:, lo:mid], MU[:, mid:hi], 1.0, grad
        )
        gemm(TRANS, NO_TRANS, -learning_rate / m, C[:, lo:mid], C[:, mid:hi], 1.0, grad)
    for t in range(vw.shape[0]):
        w[t] += vw[t]
    for u in range(vb.shape[0]):
        data, chains = 0.0, 0.0
        for r in range(k):
            data += MU[r, u]
        for r in range(m):
            chains += C[r, u]
        vb[u] = momentum * vb[u] + learning_rate * (data / k - chains / m)
        b[u] += vb[u]


@kernel
def train_epoch(model, velocity, X, bounds, chains, rng_state, hyper, steps):
    """One epoch of stochastic maximum likelihood, in place on the model,
    the velocities and the persistent ``chains``: for each minibatch
    ``X[bounds[j]:bounds[j + 1]]``, the mean-field posteriors of the rows
    (positive phase; ``steps = (max mean-field sweeps, tolerance, Gibbs
    sweeps)``), ``steps[2]`` Gibbs sweeps of the chains (negative phase),
    then :func:`_update` (``hyper = (learning_rate, momentum,
    weight_decay)``)."""
    max_iter, tol, n_gibbs = steps
    n_visible = X.shape[1]
    n_units = model[1].shape[0]
    rows = 0
    for j in range(bounds.shape[0] - 1):
        rows = max(rows, bounds[j + 1] - bounds[j])
    MU = np.empty((rows, n_units), X.dtype)
    pre = np.empty((chains.shape[0], model[2].max()), X.dtype)
    for j in range(bounds.shape[0] - 1):
        k = bounds[j + 1] - bounds[j]
        batch = MU[:k]
        for r in range(k):
            for c in range(n_visible):
                batch[r, c] = X[bounds[j] + r, c]
        mean_field(model, batch, max_iter, tol)
        for _ in range(n_gibbs):
            _gibbs_sweep(model, chains, pre, rng_state)
        _update(model, velocity, batch, chains, hyper)
