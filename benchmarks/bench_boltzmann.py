"""Sequential Gibbs sampling speed of skebm's Boltzmann-machine kernel.

Unit updates per second (chains x units x sweeps / seconds) of full
sequential sweeps over 100, 300 and 1000 fully connected units with 100
chains, for skebm's kernel (``bm_gibbs``: all chains in one call, local
fields updated only when a unit flips, draw thresholds of a sweep drawn in
one vectorised pass) and for a NumPy reference of the same sweep (loop over
units, vectorised over chains: one matrix-vector product and one vectorised
draw per unit). The first ratio is per core: both on one core (BLAS pinned
to one thread). The second is per machine: skebm's two fixed chain blocks on
two threads against the reference at the faster of one and all BLAS
threads.

The machine is a Sherrington-Kirkpatrick-like glass, ``W_ij ~ N(0, s²/n)``,
``b_i ~ N(0, 0.5²)``; ``s`` sets how often units flip, which is what the
kernel's cost depends on, so the flip rate is printed too.

    python benchmarks/bench_boltzmann.py [--quick]
"""

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

import skebm._kernels._boltzmann as kernels
from skebm._kernels._boltzmann import bm_gibbs, bm_gibbs_
from skebm._kernels._rng import seed_state


def machine(n, coupling, seed=0):
    rng = np.random.RandomState(seed)
    W = np.triu(rng.normal(0, coupling / np.sqrt(n), (n, n)), 1)
    return np.ascontiguousarray(W + W.T), rng.normal(0, 0.5, n)


def numpy_sweeps(X, W, b, n_sweeps, rng):
    """The reference: sequential Gibbs sweeps, vectorised over chains."""
    n_chains, n = X.shape
    for _ in range(n_sweeps):
        for i in range(n):
            field = X @ W[i] + b[i]
            X[:, i] = rng.random(n_chains) < 1.0 / (1.0 + np.exp(-field))
    return X


def timed(fn, min_seconds):
    """Best seconds per call over repeats lasting at least ``min_seconds``."""
    fn()  # warm-up (compilation, caches)
    best, total = np.inf, 0.0
    while total < min_seconds:
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        best, total = min(best, dt), total + dt
    return best


def measure(n, n_chains, coupling, min_seconds):
    """Flip rate and seconds per sweep of skebm's kernel (1 and 2 threads)
    and of NumPy (BLAS on 1 and on all threads)."""
    W, b = machine(n, coupling)
    rng = np.random.default_rng(0)
    X0 = (rng.random((n_chains, n)) < 0.5).astype(np.float64)
    # burn in, so both time typical states of the chain
    bm_gibbs_(X0, W, b, 0, 50, seed_state(1, n_chains), None)
    state = seed_state(2, n_chains)
    X = X0.copy()
    bm_gibbs_(X, W, b, 0, 1, state, None)
    flip_rate = np.mean(X != X0)
    # enough sweeps per call to amortise the O(chains n²) field set-up
    n_fast = max(20, 2_000_000_000 // (n_chains * n * n))
    times = {}
    n_slow = 1 if n >= 1000 else 3
    Xn = X0.copy()
    with threadpool_limits(limits=1, user_api="blas"):
        for threads in (1, 2):
            times[threads] = (
                timed(
                    lambda t=threads: bm_gibbs(X, W, b, 0, n_fast, state, t),
                    min_seconds,
                )
                / n_fast
            )
        t_one = timed(lambda: numpy_sweeps(Xn, W, b, n_slow, rng), min_seconds)
    t_all = timed(lambda: numpy_sweeps(Xn, W, b, n_slow, rng), min_seconds)
    return flip_rate, times[1], times[2], t_one / n_slow, t_all / n_slow


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="shorter timings")
    parser.add_argument(
        "--coupling", type=float, default=1.0, help="coupling scale s (default 1)"
    )
    args = parser.parse_args()
    min_seconds = 0.3 if args.quick else 1.5
    n_chains = 100
    kernels._GIBBS_THREAD_WORK = 0  # two threads whenever asked, to time them
    print(
        f"{n_chains} chains, W ~ N(0, {args.coupling}²/n); best of repeats over "
        f"{min_seconds} s. upd/s = unit updates per second. Per core: skebm on "
        "1 thread / numpy with BLAS on 1 thread. Machine: skebm on 2 threads / "
        "numpy at its faster BLAS setting (1 or all threads)."
    )
    print(
        f"{'units':>6s}{'flip rate':>11s}{'skebm 1 thr':>13s}{'skebm 2 thr':>13s}"
        f"{'numpy 1 thr':>13s}{'numpy all':>11s}{'per core':>10s}{'machine':>9s}"
    )
    for n in (100, 300, 1000):
        flip_rate, t1, t2, n1, nall = measure(n, n_chains, args.coupling, min_seconds)
        updates = n_chains * n
        print(
            f"{n:6d}{flip_rate:11.2f}{updates / t1:13.3g}{updates / t2:13.3g}"
            f"{updates / n1:13.3g}{updates / nall:11.3g}{n1 / t1:9.1f}x"
            f"{min(n1, nall) / t2:8.1f}x"
        )


if __name__ == "__main__":
    main()
