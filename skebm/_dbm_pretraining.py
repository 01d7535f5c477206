"""Greedy layer-wise pretraining of a deep Boltzmann machine (private).

Each pair of neighbouring layers is first trained as an RBM on the
features of the one below, with the correction of Salakhutdinov & Hinton
(2009, 2012) for the second neighbour a layer will have in the finished
machine: a layer that will also receive input from above gets its input
from below doubled, and a layer that will also receive input from below
gets its input from above doubled. So the bottom RBM doubles its
visible-to-hidden input, the top RBM its hidden-to-visible input, and the
RBMs in between both; composed, every hidden layer receives about the
input its RBMs gave it. These are two-layer models of the same kernels
(:mod:`._kernels._dbm`, whose ``scales`` carry the doubling), trained by
the same stochastic maximum likelihood.
"""

import time

import numpy as np

from . import _dbm_model as dbm
from ._base import batch_bounds, bernoulli_draws, check_parameters_finite, draw_seed
from .partition import _base_rate_bias

#: Standard deviation of the initial weights.
INIT_STD = 0.01


def doubling_scales(layer, n_layers):
    """``scales`` of the RBM between layers ``layer`` and ``layer + 1`` of a
    machine with ``n_layers`` hidden layers (see the module docstring)."""
    up = 2.0 if layer < n_layers - 1 else 1.0
    down = 2.0 if layer > 0 else 1.0
    return np.array([[0.0, down], [up, 0.0]])


def pretrain(estimator, X, sizes, rng):
    """``(coefs, intercepts)`` of the machine with layer ``sizes``: small
    random weights, and with ``pretrain_n_iter > 0`` the greedily
    pretrained RBMs composed (a middle layer's bias is the mean of the
    biases its two RBMs learnt for it)."""
    n_layers = len(sizes) - 1
    coefs = [
        rng.normal(0.0, INIT_STD, (sizes[i], sizes[i + 1])) for i in range(n_layers)
    ]
    intercepts = [_base_rate_bias(X, sizes[0])] + [np.zeros(s) for s in sizes[1:]]
    if estimator.pretrain_n_iter == 0:
        return coefs, intercepts
    data, tops = X, []
    for layer in range(n_layers):
        model = dbm.pack(
            [coefs[layer]],
            [_base_rate_bias(data, sizes[layer]), np.zeros(sizes[layer + 1])],
            doubling_scales(layer, n_layers),
        )
        _train_rbm(estimator, model, data, rng, layer)
        (W,), (bottom, top) = dbm.unpack(model)
        coefs[layer] = W.copy()
        intercepts[layer] = bottom if layer == 0 else (tops[-1] + bottom) / 2.0
        tops.append(top.copy())
        data = estimator._mean_field(model, data)[:, sizes[layer] :]
    intercepts[-1] = tops[-1]
    return coefs, intercepts


def start_chains(estimator, model, data, n_rows, rng):
    """``n_rows`` persistent chains of ``model`` started near the data:
    random rows of ``data`` with every hidden unit drawn from its
    mean-field posterior (and probabilities in the rows drawn too)."""
    rows = data[rng.randint(data.shape[0], size=n_rows)]
    return bernoulli_draws(rng, estimator._mean_field(model, rows))


def _train_rbm(estimator, model, data, rng, layer):
    """``pretrain_n_iter`` epochs of the two-layer ``model`` on ``data``,
    in place."""
    from ._kernels._dbm import no_tempering, train_epoch
    from ._kernels._rng import seed_state

    chains = start_chains(estimator, model, data, estimator.n_chains, rng)
    velocity = (np.zeros_like(model[0]), np.zeros_like(model[1]))
    bounds = batch_bounds(data.shape[0], estimator.batch_size)
    rng_state = seed_state(draw_seed(rng), chains.shape[0])
    hyper = (
        float(estimator.learning_rate),
        float(estimator.momentum),
        float(estimator.weight_decay),
    )
    name = type(estimator).__name__
    start = time.perf_counter()
    settings = ((1, 0.0, 1), no_tempering())  # mean field exact in 1 sweep
    for epoch in range(1, estimator.pretrain_n_iter + 1):
        train_epoch(model, velocity, data, bounds, chains, rng_state, hyper, *settings)
        check_parameters_finite(
            f"{name} pretraining (layer {layer + 1})",
            epoch,
            coefs_=model[0],
            intercepts_=model[1],
        )
    if estimator.verbose:
        print(
            f"[{name}] pretrained layer {layer + 1} ({estimator.pretrain_n_iter} "
            f"epochs, {time.perf_counter() - start:.2f}s)"
        )
