"""Restoration benchmark (issue 19): imputation and denoising of binarised
digits, skebm against scikit-learn's imputers, Hopfield recall and a median
filter, all on the same data and the same masks.

Data: scikit-learn's 8x8 digits, binarised at half intensity, split 70/30
(``random_state=0``). Every imputer is fitted on the same incomplete
training set and fills the same incomplete test set:

(a) 30% of the pixels missing at random;
(b) one random 4x4 patch missing per image.

(c) Denoising: 10% of the test pixels flipped; ``BernoulliRBM.reconstruct``
(trained on the clean training set), one plain pass and five passes with
the flip-noise model (``noise=0.1``), against ``HopfieldNetwork`` recall
(the default storing every training digit, far beyond its capacity of about
0.14 x 64 patterns, and the pseudoinverse rule storing the ten binarised
class means) and a 3x3 median filter.

(d) Real-valued tables (wine, breast cancer, diabetes; 70/30 split): 20% of
the entries missing at random in both sets; the default ``EnergyImputer``
(a standardised ``GaussianBernoulliRBM`` here) against ``SimpleImputer``
(mean), ``KNNImputer`` and ``IterativeImputer``; root mean squared error
over the missing test entries, in training standard deviations.

Pixel error is the fraction of wrong pixels after thresholding at 0.5, over
the missing pixels in (a) and (b) and over all pixels in (c); the mean
absolute error of the fill (probabilities count as such) is printed too.
Run: ``python benchmarks/bench_restoration.py [--seeds 0 1 2]``; each seed
draws new masks and new models, and the table gives mean ± sd.
"""

import argparse
import time

import numpy as np
from scipy.ndimage import median_filter
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.model_selection import train_test_split

from skebm import BernoulliRBM, EnergyImputer, HopfieldNetwork


def digits(return_y=False):
    data = load_digits()
    X = (data.data / 16.0 > 0.5).astype(np.float64)
    split = train_test_split(X, data.target, test_size=0.3, random_state=0)
    return split if return_y else split[:2]


def random_mask(shape, rate, rng):
    return rng.rand(*shape) < rate


def patch_mask(n, rng, side=4):
    mask = np.zeros((n, 8, 8), dtype=bool)
    for i, (r, c) in enumerate(rng.randint(0, 8 - side + 1, size=(n, 2))):
        mask[i, r : r + side, c : c + side] = True
    return mask.reshape(n, 64)


def errors(filled, truth, where):
    wrong = (filled > 0.5) != (truth > 0.5)
    return wrong[where].mean(), np.abs(filled - truth)[where].mean()


def imputers(seed):
    return {
        "EnergyImputer()": EnergyImputer(random_state=seed),
        "SimpleImputer(most_frequent)": SimpleImputer(strategy="most_frequent"),
        "KNNImputer(n_neighbors=5)": KNNImputer(n_neighbors=5),
        "IterativeImputer()": IterativeImputer(random_state=seed),
    }


def imputation(X_train, X_test, mask_train, mask_test, seed):
    rows = {}
    train = np.where(mask_train, np.nan, X_train)
    test = np.where(mask_test, np.nan, X_test)
    for name, imputer in imputers(seed).items():
        t0 = time.perf_counter()
        filled = imputer.fit(train).transform(test)
        rows[name] = (*errors(filled, X_test, mask_test), time.perf_counter() - t0)
    return rows


def denoising(X_train, X_test, y_train, seed):
    rng = np.random.RandomState(seed)
    noisy = np.abs(X_test - (rng.rand(*X_test.shape) < 0.10))
    everywhere = np.ones(X_test.shape, dtype=bool)
    rows = {"noisy input": (*errors(noisy, X_test, everywhere), 0.0)}
    t0 = time.perf_counter()
    rbm = BernoulliRBM(
        n_components=100, learning_rate=0.05, n_iter=30, random_state=seed
    )
    rbm.fit(X_train)
    fit_time = time.perf_counter() - t0
    rows["BernoulliRBM(100).reconstruct"] = (
        *errors(rbm.reconstruct(noisy), X_test, everywhere),
        fit_time,
    )
    rows["  ... (n_steps=5, noise=0.1)"] = (
        *errors(rbm.reconstruct(noisy, n_steps=5, noise=0.1), X_test, everywhere),
        fit_time,
    )
    t0 = time.perf_counter()
    hop = HopfieldNetwork(random_state=seed).fit(X_train)
    rows["HopfieldNetwork().recall"] = (
        *errors(hop.recall(noisy), X_test, everywhere),
        time.perf_counter() - t0,
    )
    # far fewer patterns than units: the ten binarised class means
    prototypes = np.array([X_train[y_train == k].mean(axis=0) > 0.5 for k in range(10)])
    t0 = time.perf_counter()
    hop = HopfieldNetwork("pseudoinverse", random_state=seed).fit(prototypes * 1.0)
    rows["  ... pseudoinverse, 10 prototypes"] = (
        *errors(hop.recall(noisy), X_test, everywhere),
        time.perf_counter() - t0,
    )
    t0 = time.perf_counter()
    med = median_filter(noisy.reshape(-1, 8, 8), size=(1, 3, 3), mode="nearest")
    rows["3x3 median filter"] = (
        *errors(med.reshape(noisy.shape), X_test, everywhere),
        time.perf_counter() - t0,
    )
    return rows


def real_tables(seed):
    """``{table: {imputer: RMSE in sd units}}`` for one seed (part d)."""
    rows = {}
    for name, loader in (("wine", load_wine), ("breast cancer", load_breast_cancer),
                         ("diabetes", load_diabetes)):  # fmt: skip
        X_train, X_test = train_test_split(
            loader(return_X_y=True)[0], test_size=0.3, random_state=0
        )
        rng = np.random.RandomState(seed)
        mask_train = random_mask(X_train.shape, 0.2, rng)
        mask_test = random_mask(X_test.shape, 0.2, rng)
        train = np.where(mask_train, np.nan, X_train)
        test = np.where(mask_test, np.nan, X_test)
        scale = X_train.std(axis=0)
        rows[name] = {}
        for imputer_name, imputer in imputers(seed).items():
            if "most_frequent" in imputer_name:
                imputer, imputer_name = SimpleImputer(), "SimpleImputer(mean)"
            filled = imputer.fit(train).transform(test)
            error = ((filled - X_test) / scale)[mask_test]
            rows[name][imputer_name] = float(np.sqrt(np.mean(error**2)))
    return rows


def report_tables(runs):
    print("\n(d) real-valued tables, 20% missing (RMSE in training sd units)")
    tables = list(runs[0])
    print(f"{'method':30s}" + "".join(f"{t:>22s}" for t in tables))
    for method in runs[0][tables[0]]:
        cells = []
        for table in tables:
            values = np.array([run[table][method] for run in runs])
            cells.append(f"{values.mean():13.3f} ± {values.std():.3f}")
        print(f"{method:30s}" + "".join(f"{c:>22s}" for c in cells))


def report(title, runs):
    print(f"\n{title}")
    print(
        f"{'method':34s} {'pixel error':>17s} {'mean abs error':>17s} {'time (s)':>9s}"
    )
    for name in runs[0]:
        values = np.array([run[name] for run in runs])
        mean, sd = values.mean(axis=0), values.std(axis=0)
        print(
            f"{name:34s} {mean[0]:8.4f} ± {sd[0]:.4f} "
            f"{mean[1]:8.4f} ± {sd[1]:.4f} {mean[2]:9.2f}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    X_train, X_test, y_train, _ = digits(return_y=True)
    print(f"binarised digits: {len(X_train)} training rows, {len(X_test)} test rows")
    runs = {"a": [], "b": [], "c": [], "d": []}
    for seed in args.seeds:
        rng = np.random.RandomState(seed)
        runs["a"].append(
            imputation(
                X_train,
                X_test,
                random_mask(X_train.shape, 0.3, rng),
                random_mask(X_test.shape, 0.3, rng),
                seed,
            )  # fmt: skip
        )
        runs["b"].append(
            imputation(
                X_train,
                X_test,
                patch_mask(len(X_train), rng),
                patch_mask(len(X_test), rng),
                seed,
            )  # fmt: skip
        )
        runs["c"].append(denoising(X_train, X_test, y_train, seed))
        runs["d"].append(real_tables(seed))
    report(
        "(a) 30% of pixels missing at random (error over the missing pixels)", runs["a"]
    )
    report("(b) one 4x4 patch missing per image (error over the patch)", runs["b"])
    report("(c) denoising, 10% of pixels flipped (error over all pixels)", runs["c"])
    report_tables(runs["d"])


if __name__ == "__main__":
    main()
