"""First-use latency: what a new user waits for while numba compiles.

Each measurement runs in a fresh Python process with an empty numba cache
(``NUMBA_CACHE_DIR`` pointing at a new temporary directory), as on a fresh
install:

- ``rbm``: ``import skebm``, then the first ``fit``, ``transform`` and
  ``score_samples`` of ``BernoulliRBM(n_components=16)`` on 100 x 64 binary
  data (scikit-learn's ``BernoulliRBM`` timed in the same process, as the
  peer that compiles nothing);
- ``demo``: the "kernels ready" step of ``python -m skebm`` (tiny fits of
  every model the demo uses), as the demo runs it (two processes compiling
  side by side, see ``skebm.__main__._compile_kernels``) and in one
  process (whose compile events show where all the compile work goes).

For each it prints the wall times and where the compilation went: numba's
compile events per jitted function, with the time spent in the function
itself (exclusive of the functions it made numba compile) and including
them, and the number of specialisations compiled.

    python benchmarks/bench_cold_start.py [--top 15] [--repeats 1]

The child processes import skebm as installed, or from ``PYTHONPATH`` (a
checkout of another commit, to compare).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from numba.core import event

recorder = event.install_recorder("numba:compile")
buffer = recorder.__enter__().buffer
import skebm
times = {"import": time.perf_counter() - t0}
if sys.argv[1] == "rbm":
    from sklearn.neural_network import BernoulliRBM as SklearnRBM
    X = (np.random.RandomState(0).rand(100, 64) > 0.5).astype(float)
    rbm = skebm.BernoulliRBM(n_components=16, random_state=0)
    for name, call in (("fit", lambda: rbm.fit(X)),
                       ("transform", lambda: rbm.transform(X)),
                       ("score_samples", lambda: rbm.score_samples(X))):
        t = time.perf_counter(); call(); times[name] = time.perf_counter() - t
    t = time.perf_counter()
    peer = SklearnRBM(n_components=16, random_state=0).fit(X)
    peer.transform(X); peer.score_samples(X)
    times["scikit-learn fit+transform+score_samples"] = time.perf_counter() - t
else:
    from skebm.__main__ import _compile_kernels
    parallel = sys.argv[1] == "demo"
    t = time.perf_counter(); _compile_kernels(parallel=parallel)
    label = "two processes" if parallel else "one process"
    times[f"kernels ready ({label})"] = time.perf_counter() - t
stack, exclusive, inclusive, count = [], {}, {}, {}
for ts, ev in buffer:
    name = ev.data["dispatcher"].py_func.__qualname__
    if ev.is_start:
        stack.append([name, ts, 0.0])
        count[name] = count.get(name, 0) + 1
        continue
    name, start, children = stack.pop()
    took = ts - start
    inclusive[name] = inclusive.get(name, 0.0) + took
    exclusive[name] = exclusive.get(name, 0.0) + took - children
    if stack:
        stack[-1][2] += took
print(json.dumps({"times": times, "exclusive": exclusive,
                  "inclusive": inclusive, "count": count}))
"""


def measure(what):
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, what],
            env=env,
            cwd=cache,  # not the checkout: skebm as installed (or PYTHONPATH)
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(what, result, top):
    times = result["times"]
    print(f"\n== {what} (fresh process, empty numba cache)")
    for name, seconds in times.items():
        print(f"  {name:<42s} {seconds:7.2f} s")
    if what == "rbm":
        total = times["fit"] + times["transform"] + times["score_samples"]
        peer = times["scikit-learn fit+transform+score_samples"]
        print(f"  {'skebm fit+transform+score_samples':<42s} {total:7.2f} s")
        print(f"  {'ratio to scikit-learn (same calls)':<42s} {total / peer:7.0f}x")
    exclusive, inclusive, count = (
        result["exclusive"],
        result["inclusive"],
        result["count"],
    )
    print(
        f"  compiled: {len(count)} functions, {sum(count.values())} "
        f"specialisations, {sum(exclusive.values()):.2f} s in all"
        + (" (this process; the other's are not recorded)" if what == "demo" else "")
    )
    print(f"  {'exclusive':>10s} {'inclusive':>10s} {'n':>3s}  function")
    for name in sorted(exclusive, key=exclusive.get, reverse=True)[:top]:
        print(
            f"  {exclusive[name]:9.2f}s {inclusive[name]:9.2f}s "
            f"{count[name]:3d}  {name}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--only", choices=["rbm", "demo", "demo-serial"])
    args = parser.parse_args(argv)
    for what in [args.only] if args.only else ["rbm", "demo", "demo-serial"]:
        runs = [measure(what) for _ in range(args.repeats)]
        # the run with the least total compile time: the others were slowed
        # by whatever else the machine was doing
        best = min(runs, key=lambda r: sum(r["exclusive"].values()))
        report(what, best, args.top)


if __name__ == "__main__":
    main()
