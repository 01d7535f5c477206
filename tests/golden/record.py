"""Record the golden outputs of every scenario in ``scenarios.py``.

Writes ``outputs.npz`` (every output as an exact array, keyed
``"scenario/output"``) and ``fingerprint.json`` (the environment that
produced them) next to this file, or into ``--out``. Run it against the
package whose behaviour is the reference, e.g. a pristine checkout::

    git worktree add /tmp/golden_src HEAD
    PYTHONPATH=/tmp/golden_src python tests/golden/record.py

Each scenario is run with the kernels forced to one thread and to two
(when this machine allows two), and the recording stops if the two differ:
skebm promises results that depend only on the seeds.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/, so that ``golden`` imports

from golden import scenarios  # noqa: E402


def _same(a, b):
    return (
        a.dtype == b.dtype
        and a.shape == b.shape
        and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    )


def _check_kernel_paths():
    """Confirm, on the recorded package, that the scenarios meant to split
    kernels into two blocks do (private helpers: skipped if they moved)."""
    checks = []
    try:
        from skebm._kernels._cd import epoch_blocks

        checks += [
            ("rbm_two_blocks", epoch_blocks(100, 100, 64, 200) == 2),
            ("gaussian_learn_sigma_two_blocks", epoch_blocks(100, 100, 64, 170) == 2),
            ("rbm_default (one block)", epoch_blocks(10, 10, 64, 16) == 1),
            (
                "gaussian_parallel_tempering_two_blocks",
                epoch_blocks(100, 3 * 40, 64, 160) == 2,
            ),
        ]
    except ImportError as exc:  # pragma: no cover - after a refactor
        print(f"  (epoch_blocks not checked: {exc})")
    try:
        from skebm._kernels._boltzmann_train import sml_blocks

        checks.append(("bm_two_blocks", sml_blocks(32, 32, 64, 1) == 2))
    except ImportError as exc:  # pragma: no cover
        print(f"  (sml_blocks not checked: {exc})")
    for name, ok in checks:
        print(f"  kernel path check {name}: {'ok' if ok else 'FAILED'}")
        if not ok:
            raise SystemExit(f"scenario {name} no longer reaches its kernel path")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=HERE, help="directory to write into")
    args = parser.parse_args(argv)

    import skebm

    print(f"skebm {skebm.__version__} from {os.path.dirname(skebm.__file__)}")
    _check_kernel_paths()
    thread_counts = [1, 2] if scenarios.max_threads() >= 2 else [1]
    if thread_counts == [1]:
        print("  only one thread available: the two-thread runs are skipped")

    arrays = {}
    start = time.perf_counter()
    for name in scenarios.SCENARIOS:
        runs = {}
        for n in thread_counts:
            t0 = time.perf_counter()
            runs[n] = scenarios.run(name, n_threads=n)
            elapsed = time.perf_counter() - t0
            print(
                f"  {name:40s} threads={n}  {len(runs[n]):3d} outputs  {elapsed:6.2f} s"
            )
        first = runs[thread_counts[0]]
        for n in thread_counts[1:]:
            if runs[n].keys() != first.keys():
                raise SystemExit(
                    f"{name}: outputs differ in names between thread counts"
                )
            for key in first:
                if not _same(first[key], runs[n][key]):
                    raise SystemExit(
                        f"{name}/{key}: {n} threads give other values than "
                        f"{thread_counts[0]} (results must depend on the seed only)"
                    )
        for key, value in first.items():
            arrays[f"{name}{scenarios.SEP}{key}"] = value
    print(f"all scenarios: {time.perf_counter() - start:.1f} s")

    os.makedirs(args.out, exist_ok=True)
    npz_path = os.path.join(args.out, "outputs.npz")
    json_path = os.path.join(args.out, "fingerprint.json")
    np.savez_compressed(npz_path, **arrays)
    fingerprint = scenarios.environment_fingerprint()
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(fingerprint, f, indent=2, sort_keys=True)
        f.write("\n")
    print(
        f"wrote {len(arrays)} arrays to {npz_path} ({os.path.getsize(npz_path)} bytes)"
    )
    print(f"wrote {json_path}: {json.dumps(fingerprint)}")


if __name__ == "__main__":
    main()
