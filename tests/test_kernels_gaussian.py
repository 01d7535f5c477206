"""Gaussian-visible RBM maths against independent references on tiny models:
numerical integration, enumeration of hidden states, exact mixture moments and
finite differences of the exact log-likelihood."""

import exact
import numpy as np
import pytest
from scipy.special import expit

from skebm._kernels._cd import GaussianVisible, rbm_epoch
from skebm._kernels._layers import rbm_free_energy
from skebm._kernels._rbm_inference import rbm_gibbs
from skebm._kernels._rng import seed_state
from skebm.partition import (
    _base_model,
    _rbm_ais_log_partition,
    _rbm_exact_log_partition,
)


def tiny_gaussian_rbm(rng, n_visible=3, n_hidden=4, scale=0.5):
    W = rng.normal(0, scale, (n_hidden, n_visible))
    a = rng.normal(0, 1.0, n_visible)
    c = rng.normal(0, scale, n_hidden)
    sigma = np.exp(rng.uniform(-0.5, 0.5, n_visible))
    return W, a, c, sigma


def test_free_energy_matches_enumeration_of_hidden_states(rng):
    W, a, c, sigma = tiny_gaussian_rbm(rng)
    V = rng.normal(0, 2, (7, 3))
    ref = exact.gaussian_free_energy(V, W, a, c, sigma)
    # kernels work in scaled coordinates v / sigma with bias a / sigma
    got = rbm_free_energy(V / sigma, W, a / sigma, c, True)
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_exact_log_partition_matches_numerical_integration(rng):
    W, a, c, sigma = tiny_gaussian_rbm(rng, n_visible=2, n_hidden=3, scale=0.8)
    log_z = _rbm_exact_log_partition(W, a, c, np.log(sigma))
    # Independent check: integrate exp(-F(v)) on a fine grid (the integrand
    # is a Gaussian mixture, negligible beyond +-12 around the origin here).
    step = 0.02
    grid = np.arange(-14, 14, step)
    g1, g2 = np.meshgrid(grid, grid, indexing="ij")
    V = np.column_stack([g1.ravel(), g2.ravel()])
    F = exact.gaussian_free_energy(V, W, a, c, sigma)
    numeric = np.log(np.exp(-F).sum() * step**2)
    assert log_z == pytest.approx(numeric, abs=1e-6)
    assert log_z == pytest.approx(exact.gaussian_log_partition(W, a, c, sigma))


def test_exact_log_partition_refuses_too_many_hidden_units():
    with pytest.raises(ValueError, match="21 hidden units"):
        _rbm_exact_log_partition(np.zeros((21, 3)), np.zeros(3), np.zeros(21), [0] * 3)


@pytest.mark.parametrize("n_hidden", [12])
def test_ais_within_three_standard_errors_of_exact(rng, seed, n_hidden):
    n_visible = 10
    W, a, c, sigma = tiny_gaussian_rbm(rng, n_visible, n_hidden, scale=0.25)
    log_sigma = np.log(sigma)
    log_z = _rbm_exact_log_partition(W, a, c, log_sigma)
    # base model from exact samples of the model (as from training data)
    data = exact.gaussian_sample(W, a, c, sigma, 2000, rng)
    eta, precision = _base_model(data, a, log_sigma)
    est, se = _rbm_ais_log_partition(
        W, a, c, eta, precision, 200, 2000, seed, log_sigma
    )
    assert 0 < se < 0.05
    assert abs(est - log_z) < 3 * se + 1e-3, (est, log_z, se)


def test_ais_is_exact_when_weights_are_zero(seed):
    # W = 0 and no data: the base model is the model's own visible term, so
    # every importance weight is the same constant (checks Z_0 bookkeeping).
    a = np.array([0.5, -1.0, 2.0])
    c = np.array([0.3, -0.7])
    log_sigma = np.log([0.5, 1.0, 2.0])
    W = np.zeros((2, 3))
    eta, precision = _base_model(None, a, log_sigma)
    est, se = _rbm_ais_log_partition(W, a, c, eta, precision, 10, 50, seed, log_sigma)
    ref = exact.gaussian_log_partition(W, a, c, np.exp(log_sigma))
    assert est == pytest.approx(ref, abs=1e-9)
    assert se < 1e-9


def test_block_gibbs_sampler_matches_exact_moments(rng, seed):
    W, a, c, sigma = tiny_gaussian_rbm(rng, scale=0.8)
    n = 20_000
    state = seed_state(seed, n)
    V0 = np.tile(a / sigma, (n, 1)) + rng.standard_normal((n, 3))
    # 300 steps: with weights of this size the chain can be slow to move
    # between modes (40 steps left a 3-4 SE bias from the start for seed 1)
    V = rbm_gibbs(V0, W, a / sigma, c, state, 300, True) * sigma
    mean, cov = exact.gaussian_moments(W, a, c, sigma)
    # sample mean: standard error sqrt(var / n) per coordinate
    se_mean = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(V.mean(0) - mean) < 4 * se_mean), (V.mean(0), mean)
    # second moments: standard error estimated from the products themselves
    centred = V - mean
    products = centred[:, :, None] * centred[:, None, :]
    se_cov = products.reshape(n, -1).std(0).reshape(3, 3) / np.sqrt(n)
    np.testing.assert_array_less(np.abs(np.cov(V.T) - cov), 4 * se_cov + 1e-12)
    # power: the moments differ clearly from those with W = 0
    mean0, _ = exact.gaussian_moments(0 * W, a, c, sigma)
    assert np.abs(mean0 - mean).max() > 20 * se_mean.max()


def test_hidden_conditionals_match_enumeration(rng):
    from skebm import GaussianBernoulliRBM

    W, a, c, sigma = tiny_gaussian_rbm(rng)
    model = GaussianBernoulliRBM(n_components=4, n_iter=0, learn_sigma=True)
    model.fit(rng.normal(size=(5, 3)))
    model.components_, model.intercept_visible_ = W, a
    model.intercept_hidden_, model.sigma_ = c, sigma
    V = rng.normal(0, 2, (6, 3))
    H = exact.all_states(4)
    t = exact.gaussian_neg_energy(V, H, W, a, c, sigma)
    p = np.exp(t - t.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.transform(V), p @ H, rtol=1e-10)


def _mean_log_likelihood(data, W, a_scaled, c, log_sigma):
    # parameters as the kernel learns them: a' = a / sigma and log sigma
    sigma = np.exp(log_sigma)
    a = a_scaled * sigma
    F = exact.gaussian_free_energy(data, W, a, c, sigma)
    return -F.mean() - exact.gaussian_log_partition(W, a, c, sigma)


def _finite_difference(data, W, a, c, log_sigma, which, eps=1e-5):
    params = {"W": W, "a": a / np.exp(log_sigma), "log_sigma": log_sigma}
    target = params[which]
    grad = np.zeros_like(target)
    for idx in np.ndindex(target.shape):
        values = []
        for sign in (1, -1):
            moved = {k: v.copy() for k, v in params.items()}
            moved[which][idx] += sign * eps
            values.append(
                _mean_log_likelihood(
                    data, moved["W"], moved["a"], c, moved["log_sigma"]
                )
            )
        grad[idx] = (values[0] - values[1]) / (2 * eps)
    return grad


def test_long_chains_give_the_exact_gradient_including_sigma(rng, seed):
    W, a, c, sigma = tiny_gaussian_rbm(rng, n_visible=3, n_hidden=3, scale=0.5)
    log_sigma = np.log(sigma)
    data = exact.gaussian_sample(W, a, c, sigma, 6, rng) + 0.5
    reps = 6000
    X = np.tile(data, (reps, 1))
    n = len(X)
    a_scaled = a / sigma
    W1, a1, c1, ls1 = W.copy(), a_scaled.copy(), c.copy(), log_sigma.copy()
    rbm_epoch(
        X,
        np.array([0, n]),
        (W1, a1, c1),
        (np.zeros((n, 3)), seed_state(seed, n)),
        learning_rate=1.0,
        n_gibbs_steps=60,
        persistent=False,
        gaussian=GaussianVisible(ls1, learn=True),
    )
    # Tolerance: the negative phase averages n model samples of the per-sample
    # statistics; their spread is measured on exact samples of the model.
    S = exact.gaussian_sample(W, a, c, sigma, 20000, rng)
    Vs = S / sigma
    P = expit(Vs @ W.T + c)
    stats_W = (P[:, :, None] * Vs[:, None, :]).reshape(len(S), -1)
    stats_a = Vs
    stats_s = Vs * (Vs - a_scaled - P @ W)
    for name, got, stats in (
        ("W", W1 - W, stats_W),
        ("a", a1 - a_scaled, stats_a),
        ("log_sigma", ls1 - log_sigma, stats_s),
    ):
        expected = _finite_difference(data, W, a, c, log_sigma, name)
        tol = 5 * stats.std(0).reshape(expected.shape) / np.sqrt(n)
        np.testing.assert_array_less(np.abs(got - expected), tol, err_msg=name)
    # power: the sigma gradient is clearly non-zero for these data
    g = _finite_difference(data, W, a, c, log_sigma, "log_sigma")
    assert np.abs(g).max() > 10 * (5 * stats_s.std(0) / np.sqrt(n)).max()


def test_fixed_sigma_is_not_updated(rng, seed):
    W, a, c, _ = tiny_gaussian_rbm(rng)
    X = rng.normal(size=(20, 3))  # a is the scaled mean here (sigma = 1)
    log_sigma = np.zeros(3)
    rbm_epoch(
        X,
        np.array([0, 10, 20]),
        (W.copy(), a.copy(), c.copy()),
        (np.zeros((10, 4)), seed_state(seed, 10)),
        learning_rate=0.1,
        momentum=0.5,
        velocity=(np.zeros_like(W), np.zeros(3), np.zeros(4)),
        gaussian=GaussianVisible(log_sigma),
    )
    assert np.all(log_sigma == 0)
