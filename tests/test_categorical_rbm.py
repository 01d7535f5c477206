"""CategoricalRBM and softmax visible groups (issue 23): the kernels against
exact enumeration over every row of a tiny model, and the estimator's
contract."""

import itertools
import pickle

import exact
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logsumexp, softmax
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import KBinsDiscretizer

from skebm import CategoricalRBM, EnergyOutlierDetector
from skebm._kernels._cd import rbm_epoch
from skebm._kernels._layers import softmax_sample_
from skebm._kernels._rbm_inference import rbm_gibbs
from skebm._kernels._rng import seed_state
from skebm.partition import (
    _base_category_bias,
    _rbm_ais_log_partition,
    _rbm_exact_log_partition,
    ais_log_partition,
    exact_log_partition,
)

SIZES = (3, 2, 4)  # categories of each feature: 24 possible rows
GROUPS = np.array([0, 3, 5, 9], dtype=np.int64)


def all_rows(sizes=SIZES):
    return np.array(list(itertools.product(*map(range, sizes))), dtype=float)


def one_hot(codes, groups=GROUPS):
    V = np.zeros((len(codes), groups[-1]))
    for f in range(len(groups) - 1):
        V[np.arange(len(codes)), groups[f] + codes[:, f].astype(int)] = 1.0
    return V


def random_model(n_hidden=3, seed=0, scale=1.0):
    rng = np.random.RandomState(seed)
    W = rng.normal(scale=scale, size=(n_hidden, GROUPS[-1]))
    return W, rng.normal(size=GROUPS[-1]), rng.normal(size=n_hidden)


def exact_log_p(W, b, c, codes):
    """log p(row) by brute force over every (row, hidden state)."""
    V, H = one_hot(all_rows()), exact.all_states(W.shape[0])
    table = (V @ b)[:, None] + (H @ c)[None, :] + V @ W.T @ H.T
    log_z = logsumexp(table)
    Vq = one_hot(codes)
    tq = (Vq @ b)[:, None] + (H @ c)[None, :] + Vq @ W.T @ H.T
    return logsumexp(tq, axis=1) - log_z, log_z


def row_index(codes, sizes=SIZES):
    return np.ravel_multi_index(codes.astype(int).T, sizes)


def tv_bound(p, n):
    """4 times the expected total-variation distance from sampling alone
    (its upper bound 0.5 sum sqrt(p (1 - p) / n))."""
    return 4 * 0.5 * np.sqrt(p * (1 - p) / n).sum()


# ----------------------------------------------------------------- kernels
def test_softmax_draws_follow_the_softmax_of_each_group():
    rng = np.random.RandomState(0)
    logits = rng.normal(scale=2.0, size=GROUPS[-1])
    n = 20000
    V = np.tile(logits, (n, 1))
    softmax_sample_(V, GROUPS, seed_state(1, n))
    for g in range(3):
        block = V[:, GROUPS[g] : GROUPS[g + 1]]
        assert np.all(block.sum(axis=1) == 1.0)  # exactly one unit on
        p = softmax(logits[GROUPS[g] : GROUPS[g + 1]])
        freq = block.mean(axis=0)
        np.testing.assert_array_less(np.abs(freq - p), 4 * np.sqrt(p * (1 - p) / n))


def test_exact_log_partition_and_log_probabilities_match_enumeration():
    W, b, c = random_model()
    codes = all_rows()
    log_p, log_z = exact_log_p(W, b, c, codes)
    assert _rbm_exact_log_partition(W, b, c, None, GROUPS) == pytest.approx(
        log_z, abs=1e-10
    )
    # independent binary units would give another value: the groups matter
    assert abs(_rbm_exact_log_partition(W, b, c) - log_z) > 1.0


def test_gibbs_sampler_has_the_exact_stationary_law():
    W, b, c = random_model(seed=1)
    log_p, _ = exact_log_p(W, b, c, all_rows())
    p = np.exp(log_p)
    n = 20000
    start = one_hot(np.zeros((n, 3)))
    out = rbm_gibbs(start, W, b, c, seed_state(2, n), 30, False, groups=GROUPS)
    assert np.all(np.add.reduceat(out, GROUPS[:-1], axis=1) == 1.0)
    codes = np.stack(
        [np.argmax(out[:, GROUPS[f] : GROUPS[f + 1]], axis=1) for f in range(3)], 1
    )
    freq = np.bincount(row_index(codes), minlength=p.size) / n
    assert 0.5 * np.abs(freq - p).sum() < tv_bound(p, n)
    start_law = np.bincount(row_index(np.zeros((1, 3))), minlength=p.size)
    assert 0.5 * np.abs(start_law - p).sum() > tv_bound(p, n)  # power


def test_ais_log_partition_is_within_its_error_of_the_exact_value():
    W, b, c = random_model(seed=3, scale=1.5)
    _, log_z = exact_log_p(W, b, c, all_rows())
    data = one_hot(np.random.RandomState(4).randint(0, 2, size=(50, 3)))
    eta = _base_category_bias(data, GROUPS)
    est, se = _rbm_ais_log_partition(
        W, b, c, eta, np.ones_like(eta), 200, 300, 5, None, GROUPS
    )
    assert abs(est - log_z) < 4 * se + 1e-3
    assert se < 0.1


def test_one_cd_step_from_zero_weights_moves_each_group_by_data_minus_softmax():
    # W = 0, c = 0: the negative visible rows are exact softmax(b) draws, so
    # the visible-bias step is lr (data mean - softmax(b)) within sampling
    # error, and sums to exactly 0 over each group (both phases one-hot);
    # independent binary draws would not sum to 0.
    rng = np.random.RandomState(0)
    n, lr = 20000, 0.5
    codes = np.c_[rng.randint(0, 3, n), rng.randint(0, 2, n), rng.randint(0, 4, n)]
    X = one_hot(codes)
    W, b, c = np.zeros((2, GROUPS[-1])), rng.normal(size=GROUPS[-1]), np.zeros(2)
    b0 = b.copy()
    rbm_epoch(
        X, np.array([0, n]), (W, b, c), (np.zeros((n, 2)), seed_state(6, n)),
        learning_rate=lr, persistent=False, groups=GROUPS,
    )  # fmt: skip
    step = (b - b0) / lr
    np.testing.assert_allclose(np.add.reduceat(step, GROUPS[:-1]), 0.0, atol=1e-12)
    for g in range(3):
        p = softmax(b0[GROUPS[g] : GROUPS[g + 1]])
        expected = X[:, GROUPS[g] : GROUPS[g + 1]].mean(axis=0) - p
        got = step[GROUPS[g] : GROUPS[g + 1]]
        np.testing.assert_array_less(np.abs(got - expected), 4 * np.sqrt(p / n))


def test_softmax_groups_refuse_tempering_and_gaussian_units():
    from skebm._kernels._cd import GaussianVisible

    W, b, c = random_model()
    X = one_hot(all_rows())
    with pytest.raises(ValueError, match="softmax groups"):
        rbm_epoch(
            X, np.array([0, 4]), (W, b, c), (np.zeros((4, 3)), seed_state(0, 4)),
            learning_rate=0.1, groups=GROUPS,
            gaussian=GaussianVisible(np.zeros(GROUPS[-1])),
        )  # fmt: skip


# --------------------------------------------------------------- estimator
def dependent_codes(n=600, seed=0):
    """Feature 1 is a function of feature 0; feature 2 is independent."""
    rng = np.random.RandomState(seed)
    x0 = rng.randint(0, 3, n)
    return np.c_[x0, (x0 == 2).astype(int), rng.randint(0, 4, n)].astype(float)


FAST = dict(n_components=3, n_iter=30, learning_rate=0.1, random_state=0)


def test_score_samples_is_the_exact_normalised_log_probability():
    model = CategoricalRBM(**FAST).fit(dependent_codes())
    assert model.log_partition_method_ == "exact"
    rows = all_rows()
    expected, _ = exact_log_p(
        model.components_, model.intercept_visible_, model.intercept_hidden_, rows
    )
    np.testing.assert_allclose(model.score_samples(rows), expected, atol=1e-10)
    assert np.exp(model.score_samples(rows)).sum() == pytest.approx(1.0)
    assert exact_log_partition(model) == pytest.approx(model.log_partition_)
    est, se = ais_log_partition(model, dependent_codes(), n_chains=100, random_state=0)
    assert abs(est - model.log_partition_) < 4 * se + 1e-3


def test_training_learns_the_dependency_between_features():
    X = dependent_codes()
    model = CategoricalRBM(**FAST).fit(X)
    # p(x1 | x0) from the exact log-probabilities of the completed rows
    for x0, x1 in ((0, 0), (1, 0), (2, 1)):
        rows = np.array([[x0, 0, 0], [x0, 1, 0]], float)
        p = softmax(model.score_samples(rows))
        assert p[x1] > 0.9
    start = CategoricalRBM(**{**FAST, "n_iter": 0}).fit(X)  # independent features
    assert model.score(X) > start.score(X) + 0.3
    assert start.intercept_visible_[:3] == pytest.approx(
        np.log((np.bincount(X[:, 0].astype(int), minlength=3) + 1) / (len(X) + 3))
    )


def test_sample_and_conditional_sample_follow_the_model():
    model = CategoricalRBM(**FAST).fit(dependent_codes())
    p = np.exp(model.score_samples(all_rows()))
    n = 4000
    draws = model.sample(n, n_steps=50, random_state=1)
    assert set(np.unique(draws[:, 2])) <= {0.0, 1.0, 2.0, 3.0}
    freq = np.bincount(row_index(draws), minlength=p.size) / n
    assert 0.5 * np.abs(freq - p).sum() < tv_bound(p, n)
    # feature 2 given features 0 and 1 = (2, 1): the exact conditional
    X = np.tile([2.0, 1.0, 0.0], (n, 1))
    clamp = np.tile([True, True, False], (n, 1))
    out = model.sample_conditional(X, clamp, n_steps=20, random_state=2)
    assert np.all(out[:, :2] == X[:, :2])
    rows = np.array([[2, 1, k] for k in range(4)], float)
    cond = softmax(model.score_samples(rows))
    freq = np.bincount(out[:, 2].astype(int), minlength=4) / n
    assert 0.5 * np.abs(freq - cond).sum() < tv_bound(cond, n)
    # reconstruct fills the missing feature 1 with its most probable value
    filled = model.reconstruct(
        [[2.0, 0.0, 1.0]], clamp=[[True, False, True]], n_steps=5
    )
    np.testing.assert_array_equal(filled, [[2.0, 1.0, 1.0]])


def test_bad_input_gets_clear_errors():
    X = dependent_codes(100)
    model = CategoricalRBM(**FAST).fit(X)
    for bad, match in (([[0.5, 0, 1]], "Non-integer values .* category codes"),
                       ([[-1.0, 0, 1]], "Negative values .* category codes"),
                       ([[np.nan, 0, 1]], "NaN"),
                       ([[3.0, 0, 1]], "Category 3 of feature 0")):  # fmt: skip
        with pytest.raises(ValueError, match=match):
            model.score_samples(bad)
    with pytest.raises(TypeError, match="sparse"):
        model.transform(sp.csr_matrix(X))
    with pytest.raises(ValueError, match="noise"):
        model.reconstruct(X, noise=0.1)
    with pytest.raises(ValueError, match="min_categories"):
        CategoricalRBM(min_categories=[1, 0, 1]).fit(X)
    wide = CategoricalRBM(**{**FAST, "min_categories": 5}).fit(X)
    assert list(wide.n_categories_) == [5, 5, 5]
    assert np.isfinite(wide.score_samples([[4.0, 4.0, 4.0]])).all()


def test_pickle_partial_fit_and_outlier_detection_on_a_binned_table():
    X = dependent_codes(300)
    model = CategoricalRBM(**FAST).fit(X)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.score_samples(X), model.score_samples(X))
    W = model.components_.copy()
    model.partial_fit(X)
    assert model.n_iter_ == FAST["n_iter"] + 1 and not np.array_equal(
        W, model.components_
    )
    # a mixed numeric table: binned into codes, scored as a whole row
    rng = np.random.RandomState(0)
    a = rng.normal(size=400)
    table = np.c_[a, a + 0.1 * rng.normal(size=400)]  # two tied features
    detector = make_pipeline(
        KBinsDiscretizer(5, encode="ordinal", strategy="uniform"),
        EnergyOutlierDetector(
            CategoricalRBM(n_components=8, n_iter=50, random_state=0)
        ),
    ).fit(table)
    odd = np.array([[1.5, -1.5], [-1.5, 1.5]])  # each value common, the pair not
    assert np.all(
        detector.score_samples(odd) < np.median(detector.score_samples(table))
    )


def test_two_threads_give_the_bits_of_one(monkeypatch):
    import skebm._kernels._sync as sync

    X = np.random.RandomState(0).randint(0, 5, size=(300, 20)).astype(float)
    out = {}
    for n in (1, 2):
        monkeypatch.setattr(sync, "available_threads", lambda n=n: n)
        # (100 rows + 100 chains) x 100 units x 128 hidden: two kernel blocks
        model = CategoricalRBM(
            n_components=128, batch_size=100, n_iter=2, log_partition="ais",
            n_ais_chains=20, n_ais_temperatures=20, random_state=0,
        ).fit(X)  # fmt: skip
        out[n] = (model.components_, model.sample(300, n_steps=3),
                  model.log_partition_)  # fmt: skip
    for one, two in zip(out[1], out[2]):
        np.testing.assert_array_equal(one, two)


def test_monitor_pseudo_likelihood_is_the_conditional_of_one_feature():
    from skebm._monitor import RBMMonitor, monitor_rows

    X = dependent_codes()
    model = CategoricalRBM(**FAST).fit(X)
    V = model._validate_X(X, reset=False)
    monitor = RBMMonitor(V, 7, np.float64, False, model._groups())
    W, b, c = model.components_, model.intercept_visible_, model.intercept_hidden_
    params = dict(W=W, b=b, c=c, log_sigma=np.zeros(V.shape[1]))
    got = monitor(params)["pseudo_log_likelihood"]
    expected = []
    for x, lo in zip(X[monitor_rows(len(X))], monitor.lo):
        f = int(np.searchsorted(GROUPS, lo, side="right") - 1)
        rows = np.repeat(x[None], SIZES[f], axis=0)
        rows[:, f] = np.arange(SIZES[f])
        log_p = model.score_samples(rows)
        expected.append(log_p[int(x[f])] - logsumexp(log_p))
    assert got == pytest.approx(3 * np.mean(expected), abs=1e-10)


def test_huge_codes_and_min_categories_are_refused_before_allocating():
    X = np.zeros((3, 4))
    for model, data in ((CategoricalRBM(min_categories=2**62), X),
                        (CategoricalRBM(), X + [[1e300, 0, 0, 0]]),
                        (CategoricalRBM(), X + [[2**21, 0, 0, 0]])):  # fmt: skip
        with pytest.raises(ValueError, match="at most 1048576"):
            model.fit(data)
        assert not hasattr(model, "n_categories_")


def test_energy_imputer_fills_a_missing_category_from_the_others():
    from skebm import EnergyImputer

    X = dependent_codes(600)
    rng = np.random.RandomState(1)
    holes = rng.rand(len(X)) < 0.3
    X_missing = X.copy()
    X_missing[holes, 1] = np.nan  # feature 1 = (feature 0 == 2)
    imputer = EnergyImputer(CategoricalRBM(**FAST), max_iter=5, random_state=0)
    filled = imputer.fit_transform(X_missing)
    # started at the most frequent code (0), not at the mean (0.33 ...)
    assert imputer.statistics_[1] == 0.0
    assert set(np.unique(filled)) <= {0.0, 1.0, 2.0, 3.0}
    accuracy = np.mean(filled[holes, 1] == X[holes, 1])
    assert accuracy > 0.95  # the most frequent code alone: about 2/3
    np.testing.assert_array_equal(filled[~holes], X[~holes])
