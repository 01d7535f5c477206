"""skebm.BoltzmannMachine: exact scores, learning a known Ising model,
determinism, pickling, input checks."""

import io
import pickle
from contextlib import redirect_stdout

import exact
import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, logsumexp
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skebm import BoltzmannMachine


def binary_data(rng, n=60, d=5, p=0.4):
    return (rng.rand(n, d) < p).astype(np.float64)


def neg_energy(S, W, b):
    iu = np.triu_indices(W.shape[0], 1)
    return (S[:, iu[0]] * S[:, iu[1]]) @ W[iu] + S @ b


def brute_force_log_prob(V, W, b):
    """log p(v) by summing exp(-U) over every hidden and every joint state."""
    n_visible, n = V.shape[1], len(b)
    H = exact.all_states(n - n_visible)
    log_z = logsumexp(neg_energy(exact.all_states(n), W, b))
    out = []
    for v in V:
        out.append(logsumexp(neg_energy(np.hstack([np.tile(v, (len(H), 1)), H]), W, b)))
    return np.array(out) - log_z


# ------------------------------------------------------- exact scores
@pytest.mark.parametrize("n_hidden", [0, 3])
def test_score_samples_is_the_exact_log_probability(rng, n_hidden):
    X = binary_data(rng)
    bm = BoltzmannMachine(n_hidden=n_hidden, n_iter=5, random_state=0).fit(X)
    assert bm.log_partition_method_ == "exact"
    assert bm.coef_.shape == (5 + n_hidden, 5 + n_hidden)
    np.testing.assert_array_equal(bm.coef_, bm.coef_.T)
    assert np.all(np.diag(bm.coef_) == 0)
    V = exact.all_states(5)
    log_p = bm.score_samples(V)
    np.testing.assert_allclose(
        log_p, brute_force_log_prob(V, bm.coef_, bm.intercept_), rtol=1e-10
    )
    assert np.exp(log_p).sum() == pytest.approx(1.0, rel=1e-10)
    assert bm.score(X) == pytest.approx(np.mean(bm.score_samples(X)))


def test_energy_is_the_energy_without_hidden_units(rng):
    X = binary_data(rng)
    bm = BoltzmannMachine(method="pseudolikelihood", n_iter=3).fit(X)
    np.testing.assert_allclose(
        bm.energy(X), -neg_energy(X, bm.coef_, bm.intercept_), rtol=1e-12
    )


def test_ais_score_close_to_exact_on_the_same_model(rng):
    X = binary_data(rng, n=200, d=14, p=0.3)
    kw = dict(n_hidden=4, n_iter=5, learning_rate=0.1, random_state=0)
    exact_bm = BoltzmannMachine(log_partition="exact", **kw).fit(X)
    ais_bm = BoltzmannMachine(
        log_partition="ais", n_ais_chains=200, n_ais_temperatures=1000, **kw
    ).fit(X)
    np.testing.assert_array_equal(exact_bm.coef_, ais_bm.coef_)
    assert ais_bm.log_partition_method_ == "ais"
    se = ais_bm.log_partition_stderr_
    assert 0 < se < 0.05
    # 4 SE: the reported SE is calibrated (over 20 AIS seeds on one model the
    # errors' sd was 0.0033 vs a mean reported SE of 0.0036, mean error
    # 0.0008), but this fixed AIS seed lands at 3.1-3.3 SE for some data seeds
    assert abs(ais_bm.log_partition_ - exact_bm.log_partition_) < 4 * se


def test_transform_gives_hidden_marginals(rng):
    X = binary_data(rng, d=4)
    bm = BoltzmannMachine(n_hidden=3, n_iter=5, learning_rate=0.2, random_state=0)
    H = bm.fit(X).transform(X)
    assert H.shape == (len(X), 3)
    W, b = bm.coef_, bm.intercept_
    states = exact.all_states(3)
    for v, h in zip(X, H):
        t = neg_energy(np.hstack([np.tile(v, (8, 1)), states]), W, b)
        np.testing.assert_allclose(h, np.exp(t - logsumexp(t)) @ states, rtol=1e-10)
    assert list(bm.get_feature_names_out()) == [
        f"boltzmannmachine{i}" for i in range(3)
    ]


def test_transform_uses_mean_field_beyond_twelve_hidden_units(rng):
    # without hidden-hidden couplings mean field is exact: sigmoid(b + W v)
    X = binary_data(rng, d=4)
    bm = BoltzmannMachine(n_hidden=14, n_iter=0, log_partition=None).fit(X)
    W = rng.normal(0, 1, bm.coef_.shape)
    W = np.triu(W, 1) + np.triu(W, 1).T
    W[4:, 4:] = 0.0
    bm.coef_ = W
    np.testing.assert_allclose(
        bm.transform(X), expit(bm.intercept_[4:] + X @ W[:4, 4:]), rtol=1e-10
    )


# ---------------------------------------------------------- learning
def _ising_sufficient_statistics(S):
    iu = np.triu_indices(S.shape[1], 1)
    return np.hstack([S[:, iu[0]] * S[:, iu[1]], S])


@pytest.fixture(scope="module")
def ising():
    """A known 6-unit Ising model (ring of ±1 couplings plus a chord of 1.5),
    5000 exact samples from it, and asymptotic standard errors."""
    n, n_samples = 6, 5000
    W = np.zeros((n, n))
    for i in range(n):
        W[i, (i + 1) % n] = W[(i + 1) % n, i] = 1.0 if i % 2 == 0 else -1.0
    W[0, 3] = W[3, 0] = 1.5
    b = np.array([-0.5, 0.3, -0.2, 0.0, 0.4, -0.6])
    S = exact.all_states(n)
    t = neg_energy(S, W, b)
    p = np.exp(t - logsumexp(t))
    rng = np.random.RandomState(0)
    X = S[rng.choice(len(S), n_samples, p=p)]
    X_test = S[rng.choice(len(S), n_samples, p=p)]
    iu = np.triu_indices(n, 1)
    theta = np.concatenate([W[iu], b])
    # MLE: covariance = inverse Fisher information / n, and the Fisher
    # information of an exponential family is Cov(sufficient statistics).
    T = _ising_sufficient_statistics(S)
    mean = p @ T
    fisher = (T * p[:, None]).T @ T - np.outer(mean, mean)
    se_ml = np.sqrt(np.diag(np.linalg.inv(fisher)) / n_samples)

    # Pseudo-likelihood: sandwich covariance H⁻¹ J H⁻¹ / n at the truth.
    def pl_scores(theta_):
        W_ = np.zeros((n, n))
        W_[iu] = theta_[: len(iu[0])]
        W_ = W_ + W_.T
        R = S - expit(theta_[len(iu[0]) :] + S @ W_)
        return np.hstack([R[:, iu[0]] * S[:, iu[1]] + R[:, iu[1]] * S[:, iu[0]], R])

    g = pl_scores(theta)
    J = (g * p[:, None]).T @ g
    eps = 1e-6
    Hess = np.array(
        [
            p @ (pl_scores(theta + eps * e) - pl_scores(theta - eps * e)) / (2 * eps)
            for e in np.eye(len(theta))
        ]
    )
    H_inv = np.linalg.inv(Hess)
    se_pl = np.sqrt(np.diag(H_inv @ J @ H_inv.T) / n_samples)
    return dict(X=X, X_test=X_test, theta=theta, se_ml=se_ml, se_pl=se_pl, iu=iu)


def _theta(bm, iu):
    return np.concatenate([bm.coef_[iu], bm.intercept_])


# 4.5 standard errors: over 21 parameters a fluctuation this large has
# probability < 2e-4, while the zero-coupling start is > 14 SE away.
_Z = 4.5


def test_exact_and_pseudolikelihood_fits_recover_the_true_couplings(ising):
    X, theta, iu = ising["X"], ising["theta"], ising["iu"]
    kw = dict(n_iter=30, batch_size=100, learning_rate=0.2, random_state=0)
    ml = BoltzmannMachine(method="exact", **kw).fit(X)
    pl = BoltzmannMachine(method="pseudolikelihood", **kw).fit(X)
    assert np.all(np.abs(_theta(ml, iu) - theta) < _Z * ising["se_ml"])
    assert np.all(np.abs(_theta(pl, iu) - theta) < _Z * ising["se_pl"])
    # power: the untrained model is far outside the band
    start = BoltzmannMachine(method="exact", n_iter=0).fit(X)
    assert np.any(np.abs(_theta(start, iu) - theta) > 3 * _Z * ising["se_ml"])


def test_sml_fit_recovers_the_true_couplings(ising):
    X, theta, iu = ising["X"], ising["theta"], ising["iu"]
    ml = BoltzmannMachine(
        method="exact", n_iter=30, batch_size=100, learning_rate=0.2, random_state=0
    ).fit(X)
    sml = BoltzmannMachine(
        method="sml",
        n_iter=40,
        batch_size=100,
        n_chains=100,
        learning_rate=0.01,
        momentum=0.9,
        random_state=0,
    ).fit(X)
    # Constant-step SGD with 100 persistent chains wanders around the
    # maximum-likelihood fit; measured within 0.12 of it on three data sets.
    optimisation = 0.2
    assert np.all(np.abs(_theta(sml, iu) - _theta(ml, iu)) < optimisation)
    assert np.all(np.abs(_theta(sml, iu) - theta) < _Z * ising["se_ml"] + optimisation)


def test_held_out_log_likelihood_improves_during_training(ising):
    X, X_test = ising["X"], ising["X_test"]
    bm = BoltzmannMachine(
        method="sml", batch_size=100, learning_rate=0.01, momentum=0.9, random_state=0
    )
    scores = [bm.set_params(n_iter=0).fit(X).score(X_test)]
    for _ in range(4):
        for _ in range(5):
            bm.partial_fit(X)
        scores.append(bm.score(X_test))
    assert scores[-1] > scores[0] + 0.1, scores
    assert scores[2] > scores[0] and scores[-1] > scores[1], scores
    # the monitored pseudo-likelihood rose too
    pll = bm.history_["pseudo_log_likelihood"]
    assert pll[-1] > pll[0]
    # close to the held-out likelihood of the true model
    true_bm = BoltzmannMachine(n_iter=0).fit(X)
    W = np.zeros((6, 6))
    W[ising["iu"]] = ising["theta"][:15]
    true_bm.coef_ = W + W.T
    true_bm.intercept_ = ising["theta"][15:]
    log_z = logsumexp(
        neg_energy(exact.all_states(6), true_bm.coef_, true_bm.intercept_)
    )
    assert scores[-1] > np.mean(-true_bm.energy(X_test) - log_z) - 0.02


@pytest.mark.parametrize("positive_phase", ["mean_field", "gibbs"])
def test_hidden_units_learn_a_two_cluster_distribution(rng, positive_phase):
    protos = np.array([[1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]], float)
    X = protos[rng.randint(0, 2, 600)]
    X = np.abs(X - (rng.rand(*X.shape) < 0.05))
    train, test = X[:400], X[400:]
    bm = BoltzmannMachine(
        n_hidden=2,
        positive_phase=positive_phase,
        learning_rate=0.05,
        momentum=0.5,
        random_state=0,
    )
    before = bm.set_params(n_iter=0).fit(train).score(test)
    after = bm.set_params(n_iter=30).fit(train).score(test)
    assert after > before + 1.0, (before, after)


# ------------------------------------------------------- determinism
def _fitted(bm):
    return [bm.coef_, bm.intercept_, bm.chains_, np.array(bm.log_partition_)]


@pytest.mark.parametrize(
    "kw",
    [
        dict(method="sml", n_hidden=2, positive_phase="gibbs"),
        dict(method="sml", n_hidden=2, log_partition="ais", n_ais_temperatures=50),
        dict(method="pseudolikelihood"),
    ],
)
def test_same_seed_same_result_different_seed_different(rng, kw):
    X = binary_data(rng)
    a = _fitted(BoltzmannMachine(n_iter=3, random_state=1, **kw).fit(X))
    b = _fitted(BoltzmannMachine(n_iter=3, random_state=1, **kw).fit(X))
    c = _fitted(BoltzmannMachine(n_iter=3, random_state=2, **kw).fit(X))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_sample_is_reproducible_and_binary(rng):
    X = binary_data(rng)
    bm = BoltzmannMachine(n_hidden=2, n_iter=3, random_state=0).fit(X)
    s = bm.sample(7, n_steps=20)
    assert s.shape == (7, 5)
    assert set(np.unique(s)) <= {0.0, 1.0}
    np.testing.assert_array_equal(s, bm.sample(7, n_steps=20))
    assert not np.array_equal(
        bm.sample(50, n_steps=20), bm.sample(50, n_steps=20, random_state=1)
    )
    with pytest.raises(ValueError, match="n_samples"):
        bm.sample(0)
    with pytest.raises(ValueError, match="n_steps"):
        bm.sample(3, n_steps=0)


def test_sample_n_sweeps_is_a_deprecated_alias_of_n_steps(rng):
    X = binary_data(rng)
    bm = BoltzmannMachine(n_hidden=2, n_iter=2, random_state=0).fit(X)
    with pytest.warns(FutureWarning, match="renamed n_steps"):
        old = bm.sample(6, n_sweeps=3, random_state=4)
    np.testing.assert_array_equal(old, bm.sample(6, n_steps=3, random_state=4))
    assert not np.array_equal(old, bm.sample(6, n_steps=200, random_state=4))


def test_sample_follows_the_model(rng, seed):
    X = binary_data(rng, d=4)
    bm = BoltzmannMachine(n_hidden=2, n_iter=5, learning_rate=0.3, random_state=0)
    bm.fit(X)
    n = 20_000
    counts = np.bincount(
        exact.state_index(bm.sample(n, n_steps=30, random_state=seed)), minlength=16
    )
    p = np.exp(bm.score_samples(exact.all_states(4)))
    bound = 0.5 * np.sqrt(p * (1 - p) / n).sum()
    assert 0.5 * np.abs(counts / n - p).sum() < 1.5 * bound


def test_pickle_and_joblib_round_trip(tmp_path, rng):
    X = binary_data(rng)
    bm = BoltzmannMachine(n_hidden=2, n_iter=2, random_state=0).fit(X)
    for loaded in (
        pickle.loads(pickle.dumps(bm)),
        joblib.load(joblib.dump(bm, tmp_path / "bm.joblib")[0]),
    ):
        np.testing.assert_array_equal(loaded.score_samples(X), bm.score_samples(X))
        np.testing.assert_array_equal(loaded.transform(X), bm.transform(X))
        np.testing.assert_array_equal(loaded.chains_, bm.chains_)


def test_input_arrays_not_modified(rng):
    X = binary_data(rng)
    S = sp.csr_matrix(X)
    X0, S0 = X.copy(), S.copy()
    bm = BoltzmannMachine(n_hidden=2, n_iter=2, random_state=0).fit(X)
    bm.partial_fit(X)
    bm.transform(X), bm.score_samples(X), bm.energy(X)
    bm.fit(S).transform(S)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(S.toarray(), S0.toarray())


def test_sparse_and_int_input_equal_dense(rng):
    X = binary_data(rng)
    dense = BoltzmannMachine(n_hidden=2, n_iter=2, random_state=0).fit(X)
    for other in (sp.csr_matrix(X), sp.csc_matrix(X), X.astype(np.int64)):
        fitted = BoltzmannMachine(n_hidden=2, n_iter=2, random_state=0).fit(other)
        np.testing.assert_array_equal(fitted.coef_, dense.coef_)
        assert fitted.coef_.dtype == np.float64


# -------------------------------------------------------- partial_fit
def test_first_partial_fit_equals_one_epoch_of_fit(rng):
    X = binary_data(rng)
    one = BoltzmannMachine(n_hidden=2, n_iter=1, random_state=5).fit(X)
    partial = BoltzmannMachine(n_hidden=2, random_state=5).partial_fit(X)
    np.testing.assert_array_equal(one.coef_, partial.coef_)
    np.testing.assert_array_equal(one.chains_, partial.chains_)


def test_partial_fit_continues_the_chains(rng):
    X = binary_data(rng)
    bm = BoltzmannMachine(n_hidden=2, batch_size=20, random_state=0).partial_fit(X)
    chains, W = bm.chains_.copy(), bm.coef_.copy()
    bm.partial_fit(X)
    assert bm.chains_.shape == (20, 7)
    assert not np.array_equal(chains, bm.chains_)
    assert not np.array_equal(W, bm.coef_)
    assert list(bm.history_["epoch"]) == [1, 2]
    bm.set_params(n_chains=30).partial_fit(X)
    assert bm.chains_.shape == (30, 7)


# ---------------------------------------------------------- verbose
def test_verbose_prints_one_line_per_epoch_and_history(rng):
    X = binary_data(rng)
    buf = io.StringIO()
    with redirect_stdout(buf):
        bm = BoltzmannMachine(n_hidden=1, n_iter=4, verbose=1, random_state=0).fit(X)
    lines = buf.getvalue().strip().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("[BoltzmannMachine] Iteration 1,")
    assert "pseudo log likelihood" in lines[0]
    for key in ("epoch", "pseudo_log_likelihood", "time"):
        assert bm.history_[key].shape == (4,)


# -------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([[0.0, np.nan], [1.0, 0.0]]), "NaN"),
        (np.array([[0.0, np.inf], [1.0, 0.0]]), "infinity"),
        (np.array([[0.0, 2.0], [1.0, 0.0]]), "greater than 1"),
        (np.array([[0.0, -0.5], [1.0, 0.0]]), "Negative values"),
        (np.empty((0, 2)), "0 sample"),
        (np.array([["a", "b"], ["c", "d"]]), "convert|numeric|dtype"),
        (sp.csr_matrix(np.array([[0.0, 3.0], [1.0, 0.0]])), "greater than 1"),
    ],
)
def test_bad_input_raises_clear_error(bad, match):
    with pytest.raises(ValueError, match=match):
        BoltzmannMachine(n_iter=1).fit(bad)


@pytest.mark.parametrize(
    "params, n_features, match",
    [
        (dict(method="exact", n_hidden=1), 3, "n_hidden=0"),
        (dict(method="pseudolikelihood", n_hidden=2), 3, "n_hidden=0"),
        (dict(method="exact"), 17, "at most 16 features"),
        (dict(log_partition="exact", n_hidden=20), 5, "at most 24 units"),
        (dict(positive_phase="exact"), 3, "positive_phase"),
        (dict(n_hidden=-1), 3, "n_hidden"),
    ],
)
def test_bad_parameters_raise_clear_errors(rng, params, n_features, match):
    X = binary_data(rng, d=n_features)
    bm = BoltzmannMachine(n_iter=1, **params)
    with pytest.raises(ValueError, match=match):
        bm.fit(X)
    assert not hasattr(bm, "coef_")


def test_methods_that_need_what_the_model_lacks(rng):
    X = binary_data(rng)
    visible_only = BoltzmannMachine(n_iter=1).fit(X)
    # no hidden units, no hidden features: an empty transform, no names
    assert visible_only.transform(X).shape == (len(X), 0)
    assert visible_only.get_feature_names_out().shape == (0,)
    no_z = BoltzmannMachine(n_iter=1, log_partition=None).fit(X)
    with pytest.raises(ValueError, match="log_partition=None"):
        no_z.score_samples(X)
    many_hidden = BoltzmannMachine(n_hidden=17, n_iter=0, log_partition=None).fit(X)
    with pytest.raises(ValueError, match="at most 16 hidden"):
        many_hidden.energy(X)
    # "auto" spends no AIS run on a log Z that score_samples could not use,
    # and score_samples names the real limit rather than log_partition
    auto = BoltzmannMachine(n_hidden=17, n_iter=0, n_ais_temperatures=10).fit(X)
    assert auto.log_partition_ is None and auto.log_partition_method_ is None
    with pytest.raises(ValueError, match="at most 16 hidden"):
        auto.score_samples(X)
    forced = BoltzmannMachine(
        n_hidden=17, n_iter=0, log_partition="ais", n_ais_temperatures=10
    ).fit(X)
    assert forced.log_partition_method_ == "ais"
    for method in (visible_only.score_samples, visible_only.energy):
        with pytest.raises(ValueError, match="features"):
            method(binary_data(rng, d=4))


def test_divergence_is_reported_and_leaves_no_fitted_state(rng):
    X = binary_data(rng)
    bm = BoltzmannMachine(method="pseudolikelihood", n_iter=5, learning_rate=1e8)
    with pytest.raises(FloatingPointError, match="diverged"):
        bm.fit(X)
    assert not any(k.endswith("_") and not k.startswith("__") for k in vars(bm))


def test_grid_search_without_scorer_uses_held_out_likelihood(rng):
    # Data from a ring of 5 units with couplings 3 and biases -3 (mostly
    # all-off or all-on): a nearly untrained candidate (tiny learning rate,
    # independent units) is clearly worse on held-out rows than trained ones.
    n = 5
    W = np.zeros((n, n))
    for i in range(n):
        W[i, (i + 1) % n] = W[(i + 1) % n, i] = 3.0
    S = exact.all_states(n)
    t = neg_energy(S, W, np.full(n, -3.0))
    X = S[rng.choice(len(S), 120, p=np.exp(t - logsumexp(t)))]
    base = BoltzmannMachine(n_iter=20, random_state=0)
    grid_params = {"n_hidden": [0, 2], "learning_rate": [1e-4, 0.1]}
    grid = GridSearchCV(base, grid_params, cv=2).fit(X)
    # the score of each candidate is its mean exact log-likelihood on the
    # held-out folds (cv=2 without labels: two unshuffled halves), computed
    # here by brute force
    folds = [(np.arange(60, 120), np.arange(60)), (np.arange(60), np.arange(60, 120))]
    expected = []
    for params in grid.cv_results_["params"]:
        per_fold = []
        for train, test in folds:
            bm = clone(base).set_params(**params).fit(X[train])
            per_fold.append(brute_force_log_prob(X[test], bm.coef_, bm.intercept_))
        expected.append(np.mean([f.mean() for f in per_fold]))
    scores = grid.cv_results_["mean_test_score"]
    np.testing.assert_allclose(scores, expected, rtol=1e-10)
    assert grid.best_params_ == grid.cv_results_["params"][int(np.argmax(expected))]
    # and the choice matters: the untrained candidates are > 0.5 nat worse
    assert grid.best_params_["learning_rate"] == 0.1
    untrained = [
        sc for sc, p in zip(scores, grid.cv_results_["params"])
        if p["learning_rate"] == 1e-4
    ]  # fmt: skip
    assert max(untrained) < grid.best_score_ - 0.5, (untrained, grid.best_score_)
