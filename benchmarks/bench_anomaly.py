"""Anomaly detection: skebm's detectors against scikit-learn's, same splits.

Novelty detection (train on inliers only) on two suites:

- ``real``, 17 tasks from the data that ships with scikit-learn: malignant
  breast tumours against benign ones, and each class of iris (3), wine (3)
  and digits (10) held out in turn as the anomaly. Each task trains on 2/3
  of its inliers and tests on the other third and every anomaly;
- ``synthetic``, 10 tasks from scikit-learn's "Comparing anomaly detection
  algorithms for outlier detection on toy datasets" example: 300 inliers
  (one blob, two blobs, two blobs of unequal spread, two moons, uniform)
  in 2-D, and the same with 8 standard-normal noise features (10-D); 45
  outliers uniform on [-6, 6]² (plus noise). In the uniform task the
  inliers are as spread as the outliers: no detector can win there.

Every detector sees the raw features and standardises them itself (the
default ``EnergyOutlierDetector`` does; the others run after a
``StandardScaler``). PyOD's ECOD and COPOD join the peers when ``pyod``
is installed (``pip install ".[benchmark,pyod]"``).
``GaussianMixture (BIC)`` chooses 1-5 full-covariance components by BIC,
as a user would. Prints, per suite, each detector's mean
ROC AUC over the tasks, its mean rank (1 = best on a task) and mean fit
time, then the per-task table. Detectors with a ``random_state`` run with
seeds 0 .. n-1 (``--seeds``, default 3); a task's AUC is the mean over
seeds.

Usage: python benchmarks/bench_anomaly.py [--seeds N] [--suite real synthetic]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_blobs,
    make_moons,
)
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import OneClassSVM

from skebm import BernoulliRBM, CategoricalRBM, EnergyOutlierDetector

#: Bin edges, in standard deviations from the training mean.
_Z_EDGES = np.arange(-3.0, 4.0)


def _z_codes(X):
    """The bin of each standardised feature, as a category code 0-7."""
    return np.digitize(X, _Z_EDGES).astype(float)


def _z_bins(X):
    """One-hot code of each standardised feature in the bins (-inf, -3),
    [-3, -2), ..., [3, inf): binary input for a BernoulliRBM, which then
    gives low likelihood to values in bins the training data rarely reach
    (either tail)."""
    idx = np.digitize(X, _Z_EDGES)
    n_bins = len(_Z_EDGES) + 1
    return (idx[:, :, None] == np.arange(n_bins)).reshape(len(X), -1).astype(float)


class BICGaussianMixture(BaseEstimator):
    """GaussianMixture with 1..max_components full-covariance components,
    the number chosen by BIC on the training data."""

    def __init__(self, max_components=5, random_state=None):
        self.max_components = max_components
        self.random_state = random_state

    def fit(self, X, y=None):
        best = None
        for k in range(1, min(self.max_components, len(X) // 2) + 1):
            gm = GaussianMixture(
                k,
                covariance_type="full",
                reg_covar=1e-3,
                random_state=self.random_state,
            ).fit(X)
            if best is None or gm.bic(X) < best[0]:
                best = (gm.bic(X), gm)
        self.mixture_ = best[1]
        return self

    def score_samples(self, X):
        return self.mixture_.score_samples(X)


def _scaled(detector):
    return make_pipeline(StandardScaler(), detector)


class PyODScores(BaseEstimator):
    """A PyOD detector with scikit-learn's sign: ``score_samples`` is
    ``-decision_function`` (PyOD's scores grow with abnormality)."""

    def __init__(self, detector=None):
        self.detector = detector

    def fit(self, X, y=None):
        self.detector_ = self.detector.fit(X)
        return self

    def score_samples(self, X):
        return -self.detector_.decision_function(X)


def _pyod_detectors():
    try:
        from pyod.models.copod import COPOD
        from pyod.models.ecod import ECOD
    except ImportError:
        return {}
    return {
        "PyOD ECOD": (lambda seed: _scaled(PyODScores(ECOD())), False),
        "PyOD COPOD": (lambda seed: _scaled(PyODScores(COPOD())), False),
    }


def detectors():
    """name -> (factory of an unfitted detector given a seed, seeded?)."""
    return {
        "skebm EnergyOutlierDetector()": (
            lambda seed: EnergyOutlierDetector(random_state=seed),
            True,
        ),
        # The hand-made recipe of the docs: one-hot bins of standardised
        # features into a BernoulliRBM (chosen on breast cancer).
        "skebm BernoulliRBM, z bins": (
            lambda seed: make_pipeline(
                StandardScaler(),
                FunctionTransformer(_z_bins),
                EnergyOutlierDetector(
                    BernoulliRBM(n_components=16, n_iter=100, learning_rate=0.05,
                                 persistent=False, random_state=seed)
                ),
            ),
            True,
        ),  # fmt: skip
        # The same bins as softmax groups (one categorical variable per
        # feature, issue 23), with the recipe's settings; every bin is a
        # category even if no training row falls in it.
        "skebm CategoricalRBM, z bins": (
            lambda seed: make_pipeline(
                StandardScaler(),
                FunctionTransformer(_z_codes),
                EnergyOutlierDetector(
                    CategoricalRBM(n_components=16, n_iter=100, learning_rate=0.05,
                                   persistent=False, min_categories=len(_Z_EDGES) + 1,
                                   random_state=seed)
                ),
            ),
            True,
        ),  # fmt: skip
        "IsolationForest": (
            lambda seed: _scaled(IsolationForest(random_state=seed)),
            True,
        ),
        "LocalOutlierFactor(novelty)": (
            lambda seed: _scaled(LocalOutlierFactor(novelty=True)),
            False,
        ),
        "OneClassSVM": (
            lambda seed: _scaled(OneClassSVM(gamma="scale", nu=0.1)),
            False,
        ),
        "GaussianMixture (BIC)": (
            lambda seed: _scaled(BICGaussianMixture(random_state=seed)),
            True,
        ),
        **_pyod_detectors(),
    }  # fmt: skip


def real_tasks():
    X, y = load_breast_cancer(return_X_y=True)
    yield "cancer", X[y == 1], X[y == 0]
    for name, loader in (
        ("iris", load_iris),
        ("wine", load_wine),
        ("digits", load_digits),
    ):
        X, y = loader(return_X_y=True)
        for c in np.unique(y):
            yield f"{name} {c}", X[y != c], X[y == c]  # fmt: skip


def synthetic_tasks():
    rng = np.random.RandomState(42)
    n = 300
    blobs = dict(random_state=0, n_samples=n, n_features=2)
    sets = {
        "one blob": make_blobs(centers=[[0, 0], [0, 0]], cluster_std=0.5, **blobs)[0],
        "two blobs": make_blobs(centers=[[2, 2], [-2, -2]], cluster_std=[0.5, 0.5],
                                **blobs)[0],
        "uneven blobs": make_blobs(centers=[[2, 2], [-2, -2]], cluster_std=[1.5, 0.3],
                                   **blobs)[0],
        "moons": 4.0 * (make_moons(n_samples=n, noise=0.05, random_state=0)[0]
                        - np.array([0.5, 0.25])),
        "uniform": 14.0 * (np.random.RandomState(42).rand(n, 2) - 0.5),
    }  # fmt: skip
    for name, inliers in sets.items():
        outliers = rng.uniform(low=-6, high=6, size=(45, 2))
        yield f"2-D {name}", inliers, outliers
        noise = np.random.RandomState(1)
        yield (
            f"10-D {name}",
            np.hstack([inliers, noise.normal(size=(n, 8))]),
            np.hstack([outliers, noise.normal(size=(45, 8))]),
        )


def splits(tasks):
    for name, normal, anomalous in tasks:
        train, test = train_test_split(normal, test_size=1 / 3, random_state=0)
        X_test = np.vstack([test, anomalous])
        y_test = np.r_[np.zeros(len(test)), np.ones(len(anomalous))]
        yield name, train, X_test, y_test


def evaluate(model, X_train, X_test, y_test):
    t = time.perf_counter()
    model.fit(X_train)
    seconds = time.perf_counter() - t
    # higher score_samples = more normal; outliers are the positive class
    auc = roc_auc_score(y_test, -model.score_samples(X_test))
    return auc, seconds


def run_suite(tasks, n_seeds):
    """``(task names, {detector: (AUC per task, mean fit seconds)})``."""
    data = list(splits(tasks))
    table = {}
    for name, (factory, seeded) in detectors().items():
        aucs = np.zeros((n_seeds if seeded else 1, len(data)))
        times = []
        for s in range(aucs.shape[0]):
            for j, (_, train, X_test, y_test) in enumerate(data):
                aucs[s, j], seconds = evaluate(factory(s), train, X_test, y_test)
                times.append(seconds)
        table[name] = (aucs.mean(axis=0), float(np.mean(times)))
        print(f"  {name}: mean AUC {aucs.mean():.3f}", flush=True)
    return [d[0] for d in data], table


def report(suite, names, table):
    aucs = np.array([row[0] for row in table.values()])  # detectors x tasks
    # rank 1 = highest AUC on the task; ties share the mean rank
    order = (-aucs).argsort(axis=0).argsort(axis=0) + 1.0
    ranks = np.array([[np.mean(order[aucs[:, j] == aucs[i, j], j])
                       for j in range(aucs.shape[1])]
                      for i in range(aucs.shape[0])])  # fmt: skip
    print(f"\n{suite}: {len(names)} tasks, ROC AUC (mean over seeds)")
    print(f"{'detector':<32s} {'mean AUC':>9s} {'mean rank':>10s} {'fit (s)':>9s}")
    by_auc = np.argsort(-aucs.mean(axis=1))
    detectors_ = list(table)
    for i in by_auc:
        name = detectors_[i]
        print(f"{name:<32s} {aucs[i].mean():9.3f} {ranks[i].mean():10.2f} "
              f"{table[name][1]:9.3f}")  # fmt: skip
    short = [d.replace("skebm ", "").split(",")[0][:12] for d in detectors_]
    print("\n" + f"{'task':<16s}" + "".join(f"{s:>13s}" for s in short))
    for j, task in enumerate(names):
        print(
            f"{task:<16s}" + "".join(f"{aucs[i, j]:13.3f}" for i in range(len(short)))
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per detector")
    parser.add_argument(
        "--suite",
        nargs="+",
        choices=["real", "synthetic"],
        default=["real", "synthetic"],
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    # Compile the kernels outside the timings.
    warm = np.random.default_rng(0).random((20, 3))
    EnergyOutlierDetector(random_state=0).fit(warm)  # the Gaussian RBM
    EnergyOutlierDetector(random_state=0).fit(warm[:, :2]).score_samples(warm[:, :2])
    BernoulliRBM(n_components=2, n_iter=1, persistent=False).fit(warm > 0.5)
    suites = {"real": real_tasks, "synthetic": synthetic_tasks}
    for suite in args.suite:
        print(f"{suite} suite:")
        names, table = run_suite(suites[suite](), args.seeds)
        report(suite, names, table)
        print()


if __name__ == "__main__":
    main()
