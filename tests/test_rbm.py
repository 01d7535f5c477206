"""skebm.BernoulliRBM: drop-in behaviour, exact scores, determinism, input checks."""

import inspect
import io
import pickle
from contextlib import redirect_stdout

import exact
import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM
from sklearn.pipeline import Pipeline

from skebm import BernoulliRBM


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def binary_data(rng, n=60, d=6, p=0.4):
    return (rng.rand(n, d) < p).astype(np.float64)


# ------------------------------------------------------------- drop-in
def test_same_constructor_defaults_as_scikit_learn():
    ours = inspect.signature(BernoulliRBM).parameters
    theirs = inspect.signature(SkBernoulliRBM).parameters
    for name, param in theirs.items():
        assert name in ours
        assert ours[name].default == param.default, name
        assert ours[name].kind == param.kind, name


def test_same_initial_weights_and_attributes_as_scikit_learn(digits):
    X, _ = digits
    ours = BernoulliRBM(n_components=16, n_iter=0, random_state=3).fit(X)
    theirs = SkBernoulliRBM(n_components=16, n_iter=0, random_state=3).fit(X)
    np.testing.assert_array_equal(ours.components_, theirs.components_)
    for attr in ("intercept_hidden_", "intercept_visible_", "h_samples_"):
        assert getattr(ours, attr).shape == getattr(theirs, attr).shape
    assert ours.n_features_in_ == theirs.n_features_in_
    np.testing.assert_array_equal(
        ours.get_feature_names_out(), theirs.get_feature_names_out()
    )
    assert ours.get_feature_names_out()[0] == "bernoullirbm0"


def _held_out_log_likelihood(model, X):
    """Mean exact log p(v) of the binary rows X under a fitted RBM (skebm's
    or scikit-learn's), by enumerating the hidden states in NumPy."""
    W, b, c = model.components_, model.intercept_visible_, model.intercept_hidden_
    H = exact.all_states(W.shape[0])
    log_z = logsumexp(H @ c + np.logaddexp(0.0, H @ W + b).sum(axis=1))
    free_energy = -(X @ b) - np.logaddexp(0.0, X @ W.T + c).sum(axis=1)
    return -free_energy.mean() - log_z


def test_training_learns_like_scikit_learn(digits):
    # Same algorithm (PCD-1, same minibatches and initial weights), different
    # random numbers: over seeds, the exact held-out log-likelihood of the
    # trained models has the same mean. Binarised digits, so that it is a
    # log-probability; 1200 training rows = 120 full minibatches (on a
    # partial last minibatch scikit-learn divides the negative phase by the
    # smaller batch size, skebm by the number of chains).
    X = (digits[0][:1790] >= 0.5).astype(np.float64)
    train, test = X[:1200], X[1200:]
    kw = dict(n_components=12, n_iter=10, learning_rate=0.05)

    def held_out(make, seeds=range(6), **extra):
        return np.array(
            [
                _held_out_log_likelihood(
                    make(random_state=s, **{**kw, **extra}).fit(train), test
                )
                for s in seeds
            ]
        )

    def ours(**params):
        return BernoulliRBM(log_partition=None, **params)

    a, b = held_out(ours), held_out(SkBernoulliRBM)
    # Welch's t: the difference of the means over its standard error, against
    # the t quantile at 1e-3 two-sided (Welch-Satterthwaite degrees of
    # freedom). Seed-to-seed sd is ~0.15-0.2 nats, so the tolerance on the
    # difference is ~0.45 nats.
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    tol = stats.t.isf(0.5e-3, df) * np.sqrt(va + vb)
    assert abs(a.mean() - b.mean()) < tol, (a.mean(), b.mean(), tol)
    # power: half the training (5 epochs) is ~2.6 nats away, and the
    # untrained model ~20
    half = held_out(ours, n_iter=5)
    assert abs(half.mean() - b.mean()) > 3 * tol, (half.mean(), b.mean(), tol)
    init = held_out(ours, seeds=[0], n_iter=0)
    assert b.mean() > init.mean() + 10


def test_feature_names_and_set_output(digits):
    pd = pytest.importorskip("pandas")
    X, _ = digits
    df = pd.DataFrame(X[:50], columns=[f"px{i}" for i in range(64)])
    rbm = BernoulliRBM(n_components=4, n_iter=1, random_state=0).set_output(
        transform="pandas"
    )
    out = rbm.fit(df).transform(df)
    assert list(out.columns) == [f"bernoullirbm{i}" for i in range(4)]
    np.testing.assert_array_equal(rbm.feature_names_in_, df.columns)


# ------------------------------------------------------- exact scores
@pytest.mark.parametrize("n_components", [4, 9])
def test_score_samples_is_exact_log_probability(rng, n_components):
    X = binary_data(rng)
    rbm = BernoulliRBM(
        n_components=n_components, n_iter=20, learning_rate=0.1, random_state=0
    ).fit(X)
    assert rbm.log_partition_method_ == "exact"
    W, b, c = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_
    V = exact.all_states(6)
    log_p = rbm.score_samples(V)
    ref = -exact.free_energy(V, W, b, c) - exact.log_partition(W, b, c)
    np.testing.assert_allclose(log_p, ref, rtol=1e-10)
    # a distribution: the probabilities of all states sum to one
    assert np.exp(log_p).sum() == pytest.approx(1.0, rel=1e-10)
    assert rbm.score(X) == pytest.approx(np.mean(rbm.score_samples(X)))


def test_ais_score_close_to_exact_on_the_same_model(rng):
    X = (rng.rand(200, 16) < 0.3).astype(float)
    exact_rbm = BernoulliRBM(
        n_components=12, n_iter=10, random_state=0, log_partition="exact"
    ).fit(X)
    ais_rbm = BernoulliRBM(
        n_components=12,
        n_iter=10,
        random_state=0,
        log_partition="ais",
        n_ais_chains=200,
        n_ais_temperatures=2000,
    ).fit(X)
    np.testing.assert_array_equal(exact_rbm.components_, ais_rbm.components_)
    se = ais_rbm.log_partition_stderr_
    assert abs(ais_rbm.log_partition_ - exact_rbm.log_partition_) < 3 * se + 1e-3


def test_training_increases_exact_likelihood(rng):
    # data from a "true" model: two prototypes with noise
    protos = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], float)
    X = protos[rng.randint(0, 2, 300)]
    X = np.abs(X - (rng.rand(*X.shape) < 0.05))
    for persistent in (True, False):
        rbm = BernoulliRBM(
            n_components=4, n_iter=0, random_state=0, persistent=persistent
        ).fit(X)
        before = rbm.score(X)
        rbm.set_params(n_iter=20, learning_rate=0.05).fit(X)
        assert rbm.score(X) > before + 1.0, persistent


@pytest.mark.parametrize("persistent", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_one_training_step_moves_uphill(seed, persistent):
    # One minibatch (the whole data set): the parameter change must point
    # up the exact log-likelihood gradient, and the exact log-likelihood must
    # rise. The step is small (lr 0.05), so the first-order term decides.
    rng = np.random.RandomState(seed)
    X = (rng.rand(300, 6) < [0.8, 0.7, 0.2, 0.1, 0.6, 0.3]).astype(np.float64)
    rbm = BernoulliRBM(
        n_components=4,
        batch_size=300,
        learning_rate=0.05,
        persistent=persistent,
        random_state=seed,
        log_partition="exact",
    ).partial_fit(X)  # one step from the initial weights
    before = (rbm.components_.copy(), rbm.intercept_visible_.copy(),
              rbm.intercept_hidden_.copy(), rbm.score(X))  # fmt: skip
    grad = exact.ml_gradient(X, *before[:3])
    rbm.partial_fit(X)  # the step under test
    after = (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_)
    step = np.concatenate([(a - b).ravel() for a, b in zip(after, before)])
    g = np.concatenate([x.ravel() for x in grad])
    cosine = step @ g / (np.linalg.norm(step) * np.linalg.norm(g))
    assert cosine > 0.5
    assert rbm.score(X) > before[3]


def test_log_partition_none_and_forced_exact(rng, digits):
    X = binary_data(rng)
    rbm = BernoulliRBM(n_components=4, n_iter=1, log_partition=None).fit(X)
    assert rbm.log_partition_ is None
    assert rbm.free_energy(X).shape == (len(X),)
    with pytest.raises(ValueError, match="log_partition=None"):
        rbm.score_samples(X)
    with pytest.raises(ValueError, match="at most 20"):
        BernoulliRBM(n_components=30, n_iter=0, log_partition="exact").fit(digits[0])


# ------------------------------------------------------ determinism
def _fit_arrays(est, X):
    est.fit(X)
    return [
        est.components_,
        est.intercept_hidden_,
        est.intercept_visible_,
        est.h_samples_,
    ]


def test_same_seed_same_result_different_seed_different(digits):
    X = digits[0][:400]
    a = _fit_arrays(BernoulliRBM(n_components=20, n_iter=2, random_state=1), X)
    b = _fit_arrays(BernoulliRBM(n_components=20, n_iter=2, random_state=1), X)
    c = _fit_arrays(BernoulliRBM(n_components=20, n_iter=2, random_state=2), X)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_thread_count_does_not_change_results(digits, monkeypatch):
    import numba
    from threadpoolctl import threadpool_limits

    # private: skebm's kernel thread count follows NUMBA_NUM_THREADS, fixed
    # at process start; patching it (and asserting the split) keeps this in-process
    import skebm._kernels._sync as sync
    from skebm._kernels._cd import epoch_blocks

    X = np.tile(digits[0], (2, 1))
    # large enough for the epoch kernel to split its products in two blocks
    assert epoch_blocks(200, 200, X.shape[1], 200) == 2
    results = []
    for n in (1, 2):
        monkeypatch.setattr(sync, "available_threads", lambda n=n: n)
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
        with threadpool_limits(limits=n):
            est = BernoulliRBM(
                n_components=200, batch_size=200, n_iter=2, random_state=0
            )
            results.append(_fit_arrays(est, X) + [est.score_samples(X[:100] > 0.5)])
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for x, y in zip(*results):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_gives_dense_results(rng, fmt):
    X = binary_data(rng, n=80, d=10, p=0.2)
    S = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    dense = BernoulliRBM(n_components=5, n_iter=3, random_state=0).fit(X)
    sparse = BernoulliRBM(n_components=5, n_iter=3, random_state=0).fit(S)
    np.testing.assert_array_equal(dense.components_, sparse.components_)
    np.testing.assert_allclose(dense.transform(X), sparse.transform(S), rtol=1e-12)
    np.testing.assert_allclose(
        dense.score_samples(X), sparse.score_samples(S), rtol=1e-12
    )


def test_float32_trains_in_float32_close_to_float64(digits):
    X = digits[0][:500]
    f64 = BernoulliRBM(n_components=16, n_iter=2, random_state=0).fit(X)
    f32 = BernoulliRBM(n_components=16, n_iter=2, random_state=0).fit(
        X.astype(np.float32)
    )
    for attr in (
        "components_",
        "intercept_hidden_",
        "intercept_visible_",
        "h_samples_",
    ):
        assert getattr(f32, attr).dtype == np.float32
    assert f32.transform(X.astype(np.float32)).dtype == np.float32
    # same random numbers, rounding differences only: results stay close
    assert np.abs(f32.components_ - f64.components_).max() < 0.05
    assert f32.score(X > 0.5) == pytest.approx(f64.score(X > 0.5), rel=0.02)


def test_int_input_becomes_float64(rng):
    X = (rng.rand(30, 5) < 0.5).astype(np.int64)
    rbm = BernoulliRBM(n_components=3, n_iter=1).fit(X)
    assert rbm.components_.dtype == np.float64


def test_pickle_and_joblib_round_trip_keep_scores(tmp_path, digits):
    X = digits[0][:300]
    rbm = BernoulliRBM(n_components=20, n_iter=2, random_state=0).fit(X)
    for loaded in (
        pickle.loads(pickle.dumps(rbm)),
        joblib.load(joblib.dump(rbm, tmp_path / "rbm.joblib")[0]),
    ):
        np.testing.assert_array_equal(
            loaded.score_samples(X > 0.5), rbm.score_samples(X > 0.5)
        )
        np.testing.assert_array_equal(loaded.transform(X), rbm.transform(X))


def test_input_arrays_not_modified(rng):
    X = binary_data(rng)
    S = sp.csr_matrix(X)
    X0, S0 = X.copy(), S.copy()
    rbm = BernoulliRBM(n_components=4, n_iter=2, random_state=0).fit(X)
    rbm.partial_fit(X)
    rbm.transform(X), rbm.score_samples(X), rbm.gibbs(X)
    rbm.fit(S).transform(S)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(S.toarray(), S0.toarray())


# -------------------------------------------------------- partial_fit
def test_first_partial_fit_equals_one_epoch_of_fit(digits):
    X = digits[0][:200]
    one_epoch = BernoulliRBM(n_components=10, n_iter=1, random_state=5).fit(X)
    partial = BernoulliRBM(n_components=10, random_state=5).partial_fit(X)
    np.testing.assert_array_equal(one_epoch.components_, partial.components_)
    np.testing.assert_array_equal(one_epoch.h_samples_, partial.h_samples_)


def test_partial_fit_uses_minibatches_and_continues_chains(digits):
    X = digits[0][:200]
    rbm = BernoulliRBM(n_components=10, batch_size=20, random_state=0).partial_fit(
        X[:100]
    )
    h1 = rbm.h_samples_.copy()
    W1 = rbm.components_.copy()
    rbm.partial_fit(X[100:])
    assert rbm.h_samples_.shape == (20, 10)
    assert not np.array_equal(h1, rbm.h_samples_)
    assert not np.array_equal(W1, rbm.components_)
    assert list(rbm.history_["epoch"]) == [1, 2]
    # the same blocks in the same order reproduce the model exactly
    again = BernoulliRBM(n_components=10, batch_size=20, random_state=0)
    again.partial_fit(X[:100]).partial_fit(X[100:])
    np.testing.assert_array_equal(again.components_, rbm.components_)


def test_partial_fit_starts_from_the_stored_chains(digits):
    # The persistent chains h_samples_ are part of the training state: the
    # next partial_fit's first negative phase starts from them. Two copies
    # of a model that differ only in h_samples_ must train differently
    # (and identical copies identically).
    X = digits[0][:100]
    rbm = BernoulliRBM(n_components=10, batch_size=20, random_state=0).partial_fit(X)
    same, flipped = pickle.loads(pickle.dumps(rbm)), pickle.loads(pickle.dumps(rbm))
    flipped.h_samples_ = 1.0 - flipped.h_samples_
    for model in (rbm, same, flipped):
        model.partial_fit(X)
    np.testing.assert_array_equal(same.components_, rbm.components_)
    np.testing.assert_array_equal(same.h_samples_, rbm.h_samples_)
    # flipping every chain moves the first minibatch's negative statistics,
    # so the weights by a fraction of a learning-rate step (0.008 measured
    # at random_state=0), far above rounding
    assert np.abs(flipped.components_ - rbm.components_).max() > 1e-4


# ----------------------------------------------------------- sampling
def test_sample_and_gibbs(digits):
    X = digits[0]
    rbm = BernoulliRBM(n_components=20, n_iter=2, random_state=0).fit(X)
    s = rbm.sample(7, n_steps=10)
    assert s.shape == (7, 64)
    assert set(np.unique(s)) <= {0.0, 1.0}
    np.testing.assert_array_equal(s, rbm.sample(7, n_steps=10))  # int random_state
    assert not np.array_equal(s, rbm.sample(7, n_steps=10, random_state=1))
    g1 = rbm.gibbs(X[:5])
    g2 = rbm.gibbs(X[:5])
    assert g1.dtype == bool and g1.shape == (5, 64)
    assert not np.array_equal(g1, g2)  # successive calls continue the chain
    with pytest.raises(ValueError, match="n_samples"):
        rbm.sample(0)


# ------------------------------------------------------------ verbose
def test_verbose_prints_one_line_per_epoch_and_history(rng):
    X = binary_data(rng)
    buf = io.StringIO()
    with redirect_stdout(buf):
        rbm = BernoulliRBM(n_components=3, n_iter=4, verbose=1, random_state=0).fit(X)
    lines = buf.getvalue().strip().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("[BernoulliRBM] Iteration 1,")
    assert "pseudo log likelihood" in lines[0] and "reconstruction error" in lines[0]
    for key in ("epoch", "pseudo_log_likelihood", "reconstruction_error", "time"):
        assert rbm.history_[key].shape == (4,)
    assert np.all(np.isfinite(rbm.history_["pseudo_log_likelihood"]))


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
        BernoulliRBM(n_components=2, n_iter=1).fit(bad)


def test_wrong_number_of_features(rng):
    rbm = BernoulliRBM(n_components=2, n_iter=1).fit(binary_data(rng, d=6))
    for method in (rbm.transform, rbm.score_samples, rbm.free_energy, rbm.partial_fit):
        with pytest.raises(ValueError, match="features"):
            method(binary_data(rng, d=5))


def test_divergence_is_reported_and_leaves_no_fitted_state(rng):
    X = binary_data(rng)
    rbm = BernoulliRBM(n_components=3, n_iter=5, learning_rate=1e7, random_state=0)
    with pytest.raises(FloatingPointError, match="diverged"):
        rbm.fit(X)
    assert not any(k.endswith("_") and not k.startswith("__") for k in vars(rbm))
    # a failed refit keeps the previous model intact
    rbm.set_params(learning_rate=0.1).fit(X)
    W = rbm.components_.copy()
    with pytest.raises(FloatingPointError):
        rbm.set_params(learning_rate=1e7).fit(X)
    np.testing.assert_array_equal(rbm.components_, W)
    assert np.all(np.isfinite(rbm.set_params(learning_rate=0.1).score_samples(X)))


# ------------------------------------------------- sklearn integration
def test_pipeline_and_grid_search_on_digits(digits):
    X, y = digits
    pipe = Pipeline(
        [
            (
                "rbm",
                BernoulliRBM(
                    n_components=64, n_iter=10, random_state=0, log_partition=None
                ),
            ),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    )
    grid = GridSearchCV(pipe, {"rbm__learning_rate": [0.001, 0.06]}, cv=3, n_jobs=2)
    grid.fit(X, y)
    # learning_rate=0.001 barely moves the weights; 0.06 learns useful features
    assert grid.best_params_["rbm__learning_rate"] == 0.06
    assert grid.best_score_ > 0.75  # scikit-learn's RBM: 0.797 in the same setting


def test_grid_search_without_scorer_uses_held_out_likelihood(rng):
    # Data from two noisy prototypes: a nearly untrained candidate (tiny
    # learning rate) is clearly worse on held-out rows than trained ones.
    protos = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], float)
    X = protos[rng.randint(0, 2, 120)]
    X = np.abs(X - (rng.rand(*X.shape) < 0.05))
    base = BernoulliRBM(n_iter=30, random_state=0)
    grid_params = {"n_components": [2, 4], "learning_rate": [1e-4, 0.2]}
    grid = GridSearchCV(base, grid_params, cv=2).fit(X)
    # the score of each candidate is its mean exact log-likelihood on the
    # held-out folds (cv=2 without labels: two unshuffled halves), computed
    # here by enumeration
    folds = [(np.arange(60, 120), np.arange(60)), (np.arange(60), np.arange(60, 120))]
    expected = [
        np.mean(
            [
                _held_out_log_likelihood(
                    clone(base).set_params(**params).fit(X[tr]), X[te]
                )
                for tr, te in folds
            ]
        )
        for params in grid.cv_results_["params"]
    ]
    scores = grid.cv_results_["mean_test_score"]
    np.testing.assert_allclose(scores, expected, rtol=1e-10)
    assert grid.best_params_ == grid.cv_results_["params"][int(np.argmax(expected))]
    # and the choice matters: the untrained candidates are > 1 nat worse
    assert grid.best_params_["learning_rate"] == 0.2
    untrained = [
        sc for sc, p in zip(scores, grid.cv_results_["params"])
        if p["learning_rate"] == 1e-4
    ]  # fmt: skip
    assert max(untrained) < grid.best_score_ - 1.0, (untrained, grid.best_score_)
