"""Bad input gets a clear error or a documented, finite (or infinite) answer,
never a silent NaN; failed fits change nothing. One regression test per
defect found by the bad-input sweep (issue 16); each failed on the code
before the fix."""

import inspect
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import MinMaxScaler

import skebm
from skebm import (
    BernoulliRBM,
    BoltzmannMachine,
    DBNClassifier,
    DeepBeliefNetwork,
    EnergyImputer,
    EnergyOutlierDetector,
    GaussianBernoulliRBM,
    ModernHopfieldNetwork,
)
from skebm.partition import ais_log_partition, exact_log_partition

RNG = np.random.RandomState(0)
X_BIN = (RNG.rand(60, 6) > 0.5).astype(np.float64)
X_REAL = RNG.normal(size=(60, 4))
Y = np.arange(60) % 2


def _fitted_rbm():
    return BernoulliRBM(n_components=3, n_iter=2, random_state=0).fit(X_BIN)


# ------------------------------------------------------ 1. no silent NaN
def test_float32_gaussian_rbm_scores_float64_rows_beyond_float32_finitely():
    model = GaussianBernoulliRBM(n_components=2, n_iter=2, random_state=0)
    model.fit(X_REAL.astype(np.float32))
    row = np.array([[1e39, 0.0, 0.0, 0.0]])  # finite in float64, not float32
    score = model.score_samples(row)
    assert np.isfinite(score).all() and score[0] < -1e70  # -|v/σ|²/2 dominates
    assert np.isfinite(model.transform(row)).all()
    with pytest.raises(ValueError, match="beyond the range of float32"):
        model.gibbs(row)  # the chains run in the model's float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_outlier_detector_flags_rows_beyond_the_float_range(dtype):
    detector = EnergyOutlierDetector(
        GaussianBernoulliRBM(n_components=2, n_iter=2, random_state=0)
    ).fit(X_REAL.astype(dtype))
    huge = float(np.finfo(dtype).max) / 2  # |v|² overflows: score -inf
    rows = np.array([[1e39, 0, 0, 0], [huge, -huge, huge, -huge], [0, 0, 0, 0]])
    rows = rows.astype(np.float64)
    scores = detector.score_samples(rows)
    assert not np.isnan(scores).any()
    assert list(detector.predict(rows)) == [-1, -1, 1]


def test_outlier_detector_refuses_nan_scores_from_its_estimator():
    class NaNScorer(GaussianBernoulliRBM):
        def score_samples(self, X):
            out = super().score_samples(X)
            out[0] = np.nan
            return out

    detector = EnergyOutlierDetector(NaNScorer(n_components=2, n_iter=1))
    with pytest.raises(ValueError, match="non-finite scores"):
        detector.fit(X_REAL)
    detector.estimator = GaussianBernoulliRBM(n_components=2, n_iter=1)
    detector.fit(X_REAL)
    detector.estimator_ = NaNScorer(n_components=2, n_iter=1).fit(X_REAL)
    with pytest.raises(ValueError, match="returned NaN for 1 row"):
        detector.predict(X_REAL[:3])


def test_modern_hopfield_refuses_patterns_and_queries_beyond_float64():
    X = RNG.normal(size=(5, 3))
    big = X.copy()
    big[0, 0] = 1e200
    with pytest.raises(ValueError, match="Pattern 0 of X is too large"):
        ModernHopfieldNetwork().fit(big)
    net = ModernHopfieldNetwork().fit(X)
    with pytest.raises(ValueError, match="Pattern 0 of X is too large"):
        net.partial_fit(big)
    assert len(net.patterns_) == 5
    for method in (net.recall, net.score_samples, net.predict, net.energy):
        with pytest.raises(ValueError, match="Row 0 of X is too large"):
            method(big)
    # the largest patterns it accepts still recall and score finitely
    near = X * 1e150
    net = ModernHopfieldNetwork().fit(near)
    assert np.isfinite(net.recall(near)).all()
    assert np.isfinite(net.score_samples(near)).all()


def test_modern_hopfield_energy_finite_for_tiny_beta():
    X = RNG.normal(size=(5, 3))
    energy = ModernHopfieldNetwork(beta=1e-310).fit(X).energy(X)
    assert np.isfinite(energy).all()  # log(p) / beta alone overflows


# ------------------------------------------- 2. ais_log_partition's input
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"X": X_BIN[:, :3]}, "X has 3 features, but BernoulliRBM is expecting 6"),
        ({"X": X_BIN[0]}, "Expected 2D array"),
        ({"X": np.where(X_BIN > 0, np.nan, 0.0)}, "NaN"),
        ({"X": [["a"] * 6]}, "string"),
        ({"X": X_BIN * 2}, "greater than 1"),
        ({"n_chains": 1}, "'n_chains' parameter"),
        ({"n_chains": 0}, "'n_chains' parameter"),
        ({"n_chains": 10.0}, "'n_chains' parameter"),
        ({"n_temperatures": -1}, "'n_temperatures' parameter"),
        ({"n_temperatures": True}, "n_temperatures must be an int"),
        ({"random_state": "seed"}, "'random_state' parameter"),
    ],
)
def test_ais_log_partition_validates_its_input(kwargs, match):
    rbm = _fitted_rbm()
    with pytest.raises((ValueError, TypeError), match=match):
        ais_log_partition(rbm, **kwargs)


@pytest.mark.parametrize("function", [ais_log_partition, exact_log_partition])
def test_partition_functions_name_a_bad_model(function):
    with pytest.raises(ValueError, match="'rbm' parameter"):
        function(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="not fitted"):
        function(BernoulliRBM())


def test_ais_log_partition_standard_error_is_finite_with_two_chains():
    log_z, stderr = ais_log_partition(
        _fitted_rbm(), X_BIN, n_chains=2, n_temperatures=10, random_state=0
    )
    assert np.isfinite(log_z) and np.isfinite(stderr) and stderr >= 0


# ------------------------------------------------ 3. atomic fit, everywhere
def _estimators():
    """Every public estimator, small, with data it accepts."""
    fast = {"n_iter": 2, "random_state": 0}
    return [
        (BernoulliRBM(n_components=3, **fast), X_BIN, None),
        (GaussianBernoulliRBM(n_components=3, **fast), X_REAL, None),
        (BoltzmannMachine(n_hidden=1, **fast), X_BIN, None),
        (skebm.CategoricalRBM(n_components=3, **fast), X_BIN, None),  # codes 0, 1
        (DeepBeliefNetwork((3, 2), **fast), X_BIN, None),
        (skebm.DeepBoltzmannMachine((3, 2), pretrain_n_iter=1, **fast), X_BIN, None),
        (DBNClassifier((3,), pretrain_n_iter=1, max_iter=3, random_state=0), X_BIN, Y),
        (skebm.HopfieldNetwork(random_state=0), 2 * X_BIN - 1, None),
        (ModernHopfieldNetwork(), X_REAL, None),
        (skebm.EnergyDensity((4,), **fast), X_REAL, None),
        (EnergyOutlierDetector(BernoulliRBM(n_components=2, **fast)), X_BIN, None),
        (EnergyImputer(BernoulliRBM(n_components=2, **fast), max_iter=1), X_BIN, None),
    ]


def test_every_public_estimator_is_covered():
    public = {
        name
        for name in skebm.__all__
        if inspect.isclass(getattr(skebm, name))
        and hasattr(getattr(skebm, name), "fit")
    }
    assert public == {type(est).__name__ for est, _, _ in _estimators()}


def _bad_inputs(X):
    nan = X.copy()
    nan[1, 1] = np.nan
    far = X.copy()
    far[2, 0] = 7.5  # outside every domain here: [0, 1], {-1, 1}
    return {
        "NaN": nan,
        "inf": np.where(nan != nan, np.inf, X),
        "out of domain": far,
        "empty": X[:0],
        "1-D": X[0],
        "strings": np.full(X.shape, "a"),
    }


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("index", range(len(_estimators())))
def test_failed_fit_leaves_a_fitted_estimator_exactly_as_it_was(index):
    estimator, X, y = _estimators()[index]
    args = () if y is None else (y,)
    estimator.fit(X, *args)
    methods = ["fit"] + (["partial_fit"] if hasattr(estimator, "partial_fit") else [])
    bad = _bad_inputs(X)
    if type(estimator).__name__ in {
        "EnergyDensity",
        "GaussianBernoulliRBM",
        "ModernHopfieldNetwork",
    }:
        del bad["out of domain"]  # any real value is in their domain
    if type(estimator).__name__ == "EnergyImputer":
        del bad["NaN"]  # what it fills in
    bad["wrong n_features"] = X[:, :-1]
    for method in methods:
        for kind, X_bad in bad.items():
            if method == "fit" and kind == "wrong n_features":
                continue  # a refit may change the number of features
            # all state, private caches too: a failed call may change none
            before = joblib.hash(estimator.__dict__)
            with pytest.raises((ValueError, TypeError)):
                getattr(estimator, method)(X_bad, *args)
            assert joblib.hash(estimator.__dict__) == before, (method, kind)


def test_refit_of_outlier_detector_on_bad_data_keeps_the_fitted_detector():
    detector = EnergyOutlierDetector(
        BernoulliRBM(n_components=2, n_iter=2, random_state=0)
    ).fit(X_BIN)
    expected = detector.decision_function(X_BIN)
    with pytest.raises(ValueError, match="greater than 1"):
        detector.fit(X_BIN[:, :4] * 3)
    assert detector.n_features_in_ == 6
    np.testing.assert_array_equal(detector.decision_function(X_BIN), expected)


# ------------------------------------ 4. partial_fit after a size change
def test_rbm_partial_fit_after_n_components_changed_says_so():
    rbm = _fitted_rbm().set_params(n_components=5)
    with pytest.raises(ValueError, match="n_components changed"):
        rbm.partial_fit(X_BIN)
    assert rbm.components_.shape == (3, 6)


# ---------------------------------------- 5. DBNClassifier's [0, 1] domain
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_dbn_classifier_checks_bernoulli_domain_in_every_method():
    clf = DBNClassifier((3,), pretrain_n_iter=1, max_iter=3, random_state=0)
    clf.fit(X_BIN, Y)
    for method in ("predict", "predict_proba", "predict_log_proba"):
        with pytest.raises(ValueError, match="clip=True"):
            getattr(clf, method)(X_BIN * 3)
    with pytest.raises(ValueError, match="greater than 1"):
        clf.score(X_BIN * 3, Y)
    unpretrained = clone(clf).set_params(pretrain=False)
    with pytest.raises(ValueError, match="greater than 1 in data passed to DBN"):
        unpretrained.fit(X_BIN * 3, Y)
    unpretrained.set_params(visible="gaussian").fit(X_BIN * 3, Y)  # no domain


def test_dbn_classifier_overflowing_gaussian_input_is_an_error_not_nan():
    clf = DBNClassifier(
        (3,), visible="gaussian", pretrain_n_iter=1, max_iter=300, random_state=0
    ).fit(X_REAL, Y)
    row = np.full((1, 4), 1.7e308) * np.array([1, -1, 1, -1])
    try:
        proba = clf.predict_proba(row)
    except ValueError as exc:
        assert "too large" in str(exc)
    else:
        assert np.isfinite(proba).all()


# --------------------------------------------------- 6. messages that name
@pytest.mark.parametrize(
    "Estimator, param",
    [
        (BernoulliRBM, "n_components"),
        (BernoulliRBM, "batch_size"),
        (GaussianBernoulliRBM, "n_iter"),
        (BoltzmannMachine, "n_hidden"),
        (skebm.HopfieldNetwork, "max_iter"),
        (ModernHopfieldNetwork, "beta"),
    ],
)
def test_bool_for_a_numeric_parameter_is_named(Estimator, param):
    X = X_REAL if Estimator is ModernHopfieldNetwork else X_BIN
    with pytest.raises(
        ValueError, match=f"'{param}' parameter of {Estimator.__name__}"
    ):
        Estimator(**{param: True}).fit(X)


@pytest.mark.parametrize("bad", [True, np.bool_(True), 0, 2.0, "3"])
def test_sample_counts_must_be_positive_ints(bad):
    rbm = _fitted_rbm()
    bm = BoltzmannMachine(n_iter=1, random_state=0).fit(X_BIN)
    dbn = DeepBeliefNetwork((3, 2), n_iter=1, random_state=0).fit(X_BIN)
    for call, name in [
        (lambda: rbm.sample(bad), "n_samples"),
        (lambda: rbm.sample(2, n_steps=bad), "n_steps"),
        (lambda: bm.sample(bad), "n_samples"),
        (lambda: bm.sample(2, n_steps=bad), "n_steps"),
        (lambda: dbn.sample(bad), "n_samples"),
    ]:
        with pytest.raises(ValueError, match=f"{name} must be a positive integer"):
            call()


def test_dbn_classifier_mixed_label_types_named_as_scikit_learn_does():
    y = np.array([1, "a"] * 30, dtype=object)
    with pytest.raises(ValueError, match="Mix of label input types"):
        DBNClassifier((3,), pretrain_n_iter=1, max_iter=2).fit(X_BIN, y)


# ------------------------------------- 7. round-off at the [0, 1] bounds
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_min_max_scaled_data_within_round_off_of_the_bounds_is_accepted(dtype):
    X = MinMaxScaler().fit_transform(load_breast_cancer().data).astype(dtype)
    X[3, 4], X[5, 6] = 1 + 4 * np.finfo(dtype).eps, -2 * np.finfo(dtype).eps
    original = X.copy()
    params = dict(n_components=3, n_iter=2, random_state=0)
    rbm = BernoulliRBM(**params).fit(X)
    np.testing.assert_array_equal(X, original)  # the caller's array untouched
    clipped = BernoulliRBM(**params).fit(np.clip(X, 0, 1))
    np.testing.assert_array_equal(rbm.components_, clipped.components_)
    np.testing.assert_array_equal(rbm.transform(X), clipped.transform(X))
    Xs = sp.csr_matrix(X)
    np.testing.assert_array_equal(
        rbm.transform(Xs), clipped.transform(sp.csr_matrix(np.clip(X, 0, 1)))
    )
    np.testing.assert_array_equal(Xs.toarray(), original)


def test_out_of_range_message_gives_the_value_in_full_and_where_it_is():
    X = X_BIN.copy()
    X[4, 2] = 1.0000001
    with pytest.raises(ValueError) as fit_error:
        BernoulliRBM(n_iter=1).fit(X)
    message = str(fit_error.value)
    assert "1.0000001 at row 4, column 2" in message and "MinMaxScaler" in message
    with pytest.raises(ValueError) as new_rows_error:
        _fitted_rbm().transform(X)
    assert "MinMaxScaler, use clip=True" in str(new_rows_error.value)
    with pytest.raises(ValueError, match=r"-0.25 at row 1, column 0"):
        BoltzmannMachine(n_iter=1).fit(sp.csr_matrix(np.array([[0, 1.0], [-0.25, 0]])))


# -------------------------------------- also: non-binary data, warnings
@pytest.mark.parametrize("Estimator", [BernoulliRBM, BoltzmannMachine])
def test_scoring_non_binary_data_with_a_bernoulli_model_warns_once(Estimator):
    model = Estimator(n_iter=1, random_state=0).fit(X_BIN)
    grey = X_BIN * 0.75
    for method in (model.score_samples, model.score):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            method(grey)
        assert len(caught) == 1
        assert "non-binary" in str(caught[0].message)
        assert "0.75 at row 0, column" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.score(X_BIN)  # binary: no warning
        model.score(sp.csr_matrix(X_BIN))
        detector = EnergyOutlierDetector(Estimator(n_iter=1, random_state=0))
        detector.fit(grey).predict(grey)  # a ranking: no warning either


def test_dbn_classifier_warns_when_it_stops_at_max_iter():
    clf = DBNClassifier((3,), pretrain_n_iter=1, max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        clf.fit(X_BIN, Y)
    assert clf.n_iter_ == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.set_params(max_iter=50, tol=10.0).fit(X_BIN, Y)  # stops early
    assert clf.n_iter_ < 50


def test_outlier_detector_has_pyod_training_attributes():
    detector = EnergyOutlierDetector(
        BernoulliRBM(n_components=2, n_iter=2, random_state=0), contamination=0.2
    ).fit(X_BIN)
    np.testing.assert_array_equal(
        detector.decision_scores_, -detector.score_samples(X_BIN)
    )
    assert detector.threshold_ == -detector.offset_
    np.testing.assert_array_equal(
        detector.labels_, (detector.predict(X_BIN) == -1).astype(int)
    )
    assert set(np.unique(detector.labels_)) <= {0, 1}
    # about a fraction `contamination` of the training rows are outliers
    assert 0.05 <= detector.labels_.mean() <= 0.2


# ------------------------------- found by the property-based sweep
def test_failed_partial_fit_leaves_the_generator_where_it_was():
    # validation passes, training diverges: the seed drawn from
    # random_state_ before the failure must be given back
    model = GaussianBernoulliRBM(n_components=2, n_iter=1, random_state=0)
    model.fit(X_REAL)
    state = model.random_state_.get_state()
    bad = X_REAL.copy()
    bad[1, 2] = 1e39
    with pytest.raises(ValueError, match="diverged"):  # and FloatingPointError
        model.partial_fit(bad)
    after = model.random_state_.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(state, after))


def test_divergence_is_both_a_floating_point_and_a_value_error():
    with pytest.raises(FloatingPointError) as caught:
        GaussianBernoulliRBM(n_components=2, n_iter=1).fit(X_REAL * 1e10)
    assert isinstance(caught.value, ValueError)


def test_dbn_classifier_score_names_bad_labels():
    clf = DBNClassifier((3,), pretrain_n_iter=1, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_BIN, Y)
    with pytest.raises(ValueError, match="Mix of label input types"):
        clf.score(X_BIN, np.array([1, "a"] * 30, dtype=object))
    with pytest.raises(ValueError, match="must not be None"):
        clf.score(X_BIN, np.array([1, None] * 30, dtype=object))


def test_scoring_any_sparse_format_warns_on_non_binary_data():
    model = BernoulliRBM(n_iter=1, random_state=0).fit(X_BIN)
    with pytest.warns(UserWarning, match="non-binary"):
        model.score_samples(sp.dok_matrix(X_BIN * 0.5))


@pytest.mark.parametrize("dtype, value", [(np.float64, 1e200), (np.float32, 1e39)])
def test_ais_base_model_from_data_beyond_the_model_range_is_refused(dtype, value):
    rbm = GaussianBernoulliRBM(n_components=2, n_iter=1, random_state=0)
    rbm.fit(X_REAL.astype(dtype))
    X = X_REAL.copy()
    X[1, 2] = value
    with pytest.raises(ValueError, match="too large|beyond the range"):
        ais_log_partition(rbm, X, n_chains=4, n_temperatures=10)
