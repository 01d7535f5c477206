"""skebm.sampling (issue 21, first part): MCMC over a Gaussian-Bernoulli
RBM's free energy, against the exact visible density of tiny models (a
mixture of 2**n_hidden Gaussians)."""

import itertools

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from skebm import BernoulliRBM, GaussianBernoulliRBM, sampling
from skebm._kernels._energy_net import energies_and_grads
from skebm._kernels._mcmc import run_chains
from skebm._kernels._rng import seed_state
from skebm.sampling import _model_space

N_CHAINS = 3000


def tiny_rbm(seed=0, n_visible=2, n_hidden=2, scale=1.5):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(40, n_visible))
    rbm = GaussianBernoulliRBM(n_components=n_hidden, n_iter=1, random_state=0).fit(X)
    rbm.components_ = rng.normal(scale=scale, size=(n_hidden, n_visible))
    rbm.intercept_hidden_ = rng.normal(size=n_hidden)
    rbm.intercept_visible_ = rng.normal(size=n_visible)
    rbm.sigma_ = np.linspace(0.7, 1.3, n_visible)
    return rbm


def mixture(rbm):
    """``(weights, means, sigma)``: p(v) = sum_h w_h N(v; mu_h, sigma^2),
    mu_h = a + sigma (W^T h), log w_h = c.h + sum_i (a_i u_i / sigma_i +
    u_i^2 / 2) + const, u = W^T h."""
    W, a, c, sigma = (rbm.components_, rbm.intercept_visible_,
                      rbm.intercept_hidden_, rbm.sigma_)  # fmt: skip
    H = np.array(list(itertools.product([0.0, 1.0], repeat=W.shape[0])))
    U = H @ W
    log_w = H @ c + (a * U / sigma + U**2 / 2).sum(axis=1)
    return np.exp(log_w - logsumexp(log_w)), a + sigma * U, sigma


def exact_moments(rbm):
    w, means, sigma = mixture(rbm)
    mean = w @ means
    var = w @ (means**2) + sigma**2 - mean**2
    return mean, var


def marginal_cdf(rbm, i):
    w, means, sigma = mixture(rbm)
    return lambda x: w @ stats.norm.cdf((np.asarray(x)[None] - means[:, i, None])
                                        / sigma[i])  # fmt: skip


def starts(n_visible, seed=1):
    return np.random.RandomState(seed).normal(scale=2.0, size=(N_CHAINS, n_visible))


@pytest.mark.parametrize(
    "sampler, kwargs",
    [
        (sampling.metropolis, dict(step_size=0.5)),
        (sampling.mala, dict(step_size=0.5)),
        (sampling.hmc, dict(step_size=0.2, n_leapfrog=5)),
    ],
    ids=["metropolis", "mala", "hmc"],
)
def test_exact_samplers_draw_the_model_density(sampler, kwargs):
    rbm = tiny_rbm()
    mean, var = exact_moments(rbm)
    result = sampler(rbm, starts(2), n_steps=200, n_warmup=200, random_state=0,
                     **kwargs)  # fmt: skip
    X = result.samples
    se = np.sqrt(var / N_CHAINS)
    assert np.all(np.abs(X.mean(axis=0) - mean) < 4 * se)
    # var of a sample variance: (m4 - var^2) / n, m4 <= 3 var^2 (+ mixture
    # kurtosis): a generous 4 sd bound from 8 var^2 / n
    assert np.all(np.abs(X.var(axis=0) - var) < 4 * np.sqrt(8 * var**2 / N_CHAINS))
    for i in range(2):
        assert stats.kstest(X[:, i], marginal_cdf(rbm, i)).pvalue > 1e-3
    # power: the starting distribution is far from the model's
    start = starts(2)
    assert stats.kstest(start[:, 0], marginal_cdf(rbm, 0)).pvalue < 1e-6
    assert np.all((result.acceptance_rate > 0) & (result.acceptance_rate <= 1))


@pytest.mark.parametrize(
    "sampler, target",
    [(sampling.metropolis, 0.234), (sampling.mala, 0.574), (sampling.hmc, 0.65)],
)
def test_warmup_adapts_the_step_size_to_the_target(sampler, target):
    rbm = tiny_rbm(1, n_visible=5, n_hidden=3, scale=0.8)
    result = sampler(rbm, starts(5)[:200], n_steps=300, n_warmup=500,
                     step_size=0.01, random_state=0)  # fmt: skip
    assert abs(result.acceptance_rate.mean() - target) < 0.08
    assert np.all(result.step_size > 0.01)  # grew from a too-small start
    fixed = sampler(rbm, starts(5)[:200], n_steps=300, n_warmup=0,
                    step_size=0.01, random_state=0)  # fmt: skip
    np.testing.assert_allclose(fixed.step_size, 0.01, rtol=1e-12)
    assert fixed.acceptance_rate.mean() > target + 0.2  # power: tiny steps


def test_langevin_is_close_for_small_steps_and_never_rejects():
    rbm = tiny_rbm()
    mean, var = exact_moments(rbm)
    # 4000 steps of s^2/2 = 0.005 time units: long enough to mix
    result = sampling.langevin(rbm, starts(2), n_steps=4000, step_size=0.1,
                               random_state=0)  # fmt: skip
    np.testing.assert_array_equal(result.acceptance_rate, 1.0)
    se = np.sqrt(var / N_CHAINS)
    # unadjusted: a bias of order step_size on top of the sampling error
    assert np.all(np.abs(result.samples.mean(axis=0) - mean) < 4 * se + 0.05)
    assert np.all(np.abs(result.samples.var(axis=0) - var) < 0.1 * var)
    # power: too short a run has not forgotten its start
    short = sampling.langevin(rbm, starts(2), n_steps=50, step_size=0.1,
                              random_state=0)  # fmt: skip
    assert np.any(np.abs(short.samples.mean(axis=0) - mean) > 0.3)


def test_energy_gradient_matches_finite_differences_of_the_free_energy():
    rbm = tiny_rbm(2, n_visible=4, n_hidden=3)
    rbm.sigma_ = np.array([0.5, 1.0, 2.0, 1.3])
    X = np.random.RandomState(0).normal(size=(6, 4))
    model = _model_space(rbm)[0]
    G = np.empty_like(X)
    F = energies_and_grads(model, X, G)
    # the same energy as the public free energy, up to a constant
    shift = F - rbm.free_energy(X)
    np.testing.assert_allclose(shift, shift[0], atol=1e-10)
    h = 1e-6
    for i in range(4):
        E = np.eye(4)[i] * h
        up = energies_and_grads(model, X + E, np.empty_like(X))
        down = energies_and_grads(model, X - E, np.empty_like(X))
        np.testing.assert_allclose(G[:, i], (up - down) / (2 * h), rtol=1e-6, atol=1e-7)


def test_same_bits_for_a_seed_and_on_one_or_two_threads():
    rbm = tiny_rbm(3, n_visible=3, n_hidden=2)
    X0 = starts(3)[:300]  # 5 blocks of chains
    a = sampling.mala(rbm, X0, n_steps=50, n_warmup=50, random_state=7)
    b = sampling.mala(rbm, X0, n_steps=50, n_warmup=50, random_state=7)
    np.testing.assert_array_equal(a.samples, b.samples)
    c = sampling.mala(rbm, X0, n_steps=50, n_warmup=50, random_state=8)
    assert not np.array_equal(a.samples, c.samples)
    model = _model_space(rbm)[0]
    runs = []
    for threads in (1, 2):
        X = np.ascontiguousarray(X0.copy())
        log_step = np.full(len(X), np.log(0.3))
        acc = run_chains(model, X, seed_state(3, len(X)), (3, 20, 20, 4, 0.65),
                         log_step, threads)  # fmt: skip
        runs.append((X, acc, log_step))
    for one, two in zip(*runs):
        np.testing.assert_array_equal(one, two)
    assert np.array_equal(X0, starts(3)[:300])  # the caller's array


def test_bad_input_gets_clear_errors():
    rbm = tiny_rbm()
    X0 = starts(2)[:5]
    with pytest.raises(ValueError, match="NaN"):
        sampling.mala(rbm, np.where(X0 > 1, np.nan, X0))
    with pytest.raises(ValueError, match="3 features.*2 visible"):
        sampling.hmc(rbm, np.ones((4, 3)))
    with pytest.raises(TypeError, match="GaussianBernoulliRBM"):
        sampling.metropolis(BernoulliRBM(n_components=2, n_iter=1).fit(X0 > 0), X0)
    with pytest.raises(Exception, match="not fitted"):
        sampling.mala(GaussianBernoulliRBM(), X0)
    with pytest.raises(ValueError, match="step_size"):
        sampling.mala(rbm, X0, step_size=0.0)
    with pytest.raises(TypeError, match="n_steps"):
        sampling.mala(rbm, X0, n_steps=2.5)
    with pytest.raises(ValueError, match="target_acceptance"):
        sampling.hmc(rbm, X0, target_acceptance=1.5)
    with pytest.raises(ValueError, match="finite range"):
        sampling.langevin(rbm, X0, step_size=1e6, n_steps=50)
