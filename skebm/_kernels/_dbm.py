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
from ._rng import load_row, store_row, u64_to_unit, xoshiro_step


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
def _gibbs_sweep(model, X, pre, rng_state, betas):
    """Odd layers given the even ones, then even layers (the visible one
    included) given the odd ones; row ``r`` draws from generator row
    ``r``. With ``K = betas.shape[0] > 1`` the rows are ``K`` blocks of
    chains, block ``k`` at inverse temperature ``betas[k]`` (its inputs
    scaled by it)."""
    sizes, offsets = model[2], model[3]
    n_ladders = X.shape[0] // betas.shape[0]
    for first in (1, 0):
        for i in range(first, sizes.shape[0], 2):
            P = pre[:, : sizes[i]]
            layer_input(model, X, i, P)
            if betas.shape[0] > 1:
                for r in range(P.shape[0]):
                    beta = betas[r // n_ladders]
                    for c in range(P.shape[1]):
                        P[r, c] *= beta
            bernoulli_mean_sample_(P, rng_state)
            _store(X, offsets[i], P)


@kernel
def energies(model, X, pre, out):
    """``out[r] = E(X[r])`` of full states (every layer side by side);
    ``pre`` is scratch of at least ``X``'s rows and the widest layer."""
    w, b, sizes, offsets, w_offsets, scales = model
    for r in range(X.shape[0]):
        total = 0.0
        for u in range(b.shape[0]):
            total -= b[u] * X[r, u]
        out[r] = total
    for i in range(sizes.shape[0] - 1):
        P = pre[:, : sizes[i + 1]]
        W = layer_weights(w, sizes, w_offsets, i)
        below = X[:, offsets[i] : offsets[i + 1]]
        gemm(NO_TRANS, NO_TRANS, 1.0, below, W[:, :], 0.0, P[:, :])
        for r in range(X.shape[0]):
            total = 0.0
            for c in range(P.shape[1]):
                total += P[r, c] * X[r, offsets[i + 1] + c]
            out[r] -= total


@helper
def _swap(X, energy, betas, rng_state, accepted):
    """Replica-exchange moves between neighbouring temperatures of every
    ladder, hottest pair first; the decision for a pair uses the
    generator row of its colder chain. Swapping states ``a`` (at
    ``beta_a``) and ``b`` is accepted with probability ``min(1,
    exp((beta_a - beta_b)(E_a - E_b)))``."""
    K = betas.shape[0]
    n_ladders = X.shape[0] // K
    for ladder in range(n_ladders):
        for k in range(K - 2, -1, -1):
            a, b = k * n_ladders + ladder, (k + 1) * n_ladders + ladder
            s0, s1, s2, s3 = load_row(rng_state, a)
            x, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            store_row(rng_state, a, s0, s1, s2, s3)
            log_ratio = (betas[k] - betas[k + 1]) * (energy[a] - energy[b])
            if log_ratio >= 0.0 or u64_to_unit(x) < np.exp(log_ratio):
                for c in range(X.shape[1]):
                    X[a, c], X[b, c] = X[b, c], X[a, c]
                energy[a], energy[b] = energy[b], energy[a]
                accepted[k] += 1


@helper
def _negative_phase(model, chains, pre, rng_state, tempering, n_steps):
    """``n_steps`` sweeps of the chains, each followed (when tempering) by
    the replica exchanges; ``tempering = (betas, energy, accepted)``."""
    betas, energy, accepted = tempering
    for _ in range(n_steps):
        _gibbs_sweep(model, chains, pre, rng_state, betas)
        if betas.shape[0] > 1:
            energies(model, chains, pre, energy)
            _swap(chains, energy, betas, rng_state, accepted)


def no_tempering():
    """The ``tempering`` argument of plain (untempered) chains."""
    return (np.ones(1), np.empty(0), np.zeros(0, np.int64))


@kernel
def gibbs(model, X, n_steps, rng_state, tempering):
    """``n_steps`` alternating Gibbs sweeps of the chains ``X`` (binary,
    ``(n_chains, n_units)``), in place; with ``tempering = (betas,
    energy, accepted)`` and more than one ``betas``, parallel tempering
    (:func:`_swap` after every sweep; ``accepted`` counts the swaps per
    pair of neighbouring temperatures)."""
    pre = np.empty((X.shape[0], model[2].max()), X.dtype)
    _negative_phase(model, X, pre, rng_state, tempering, n_steps)


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
def train_epoch(model, velocity, X, bounds, chains, rng_state, hyper, steps, tempering):
    """One epoch of stochastic maximum likelihood, in place on the model,
    the velocities and the persistent ``chains``: for each minibatch
    ``X[bounds[j]:bounds[j + 1]]``, the mean-field posteriors of the rows
    (positive phase; ``steps = (max mean-field sweeps, tolerance, Gibbs
    sweeps)``), ``steps[2]`` Gibbs sweeps of the chains (negative phase;
    with parallel tempering, see :func:`gibbs`, only the chains at ``beta
    = 1``, the first block of rows, enter the gradient), then
    :func:`_update` (``hyper = (learning_rate, momentum,
    weight_decay)``)."""
    max_iter, tol, n_gibbs = steps
    n_cold = chains.shape[0] // tempering[0].shape[0]
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
        _negative_phase(model, chains, pre, rng_state, tempering, n_gibbs)
        _update(model, velocity, batch, chains[:n_cold], hyper)
