"""skebm.GaussianBernoulliRBM: the estimator around the Gaussian layer maths."""

import pickle

import exact
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skebm import GaussianBernoulliRBM
from skebm.partition import ais_log_partition, exact_log_partition


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def digits_std():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_defaults_train_stably_on_standardised_data(cancer, digits_std):
    for X, _ in (cancer, digits_std):
        model = GaussianBernoulliRBM(n_components=64, random_state=0).fit(X)
        err = model.history_["reconstruction_error"]
        assert np.all(np.isfinite(model.components_))
        assert err[-1] < 0.8 * err[0]
        # the model learned the features' dependencies: the data is more
        # likely than a copy with each feature shuffled independently
        # (same marginals)
        shuffle = np.random.RandomState(0)
        shuffled = np.column_stack([shuffle.permutation(col) for col in X.T])
        assert model.score(X) > model.score(shuffled) + 2


def test_training_increases_held_out_log_likelihood(cancer):
    X_train, X_test = train_test_split(cancer[0], random_state=0)
    params = dict(n_components=12, random_state=0, log_partition="exact")
    start = GaussianBernoulliRBM(n_iter=0, **params).fit(X_train)
    trained = GaussianBernoulliRBM(n_iter=20, **params).fit(X_train)
    assert trained.log_partition_method_ == "exact"
    # a fixed-variance RBM starts as N(mean, I); training must beat it
    assert trained.score(X_test) > start.score(X_test) + 5


def test_score_samples_is_a_normalised_density(rng):
    X = rng.normal(size=(300, 2)) * [0.7, 1.5] + [1.0, -1.0]
    model = GaussianBernoulliRBM(
        n_components=3, n_iter=5, learn_sigma=True, random_state=0
    ).fit(X)
    assert model.log_partition_method_ == "exact"
    step = 0.05
    grid = np.arange(-12, 12, step)
    g1, g2 = np.meshgrid(grid, grid, indexing="ij")
    V = np.column_stack([g1.ravel(), g2.ravel()])
    mass = np.exp(model.score_samples(V)).sum() * step**2
    assert mass == pytest.approx(1.0, abs=1e-6)
    ref = -exact.gaussian_free_energy(
        X[:5],
        model.components_,
        model.intercept_visible_,
        model.intercept_hidden_,
        model.sigma_,
    ) - exact.gaussian_log_partition(
        model.components_,
        model.intercept_visible_,
        model.intercept_hidden_,
        model.sigma_,
    )
    np.testing.assert_allclose(model.score_samples(X[:5]), ref, rtol=1e-10)


def test_ais_estimate_agrees_with_exact_on_the_same_model(cancer):
    X = cancer[0]
    exact_model = GaussianBernoulliRBM(
        n_components=14, n_iter=3, random_state=0, log_partition="exact"
    ).fit(X)
    ais_model = GaussianBernoulliRBM(
        n_components=14, n_iter=3, random_state=0, log_partition="ais"
    ).fit(X)
    np.testing.assert_array_equal(ais_model.components_, exact_model.components_)
    assert ais_model.log_partition_method_ == "ais"
    se = ais_model.log_partition_stderr_
    assert 0 < se < 0.1
    assert abs(ais_model.log_partition_ - exact_model.log_partition_) < 3 * se + 1e-3
    # the public functions give the same numbers
    assert exact_log_partition(exact_model) == exact_model.log_partition_
    est, se2 = ais_log_partition(ais_model, X, n_chains=100, random_state=1)
    assert abs(est - exact_model.log_partition_) < 3 * se2 + 1e-3


def test_learn_sigma_recovers_feature_scales(rng):
    scales = np.array([0.3, 1.0, 4.0])
    X = rng.normal(size=(2000, 3)) * scales + 2.0
    model = GaussianBernoulliRBM(
        n_components=4, n_iter=10, learn_sigma=True, random_state=0
    ).fit(X)
    # independent features: the hidden units have little to explain, so the
    # visible standard deviations stay near the data's
    np.testing.assert_allclose(model.sigma_, scales, rtol=0.25)
    fixed = GaussianBernoulliRBM(n_components=4, n_iter=1, random_state=0).fit(X)
    np.testing.assert_array_equal(fixed.sigma_, np.ones(3))
    assert model.score(X) > fixed.score(X) + 0.5


def test_sample_and_gibbs_are_real_valued_and_follow_the_data(digits_std):
    X = digits_std[0]
    model = GaussianBernoulliRBM(n_components=32, n_iter=5, random_state=0).fit(X)
    S = model.sample(400, n_steps=100, random_state=1)
    assert S.shape == (400, 64) and S.dtype == np.float64
    np.testing.assert_array_equal(S, model.sample(400, n_steps=100, random_state=1))
    # the samples reproduce the pixel correlations of the (standardised, so
    # zero-mean) data: over the pairs of non-constant pixels, the samples'
    # correlations track the data's (0.74 measured; with 400 samples each
    # sample correlation has sd ~0.05, so for samples that ignore the data
    # this is ~0 +- 0.03, as an untrained model's give)
    varied = X.std(0) > 0
    pairs = np.triu_indices(varied.sum(), 1)

    def tracks_the_data(S):
        corr = np.corrcoef(S[:, varied].T)[pairs]
        return np.corrcoef(corr, np.corrcoef(X[:, varied].T)[pairs])[0, 1]

    assert tracks_the_data(S) > 0.5
    untrained = GaussianBernoulliRBM(n_components=32, n_iter=0, random_state=0)
    assert abs(tracks_the_data(untrained.fit(X).sample(400, random_state=1))) < 0.15
    step = model.gibbs(X[:5])
    assert step.shape == (5, 64) and step.dtype == np.float64
    assert not np.array_equal(step, model.gibbs(X[:5]))  # chain moves on


def test_same_seed_same_result_and_float32(cancer):
    X = cancer[0]
    a = GaussianBernoulliRBM(n_components=16, n_iter=2, random_state=3).fit(X)
    b = GaussianBernoulliRBM(n_components=16, n_iter=2, random_state=3).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    assert a.log_partition_ == b.log_partition_
    c = GaussianBernoulliRBM(n_components=16, n_iter=2, random_state=4).fit(X)
    assert not np.array_equal(a.components_, c.components_)
    f = GaussianBernoulliRBM(n_components=16, n_iter=2, random_state=3)
    f.fit(X.astype(np.float32))
    assert f.components_.dtype == np.float32
    assert f.transform(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(f.components_, a.components_, atol=2e-3)


def test_sparse_equals_dense(rng):
    X = rng.normal(size=(60, 7)) * (rng.rand(60, 7) < 0.3)
    params = dict(n_components=5, n_iter=2, learn_sigma=True, random_state=0)
    dense = GaussianBernoulliRBM(**params).fit(X)
    sparse = GaussianBernoulliRBM(**params).fit(sp.csr_matrix(X))
    np.testing.assert_array_equal(dense.components_, sparse.components_)
    np.testing.assert_array_equal(dense.sigma_, sparse.sigma_)
    np.testing.assert_allclose(
        dense.score_samples(X), sparse.score_samples(sp.csc_matrix(X)), rtol=1e-12
    )
    np.testing.assert_allclose(
        dense.transform(X), sparse.transform(sp.csr_matrix(X)), rtol=1e-12
    )


def test_partial_fit_continues_and_pickle_round_trip(tmp_path, cancer):
    X = cancer[0]
    model = GaussianBernoulliRBM(n_components=8, random_state=0, learn_sigma=True)
    model.partial_fit(X[:200]).partial_fit(X[200:])
    assert list(model.history_["epoch"]) == [1, 2]
    one = GaussianBernoulliRBM(
        n_components=8, n_iter=1, random_state=0, learn_sigma=True
    ).fit(X[:200])
    first = GaussianBernoulliRBM(n_components=8, random_state=0, learn_sigma=True)
    np.testing.assert_array_equal(
        first.partial_fit(X[:200]).components_, one.components_
    )
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.score_samples(X), model.score_samples(X))


def test_input_not_modified(rng):
    X = rng.normal(size=(40, 4))
    before = X.copy()
    model = GaussianBernoulliRBM(n_components=3, n_iter=2, learn_sigma=True)
    model.fit(X).score_samples(X)
    model.transform(X)
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0]]), "NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0]]), "infinity"),
        (np.empty((0, 3)), "0 sample"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), "could not convert"),
    ],
)
def test_bad_input_raises_clear_error(bad, match):
    with pytest.raises(ValueError, match=match):
        GaussianBernoulliRBM(n_components=2).fit(bad)


def test_divergence_is_reported_and_leaves_no_fitted_state(rng):
    X = rng.normal(size=(100, 5)) * 50
    model = GaussianBernoulliRBM(n_components=4, learning_rate=10.0, random_state=0)
    with pytest.raises(FloatingPointError, match="diverged"):
        model.fit(X)
    assert not hasattr(model, "components_")


def test_pipeline_and_grid_search_without_scorer(cancer):
    X, y = cancer
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    pipe = make_pipeline(
        StandardScaler(),
        GaussianBernoulliRBM(n_components=32, n_iter=5, random_state=0),
        LogisticRegression(max_iter=1000),
    ).fit(X_train, y_train)
    assert pipe.score(X_test, y_test) > 0.9
    search = GridSearchCV(
        GaussianBernoulliRBM(n_iter=3, random_state=0),
        {"n_components": [2, 12]},
        cv=3,
    ).fit(X)
    # held-out log-likelihood picks the larger model on 30 correlated features
    assert search.best_params_ == {"n_components": 12}
