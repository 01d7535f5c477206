"""EnergyDensity and its energy network (issue 21): gradients against finite
differences, AIS log Z against quadrature, MCMC histograms against the
quadrature density, and the estimator's contract."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.datasets import make_moons
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skebm import EnergyDensity, EnergyOutlierDetector, sampling
from skebm._energy_base import ais_log_partition, auto_epochs
from skebm._kernels._energy_net import energies_and_grads, no_mixture, param_grad_sum

FAST = dict(n_iter=3, n_ais_chains=50, n_ais_temperatures=200, random_state=0)


def random_net(sizes, seed=0, scale=1.0):
    """``(theta, sizes, center, precision, mix)`` with random parameters
    (no mixture base)."""
    rng = np.random.RandomState(seed)
    sizes = np.array(sizes, dtype=np.int64)
    n = sum(int(a * b + b) for a, b in zip(sizes[:-1], sizes[1:])) + int(sizes[-1])
    d = int(sizes[0])
    return (rng.normal(scale=scale, size=n), sizes, rng.normal(scale=0.3, size=d),
            rng.uniform(0.7, 1.3, size=d), no_mixture(d))  # fmt: skip


def grid(lo, hi, n, d):
    axes = [np.linspace(lo, hi, n)] * d
    points = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, d)
    return points, ((hi - lo) / (n - 1)) ** d


def quadrature_log_z(model, d, lo=-9.0, hi=9.0, n=None):
    n = n or (20001 if d == 1 else 801)
    points, cell = grid(lo, hi, n, d)
    E = energies_and_grads(model, points, np.empty_like(points))
    return logsumexp(-E) + np.log(cell)


# ----------------------------------------------------------------- kernels
def assert_input_gradients(model, X, h=1e-6):
    """The kernel's ``dE/dx`` against central differences; returns ``E``."""
    G = np.empty_like(X)
    E = energies_and_grads(model, X, G)
    for i in range(X.shape[1]):
        step = np.eye(X.shape[1])[i] * h
        up = energies_and_grads(model, X + step, np.empty_like(X))
        down = energies_and_grads(model, X - step, np.empty_like(X))
        np.testing.assert_allclose(G[:, i], (up - down) / (2 * h), rtol=1e-5, atol=1e-6)
    return E


@pytest.mark.parametrize("sizes", [[3, 4], [3, 5, 4], [2, 3, 3, 2]])
def test_input_and_parameter_gradients_match_finite_differences(sizes):
    model = random_net(sizes)
    theta = model[0]
    X = np.random.RandomState(1).normal(size=(70, sizes[0]))  # two row blocks
    E = assert_input_gradients(model, X)
    h = 1e-6
    weights = np.random.RandomState(2).normal(size=len(X))
    energies, g = param_grad_sum(model, X, weights, 2)
    np.testing.assert_allclose(energies, E, rtol=1e-12, atol=1e-12)
    numeric = np.empty_like(theta)
    for k in range(theta.size):
        t = theta.copy()
        t[k] += h
        up = energies_and_grads((t, *model[1:]), X, np.empty_like(X)) @ weights
        t[k] -= 2 * h
        down = energies_and_grads((t, *model[1:]), X, np.empty_like(X)) @ weights
        numeric[k] = (up - down) / (2 * h)
    np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-5)
    assert np.abs(g).max() > 1e-2  # power: not all zero
    one = param_grad_sum(model, X, weights, 1)
    np.testing.assert_array_equal(one[1], g)  # same bits on one thread


def test_an_rbm_free_energy_is_the_one_layer_case():
    from skebm import GaussianBernoulliRBM
    from skebm.sampling import rbm_net_model

    rng = np.random.RandomState(0)
    rbm = GaussianBernoulliRBM(n_components=3, n_iter=1, learn_sigma=True)
    rbm.set_params(random_state=0).fit(rng.normal(size=(50, 4)))
    X = rng.normal(size=(10, 4))
    model = rbm_net_model(rbm.components_, rbm.intercept_visible_,
                          rbm.intercept_hidden_, rbm.sigma_)  # fmt: skip
    shift = energies_and_grads(model, X, np.empty_like(X)) - rbm.free_energy(X)
    np.testing.assert_allclose(shift, shift[0], atol=1e-9)


# --------------------------------------------------------------------- AIS
@pytest.mark.parametrize("sizes, seed", [([1, 6], 0), ([1, 4, 3], 1), ([2, 8, 4], 2)])
def test_ais_log_z_is_within_its_standard_error_of_quadrature(sizes, seed):
    model = random_net(sizes, seed, scale=1.5)
    exact = quadrature_log_z(model, sizes[0])
    log_z, stderr = ais_log_partition(model, 400, 500, seed)
    assert 0 < stderr < 0.05
    assert abs(log_z - exact) < 4 * stderr + 1e-3
    # power: a different energy's log Z is farther off than the bound
    other = (model[0] * 1.3, *model[1:])
    assert abs(quadrature_log_z(other, sizes[0]) - log_z) > 4 * stderr + 1e-3


# ------------------------------------------------------------------- MCMC
def fitted_on_random_net(sizes=(2, 6, 4), seed=4):
    """A fitted 2-D EnergyDensity whose energy is a random network (data
    units equal to standardised ones)."""
    X = np.random.RandomState(0).normal(size=(40, 2))
    model = EnergyDensity(hidden_layer_sizes=sizes[1:], n_iter=0, sampler="mala", **{
        k: v for k, v in FAST.items() if k != "n_iter"}).fit(X)  # fmt: skip
    theta, _, center, precision, _ = random_net(sizes, seed, scale=1.5)
    model.mean_, model.whitening_ = np.zeros(2), np.eye(2)
    model.coefs_, model.intercepts_, off = [], [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        model.coefs_.append(theta[off : off + n_in * n_out].reshape(n_out, n_in).T)
        off += n_in * n_out
        model.intercepts_.append(theta[off : off + n_out])
        off += n_out
    model.output_weights_ = theta[off:]
    model.center_, model.precision_ = center, precision
    return model


def binned_law(model, edges):
    """Probability of each 2-D bin of ``edges`` under the model
    (quadrature on a fine grid; the tails beyond the edges folded in)."""
    points, _ = grid(-9, 9, 721, 2)
    log_p = -model.energy(points)
    p = np.exp(log_p - logsumexp(log_p))
    idx = [np.clip(np.digitize(points[:, i], edges) - 1, 0, len(edges) - 2)
           for i in range(2)]  # fmt: skip
    law = np.zeros((len(edges) - 1,) * 2)
    np.add.at(law, tuple(idx), p)
    return law


def histogram(X, edges):
    idx = [
        np.clip(np.digitize(X[:, i], edges) - 1, 0, len(edges) - 2) for i in range(2)
    ]
    hist = np.zeros((len(edges) - 1,) * 2)
    np.add.at(hist, tuple(idx), 1.0)
    return hist / len(X)


@pytest.mark.parametrize(
    "draw",
    [
        lambda m, X0, rs: sampling.mala(m, X0, n_steps=150, n_warmup=150,
                                        random_state=rs).samples,
        lambda m, X0, rs: sampling.hmc(m, X0, n_steps=100, n_warmup=100,
                                       random_state=rs).samples,
        lambda m, X0, rs: sampling.metropolis(m, X0, n_steps=300, n_warmup=300,
                                              random_state=rs).samples,
        lambda m, X0, rs: m.sample(len(X0), n_steps=200, random_state=rs),
    ],
    ids=["mala", "hmc", "metropolis", "sample"],
)  # fmt: skip
def test_samplers_draw_the_quadrature_density_of_a_network_energy(draw):
    model = fitted_on_random_net()
    edges = np.array([-9, -2, -1, -0.5, 0, 0.5, 1, 2, 9])
    law = binned_law(model, edges)
    n = 4000
    X0 = np.random.RandomState(1).normal(scale=2.0, size=(n, 2))
    model.chains_ = X0  # sample() starts from the persistent chains
    samples = draw(model, X0, 0)
    tv = 0.5 * np.abs(histogram(samples, edges) - law).sum()
    bound = 4 * 0.5 * np.sqrt(law * (1 - law) / n).sum()
    assert tv < bound
    # power: the starting law is farther away
    assert 0.5 * np.abs(histogram(X0, edges) - law).sum() > 2 * bound


def test_public_samplers_run_in_data_units():
    X, _ = make_moons(400, noise=0.1, random_state=0)
    X = X @ np.array([[10.0, 0.0], [3.0, 0.1]]) + [5.0, -3.0]  # correlated
    model = EnergyDensity(**FAST).fit(X)
    U = (X - model.mean_) @ model.whitening_
    np.testing.assert_allclose(np.cov(U, rowvar=False, bias=True), np.eye(2), atol=1e-9)
    for samples in (
        model.sample(1000, random_state=0),
        sampling.mala(model, X[:1000], n_steps=50, random_state=0).samples,
    ):
        atol = 0.2 * X.std(axis=0).max()
        np.testing.assert_allclose(samples.mean(axis=0), X.mean(axis=0), atol=atol)
        corr = np.corrcoef(samples, rowvar=False)[0, 1]
        assert abs(corr - np.corrcoef(X, rowvar=False)[0, 1]) < 0.15


# ----------------------------------------------------------------- estimator
def moons(n=600, seed=0):
    return make_moons(n, noise=0.1, random_state=seed)[0]


def test_training_beats_the_starting_gaussian_on_held_out_data():
    X, X_test = moons(), moons(seed=1)
    start = EnergyDensity(n_iter=0, sampler="mala", random_state=0).fit(X)
    model = EnergyDensity(n_iter=60, sampler="mala", random_state=0).fit(X)
    # the start is the data's Gaussian (maximum likelihood): its exact
    # log-likelihood
    cov = np.cov(X, rowvar=False, bias=True)
    gauss = stats.multivariate_normal(X.mean(axis=0), cov).logpdf(X_test)
    assert abs(start.score(X_test) - gauss.mean()) < 0.02
    assert model.score(X_test) > gauss.mean() + 0.3
    points, cell = grid(-3, 3, 801, 2)
    points = points * X.std(0) * 1.5 + X.mean(0)  # data units
    exact = logsumexp(-model.energy(points)) + np.log(cell * np.prod(X.std(0) * 1.5))
    assert abs(model.log_partition_ - exact) < 4 * model.log_partition_stderr_ + 1e-3
    assert model.log_partition_method_ == "ais"
    assert set(model.history_) == {"epoch", "energy_gap", "acceptance_rate",
                                   "step_size", "time"}  # fmt: skip
    # the chains' step size is adapted towards MALA's target
    assert abs(model.history_["acceptance_rate"][-10:].mean() - 0.574) < 0.05


def test_same_bits_for_a_seed_and_a_different_seed_differs():
    X = moons(200)
    a = EnergyDensity(**FAST).fit(X)
    b = EnergyDensity(**FAST).fit(X)
    c = EnergyDensity(**{**FAST, "random_state": 1}).fit(X)
    for name in ("output_weights_", "center_", "precision_", "chains_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.chains_, c.chains_)
    assert a.log_partition_ == b.log_partition_
    first, second = a.sample(5, random_state=0), b.sample(5, random_state=0)
    np.testing.assert_array_equal(first, second)


def test_partial_fit_continues_and_early_stopping_keeps_the_best_epoch():
    X = moons(300)
    model = EnergyDensity(**FAST).fit(X)
    before = model.output_weights_.copy()
    model.partial_fit(X)
    assert model.n_iter_ == 4 and len(model.history_["epoch"]) == 4
    assert not np.array_equal(before, model.output_weights_)
    stopped = EnergyDensity(
        n_iter=40, early_stopping=True, n_iter_no_change=2, tol=0.5, random_state=0
    ).fit(X)
    scores = stopped.history_["validation_log_likelihood"]
    assert stopped.n_iter_ < 40  # tol=0.5 nats: it stops early
    assert stopped.best_epoch_ == 1 + int(np.argmax(scores))
    with pytest.raises(ValueError, match="hidden_layer_sizes changed"):
        clone(model).fit(X).set_params(hidden_layer_sizes=(3,)).partial_fit(X)


@pytest.mark.parametrize("sampler", ["mala", "importance"])
def test_early_stopping_scores_in_the_model_s_own_coordinates(sampler, monkeypatch):
    """The held-out rows are whitened as the model is: by the training
    rows alone (the model's whitening maps them back onto rows of X), and
    neither the whitening nor the base sees them."""
    import skebm._energy_density as module

    seen = []

    class Spy(module._DensityTracker):
        def __init__(self, X_val, *args):
            seen.append(X_val.copy())
            super().__init__(X_val, *args)

    monkeypatch.setattr(module, "_DensityTracker", Spy)
    X = moons(200) @ np.array([[2.0, 0.5], [0.0, 1.0]]) + 3.0
    model = EnergyDensity(n_iter=2, early_stopping=True, sampler=sampler,
                          random_state=0).fit(X)  # fmt: skip
    (U_val,) = seen
    rows = model._unwhitened(U_val)
    gaps = np.abs(rows[:, None, :] - X[None]).max(axis=2).min(axis=1)
    np.testing.assert_allclose(gaps, 0, atol=1e-9)  # each is a row of X
    # the whitening is the training rows': not that of all the rows
    train = np.ones(len(X), bool)
    train[np.abs(rows[:, None, :] - X[None]).max(axis=2).argmin(axis=1)] = False
    np.testing.assert_allclose(model.mean_, X[train].mean(axis=0), rtol=1e-12)


def test_auto_epochs_about_5000_updates_and_fewer_on_small_tables():
    # about 5000 updates within [10, 500] epochs ...
    assert auto_epochs(1000, 2, 100) == 500  # 10 batches: 500 epochs
    assert auto_epochs(2000, 2, 100) == 250
    assert auto_epochs(200_000, 2, 100) == 10  # 2000 batches: the floor
    assert auto_epochs(100_000, 200, 100) == 10
    # ... but at most 150 with fewer than 100 rows per feature
    assert auto_epochs(199, 2, 100) == 150  # 99.5 rows per feature
    assert auto_epochs(200, 2, 100) == 500  # 100: the cap is 500 again
    assert auto_epochs(124, 13, 100) == 150
    # fit follows the rule: 40 rows, 2 features, one batch per epoch
    X = moons(40)
    model = EnergyDensity((3,), n_ais_chains=10, n_ais_temperatures=10).fit(X)
    assert model.n_iter_ == len(model.history_["epoch"]) == 150


def test_works_in_pipeline_grid_search_and_outlier_detector():
    X = moons(300)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), EnergyDensity(**FAST)),
        {"energydensity__hidden_layer_sizes": [(4,), (8, 8)]},
        cv=2,
    ).fit(X)
    assert np.isfinite(search.best_score_)
    detector = EnergyOutlierDetector(EnergyDensity(**FAST)).fit(X)
    far = np.array([[10.0, 10.0]])
    assert detector.decision_function(far)[0] < detector.decision_function(X[:1])[0]


def test_bad_input_gets_clear_errors():
    X = moons(100)
    model = EnergyDensity(**FAST).fit(X)
    nan = X.copy()
    nan[3, 1] = np.nan
    for call in (EnergyDensity(**FAST).fit, model.energy, model.score_samples):
        with pytest.raises(ValueError, match="NaN"):
            call(nan)
        with pytest.raises(ValueError, match="infinity"):
            call(np.where(np.isnan(nan), np.inf, X))
    with pytest.raises(ValueError, match="3 features"):
        model.energy(np.ones((2, 3)))
    with pytest.raises(ValueError, match="3 features"):
        sampling.mala(model, np.ones((2, 3)))
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        EnergyDensity(hidden_layer_sizes=(4, 0)).fit(X)
    with pytest.raises(ValueError, match="sampler"):
        EnergyDensity(sampler="gibbs").fit(X)
    with pytest.raises(ValueError, match="method"):
        model.sample(3, method="gibbs")
    before = X.copy()
    EnergyDensity(**FAST).fit(X)
    np.testing.assert_array_equal(X, before)  # the caller's array


def test_parallel_tempering_weighs_separated_modes_correctly():
    """Two modes 10 sd apart, weights 3:1 (a one-unit network:
    ``N(-1.5, 0.3²) (1 + exp(w u + b))``). PT chains all started in the
    left mode end up with the right mode's mass 0.25; plain MALA chains
    with restarts find each mode by the size of its basin instead."""
    from skebm._energy_density_training import Trainer

    X = np.random.RandomState(0).normal(size=(50, 1))
    w = 3.0 / 0.3**2
    fractions = {}
    for sampler in ("pt", "mala"):
        model = EnergyDensity((1,), sampler=sampler, n_iter=0, n_chains=2000)
        model.set_params(random_state=0).fit(X)
        model.mean_, model.whitening_ = np.zeros(1), np.eye(1)
        model.coefs_, model.intercepts_ = [np.array([[w]])], [np.array([np.log(1 / 3)])]
        model.output_weights_ = np.array([-1.0])
        model.center_, model.precision_ = np.array([-1.5]), np.array([1 / 0.3])
        _, params = model._continued_parameters(X)
        params["n_epochs"] = np.array([1])
        params["chains"] = -1.5 + 0.3 * np.random.RandomState(1).normal(size=(2000, 1))
        trainer = Trainer(model, X, params, seed=0)
        from skebm._energy_density import _model_from_params

        for _ in range(150):
            trainer._move_chains(_model_from_params(params))
        fractions[sampler] = float((params["chains"] > 0).mean())
    bound = 4 * np.sqrt(0.25 * 0.75 / 2000)
    assert abs(fractions["pt"] - 0.25) < bound
    assert abs(fractions["mala"] - 0.25) > 2 * bound  # power


@pytest.mark.parametrize("method", ["mala", "hmc", "metropolis"])
def test_samplers_keep_a_correlated_gaussian_in_data_units(method):
    """With the network switched off (v = 0) the model is the Gaussian of
    its whitening: N(mean_, C) with whitening_ = C^(-1/2). The chains run on
    whitened rows; their draws, mapped back, have C's moments."""
    C = np.array([[4.0, 1.8], [1.8, 1.0]])  # correlation 0.9
    values, vectors = np.linalg.eigh(C)
    model = EnergyDensity((3,), n_iter=0, sampler="mala", random_state=0)
    model.fit(moons(50))
    model.mean_ = np.array([3.0, -1.0])
    model.whitening_ = (vectors / np.sqrt(values)) @ vectors.T
    model.output_weights_ = np.zeros(3)
    model.center_, model.precision_ = np.zeros(2), np.ones(2)
    n = 4000
    X0 = np.random.RandomState(0).uniform(-5, 5, size=(n, 2))
    run = getattr(sampling, method)
    samples = run(model, X0, n_steps=200, n_warmup=200, random_state=0).samples
    se_mean = np.sqrt(np.diag(C) / n)
    assert np.all(np.abs(samples.mean(axis=0) - model.mean_) < 4 * se_mean)
    # sd of a sample covariance entry: sqrt((C_ii C_jj + C_ij^2) / n)
    se_cov = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C**2) / n)
    assert np.all(np.abs(np.cov(samples, rowvar=False) - C) < 4 * se_cov)
    # power: the starts are far from it
    assert np.abs(np.cov(X0, rowvar=False) - C).max() > 10 * se_cov.max()
