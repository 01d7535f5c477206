"""``python -m skebm``: a short tour on scikit-learn's digits (under a minute).

RBM features + logistic regression against logistic regression on raw
pixels, with accuracy and fit time. Later model families extend the table.
"""

import time


def _row(name, score, seconds, note=""):
    print(f"  {name:<44s} {score:>8.3f} {seconds:>9.2f}s  {note}")


def main():
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import BernoulliRBM as SklearnRBM
    from sklearn.pipeline import Pipeline

    from skebm import BernoulliRBM

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    # Nudge each image one pixel in each direction: 5x the training data, as
    # in scikit-learn's RBM example.
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
    y_aug = np.tile(y_train, 5)

    print(
        "skebm demo on scikit-learn's digits "
        f"({len(X_aug)} augmented training images, {len(X_test)} test images)\n"
    )
    print(f"  {'model':<44s} {'accuracy':>8s} {'fit time':>10s}")

    t = time.perf_counter()
    raw = LogisticRegression(C=100.0, max_iter=2000).fit(X_aug, y_aug)
    _row(
        "LogisticRegression on raw pixels",
        raw.score(X_test, y_test),
        time.perf_counter() - t,
    )

    params = dict(n_components=100, learning_rate=0.06, n_iter=10, random_state=0)
    results = {}
    for name, rbm in (
        (
            "skebm.BernoulliRBM -> LogisticRegression",
            BernoulliRBM(**params, log_partition=None),
        ),
        ("sklearn BernoulliRBM -> LogisticRegression", SklearnRBM(**params)),
    ):
        pipe = Pipeline(
            [("rbm", rbm), ("clf", LogisticRegression(C=100.0, max_iter=1000))]
        )
        t = time.perf_counter()
        pipe.fit(X_aug, y_aug)
        results[name] = time.perf_counter() - t
        _row(name, pipe.score(X_test, y_test), results[name])

    # Timing of the RBM alone (the logistic regression is the same for both).
    t = time.perf_counter()
    BernoulliRBM(**params, log_partition=None).fit(X_aug)
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


if __name__ == "__main__":
    main()
