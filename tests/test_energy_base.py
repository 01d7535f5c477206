"""EnergyDensity's Gaussian-mixture base and importance-sampled training
(issue 21): the mixture energy against scikit-learn's GaussianMixture and
finite differences, importance-sampling log Z and expectations against
quadrature, the base selection, and sampler="auto"."""

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture
from test_energy_density import assert_input_gradients, grid, moons, random_net

from skebm import EnergyDensity
from skebm._energy_base import (
    draw,
    held_out_log_densities,
    importance_log_partition,
    importance_weights,
    kernel_mixture,
    network_wins,
    no_base,
)
from skebm._kernels._energy_net import energies_and_grads, param_grad_sum


def base_of(gmm):
    """The base's arrays of a fitted GaussianMixture (built here from its
    fitted attributes, not by the code under test)."""
    return {
        "base_weights": gmm.weights_,
        "base_means": gmm.means_,
        "base_chol": gmm.precisions_cholesky_,
        "base_cov_chol": np.linalg.cholesky(gmm.covariances_),
    }


def three_blobs(n=300, seed=0):
    rng = np.random.RandomState(seed)
    centres = np.array([[-2.0, 0.0], [1.5, 1.0], [0.5, -2.0]])
    return centres[rng.randint(3, size=n)] + rng.normal(scale=0.6, size=(n, 2))


@pytest.fixture(scope="module")
def gmm():
    return GaussianMixture(3, random_state=0).fit(three_blobs())


def with_base(model, base, output_scale=1.0):
    """``model``'s network on ``base`` (no quadrature term)."""
    theta, sizes, center, _, _ = model
    theta = theta.copy()
    theta[-int(sizes[-1]) :] *= output_scale
    return (theta, sizes, center, np.zeros(len(center)), kernel_mixture(base))


def test_mixture_energy_is_minus_the_mixture_log_density(gmm):
    X = three_blobs(50, seed=1) * 1.5
    model = with_base(random_net([2, 4]), base_of(gmm), output_scale=0.0)
    E = energies_and_grads(model, X, np.empty_like(X))
    np.testing.assert_allclose(E, -gmm.score_samples(X), rtol=1e-12, atol=1e-12)
    # far from every component (|x| ~ 40 sd): finite, as the log-sum-exp
    # is taken around its largest term
    far = np.array([[40.0, -40.0]])
    np.testing.assert_allclose(energies_and_grads(model, far, np.empty_like(far)),
                               -gmm.score_samples(far), rtol=1e-10)  # fmt: skip


def test_mixture_energy_gradients_match_finite_differences(gmm):
    model = with_base(random_net([2, 5, 3], seed=2), base_of(gmm))
    X = np.random.RandomState(3).normal(scale=2.0, size=(70, 2))
    E = assert_input_gradients(model, X)
    # the parameter kernel reports the same energies (mixture included)
    energies, _ = param_grad_sum(model, X, np.ones(len(X)), 2)
    np.testing.assert_allclose(energies, E, rtol=1e-12)


def quadrature(model, f=None):
    """``log Z`` of ``model`` on a fine grid, and ``E_p[f(x)]``."""
    points, cell = grid(-9, 9, 721, 2)
    log_p = -energies_and_grads(model, points, np.empty_like(points))
    log_z = logsumexp(log_p) + np.log(cell)
    if f is None:
        return log_z, None
    p = np.exp(log_p - logsumexp(log_p))
    return log_z, p @ f(points)


def test_importance_log_partition_matches_quadrature(gmm):
    base = base_of(gmm)
    model = with_base(random_net([2, 6, 4], seed=4, scale=1.0), base)
    exact, _ = quadrature(model)
    log_z, stderr = importance_log_partition(model, base, 200_000, seed=0)
    assert 0 < stderr < 0.05
    assert abs(log_z - exact) < 4 * stderr + 1e-3
    # power: a different network is far outside the error bar
    other = with_base(random_net([2, 6, 4], seed=5, scale=1.0), base)
    assert abs(quadrature(other)[0] - log_z) > 10 * stderr
    # with the network off, the base is normalised: log Z = 0 exactly
    off = with_base(random_net([2, 6, 4], seed=4), base, output_scale=0.0)
    assert importance_log_partition(off, base, 1000, seed=0) == (0.0, 0.0)


def test_importance_weights_give_the_model_expectation(gmm):
    base = base_of(gmm)
    model = with_base(random_net([2, 6, 4], seed=4, scale=1.0), base)
    _, exact = quadrature(model, lambda x: x)
    U = draw(base, 100_000, np.random.RandomState(0))
    w, _ = importance_weights(model, U)
    assert abs(w.sum() - 1) < 1e-12 and np.all(w >= 0)
    estimate = w @ U
    ess = 1 / (w @ w)
    sd = np.sqrt(w @ (U - estimate) ** 2)
    np.testing.assert_array_less(np.abs(estimate - exact), 4 * sd / np.sqrt(ess))
    # power: the base's own mean is not the model's
    assert np.any(np.abs(U.mean(axis=0) - exact) > 10 * sd / np.sqrt(ess))


def test_draws_follow_the_base(gmm):
    U = draw(base_of(gmm), 40_000, np.random.RandomState(1))
    # mean and covariance of the mixture, within 4 standard errors
    mean = gmm.weights_ @ gmm.means_
    parts = zip(gmm.weights_, gmm.means_, gmm.covariances_)
    second = sum(w * (c + np.outer(m, m)) for w, m, c in parts)
    cov = second - np.outer(mean, mean)
    se = np.sqrt(np.diag(cov) / len(U))
    np.testing.assert_array_less(np.abs(U.mean(axis=0) - mean), 4 * se)
    se_cov = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / len(U))
    np.testing.assert_array_less(np.abs(np.cov(U, rowvar=False) - cov), 6 * se_cov)


def test_network_wins_only_by_more_than_a_standard_error(gmm):
    richer = base_of(gmm)
    U = draw(richer, 500, np.random.RandomState(2))
    weak = base_of(GaussianMixture(1, random_state=0).fit(three_blobs()))
    off = with_base(random_net([2, 4]), weak, output_scale=0.0)
    # the data come from the richer mixture: the weak base loses
    assert not network_wins(off, weak, richer, U, seed=0)
    # a tie (the same base, the network off) keeps the mixture
    assert not network_wins(off, richer, richer, U, seed=0)
    # the weak base wins against a mixture far from the data
    shifted = {**richer, "base_means": richer["base_means"] + 3.0}
    assert network_wins(off, weak, shifted, U, seed=0)

    # a gain smaller than its standard error keeps the mixture: the data's
    # own Gaussian against one 2% wider (expected gain 2e-4 nats per row,
    # standard error about 9e-4 on 500 rows)
    def gaussian(scale):
        eye = np.eye(2)[None]
        return {"base_weights": np.ones(1), "base_means": np.zeros((1, 2)),
                "base_chol": eye / scale, "base_cov_chol": eye * scale}  # fmt: skip

    V = np.random.RandomState(3).normal(size=(500, 2))
    exact, wider = gaussian(1.0), gaussian(np.sqrt(1.02))
    gain = (
        held_out_log_densities(off, exact, V, 0)[0]
        - held_out_log_densities(off, wider, V, 0, network=False)[0]
    )
    assert abs(gain.mean()) < gain.std() / np.sqrt(len(V))
    assert not network_wins(off, exact, wider, V, seed=0)
    # too few held-out rows to tell keep the mixture, however clear the gain
    assert network_wins(off, weak, shifted, U[:20], seed=0)
    assert not network_wins(off, weak, shifted, U[:19], seed=0)


def test_auto_sampler_uses_importance_in_two_dimensions():
    X2 = moons(200)
    X3 = np.c_[X2, np.random.RandomState(0).normal(size=len(X2))]
    fast = dict(n_iter=2, n_ais_chains=20, n_ais_temperatures=50, random_state=0)
    two = EnergyDensity(**fast).fit(X2)
    assert two.log_partition_method_ == "importance"
    assert np.all(two.precision_ == 0) and two._base["base_weights"].size >= 1
    three = EnergyDensity(**fast).fit(X3)
    assert three.log_partition_method_ == "ais"
    assert three._base["base_weights"].size == 0 and np.all(three.precision_ > 0)
    forced = EnergyDensity(sampler="importance", **fast).fit(X3)
    assert forced.log_partition_method_ == "importance"


def test_well_separated_clusters_keep_the_richer_mixture():
    """Eight far-apart clusters: BIC picks 8 components, more than the weak
    base's 3; a short training of the network on the weak base loses to
    the mixture on the held-out rows, which is kept, network off."""
    rng = np.random.RandomState(0)
    angles = 2 * np.pi * rng.randint(8, size=800) / 8
    X = 4 * np.c_[np.cos(angles), np.sin(angles)] + rng.normal(scale=0.3, size=(800, 2))
    model = EnergyDensity(n_iter=5, random_state=0).fit(X)
    assert model._base["base_weights"].size == 8
    assert np.all(model.output_weights_ == 0)
    noise = rng.normal(scale=0.3, size=(800, 2))
    X_test = 4 * np.c_[np.cos(angles), np.sin(angles)] + noise
    reference = GaussianMixture(8, covariance_type="full", random_state=0).fit(X)
    assert abs(model.score(X_test) - reference.score(X_test)) < 0.01
    # sample() starts from exact draws of the mixture: each cluster's share
    # of the samples is its mass (chains cannot change cluster, so starts
    # from training chains would keep their proportions instead)
    n = 4000
    samples = model.sample(n, n_steps=20, random_state=0)
    sector = np.round(np.arctan2(samples[:, 1], samples[:, 0]) / (2 * np.pi / 8)) % 8
    share = np.bincount(sector.astype(int), minlength=8) / n
    centres = model._unwhitened(model.base_means_)
    order = np.round(np.arctan2(centres[:, 1], centres[:, 0]) / (2 * np.pi / 8)) % 8
    mass = np.zeros(8)
    mass[order.astype(int)] = model.base_weights_
    se = np.sqrt(mass * (1 - mass) / n)
    np.testing.assert_array_less(np.abs(share - mass), 4 * se)


def circle(n, seed):
    rng = np.random.RandomState(seed)
    angles = rng.uniform(0, 2 * np.pi, n)
    radius = 3 + 0.3 * rng.normal(size=n)
    return radius[:, None] * np.c_[np.cos(angles), np.sin(angles)]


def test_importance_training_beats_its_base_and_partial_fit_keeps_it(monkeypatch):
    """A one-Gaussian base (BIC capped at one component, so no selection):
    the network trained by importance sampling must carve the circle."""
    import skebm._energy_density as module

    fit_bases = module.fit_bases
    monkeypatch.setattr(module, "fit_bases", lambda U, seed: fit_bases(U, seed, 1, 1))
    X, X_test = circle(400, 0), circle(400, 5)
    model = EnergyDensity(n_iter=40, sampler="importance", random_state=0).fit(X)
    base = {key: value.copy() for key, value in model._base.items()}
    assert base["base_weights"].size == 1
    ess = model.history_["acceptance_rate"]  # effective draws / draws
    assert np.all((ess > 0) & (ess <= 1)) and ess[-1] < 0.9
    gaussian = GaussianMixture(1, random_state=0).fit(X)
    assert model.score(X_test) > gaussian.score(X_test) + 0.3
    model.partial_fit(X)
    assert model.n_iter_ == 41
    for key, value in base.items():
        np.testing.assert_array_equal(model._base[key], value)


def test_no_base_is_empty():
    base = no_base(3)
    assert all(v.shape[0] == 0 for v in base.values())
    mix = kernel_mixture(base)
    assert mix[0].shape == (0, 3) and mix[2].shape == (0,)


def test_one_row_and_tiny_data_fit_with_a_base():
    X = np.random.RandomState(0).normal(size=(10, 2))
    fast = dict(n_iter=2, n_ais_chains=20, n_ais_temperatures=50, random_state=0)
    for rows in (X[:1], X[:1, :1], X[:2], X[:5]):
        model = EnergyDensity(**fast).fit(rows)
        assert model.base_weights_.size >= 1
        assert np.all(np.isfinite(model.score_samples(rows)))
    one = EnergyDensity(**fast).partial_fit(X[:1])
    assert np.isfinite(one.score_samples(X[:1])).all()
    # one row gives the whitened data's Gaussian around it (whitening of one
    # row is the identity)
    np.testing.assert_allclose(one.base_covariances_, np.eye(2)[None])
    stopped = EnergyDensity(early_stopping=True, **fast).fit(X[:2])
    assert np.isfinite(stopped.score_samples(X[:2])).all()


def test_constant_collinear_and_narrow_columns_are_whitened_in_proportion():
    # A constant column is kept in data units (as StandardScaler keeps it):
    # rounding noise stays noise, and a change of the constant is unlikely
    # whatever the other column's scale. Floored with the other columns at
    # 1e-12 of the largest variance, noise of 1e-7 next to a column of sd
    # 1 scored about -4900 nats instead of about 18; scaled as the widest
    # column, a change of 1 next to a column of sd 1e4 went unseen.
    from skebm._energy_base import whitening

    rng = np.random.RandomState(0)
    for spread in (1.0, 1e4):
        X = np.c_[rng.normal(5.0 * spread, spread, size=100), np.ones(100)]
        mean, A, log_det = whitening(X)
        np.testing.assert_array_equal(A[1], [0.0, 1.0])
        model = EnergyDensity(n_iter=5, random_state=0).fit(X)
        near = model.score_samples(X[:20] + [0.0, 1e-7])
        np.testing.assert_allclose(near, model.score_samples(X[:20]), atol=1e-3)
        flipped = model.score_samples(X[:20] - [0.0, 1.0])
        assert np.all(flipped < near - 1000)
    # exactly collinear columns (Celsius and Fahrenheit): the same rows read
    # back through float32 (off the line by up to 4e-6) score as the rows
    # do (floored, 1400 nats lower), and 1 degree off the line is unlikely
    c = rng.normal(20, 5, size=200)
    X = np.c_[c, 1.8 * c + 32]
    model = EnergyDensity(n_iter=5, random_state=0).fit(X)
    rows = model.score_samples(X[:20])
    near = model.score_samples(X[:20].astype(np.float32).astype(float))
    np.testing.assert_allclose(near, rows, atol=1e-3)
    assert np.all(model.score_samples(X[:20] + [0.0, 1.0]) < rows - 1000)
    mean, A, log_det = whitening(X)
    assert log_det == pytest.approx(np.linalg.slogdet(A)[1], abs=1e-9)
    # a narrow column that varies is not taken for a constant one: 20 of its
    # standard deviations off is unlikely next to a column 1e7 times wider
    X = np.c_[rng.normal(0, 5e4, size=300), rng.normal(0, 0.005, size=300)]
    model = EnergyDensity(n_iter=5, random_state=0).fit(X)
    off = model.score_samples(X[:20] + [0.0, 0.1])
    assert np.all(off < model.score_samples(X[:20]) - 50)


def test_changing_between_base_and_chains_needs_fit():
    X = moons(100)
    fast = dict(n_iter=1, n_ais_chains=20, n_ais_temperatures=50, random_state=0)
    model = EnergyDensity(**fast).fit(X)  # "auto", 2 features: a base
    with pytest.raises(ValueError, match="sampler='mala' does not match"):
        model.set_params(sampler="mala").partial_fit(X)
    chains = EnergyDensity(sampler="mala", **fast).fit(X)
    chains.set_params(sampler="hmc").partial_fit(X)  # chains to chains: fine
    with pytest.raises(ValueError, match="sampler='importance' does not match"):
        chains.set_params(sampler="importance").partial_fit(X)


def test_models_pickled_before_the_base_still_score():
    import pickle

    X = moons(100)
    model = EnergyDensity(n_iter=1, sampler="mala", n_ais_chains=20,
                          n_ais_temperatures=50, random_state=0).fit(X)  # fmt: skip
    expected = model.score_samples(X[:5])
    old = model.__getstate__()
    for key in ("_base", "base_weights_", "base_means_", "base_covariances_"):
        del old[key]
    restored = EnergyDensity.__new__(EnergyDensity)
    restored.__setstate__(pickle.loads(pickle.dumps(old)))
    np.testing.assert_array_equal(restored.score_samples(X[:5]), expected)
    assert restored.base_weights_.size == 0
