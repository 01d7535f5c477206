"""skebm.EnergyOutlierDetector around skebm's density models."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skebm import BernoulliRBM, EnergyOutlierDetector, GaussianBernoulliRBM


def planted(rng, n_in=600, n_out=30, n_features=6):
    """Inliers on two correlated clusters; outliers off the clusters."""
    centres = np.array([[2.0] * n_features, [-2.0] * n_features])
    mix = rng.randint(0, 2, n_in)
    inliers = centres[mix] + 0.5 * rng.normal(size=(n_in, n_features))
    outliers = rng.uniform(-4, 4, size=(n_out, n_features))
    # keep only outliers far from both clusters
    far = (
        np.min(np.linalg.norm(outliers[:, None, :] - centres[None], axis=2), axis=1)
        > 3.0
    )
    return inliers, outliers[far]


def gaussian_rbm(**kw):
    return GaussianBernoulliRBM(n_components=8, n_iter=20, random_state=0, **kw)


def spy_on_log_partition(monkeypatch, cls):
    """A list that gains an item each time a ``cls`` estimates its log Z."""
    calls = []
    original = cls._compute_log_partition

    def spy(self, plan):
        calls.append(1)
        return original(self, plan)

    monkeypatch.setattr(cls, "_compute_log_partition", spy)
    return calls


def test_planted_outliers_are_ranked_and_flagged(rng):
    inliers, outliers = planted(rng)
    assert len(outliers) >= 10
    X_train = np.vstack([inliers[:500], outliers[:5]])
    detector = EnergyOutlierDetector(gaussian_rbm(), contamination=0.05)
    detector.fit(X_train)
    X_test = np.vstack([inliers[500:], outliers[5:]])
    y_test = np.r_[np.zeros(100), np.ones(len(outliers) - 5)]
    auc = roc_auc_score(y_test, -detector.score_samples(X_test))
    assert auc > 0.95, auc
    # predict flags about `contamination` of the training set (ties aside)
    flagged = np.mean(detector.predict(X_train) == -1)
    assert abs(flagged - 0.05) <= 1.0 / len(X_train) + 1e-12
    # decision_function skips log Z (score_samples and offset_ both carry
    # it): equal up to the rounding of adding and removing it
    np.testing.assert_allclose(
        detector.decision_function(X_test),
        detector.score_samples(X_test) - detector.offset_,
        rtol=0,
        atol=1e-12 * max(1.0, abs(detector.estimator_.log_partition_)),
    )
    refit = EnergyOutlierDetector(gaussian_rbm(), contamination=0.05)
    np.testing.assert_array_equal(refit.fit_predict(X_train), detector.predict(X_train))


def test_scores_are_the_estimators_log_density(rng):
    inliers, _ = planted(rng)
    detector = EnergyOutlierDetector(gaussian_rbm()).fit(inliers)
    model = gaussian_rbm().fit(inliers)
    np.testing.assert_array_equal(
        detector.score_samples(inliers), model.score_samples(inliers)
    )
    assert detector.estimator_ is not detector.estimator
    assert not hasattr(detector.estimator, "components_")


def test_pipeline_with_scaler_and_grid_search(rng):
    inliers, outliers = planted(rng)
    X = np.vstack([inliers, outliers]) * 100.0 + 7.0  # not standardised
    y = np.r_[np.ones(len(inliers)), -np.ones(len(outliers))]
    pipe = make_pipeline(StandardScaler(), EnergyOutlierDetector(gaussian_rbm()))
    pipe.fit(X)
    assert roc_auc_score(y, pipe.decision_function(X)) > 0.95
    assert set(np.unique(pipe.predict(X))) == {-1, 1}
    search = GridSearchCV(
        EnergyOutlierDetector(gaussian_rbm()),
        {"estimator__n_components": [1, 8]},
        cv=3,
    ).fit(StandardScaler().fit_transform(inliers))
    # held-out log-likelihood (the default score) prefers the model that can
    # represent two clusters
    assert search.best_params_ == {"estimator__n_components": 8}
    auc_search = GridSearchCV(
        EnergyOutlierDetector(gaussian_rbm()),
        {"contamination": [0.05, 0.1]},
        scoring="roc_auc",
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    ).fit(StandardScaler().fit_transform(X), y)
    assert auc_search.best_score_ > 0.9


def test_works_with_bernoulli_rbm_and_other_density_models(rng):
    prototypes = (rng.rand(3, 20) < 0.5).astype(float)
    flips = rng.rand(300, 20) < 0.05
    X = np.abs(prototypes[rng.randint(0, 3, 300)] - flips)
    noise = (rng.rand(20, 20) < 0.5).astype(float)
    detector = EnergyOutlierDetector(
        BernoulliRBM(n_components=6, n_iter=30, learning_rate=0.05, random_state=0)
    ).fit(X)
    y = np.r_[np.zeros(300), np.ones(20)]
    scores = detector.score_samples(np.vstack([X, noise]))
    assert roc_auc_score(y, -scores) > 0.95
    gmm = EnergyOutlierDetector(GaussianMixture(2, random_state=0)).fit(X)
    assert gmm.offset_ <= np.median(gmm.score_samples(X))


def test_default_model_on_more_features_is_a_scaled_gaussian_rbm(rng):
    for n_in, epochs in ((60, 500), (1000, 30), (25_000, 2)):
        inliers, _ = planted(rng, n_in=n_in)
        detector = EnergyOutlierDetector(random_state=0).fit(inliers)
        scaler, rbm = (step for _, step in detector.estimator_.steps)
        assert isinstance(scaler, StandardScaler) and scaler.with_mean
        assert isinstance(rbm, GaussianBernoulliRBM)
        assert rbm.learn_sigma and rbm.k == 5 and not rbm.persistent
        assert rbm.n_iter_ == epochs  # ceil(3000 / number of minibatches)
        assert detector.estimator is None


def test_default_model_is_deterministic_and_survives_pickling(rng):
    import pickle

    inliers, outliers = planted(rng, n_in=200)
    X = np.vstack([inliers, outliers])
    first = EnergyOutlierDetector(random_state=3).fit(inliers)
    second = EnergyOutlierDetector(random_state=3).fit(inliers)
    np.testing.assert_array_equal(first.score_samples(X), second.score_samples(X))
    other = EnergyOutlierDetector(random_state=4).fit(inliers)
    assert not np.array_equal(first.score_samples(X), other.score_samples(X))
    loaded = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(loaded.predict(X), first.predict(X))
    np.testing.assert_array_equal(loaded.decision_function(X),
                                  first.decision_function(X))  # fmt: skip


def test_default_model_needs_two_samples_and_takes_sparse_data(rng):
    import scipy.sparse as sp

    with pytest.raises(ValueError, match="at least 2 samples"):
        EnergyOutlierDetector().fit(np.ones((1, 3)))
    inliers, outliers = planted(rng, n_in=100)
    X = sp.csr_matrix(np.abs(np.vstack([inliers, outliers])))
    detector = EnergyOutlierDetector(random_state=0).fit(X[:100])
    assert not detector.estimator_.steps[0][1].with_mean  # scaled, not centred
    assert np.all(np.isfinite(detector.score_samples(X)))


def test_default_model_finds_a_class_between_two_others():
    # Novelty detection on iris with versicolor held out: it lies between
    # setosa and virginica, so one Gaussian over the training classes puts
    # it in a dense region (ROC AUC 0.52 for a full-covariance Gaussian,
    # 0.23 for the previous default, GaussianBernoulliRBM() for 10
    # epochs); the default model is a mixture that learns both modes.
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    X, y = load_iris(return_X_y=True)
    train, test = train_test_split(X[y != 1], test_size=1 / 3, random_state=0)
    X_test = np.vstack([test, X[y == 1]])
    y_test = np.r_[np.zeros(len(test)), np.ones((y == 1).sum())]
    detector = EnergyOutlierDetector(random_state=0).fit(train)
    assert roc_auc_score(y_test, -detector.score_samples(X_test)) > 0.8


def moons_task():
    """bench_anomaly.py's 2-D two moons: 200 training inliers; 100 test
    inliers and 45 uniform outliers."""
    from sklearn.datasets import make_moons

    inliers = 4.0 * (make_moons(300, noise=0.05, random_state=0)[0] - [0.5, 0.25])
    outliers = np.random.RandomState(42).uniform(-6, 6, size=(45, 2))
    X_test = np.vstack([inliers[200:], outliers])
    return inliers[:200], X_test, np.r_[np.zeros(100), np.ones(45)]


@pytest.fixture(scope="module")
def moons_detector():
    train, _, _ = moons_task()
    return EnergyOutlierDetector(random_state=0).fit(train)


def test_default_model_on_two_features_is_energy_density(moons_detector):
    from skebm import EnergyDensity

    model = moons_detector.estimator_
    assert isinstance(model, EnergyDensity)
    assert model.random_state == 0 and model.log_partition_method_ == "importance"
    # one feature too; three features or sparse data: the scaled Gaussian RBM
    X = np.random.RandomState(0).normal(size=(40, 3))
    one = EnergyOutlierDetector(random_state=0).fit(X[:, :1])
    assert isinstance(one.estimator_, EnergyDensity)
    three = EnergyOutlierDetector(random_state=0).fit(X)
    assert isinstance(three.estimator_.steps[-1][1], GaussianBernoulliRBM)
    import scipy.sparse as sp

    sparse = EnergyOutlierDetector(random_state=0).fit(sp.csr_matrix(X[:, :2]))
    assert isinstance(sparse.estimator_.steps[-1][1], GaussianBernoulliRBM)


def test_two_features_of_counts_keep_the_gaussian_rbm():
    # A Gaussian mixture spikes on repeated values: on these 200 rows of
    # two integers in 0-4, EnergyDensity puts 14.75% of the fresh rows
    # from the same distribution under a 10% threshold, the RBM 8.5%
    rng = np.random.RandomState(0)
    X, fresh = rng.randint(0, 5, (200, 2)), rng.randint(0, 5, (2000, 2))
    detector = EnergyOutlierDetector(random_state=0).fit(X)
    assert isinstance(detector.estimator_.steps[-1][1], GaussianBernoulliRBM)
    assert np.mean(detector.predict(fresh) == -1) < 0.12
    # one tied column is enough (a flag next to an amount); values rounded
    # finely enough are not tied
    from skebm._anomaly import _default_density_model, _tied

    flag = np.c_[rng.normal(size=200), rng.randint(0, 2, 200)]
    assert _tied(flag) and not _tied(flag[:, :1])
    assert not _tied(np.round(rng.normal(size=(40, 2)), 2))
    # (more features: the RBM anyway, whether tied or not)
    assert not hasattr(_default_density_model(40, 3, X=np.ones((40, 3))), "sampler")


def test_default_model_ranks_outliers_of_two_moons(moons_detector):
    # bench_anomaly.py, seeds 0-2: 0.915 for the default, 0.689 for the
    # scaled Gaussian RBM (the default on more features), 0.835 for a
    # BIC-chosen GaussianMixture; a single Gaussian's contours cover the
    # moons' hollows
    _, X_test, y_test = moons_task()
    auc = roc_auc_score(y_test, -moons_detector.decision_function(X_test))
    assert auc > 0.85
    ranked = roc_auc_score(y_test, -moons_detector.score_samples(X_test))
    assert ranked == pytest.approx(auc, abs=1e-3)  # log Z shifts all scores alike


def test_two_feature_default_is_deterministic_and_survives_pickling(
    moons_detector, monkeypatch
):
    import pickle

    from skebm import EnergyDensity

    calls = spy_on_log_partition(monkeypatch, EnergyDensity)
    train, X_test, _ = moons_task()
    again = EnergyOutlierDetector(random_state=0).fit(train)
    np.testing.assert_array_equal(
        again.decision_function(X_test), moons_detector.decision_function(X_test)
    )
    again.predict(X_test)
    assert calls == []  # fit and decisions need no log Z
    loaded = pickle.loads(pickle.dumps(moons_detector))
    np.testing.assert_array_equal(
        loaded.decision_function(X_test), moons_detector.decision_function(X_test)
    )
    np.testing.assert_array_equal(
        loaded.predict(X_test), moons_detector.predict(X_test)
    )
    with pytest.raises(ValueError, match="at least 2 samples"):
        EnergyOutlierDetector().fit(train[:1])


class _NaNScorer(BaseEstimator):
    def fit(self, X, y=None):
        return self

    def score_samples(self, X):
        return np.full(len(X), np.nan)


def test_bad_parameters_and_non_finite_scores(rng):
    X = rng.normal(size=(20, 2))
    with pytest.raises(ValueError, match="contamination"):
        EnergyOutlierDetector(gaussian_rbm(), contamination=0.7).fit(X)
    with pytest.raises(ValueError, match="estimator"):
        EnergyOutlierDetector(StandardScaler()).fit(X)
    with pytest.raises(ValueError, match="non-finite"):
        EnergyOutlierDetector(_NaNScorer()).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        EnergyOutlierDetector(gaussian_rbm()).fit(np.array([[np.nan, 1.0]] * 3))
    detector = EnergyOutlierDetector(gaussian_rbm()).fit(X)
    with pytest.raises(ValueError, match="features"):
        detector.predict(rng.normal(size=(3, 5)))


@parametrize_with_checks([EnergyOutlierDetector(random_state=0)])
def test_scikit_learn_checks_pass_with_the_default_model(estimator, check):
    check(estimator)


def test_decisions_need_no_log_partition(rng):
    """fit, predict and decision_function use scores up to log Z, so they
    work (and agree with the log Z-based attributes) when the model has no
    log Z; what needs one says so."""
    inliers, outliers = planted(rng)
    X = np.vstack([inliers[:300], outliers[:5]])
    without = EnergyOutlierDetector(
        gaussian_rbm(log_partition=None), contamination=0.05
    ).fit(X)
    with_z = EnergyOutlierDetector(gaussian_rbm(), contamination=0.05).fit(X)
    # the same model: the same decisions, shifted scores equal up to rounding
    np.testing.assert_array_equal(without.predict(X), with_z.predict(X))
    np.testing.assert_array_equal(without.labels_, with_z.labels_)
    np.testing.assert_allclose(
        without.decision_function(X), with_z.decision_function(X), rtol=0, atol=1e-12
    )
    for attribute in ("offset_", "threshold_", "decision_scores_"):
        with pytest.raises(ValueError, match="log_partition=None"):
            getattr(without, attribute)
    with pytest.raises(ValueError, match="log_partition=None"):
        without.score_samples(X)
    # with log Z the lazily computed attributes are those of its scores
    scores = with_z.score_samples(X)
    assert with_z.offset_ == pytest.approx(np.percentile(scores, 5.0), abs=1e-12)
    np.testing.assert_allclose(with_z.decision_scores_, -scores, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(with_z.labels_, (with_z.predict(X) == -1).astype(int))


def test_fit_and_predict_do_not_estimate_log_partition(rng, monkeypatch):
    """Only score_samples and the attributes that carry log Z estimate it,
    also through a Pipeline (of one step or more)."""
    calls = spy_on_log_partition(monkeypatch, GaussianBernoulliRBM)
    inliers, _ = planted(rng)
    for estimator in (
        gaussian_rbm(),
        make_pipeline(gaussian_rbm()),
        make_pipeline(StandardScaler(), gaussian_rbm()),
    ):
        calls.clear()
        detector = EnergyOutlierDetector(estimator).fit(inliers)
        detector.predict(inliers)
        detector.decision_function(inliers)
        assert detector.labels_.sum() > 0
        assert calls == []
        scores = detector.score_samples(inliers)
        assert calls == [1]
        np.testing.assert_array_equal(
            scores, clone(estimator).fit(inliers).score_samples(inliers)
        )


def test_pipeline_without_log_partition_and_offset_setter(rng):
    inliers, outliers = planted(rng)
    X = np.vstack([inliers[:300], outliers[:5]])
    detector = EnergyOutlierDetector(
        make_pipeline(StandardScaler(), gaussian_rbm(log_partition=None))
    ).fit(X)
    assert set(np.unique(detector.predict(X))) == {-1, 1}
    # an attribute that needs log Z is missing, as hasattr reports
    assert not hasattr(detector, "offset_")
    with pytest.raises(ValueError, match="log_partition=None"):
        _ = detector.offset_
    # with log Z, setting offset_ moves the threshold as for IsolationForest
    detector = EnergyOutlierDetector(gaussian_rbm()).fit(X)
    lowest = detector.score_samples(X).min()
    detector.offset_ = lowest - 1.0
    assert detector.offset_ == pytest.approx(lowest - 1.0, abs=1e-9)
    assert (detector.predict(X) == 1).all()
