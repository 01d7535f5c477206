"""skebm on a dask cluster: grid search through joblib's dask backend,
out-of-core ``partial_fit`` through dask-ml's ``Incremental``, estimators
shipped to and from worker processes, numba's disk cache and thread counts
inside workers.

Needs the ``distributed`` extra (``pip install ".[distributed]"``); without it
the whole module is skipped. One ``LocalCluster`` with two single-threaded
worker processes serves every test.
"""

import os

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from skebm import BernoulliRBM, DeepBeliefNetwork

distributed = pytest.importorskip(
    "distributed",
    reason="needs the 'distributed' extra: pip install '.[distributed]'",
)
da = pytest.importorskip(
    "dask.array", reason="needs the 'distributed' extra: pip install '.[distributed]'"
)
wrappers = pytest.importorskip(
    "dask_ml.wrappers",
    reason="needs the 'distributed' extra: pip install '.[distributed]'",
)

#: Environment of the worker processes. dask's nanny already sets
#: OMP/MKL/OPENBLAS_NUM_THREADS=1 (``distributed.nanny.pre-spawn-environ``);
#: numba's thread pool is sized from NUMBA_NUM_THREADS (default: every core)
#: when numba is imported, so it has to come from the environment too.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        processes=True,
        n_workers=2,
        threads_per_worker=1,
        dashboard_address=None,
        env=WORKER_ENV,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:480] / 16.0, y[:480]


def _fit_rbm(X, params):
    """Runs in a worker: fit and return the estimator (pickled back)."""
    return BernoulliRBM(**params).fit(X)


def _score_samples(model, X):
    return model.score_samples(X)


# ---------------------------------------------------------------- grid search
def _feature_step(name):
    """The unsupervised step of the searched Pipeline, and its grid."""
    if name == "BernoulliRBM":
        rbm = BernoulliRBM(n_iter=3, batch_size=20, random_state=0, log_partition=None)
        return rbm, {"n_components": [16, 32], "learning_rate": [0.05, 0.2]}
    dbn = DeepBeliefNetwork(
        hidden_layer_sizes=(32, 16), n_iter=2, batch_size=20, random_state=0
    )
    return dbn, {"hidden_layer_sizes": [(32, 16), (16, 16)], "random_state": [0, 1]}


@pytest.mark.parametrize("name", ["BernoulliRBM", "DeepBeliefNetwork"])
def test_grid_search_on_dask_matches_default_backend(client, digits, name):
    X, y = digits
    step, step_grid = _feature_step(name)
    pipe = Pipeline([("features", step), ("clf", LogisticRegression(max_iter=2000))])
    grid = {f"features__{key}": values for key, values in step_grid.items()}
    # BLAS on one thread here as in the workers: skebm's steps do not depend
    # on it, but scikit-learn's LogisticRegression changes in the last bits.
    with threadpool_limits(limits=1, user_api="blas"):
        local = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    with distributed.get_task_stream(client) as tasks:
        with joblib.parallel_backend("dask"):
            remote = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    # The fits really ran as tasks on the cluster's worker processes.
    workers_used = {task["worker"] for task in tasks.data}
    assert workers_used and workers_used <= set(client.nthreads())
    assert remote.best_params_ == local.best_params_
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    # The scores differ between candidates, so the search chose something.
    assert len(set(local.cv_results_["mean_test_score"])) > 1
    np.testing.assert_array_equal(
        remote.best_estimator_["features"].transform(X),
        local.best_estimator_["features"].transform(X),
    )


# ------------------------------------------------------------ out-of-core fit
def test_incremental_equals_partial_fit_on_the_same_blocks(client, digits, seed):
    X, _ = digits
    X_blocks = da.from_array(X, chunks=(150, X.shape[1]))  # 150, 150, 150, 30
    params = {"n_components": 16, "batch_size": 20, "random_state": seed}
    inc = wrappers.Incremental(BernoulliRBM(**params), shuffle_blocks=False)
    inc.fit(X_blocks)

    local = BernoulliRBM(**params)
    for block in X_blocks.blocks:
        local.partial_fit(block.compute())
    remote = inc.estimator_
    for attr in ("components_", "intercept_hidden_", "intercept_visible_"):
        np.testing.assert_array_equal(getattr(remote, attr), getattr(local, attr))
    np.testing.assert_array_equal(remote.h_samples_, local.h_samples_)
    np.testing.assert_array_equal(remote.history_["epoch"], [1, 2, 3, 4])
    # Without a scorer, Incremental uses the estimator's own score: the mean
    # held-out log-likelihood.
    X_test = load_digits().data[-100:] > 8
    assert inc.score(da.from_array(X_test, chunks=50), None) == local.score(X_test)


# ------------------------------------------------- estimators across processes
def test_estimator_fitted_in_worker_scores_identically(client, digits, seed):
    X, _ = digits
    params = {"n_components": 24, "n_iter": 2, "random_state": seed}
    future = client.submit(_fit_rbm, X, params, pure=False)
    remote = future.result()
    local = BernoulliRBM(**params).fit(X)
    np.testing.assert_array_equal(remote.components_, local.components_)
    assert remote.log_partition_ == local.log_partition_
    X_test = load_digits().data[-100:] > 8
    expected = local.score_samples(X_test)
    np.testing.assert_array_equal(remote.score_samples(X_test), expected)
    # ... and scoring in a worker gives the same numbers again.
    in_worker = client.submit(_score_samples, future, X_test).result()
    np.testing.assert_array_equal(in_worker, expected)


# ------------------------------------------------------------- numba, threads
def _fit_and_report_cache(X):
    # private: a disk-cache hit has no public effect but time; numba's stats
    # on the kernel show it
    from skebm._kernels._cd import rbm_epoch_kernel

    BernoulliRBM(n_components=8, n_iter=1, random_state=0).fit(X)
    stats = rbm_epoch_kernel.stats
    return sum(stats.cache_hits.values()), sum(stats.cache_misses.values())


def test_workers_load_kernels_from_the_disk_cache(client, digits):
    X, _ = digits
    # Compiled (or loaded) here first, so the disk cache holds the kernel.
    BernoulliRBM(n_components=8, n_iter=1, random_state=0).fit(X)
    reports = [
        client.submit(_fit_and_report_cache, X, workers=[worker], pure=False)
        for worker in client.nthreads()
    ]
    for hits, misses in client.gather(reports):
        assert misses == 0
        assert hits >= 1


def _thread_report(X):
    """Runs in a worker: BLAS and numba threads during an RBM fit."""
    import contextlib

    import numba
    from threadpoolctl import threadpool_info, threadpool_limits

    # private: the kernels' thread budget has no public accessor
    from skebm._kernels._sync import available_threads

    def blas_threads():
        return [
            info["num_threads"]
            for info in threadpool_info()
            if info["user_api"] == "blas"
        ]

    class RecordOnPrint:
        """stdout that samples the BLAS threads whenever the fit prints its
        per-epoch line (``verbose=1``), i.e. in the middle of the fit."""

        def __init__(self):
            self.samples = []

        def write(self, text):
            if text.strip():
                self.samples.append(blas_threads())

        def flush(self):
            pass

    during = RecordOnPrint()
    # Allow two BLAS threads around the fit: skebm must pin them itself.
    with threadpool_limits(limits=2, user_api="blas"):
        outside = blas_threads()
        with contextlib.redirect_stdout(during):
            BernoulliRBM(n_components=8, n_iter=2, verbose=1, random_state=0).fit(X)
    return {
        "blas_outside": outside,
        "blas_during_fit": during.samples,
        "numba_threads": numba.get_num_threads(),
        "skebm_threads": available_threads(),
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", *WORKER_ENV)},
    }


def test_single_threaded_worker_runs_one_blas_and_numba_thread(client, digits):
    X, _ = digits
    reports = client.gather(
        [
            client.submit(_thread_report, X, workers=[worker], pure=False)
            for worker in client.nthreads()
        ]
    )
    for report in reports:
        # dask's nanny starts workers with one OpenBLAS thread ...
        assert report["env"] == {"OPENBLAS_NUM_THREADS": "1", **WORKER_ENV}
        # ... and skebm pins BLAS to one thread during a fit by itself, even
        # when the task allowed two.
        assert report["blas_outside"] and set(report["blas_outside"]) == {2}
        assert len(report["blas_during_fit"]) == 2
        assert all(set(threads) == {1} for threads in report["blas_during_fit"])
        assert report["numba_threads"] == 1
        # skebm's epoch kernel would use two threads for large products
        assert report["skebm_threads"] == 1
