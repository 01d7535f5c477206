"""``python -m skebm``: a short tour on scikit-learn's digits (under a minute).

RBM features + logistic regression against logistic regression on raw
pixels, and a fine-tuned deep belief network (accuracy, fit time); anomaly
detection of an unseen digit (ROC AUC); Hopfield recall of noisy digit
prototypes.
"""

import os
import time
import warnings


def _row(name, score, seconds, note=""):
    print(f"  {name:<50s} {score:>8.3f} {seconds:>9.2f}s  {note}")


def _augmented_digits():
    """Digits scaled to [0, 1], split 80/20; the training images nudged one
    pixel in each direction: 5x the training data, as in scikit-learn's RBM
    example."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=0
    )
    images = X_train.reshape(-1, 8, 8)
    shifted = [images]
    for axis, step in ((1, 1), (1, -1), (2, 1), (2, -1)):
        moved = np.roll(images, step, axis=axis)
        index = [slice(None)] * 3
        index[axis] = 0 if step == 1 else -1
        moved[tuple(index)] = 0
        shifted.append(moved)
    X_aug = np.concatenate(shifted).reshape(-1, 64)
    return X, y, X_aug, np.tile(y_train, 5), X_test, y_test


def main():
    X, y, X_aug, y_aug, X_test, y_test = _augmented_digits()
    print(
        "skebm demo on scikit-learn's digits "
        f"({len(X_aug)} augmented training images, {len(X_test)} test images)\n"
    )
    seconds = _compile_kernels()
    print(
        f"  skebm's numba kernels ready in {seconds:.1f}s (the first run "
        "compiles them, in two processes side by side; later runs load them "
        "from numba's cache); the fit times below exclude this\n"
    )
    _classification(X_aug, y_aug, X_test, y_test)
    _anomaly_detection(X, y)
    _hopfield_recall(X, y)


def _classification(X_aug, y_aug, X_test, y_test):
    """Accuracy and fit time: raw pixels, RBM features (skebm and
    scikit-learn), a fine-tuned DBN; then the RBMs' training time alone
    and a held-out log-likelihood."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import BernoulliRBM as SklearnRBM
    from sklearn.pipeline import Pipeline

    from skebm import BernoulliRBM, DBNClassifier

    print(f"  {'model':<50s} {'accuracy':>8s} {'fit time':>10s}")
    t = time.perf_counter()
    raw = LogisticRegression(C=100.0, max_iter=2000).fit(X_aug, y_aug)
    _row(
        "LogisticRegression on raw pixels",
        raw.score(X_test, y_test),
        time.perf_counter() - t,
    )

    params = dict(n_components=100, learning_rate=0.06, n_iter=10, random_state=0)
    for name, rbm in (
        ("skebm.BernoulliRBM -> LogisticRegression", BernoulliRBM(**params)),
        ("sklearn BernoulliRBM -> LogisticRegression", SklearnRBM(**params)),
    ):
        pipe = Pipeline(
            [("rbm", rbm), ("clf", LogisticRegression(C=100.0, max_iter=1000))]
        )
        t = time.perf_counter()
        pipe.fit(X_aug, y_aug)
        _row(name, pipe.score(X_test, y_test), time.perf_counter() - t)

    # Deep belief network: the RBM pretrained as above, a second RBM on top,
    # then both fine-tuned with a softmax layer by backpropagation.
    dbn = DBNClassifier(
        (100, 50),
        pretrain_learning_rate=0.06,
        pretrain_n_iter=10,
        batch_size=100,
        max_iter=50,
        random_state=0,
    )
    t = time.perf_counter()
    with warnings.catch_warnings():
        # a fixed budget of 50 epochs: the training loss is still falling,
        # which ConvergenceWarning would report
        warnings.simplefilter("ignore", ConvergenceWarning)
        dbn.fit(X_aug, y_aug)
    _row(
        "skebm.DBNClassifier (100, 50), fine-tuned",
        dbn.score(X_test, y_test),
        time.perf_counter() - t,
        f"{dbn.n_iter_} epochs of fine-tuning",
    )
    _rbm_timing_and_likelihood(params, X_aug, X_test)


def _rbm_timing_and_likelihood(params, X_aug, X_test):
    from sklearn.neural_network import BernoulliRBM as SklearnRBM

    from skebm import BernoulliRBM

    # Timing of the RBM alone (the logistic regression is the same for both).
    t = time.perf_counter()
    BernoulliRBM(**params).fit(X_aug)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    SklearnRBM(**params).fit(X_aug)
    theirs = time.perf_counter() - t
    print(
        f"\n  RBM training alone: skebm {ours:.2f}s, scikit-learn {theirs:.2f}s "
        f"({theirs / ours:.1f}x)"
    )

    rbm = BernoulliRBM(**params).fit((X_aug > 0.5).astype(float))
    print(
        f"  held-out log-likelihood of binarised test digits: "
        f"{rbm.score((X_test > 0.5).astype(float)):.2f} nats/image "
        f"(log Z by {rbm.log_partition_method_}, "
        f"standard error {rbm.log_partition_stderr_:.3f})"
    )


def _compile_kernels(parallel=True):
    """Fit and use tiny versions of every skebm model in the demo, so that
    numba compiles (or loads from its cache) the kernels before the timings;
    returns the seconds taken.

    Numba compiles on one core. With ``parallel`` (and more than one core),
    a second Python process compiles AIS and the Hopfield networks' recall
    into numba's on-disk cache while this one compiles the RBMs' and the
    DBN's training; this process then loads the other's work from the
    cache (or compiles it itself, if the other could not write it). The two
    never compile different specialisations of one function: numba's cache
    index is not safe against two processes adding different entries to it
    at once (:func:`_split_conflicts` checks this, and a test runs it).
    """
    t = time.perf_counter()
    other = None
    if parallel and (os.cpu_count() or 1) > 1 and not _probably_cached():
        other = _start_other_process()
    try:
        models = _warm_first()
    finally:
        _join(other)
    for model, X in models:  # log Z by AIS, compiled by the other process
        model.score_samples(X)
    _warm_second()
    return time.perf_counter() - t


def _start_other_process():
    """The second warm-up process (:func:`_warm_second`), or None if it
    cannot be started."""
    import subprocess
    import sys

    try:
        return subprocess.Popen(
            [sys.executable, "-c", _PARTS[1]],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None


def _join(other, timeout=300):
    import subprocess

    if other is None:
        return
    try:
        other.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        other.kill()
        other.wait()


def _probably_cached():
    """Whether numba's cache already holds the second process's largest
    kernel (then starting that process, about 1 s of imports, would cost
    more than loading everything here). Reads a numba internal, so any
    failure means "no"."""
    try:
        from skebm._kernels._hopfield import hopfield_recall_kernel

        return os.path.exists(hopfield_recall_kernel._cache._cache_file._index_path)
    except Exception:  # noqa: BLE001 -- another numba version: compile in parallel
        return False


#: What each process of the parallel warm-up runs (see _split_conflicts).
_PARTS = (
    "import skebm.__main__ as m\nfor mod, X in m._warm_first(): mod.score_samples(X)",
    "import skebm.__main__ as m; m._warm_second()",
)


def _split_conflicts():
    """Numba cache index files to which the two warm-up processes would add
    different entries: each process runs alone with an empty cache of its
    own, then their index files are compared. Empty if the split is safe.
    Reads numba's index format (a version, then a pickled ``(stamp,
    {key: data file})``)."""
    import glob
    import pickle
    import subprocess
    import sys
    import tempfile

    def entries(path):
        with open(path, "rb") as f:
            pickle.load(f)
            return set(pickle.loads(f.read())[1])

    indexes = []
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        runs = [
            subprocess.Popen(
                [sys.executable, "-c", code], env=dict(os.environ, NUMBA_CACHE_DIR=d)
            )
            for code, d in zip(_PARTS, (a, b))
        ]
        for run, d in zip(runs, (a, b)):
            if run.wait() != 0:
                raise RuntimeError(f"a warm-up process failed: {run.args}")
            files = glob.glob(os.path.join(d, "**", "*.nbi"), recursive=True)
            indexes.append({os.path.basename(f): entries(f) for f in files})
    first, second = indexes
    return sorted(n for n in set(first) & set(second) if first[n] != second[n])


def _warm_data(n_features=4):
    import numpy as np

    X = np.random.RandomState(0).rand(30, n_features)
    return X, (X > 0.5).astype(float)


#: Tiny RBMs whose ``score_samples`` needs log Z by AIS (with over 20 units
#: in each layer, AIS for the binary one too).
_WARM_AIS = dict(n_components=21, n_iter=1, n_ais_chains=2, n_ais_temperatures=3)


def _warm_first():
    """Tiny fits of the demo's RBMs and DBN; returns the RBMs whose
    ``score_samples`` estimate log Z by AIS, with their data."""
    from sklearn.exceptions import ConvergenceWarning

    from skebm import BernoulliRBM, DBNClassifier, GaussianBernoulliRBM

    X, P = _warm_data(n_features=_WARM_AIS["n_components"])
    models = [(BernoulliRBM(**_WARM_AIS).fit(P), P)]
    X, P = _warm_data()
    grbm = GaussianBernoulliRBM(**_WARM_AIS, learn_sigma=True)
    models.append((grbm.fit(X), X))
    BernoulliRBM(n_components=2, n_iter=1, log_partition=None).fit(X).transform(X)
    with warnings.catch_warnings():  # one epoch: "stopped at max_iter"
        warnings.simplefilter("ignore", ConvergenceWarning)
        DBNClassifier((3,), pretrain_n_iter=1, max_iter=1).fit(X, P[:, 0])
    return models


def _warm_second():
    """AIS on tiny binary and Gaussian RBMs' arrays (as their
    ``score_samples`` runs it), and recalls of tiny Hopfield networks."""
    import numpy as np

    from skebm import HopfieldNetwork, ModernHopfieldNetwork
    from skebm._kernels._layers import visible_sample_
    from skebm._kernels._rng import seed_state
    from skebm.partition import _rbm_ais_log_partition

    rng = np.random.RandomState(0)
    W, b, c = rng.normal(size=(3, 4)), np.zeros(4), np.zeros(3)
    for log_sigma in (None, np.zeros(4)):
        _rbm_ais_log_partition(W, b, c, np.zeros(4), np.ones(4), 2, 3, 0, log_sigma)
    # AIS draws binary visible units with visible_sample_, whose Gaussian
    # specialisation the other process compiles: compile it here too, so
    # that both add the same entries to its cache index
    visible_sample_(np.zeros((2, 4)), np.ones(4), None, seed_state(0, 2))
    X, P = _warm_data()
    for rule in ("hebbian", "pseudoinverse"):
        HopfieldNetwork(rule, random_state=0).fit(P).predict(P)
    ModernHopfieldNetwork().fit(X).predict(X)


def _anomaly_detection(X, y, held_out=0):
    """Train on nine digits; score test images of those and of the tenth."""
    import numpy as np
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skebm import BernoulliRBM, EnergyOutlierDetector

    normal, unseen = X[y != held_out], X[y == held_out]
    train, test = train_test_split(normal, test_size=1 / 3, random_state=0)
    X_test = np.vstack([test, unseen])
    is_unseen = np.r_[np.zeros(len(test)), np.ones(len(unseen))]
    print(
        f"\n  Anomaly detection: train on digits other than {held_out}; "
        f"ROC AUC of flagging the {len(unseen)} unseen {held_out}s among "
        f"{len(test)} held-out others"
    )
    print(f"  {'detector':<50s} {'ROC AUC':>8s} {'fit time':>10s}")
    # benchmarks/bench_anomaly.py's setting with half its hidden units (fits
    # in half the time), on the pixels in [0, 1]
    brbm = BernoulliRBM(
        n_components=50,
        n_iter=200,
        k=5,
        persistent=False,
        learning_rate=0.2,
        random_state=0,
    )
    for name, model in (
        (
            "skebm EnergyOutlierDetector(BernoulliRBM)",
            EnergyOutlierDetector(brbm),
        ),
        (
            # the default model: scaler + Gaussian RBM, ~3000 updates
            "skebm EnergyOutlierDetector() (default model)",
            EnergyOutlierDetector(random_state=0),
        ),
        (
            "sklearn IsolationForest",
            make_pipeline(StandardScaler(), IsolationForest(random_state=0)),
        ),
    ):
        t = time.perf_counter()
        model.fit(train)
        seconds = time.perf_counter() - t
        _row(name, roc_auc_score(is_unseen, -model.score_samples(X_test)), seconds)


def _hopfield_recall(X, y, n_probes=1000, noise=0.1):
    """Store one binarised mean image per digit; recall noisy copies."""
    import numpy as np

    from skebm import HopfieldNetwork, ModernHopfieldNetwork

    patterns = np.array([(X[y == d].mean(axis=0) >= 0.5) for d in range(10)], float)
    rng = np.random.RandomState(0)
    truth = rng.randint(0, 10, n_probes)
    probes = np.abs(patterns[truth] - (rng.rand(n_probes, 64) < noise))
    print(
        f"\n  Hopfield recall: 10 stored digit prototypes (64 units), "
        f"{n_probes} probes with {noise:.0%} of the pixels flipped"
    )
    print(f"  {'network':<50s} {'recalled':>8s} {'time':>10s}")
    binary = lambda A: A  # noqa: E731
    bipolar = lambda A: 2.0 * A - 1.0  # noqa: E731 (the modern net is real-valued)
    for name, net, encode in (
        ("HopfieldNetwork, Hebbian rule", HopfieldNetwork(random_state=0), binary),
        (
            "HopfieldNetwork, pseudo-inverse rule",
            HopfieldNetwork("pseudoinverse", random_state=0),
            binary,
        ),
        ("ModernHopfieldNetwork, beta=2", ModernHopfieldNetwork(beta=2.0), bipolar),
    ):
        t = time.perf_counter()
        found = net.fit(encode(patterns)).predict(encode(probes))
        _row(name, np.mean(found == truth), time.perf_counter() - t)


if __name__ == "__main__":
    # Load NumPy's and SciPy's BLAS first: threadpool_limits only reaches
    # the libraries loaded when it is entered (before, SciPy's OpenBLAS was
    # loaded later and ran LogisticRegression on two threads, 1 s -> 5 s).
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    # Every model here (scikit-learn's too) runs with BLAS on one thread:
    # OpenBLAS on two threads was several times slower for these small
    # products on our two-core machine, and skebm pins it to one anyway.
    with threadpool_limits(1, "blas"):
        main()
