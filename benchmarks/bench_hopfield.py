"""Recall speed of skebm.HopfieldNetwork against plain NumPy, and capacity.

1. Throughput of zero-temperature recall (asynchronous and synchronous) for
   N = 100 ... 4000 units, many probes per call, against a NumPy
   implementation of the same dynamics written here (vectorised over the
   probes: one gathered weight row per probe per unit update for async,
   one BLAS product per step for sync). The async reference replays the
   unit orders skebm drew (``async_sweep_orders``), so both must reach
   the same fixed points, which is checked. Throughput is in unit updates
   per second (a sweep is N updates; each probe runs until a sweep changes
   nothing) and in probes per second.
2. A capacity curve: the fraction of stored patterns recalled exactly from
   a copy with 10% of the units flipped, against the number of patterns
   stored, for the three learning rules and the modern network, saved as a
   figure (needs matplotlib).

    python benchmarks/bench_hopfield.py [--quick] [--figure PATH]

skebm runs with BLAS pinned to one thread (for reproducibility); NumPy's
reference uses the default BLAS threads. The networks are Hebbian, so skebm
recalls on the exact integer counts behind the weights (int16, with
low-rank initial fields); the references use the float64 weights ``coef_``.
"""

import argparse
import time

import numpy as np

from skebm import HopfieldNetwork, ModernHopfieldNetwork
from skebm._kernels._hopfield import TIE_RTOL, async_sweep_orders
from skebm._kernels._rng import probe_states


def bipolar(rng, n, d):
    return np.where(rng.rand(n, d) < 0.5, 1.0, -1.0)


def corrupt(rng, P, fraction):
    return P * np.where(rng.rand(*P.shape) < fraction, -1.0, 1.0)


# ----------------------------------------------------- NumPy references
def loop_async(W, S, orders, tol):
    """The common way: one probe at a time, one unit at a time."""
    S = S.copy()
    n_iter = np.zeros(len(S), dtype=np.int64)
    for r, s in enumerate(S):
        for sweep in range(orders.shape[1]):
            changed = False
            for i in orders[r, sweep]:
                h = W[i] @ s
                new = 1.0 if h > tol else -1.0 if h < -tol else s[i]
                if new != s[i]:
                    s[i] = new
                    changed = True
            n_iter[r] = sweep + 1
            if not changed:
                break
    return S, n_iter


def loop_sync(W, S, max_iter, tol):
    """The common way: one probe at a time, ``s = sign(W s)`` per step."""
    S = S.copy()
    n_iter = np.zeros(len(S), dtype=np.int64)
    for r, s in enumerate(S):
        before = None
        for t in range(max_iter):
            h = W @ s
            new = np.where(h > tol, 1.0, np.where(h < -tol, -1.0, s))
            n_iter[r] = t + 1
            if np.array_equal(new, s):
                break
            if before is not None and np.array_equal(new, before):
                s[:] = new
                break
            before = s.copy()
            s[:] = new
    return S, n_iter


def numpy_async(W, S, orders, tol):
    """Asynchronous recall over all probes at once: at step t each probe
    updates its own unit ``orders[probe, sweep, t]``."""
    S = S.copy()
    n, N = S.shape
    n_iter = np.zeros(n, dtype=np.int64)
    active = np.arange(n)
    for sweep in range(orders.shape[1]):
        if active.size == 0:
            break
        A = S[active]
        rows = np.arange(len(active))
        changed = np.zeros(len(active), dtype=bool)
        idx = orders[active, sweep]
        for t in range(N):
            i = idx[:, t]
            h = np.einsum("ij,ij->i", W[i], A)
            old = A[rows, i]
            new = np.where(h > tol, 1.0, np.where(h < -tol, -1.0, old))
            changed |= new != old
            A[rows, i] = new
        S[active] = A
        n_iter[active] = sweep + 1
        active = active[changed]
    return S, n_iter


def numpy_sync(W, S, max_iter, tol):
    """Synchronous recall, all still-moving probes in one product per step;
    stops a probe at a fixed point or a 2-cycle."""
    S = S.copy()
    n = len(S)
    n_iter = np.zeros(n, dtype=np.int64)
    previous = np.full_like(S, np.nan)
    active = np.arange(n)
    for t in range(max_iter):
        if active.size == 0:
            break
        A = S[active]
        H = A @ W
        new = np.where(H > tol, 1.0, np.where(H < -tol, -1.0, A))
        fixed = (new == A).all(axis=1)
        cycle = (new == previous[active]).all(axis=1) & ~fixed
        previous[active] = A
        S[active] = new
        n_iter[active] = t + 1
        active = active[~fixed & ~cycle]
    return S, n_iter


# -------------------------------------------------------------- speed
def speed(N, n_probes, n_ref, n_loop, rng, max_iter=100):
    p = max(2, int(0.1 * N))
    P = bipolar(rng, p, N)
    probes = corrupt(rng, P[rng.randint(0, p, n_probes)], 0.2)
    net = HopfieldNetwork(max_iter=max_iter, random_state=0).fit(P)
    W = net.coef_
    tol = TIE_RTOL * np.abs(W).sum(axis=1).max()
    rows = []
    for update in ("async", "sync"):
        net.set_params(update=update)
        net.recall(probes[:2])  # warm-up (compilation or cache load)
        t = time.perf_counter()
        states, n_iter, _ = net.recall(probes, return_n_iter=True)
        ours = time.perf_counter() - t
        ours_updates = n_iter.sum() * N / ours
        ref_probes = probes[:n_ref]
        same = True
        rates = []
        for vectorised, n_sub in ((True, n_ref), (False, n_loop)):
            sub = ref_probes[:n_sub]
            if update == "async":
                state = probe_states(sub, net._seed)
                sweeps = int(n_iter[:n_sub].max())
                orders = np.stack(
                    [async_sweep_orders(state, r, N, sweeps) for r in range(n_sub)]
                )
                run = numpy_async if vectorised else loop_async
                t = time.perf_counter()
                ref, ref_iter = run(W, sub, orders, tol)
            else:
                run = numpy_sync if vectorised else loop_sync
                t = time.perf_counter()
                ref, ref_iter = run(W, sub, max_iter, tol)
            theirs = time.perf_counter() - t
            rates.append(ref_iter.sum() * N / theirs)
            same &= np.array_equal(ref, states[:n_sub])
            same &= np.array_equal(ref_iter, n_iter[:n_sub])
        recovered = np.mean(net.predict(probes[:200]) >= 0)
        rows.append(
            (update, N, n_probes, n_iter.mean(), ours_updates, n_probes / ours)
            + (rates[0], ours_updates / rates[0], rates[1], ours_updates / rates[1])
            + (same, recovered)
        )
    return rows


# ----------------------------------------------------------- capacity
def capacity_curve(N, loads, trials, rng):
    makers = {
        "Hebbian": lambda: HopfieldNetwork("hebbian", random_state=0),
        "Storkey": lambda: HopfieldNetwork("storkey", random_state=0),
        "pseudo-inverse": lambda: HopfieldNetwork("pseudoinverse", random_state=0),
        "modern (beta=1)": lambda: ModernHopfieldNetwork(beta=1.0),
    }
    curves = {name: [] for name in makers}
    for p in loads:
        scores = {name: [] for name in makers}
        for _ in range(trials):
            P = bipolar(rng, p, N)
            probes = corrupt(rng, P, 0.1)
            for name, make in makers.items():
                out = make().fit(P).transform(probes)
                if name.startswith("modern"):
                    out = np.where(out > 0, 1.0, -1.0)
                scores[name].append(np.mean((out == P).all(axis=1)))
        for name in makers:
            curves[name].append(np.mean(scores[name]))
    return curves


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--figure", default="hopfield_capacity.png")
    args = parser.parse_args()
    rng = np.random.RandomState(0)

    sizes = (  # N, probes, probes for the vectorised / loop references
        [(100, 2000, 200, 10), (1000, 500, 20, 2)]
        if args.quick
        else [
            (100, 5000, 500, 40),
            (300, 5000, 200, 10),
            (1000, 2000, 50, 10),
            (4000, 500, 8, 4),
        ]
    )
    print(
        "Zero-temperature recall, probes = stored patterns (load 0.1, Hebbian) "
        "with 20% of the units flipped\n"
    )
    print(
        f"{'update':>6s} {'N':>5s} {'probes':>6s} {'sweeps':>6s} "
        f"{'skebm upd/s':>11s} {'probes/s':>9s} | {'vectorised':>10s} "
        f"{'ratio':>6s} | {'loop upd/s':>10s} {'ratio':>6s} | {'same':>5s} "
        f"{'recovered':>9s}"
    )
    for N, n_probes, n_ref, n_loop in sizes:
        for row in speed(N, n_probes, n_ref, n_loop, rng):
            update, N_, n, sweeps, ours, pps, vec, vec_ratio = row[:8]
            loop, loop_ratio, same, rec = row[8:]
            print(
                f"{update:>6s} {N_:>5d} {n:>6d} {sweeps:>6.2f} {ours:>11.3g} "
                f"{pps:>9.0f} | {vec:>10.3g} {vec_ratio:>5.0f}x | {loop:>10.3g} "
                f"{loop_ratio:>5.0f}x | {str(same):>5s} {rec:>9.2f}"
            )

    N = 100
    loads = list(range(2, 41, 2)) if args.quick else list(range(2, 81, 2))
    trials = 2 if args.quick else 5
    t = time.perf_counter()
    curves = capacity_curve(N, loads, trials, rng)
    print(
        f"\nCapacity, N = {N}: fraction of stored patterns recalled exactly "
        f"from 10% flipped units ({time.perf_counter() - t:.1f}s)"
    )
    print(f"{'p':>4s} " + " ".join(f"{name:>16s}" for name in curves))
    for k, p in enumerate(loads):
        if p % 10 == 0 or p == loads[0]:
            print(f"{p:>4d} " + " ".join(f"{c[k]:>16.2f}" for c in curves.values()))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no figure")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        ax.plot(np.array(loads) / N, curve, marker=".", label=name)
    ax.axvline(0.138, color="grey", ls=":", lw=1)
    ax.set_xlabel("load p / N (N = 100 units)")
    ax.set_ylabel("exact recall from 10% noise")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.figure, dpi=120)
    print(f"figure saved to {args.figure}")


if __name__ == "__main__":
    main()
