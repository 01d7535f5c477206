"""EnergyImputer (issue 19): filling missing values with an energy model."""

import numpy as np
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from skebm import (
    BernoulliRBM,
    BoltzmannMachine,
    DeepBeliefNetwork,
    EnergyImputer,
    GaussianBernoulliRBM,
)


def twins(seed, n=300):
    """Binary rows whose last 4 columns repeat the first 4: a missing entry
    whose twin is observed is determined by it."""
    rng = np.random.RandomState(seed)
    half = (rng.rand(n, 4) < 0.5).astype(float)
    return np.hstack([half, half])


def with_holes(X, rate, seed):
    mask = np.random.RandomState(seed).rand(*X.shape) < rate
    return np.where(mask, np.nan, X), mask


def small(**params):
    return EnergyImputer(
        BernoulliRBM(n_components=16, learning_rate=0.1, n_iter=10, random_state=0),
        **params,
    )


@parametrize_with_checks([EnergyImputer(random_state=0, max_iter=2)])
def test_scikit_learn_checks_pass_with_the_default_model(estimator, check):
    check(estimator)


def test_observed_entries_pass_through_and_holes_are_filled():
    X = twins(0)
    X_missing, mask = with_holes(X, 0.2, 1)
    before = X_missing.copy()
    imputer = small(random_state=0).fit(X_missing)
    out = imputer.transform(X_missing)
    np.testing.assert_array_equal(X_missing, before, strict=True)  # the caller's
    np.testing.assert_array_equal(out[~mask], X[~mask], strict=True)
    assert not np.isnan(out).any()
    assert np.all((out >= 0) & (out <= 1))
    assert out.dtype == np.float64
    single = imputer.transform(X_missing.astype(np.float32))
    assert single.dtype == np.float32


def test_the_model_recovers_what_the_row_determines():
    """A hole whose twin column is observed: the model's fill is right
    where the feature mean (0.5 for these balanced columns) is a guess."""
    X = twins(1, n=600)
    X_missing, mask = with_holes(X, 0.15, 2)
    twin_seen = mask & ~np.roll(mask, 4, axis=1)
    out = EnergyImputer(random_state=0).fit_transform(X_missing)
    accuracy = ((out > 0.5) == (X > 0.5))[twin_seen].mean()
    assert accuracy > 0.9
    mean_fill = SimpleImputer().fit_transform(X_missing)
    assert ((mean_fill > 0.5) == (X > 0.5))[twin_seen].mean() < 0.7


def test_transform_is_the_clamped_mean_field_fill_of_the_fitted_model():
    X = twins(2)
    X_missing, mask = with_holes(X, 0.2, 3)
    imputer = small(n_steps=4, random_state=0).fit(X_missing)
    start = np.where(mask, imputer.statistics_, X_missing)
    expected = imputer.estimator_.reconstruct(start, n_steps=4, clamp=~mask)
    np.testing.assert_allclose(
        imputer.transform(X_missing), np.where(mask, expected, X)
    )
    np.testing.assert_allclose(imputer.statistics_, np.nanmean(X_missing, axis=0))


def test_same_seed_same_fills_and_other_seeds_differ():
    X_missing, _ = with_holes(twins(3), 0.2, 4)
    a = EnergyImputer(random_state=0, max_iter=5).fit_transform(X_missing)
    b = EnergyImputer(random_state=0, max_iter=5).fit_transform(X_missing)
    c = EnergyImputer(random_state=1, max_iter=5).fit_transform(X_missing)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_default_model_follows_the_data():
    X_missing, _ = with_holes(twins(4), 0.2, 5)
    binary = EnergyImputer(random_state=0, max_iter=1).fit(X_missing)
    assert isinstance(binary.estimator_, BernoulliRBM)
    rng = np.random.RandomState(0)
    latent = rng.normal(size=(400, 1))
    real = 100 + 10 * np.hstack([latent + 0.1 * rng.normal(size=(400, 1))
                                 for _ in range(5)])  # fmt: skip
    real_missing, mask = with_holes(real, 0.2, 6)
    gaussian = EnergyImputer(random_state=0, max_iter=20).fit(real_missing)
    assert isinstance(gaussian.estimator_, GaussianBernoulliRBM)
    out = gaussian.transform(real_missing)
    np.testing.assert_array_equal(out[~mask], real[~mask])
    # fills in data units, and better than the column means on correlated data
    err_model = np.abs(out - real)[mask].mean()
    err_mean = np.abs(SimpleImputer().fit_transform(real_missing) - real)[mask].mean()
    assert err_model < 0.7 * err_mean


def test_other_missing_markers_and_the_indicator():
    X = twins(5)
    X_marked = X.copy()
    mask = np.random.RandomState(0).rand(*X.shape) < 0.2
    mask[:, 3] = False  # a column never missing: no indicator column
    X_marked[mask] = -1
    imputer = small(missing_values=-1, add_indicator=True, random_state=0)
    out = imputer.fit_transform(X_marked)
    assert out.shape == (len(X), 8 + 7)
    np.testing.assert_array_equal(out[:, 8:], np.delete(mask, 3, axis=1))
    np.testing.assert_array_equal(out[:, :8][~mask], X[~mask])
    names = imputer.get_feature_names_out()
    assert list(names[:8]) == [f"x{i}" for i in range(8)]
    assert names[8] == "missingindicator_x0" and "missingindicator_x3" not in names


def test_pandas_output_pipeline_and_grid_search():
    pd = pytest.importorskip("pandas")
    X = twins(6, n=200)
    y = X[:, 0].astype(int)
    X_missing, _ = with_holes(X, 0.2, 7)
    frame = pd.DataFrame(X_missing, columns=[f"f{i}" for i in range(8)])
    imputer = small(add_indicator=True, max_iter=2, random_state=0)
    out = imputer.set_output(transform="pandas").fit_transform(frame)
    assert list(out.columns[:8]) == list(frame.columns)
    assert out.columns[8] == "missingindicator_f0"
    pipe = make_pipeline(small(max_iter=2, random_state=0), LogisticRegression())
    search = GridSearchCV(pipe, {"energyimputer__n_steps": [1, 5]}, cv=3)
    search.fit(X_missing, y)
    assert search.best_score_ > 0.8


@pytest.mark.parametrize(
    "model",
    [
        GaussianBernoulliRBM(n_components=4, n_iter=3, random_state=0),
        BoltzmannMachine(n_hidden=2, n_iter=2, random_state=0),
        DeepBeliefNetwork(hidden_layer_sizes=(6, 4), n_iter=2, random_state=0),
    ],
)
def test_every_energy_model_can_impute(model):
    X_missing, mask = with_holes(twins(7, n=120), 0.2, 8)
    out = EnergyImputer(model, max_iter=2, random_state=0).fit_transform(X_missing)
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out[~mask], X_missing[~mask])


def test_empty_column_is_refused_and_the_failed_fit_leaves_no_state():
    X_missing, _ = with_holes(twins(8), 0.2, 9)
    imputer = small(max_iter=1, random_state=0).fit(X_missing)
    fitted = imputer.estimator_
    bad = X_missing.copy()
    bad[:, [2, 5]] = np.nan
    with pytest.raises(ValueError, match=r"column\(s\) \[2, 5\].*no observed value"):
        imputer.fit(bad)
    assert imputer.estimator_ is fitted
    # a row with nothing observed is filled from the model alone
    rows = X_missing[:3].copy()
    rows[1] = np.nan
    filled = imputer.transform(rows)
    assert np.all(np.isfinite(filled[1]))


def test_bad_input_gets_clear_errors():
    X_missing, _ = with_holes(twins(9), 0.2, 10)
    imputer = small(max_iter=1, random_state=0).fit(X_missing)
    with pytest.raises(ValueError, match="features"):
        imputer.transform(X_missing[:, :5])
    with pytest.raises(ValueError, match="infinity"):
        imputer.transform(np.where(np.isnan(X_missing), np.inf, X_missing))
    with pytest.raises(ValueError, match="NaN"):
        small(missing_values=-1).fit(X_missing)
    with pytest.raises(ValueError, match="estimator"):
        EnergyImputer(SimpleImputer()).fit(X_missing)
    with pytest.raises(ValueError, match="max_iter"):
        EnergyImputer(max_iter=-1).fit(X_missing)


def test_sample_posterior_draws_from_the_exact_conditional():
    """Many rows with the same holes: the mean of the sampled fills is the
    exact conditional probability under the fitted model (enumerated)."""
    import itertools

    from scipy.special import logsumexp

    X = twins(10, n=200)[:, :5]
    X_missing, _ = with_holes(X, 0.2, 11)
    imputer = EnergyImputer(
        BernoulliRBM(n_components=6, learning_rate=0.1, n_iter=100, random_state=0),
        max_iter=20, n_steps=30, sample_posterior=True, random_state=0,
    ).fit(X_missing)  # fmt: skip
    rbm = imputer.estimator_
    row = np.array([1.0, np.nan, 0.0, 1.0, np.nan])  # unit 4 repeats unit 0
    free = np.isnan(row)
    configs = np.array(list(itertools.product([0.0, 1.0], repeat=free.sum())))
    V = np.tile(np.nan_to_num(row), (len(configs), 1))
    V[:, free] = configs
    log_p = V @ rbm.intercept_visible_ + np.logaddexp(
        0, V @ rbm.components_.T + rbm.intercept_hidden_
    ).sum(axis=1)
    p = np.exp(log_p - logsumexp(log_p))
    exact = p @ configs  # P(v_i = 1 | observed) of the two free units
    n = 4000
    fills = imputer.transform(np.tile(row, (n, 1)))[:, free]
    assert set(np.unique(fills)) <= {0.0, 1.0}
    se = np.sqrt(exact * (1 - exact) / n)
    np.testing.assert_array_less(np.abs(fills.mean(axis=0) - exact), 4 * se + 1e-12)
    assert exact[1] > 0.7  # power: the model ties unit 4 to unit 0
    # the mean-field fill is another thing: a deterministic probability
    mean_field = imputer.set_params(sample_posterior=False).transform(row[None])
    assert np.all((mean_field[0, free] > 0) & (mean_field[0, free] < 1))


def test_sample_posterior_gives_new_draws_and_keeps_observed_entries():
    X = twins(11)
    X_missing, mask = with_holes(X, 0.3, 12)
    imputer = small(sample_posterior=True, random_state=0).fit(X_missing)
    a, b = imputer.transform(X_missing), imputer.transform(X_missing)
    assert not np.array_equal(a[mask], b[mask])
    np.testing.assert_array_equal(a[~mask], X[~mask])
    again = small(sample_posterior=True, random_state=0).fit(X_missing)
    np.testing.assert_array_equal(again.transform(X_missing), a)


def test_auto_rounds_spend_about_15000_updates_within_10_to_100_rounds():
    from skebm._impute import auto_rounds

    assert auto_rounds(1257, 10) == 100  # the digits: ceil(15000 / 126) > 100
    assert auto_rounds(10_000, 10) == 15  # 1000 minibatches
    assert auto_rounds(15_000, 10) == 10
    assert auto_rounds(10**6, 10) == 10  # at least 10 rounds
    assert auto_rounds(10_000, 100) == 100  # larger minibatches: more rounds
    X_missing, _ = with_holes(twins(12, n=100), 0.2, 13)
    imputer = small(random_state=0).fit(X_missing)
    assert imputer.n_iter_ == 100
    assert small(max_iter=3, random_state=0).fit(X_missing).n_iter_ == 3
    with pytest.raises(ValueError, match="max_iter"):
        small(max_iter="many").fit(X_missing)
