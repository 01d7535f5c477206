"""Parallel tempering (issue 18): ``sampler="pt"`` on the RBMs.

The kernel's chains are checked against exact enumeration on tiny models:
with the parameters frozen (``learning_rate=0``), the hidden states of the
chains at each inverse temperature ``beta`` follow ``p_beta(h)``, the
tempered model's marginal, and the swap acceptance rates equal their exact
stationary expectations.
"""

import exact
import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.utils.estimator_checks import parametrize_with_checks

from skebm import BernoulliRBM, GaussianBernoulliRBM
from skebm._kernels._cd import GaussianVisible, rbm_epoch
from skebm._kernels._rng import seed_state
from skebm._kernels._tempering import Tempering, temperature_ladder

N_LADDERS = 200
N_RECORDS = 100  # epochs recorded (each 5 swap sweeps and Gibbs steps)


def _strong_rbm(seed, n_visible=4, n_hidden=3, scale=1.5):
    rng = np.random.RandomState(seed)
    W = rng.normal(0, scale, (n_hidden, n_visible))
    b = rng.normal(0, scale / 2, n_visible)
    c = rng.normal(0, scale / 2, n_hidden)
    return W, b, c


def _frozen_chains(W, b, c, betas, seed, gaussian=None, n_blocks=1, n_threads=1):
    """Run the epoch kernel with learning rate 0 (the parameters stay
    put); returns the chains' hidden states after each epoch,
    ``(N_RECORDS, K, N_LADDERS, n_hidden)``, and the swap rates."""
    K = len(betas)
    n_rows = K * N_LADDERS
    X = np.zeros((5, W.shape[1]))  # five one-row minibatches per epoch
    bounds = np.arange(6, dtype=np.int64)
    chains = (np.zeros((n_rows, W.shape[0])), seed_state(seed, n_rows))
    params = (W.copy(), b.copy(), c.copy())
    tempering = Tempering(betas, N_LADDERS)
    records, rates = [], []
    for _ in range(20 + N_RECORDS):  # 20 epochs of burn-in
        rate = rbm_epoch(X, bounds, params, chains, learning_rate=0.0,
                         gaussian=gaussian, tempering=tempering,
                         n_blocks=n_blocks, n_threads=n_threads)  # fmt: skip
        records.append(chains[0].reshape(K, N_LADDERS, -1).copy())
        rates.append(rate)
    for p, q in zip(params, (W, b, c)):
        np.testing.assert_array_equal(p, q)  # frozen indeed
    return np.array(records[20:]), np.array(rates[20:])


def _frequencies(H):
    """Empirical distribution of binary rows over exact.all_states order."""
    counts = np.bincount(exact.state_index(H), minlength=2 ** H.shape[1])
    return counts / len(H)


def _bernoulli_hidden_marginal(W, b, c, beta):
    table = exact.neg_energy_table(beta * W, beta * b, beta * c)
    log_ph = logsumexp(table, axis=0)
    return np.exp(log_ph - logsumexp(log_ph))


def _gaussian_hidden_marginal(W, a, c, beta):
    # p_beta(h) ∝ exp(beta (c·h + |a + Wᵀh|² / 2)) (unit variances)
    H = exact.all_states(W.shape[0])
    log_ph = beta * (H @ c + 0.5 * ((a + H @ W) ** 2).sum(axis=1))
    return np.exp(log_ph - logsumexp(log_ph))


def _assert_follows(freq, p, n_records):
    # Records of one chain are 5 sweeps apart and the chains of a ladder
    # exchange states, so the samples are not independent: allow for an
    # effective sample size of a quarter of the records.
    n_eff = n_records * N_LADDERS / 4
    tol = 5 * np.sqrt(p * (1 - p) / n_eff) + 1e-3
    assert np.all(np.abs(freq - p) < tol), np.c_[freq, p, tol]
    return tol


@pytest.mark.parametrize("seed", [0, 1])
def test_bernoulli_chains_follow_each_tempered_distribution(seed):
    W, b, c = _strong_rbm(seed)
    betas = temperature_ladder(3)
    records, _ = _frozen_chains(W, b, c, betas, seed)
    exact_p = [_bernoulli_hidden_marginal(W, b, c, beta) for beta in betas]
    for k in range(len(betas)):
        H = records[:, k].reshape(-1, W.shape[0])
        tol = _assert_follows(_frequencies(H), exact_p[k], N_RECORDS)
    # power: the temperatures' distributions differ far beyond the tolerance
    assert np.abs(exact_p[0] - exact_p[-1]).max() > 5 * tol.max()


@pytest.mark.parametrize("seed", [0, 1])
def test_gaussian_chains_follow_each_tempered_distribution(seed):
    W, a, c = _strong_rbm(seed, scale=0.8)
    betas = temperature_ladder(3)
    gaussian = GaussianVisible(np.zeros(W.shape[1]))  # sigma 1: scaled = data
    records, _ = _frozen_chains(W, a, c, betas, seed, gaussian=gaussian)
    exact_p = [_gaussian_hidden_marginal(W, a, c, beta) for beta in betas]
    for k in range(len(betas)):
        H = records[:, k].reshape(-1, W.shape[0])
        tol = _assert_follows(_frequencies(H), exact_p[k], N_RECORDS)
    assert np.abs(exact_p[0] - exact_p[-1]).max() > 5 * tol.max()


def test_swap_rates_equal_their_exact_expectation():
    W, b, c = _strong_rbm(3)
    betas = temperature_ladder(4)
    _, rates = _frozen_chains(W, b, c, betas, 3)
    # -E over every joint state (v, h)
    neg_e = exact.neg_energy_table(W, b, c).ravel()
    expected = []
    for k in range(len(betas) - 1):
        hi, lo = betas[k], betas[k + 1]
        p_hi = np.exp(hi * neg_e - logsumexp(hi * neg_e))
        p_lo = np.exp(lo * neg_e - logsumexp(lo * neg_e))
        # the colder chain holds x, the hotter y: accept with
        # min(1, exp((beta_hi - beta_lo) (E_x - E_y)))
        log_ratio = (hi - lo) * (neg_e[None, :] - neg_e[:, None])
        accept = np.exp(np.minimum(log_ratio, 0.0))
        expected.append(p_hi @ accept @ p_lo)
    expected = np.array(expected)
    observed = rates.mean(axis=0)
    n_eff = N_RECORDS * 5 * N_LADDERS / 4
    tol = 5 * np.sqrt(expected * (1 - expected) / n_eff)
    np.testing.assert_array_less(np.abs(observed - expected), tol)
    assert np.all((expected > 0.05) & (expected < 0.95)), expected  # informative


def test_one_temperature_is_plain_gibbs_bit_for_bit():
    rng = np.random.RandomState(0)
    X = (rng.rand(120, 9) < 0.4).astype(np.float64)
    for Estimator in (BernoulliRBM, GaussianBernoulliRBM):
        common = dict(n_components=5, n_iter=3, n_chains=7, random_state=0,
                      log_partition=None)  # fmt: skip
        plain = Estimator(**common).fit(X)
        pt = Estimator(**common, sampler="pt", n_temperatures=1).fit(X)
        np.testing.assert_array_equal(pt.components_, plain.components_)
        np.testing.assert_array_equal(pt.h_samples_, plain.h_samples_)
        assert pt.history_["swap_acceptance"].shape == (3, 0)


def test_same_bits_on_one_or_two_threads():
    W, b, c = _strong_rbm(0)
    betas = temperature_ladder(3)
    one, rates_one = _frozen_chains(W, b, c, betas, 5, n_blocks=2, n_threads=1)
    two, rates_two = _frozen_chains(W, b, c, betas, 5, n_blocks=2, n_threads=2)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(rates_one, rates_two)


def test_the_gradient_uses_the_beta_one_chains_only():
    # Equilibrate 20000 ladders with the parameters frozen, then take one
    # small step: its negative phase must be the model's (beta = 1)
    # expectation, not an average over the temperatures.
    W, b, c = _strong_rbm(2)
    data = (np.random.RandomState(2).rand(10, 4) < 0.5).astype(np.float64)
    betas, n_ladders = temperature_ladder(3), 20000
    rows = len(betas) * n_ladders
    chains = (np.zeros((rows, 3)), seed_state(0, rows))
    tempering = Tempering(betas, n_ladders)
    bounds = np.array([0, 10], dtype=np.int64)
    params = (W.copy(), b.copy(), c.copy())
    for _ in range(30):
        rbm_epoch(data, bounds, params, chains, learning_rate=0.0,
                  tempering=tempering)  # fmt: skip
    lr = 1e-3
    rbm_epoch(data, bounds, params, chains, learning_rate=lr, tempering=tempering)
    step = np.concatenate([((p - q) / lr).ravel() for p, q in zip(params, (W, b, c))])
    grad = np.concatenate([g.ravel() for g in exact.ml_gradient(data, W, b, c)])
    tol = 5.0 / np.sqrt(n_ladders)
    np.testing.assert_allclose(step, grad, atol=tol)
    # power: averaging the negative phase over all temperatures is far off
    V = exact.all_states(4)
    means = [exact.visible_distribution(t * W, t * b, t * c) @ V for t in betas]
    assert np.abs(np.mean(means, axis=0) - means[0]).max() > 3 * tol


def test_estimator_records_swap_rates_and_keeps_every_chain():
    rng = np.random.RandomState(1)
    X = (rng.rand(60, 6) < 0.3).astype(np.float64)
    rbm = BernoulliRBM(n_components=4, n_iter=3, n_chains=5, sampler="pt",
                       n_temperatures=4, random_state=0)  # fmt: skip
    rbm.fit(X)
    assert rbm.h_samples_.shape == (20, 4)
    rates = rbm.history_["swap_acceptance"]
    assert rates.shape == (3, 3)
    assert np.all((rates >= 0) & (rates <= 1))
    rbm.partial_fit(X)
    assert rbm.history_["swap_acceptance"].shape == (4, 3)
    assert np.isfinite(rbm.score(X > 0.5))
    again = BernoulliRBM(**rbm.get_params()).fit(X)
    np.testing.assert_array_equal(again.history_["swap_acceptance"], rates)


def test_tempering_needs_persistent_chains():
    X = np.eye(4)
    with pytest.raises(ValueError, match="persistent=True"):
        BernoulliRBM(sampler="pt", persistent=False).fit(X)
    with pytest.raises(ValueError, match="sampler"):
        BernoulliRBM(sampler="tempering").fit(X)


def test_default_ladder():
    betas = temperature_ladder(10)
    assert betas[0] == 1.0 and betas[-1] == pytest.approx(0.1)
    np.testing.assert_allclose(np.diff(betas), -0.1)


@parametrize_with_checks(
    [
        GaussianBernoulliRBM(
            n_components=4,
            n_iter=2,
            sampler="pt",
            n_temperatures=3,
            n_chains=5,
            n_ais_chains=16,
            n_ais_temperatures=50,
        )
    ]
)
def test_scikit_learn_checks_pass_with_tempering(estimator, check):
    check(estimator)
