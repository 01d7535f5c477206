"""Held-out log-likelihood of EnergyDensity against GaussianMixture and
KernelDensity (issue 21).

Data: three 2-D sets (make_moons, make_circles, a ring of 8 Gaussians),
1000 training and 1000 test rows from different seeds; and two real tables
shipped with scikit-learn, split 70/30 with a fixed seed and standardised
on the training rows (wine: 13 features; breast cancer: PCA to 10
dimensions, then standardised again).

Peers, on the same splits:

- GaussianMixture: full or diagonal covariances, 1 to 20 components (with
  fewer free parameters than training rows), the lowest BIC on the
  training rows;
- KernelDensity: Gaussian kernel, bandwidth by 5-fold cross-validation
  over 40 values.

EnergyDensity runs with its defaults and 3 seeds (mean ± sd). On the 2-D
sets the script also prints the error of the log Z estimate (importance
sampling, or AIS; exact for a mixture alone) against quadrature on a fine
grid (in standard errors) and the total-variation distance
between a histogram of ``sample()`` and the model's own density on the
same bins (next to the distance expected from sampling error alone).

Usage: python benchmarks/bench_density.py [--quick] [--only {2-D,tables}]
"""

import argparse
import time

import numpy as np
from scipy.special import logsumexp
from sklearn.datasets import load_breast_cancer, load_wine, make_circles, make_moons
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KernelDensity
from sklearn.preprocessing import StandardScaler

from skebm import EnergyDensity


def ring(n, seed):
    rng = np.random.RandomState(seed)
    angle = 2 * np.pi * rng.randint(8, size=n) / 8
    return 2 * np.c_[np.cos(angle), np.sin(angle)] + 0.1 * rng.normal(size=(n, 2))


def two_d(name, n=1000):
    make = {
        "moons": lambda s: make_moons(n, noise=0.1, random_state=s)[0],
        "circles": lambda s: make_circles(n, noise=0.05, factor=0.5, random_state=s)[0],
        "8 Gaussians": lambda s: ring(n, s),
    }[name]
    return make(0), make(1)


def table(name):
    X = (load_wine if name == "wine" else load_breast_cancer)().data
    X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if name == "breast cancer":
        pca = PCA(10, random_state=0).fit(X_train)
        scaler = StandardScaler().fit(pca.transform(X_train))
        X_train = scaler.transform(pca.transform(X_train))
        X_test = scaler.transform(pca.transform(X_test))
    return X_train, X_test


def gmm_by_bic(X):
    """The lowest BIC among mixtures with fewer free parameters than rows
    (more would let a component collapse onto a few rows: BIC then picks
    a mixture whose held-out likelihood is -1e5 on wine)."""
    n, d = X.shape
    per_component = {"full": d + d * (d + 1) // 2 + 1, "diag": 2 * d + 1}
    fits = [
        GaussianMixture(k, covariance_type=cov, n_init=2, random_state=0).fit(X)
        for cov in ("full", "diag")
        for k in range(1, 21)
        if k * per_component[cov] - 1 < n
    ]
    return min(fits, key=lambda g: g.bic(X))


def kde_by_cv(X):
    grid = {"bandwidth": np.logspace(-2, 0.5, 40)}
    return GridSearchCV(KernelDensity(), grid, cv=5).fit(X).best_estimator_


def quadrature_log_z(model, X, n=700):
    lo, hi = X.min(0) - 4 * X.std(0), X.max(0) + 4 * X.std(0)
    axes = [np.linspace(lo[i], hi[i], n) for i in range(2)]
    points = np.stack(np.meshgrid(*axes), -1).reshape(-1, 2)
    energy = model.energy(points)
    cell = np.prod([a[1] - a[0] for a in axes])
    return logsumexp(-energy) + np.log(cell), points, energy


def sampler_distance(model, X, points, energy, n_samples=2000):
    """TV distance between a histogram of model.sample() and the model's
    density (quadrature) on 8 x 8 bins over the data's range; and the
    distance sampling error alone gives (its expectation's upper bound
    0.5 sum sqrt(p (1 - p) / n))."""
    edges = [np.linspace(X[:, i].min(), X[:, i].max(), 9) for i in range(2)]

    def bins(Z):
        idx = [np.clip(np.digitize(Z[:, i], edges[i]) - 1, -1, 8) for i in range(2)]
        flat = np.where((idx[0] < 0) | (idx[0] > 7) | (idx[1] < 0) | (idx[1] > 7),
                        64, idx[0] * 8 + idx[1])  # fmt: skip
        return flat

    p = np.exp(-energy - logsumexp(-energy))
    law = np.bincount(bins(points), weights=p, minlength=65)
    samples = model.sample(n_samples, random_state=0)
    hist = np.bincount(bins(samples), minlength=65) / n_samples
    noise = 0.5 * np.sqrt(law * (1 - law) / n_samples).sum()
    return 0.5 * np.abs(hist - law).sum(), noise


def run(name, X_train, X_test, seeds, params):
    t0 = time.perf_counter()
    gmm = gmm_by_bic(X_train)
    kde = kde_by_cv(X_train)
    peers = {
        f"GaussianMixture (k={gmm.n_components}, {gmm.covariance_type})": gmm.score(
            X_test
        ),
        f"KernelDensity (bandwidth {kde.bandwidth:.3f})": kde.score(X_test)
        / len(X_test),
    }
    scores, times, extra = [], [], []
    for seed in seeds:
        start = time.perf_counter()
        model = EnergyDensity(random_state=seed, **params).fit(X_train)
        times.append(time.perf_counter() - start)
        scores.append(model.score(X_test))
        if X_train.shape[1] == 2:
            exact, points, energy = quadrature_log_z(model, X_train)
            stderr = model.log_partition_stderr_  # 0: a mixture alone, exact
            error = (model.log_partition_ - exact) / stderr if stderr else np.nan
            tv, noise = sampler_distance(model, X_train, points, energy)
            extra.append((model.log_partition_method_, model.log_partition_ - exact,
                          error, tv, noise))  # fmt: skip
    best_peer = max(peers.values())
    mean, sd = np.mean(scores), np.std(scores, ddof=1)
    print(f"\n{name}: {X_train.shape[0]} training rows, {X_train.shape[1]} dims")
    for peer, score in peers.items():
        print(f"  {peer:42s} {score:8.3f}")
    seeds_text = np.round(scores, 3).tolist()
    label = "EnergyDensity " + (str(params) if params else "(defaults)")
    print(f"  {label:42s} {mean:8.3f} ± {sd:.3f}  "
          f"(seeds {seeds_text}, fit {np.mean(times):.1f} s)")  # fmt: skip
    print(f"  EnergyDensity - best peer: {mean - best_peer:+.3f} nats")
    for method, err, z, tv, noise in extra:
        print(f"    log Z ({method}) - quadrature {err:+.4f} ({z:+.1f} SE); "
              f"sample() TV {tv:.3f} (sampling error alone ~ {noise:.3f})")  # fmt: skip
    print(f"  ({time.perf_counter() - t0:.0f} s)")
    return mean - best_peer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one seed, 2-D sets")
    parser.add_argument(
        "--only", choices=["2-D", "tables"], help="the 2-D sets or the tables alone"
    )
    args = parser.parse_args()
    seeds = [0] if args.quick else [0, 1, 2]
    gaps = {}
    if args.only != "tables":
        for name in ("moons", "circles", "8 Gaussians"):
            gaps[name] = run(name, *two_d(name), seeds, {})
        # separated modes: parallel tempering (5 times slower)
        gaps["8 Gaussians, sampler='pt'"] = run(
            "8 Gaussians", *two_d("8 Gaussians"), seeds, {"sampler": "pt"}
        )
    if not args.quick and args.only != "2-D":
        for name in ("wine", "breast cancer"):
            gaps[name] = run(name, *table(name), seeds, {})
    print("\nEnergyDensity minus the best peer (nats per row, higher is better):")
    for name, gap in gaps.items():
        print(f"  {name:26s} {gap:+.3f}")


if __name__ == "__main__":
    main()
