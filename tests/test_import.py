"""``import skebm`` stays light: no scikit-learn, no numba, no compilation."""

import subprocess
import sys


def _run(code):
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_import_skebm_loads_nothing_heavy():
    out = _run(
        "import sys, skebm; "
        "print(sorted(m for m in ('numba', 'sklearn', 'scipy') if m in sys.modules))"
    )
    assert out == "[]"


def test_importing_estimators_compiles_no_kernel():
    out = _run(
        "import skebm; from skebm import BernoulliRBM; import skebm.partition\n"
        "import importlib, numba\n"
        "mods = ['_rng', '_blas', '_layers', '_cd', '_ais']\n"
        "n = 0\n"
        "for m in mods:\n"
        "    mod = importlib.import_module('skebm._kernels.' + m)\n"
        "    for v in vars(mod).values():\n"
        "        if isinstance(v, numba.core.registry.CPUDispatcher):\n"
        "            n += len(v.signatures)\n"
        "print(n)"
    )
    assert out == "0"


def test_kernels_are_cached_on_disk():
    out = _run(
        "import importlib, numba\n"
        "bad = []\n"
        "for m in ['_rng', '_layers', '_cd', '_ais']:\n"
        "    mod = importlib.import_module('skebm._kernels.' + m)\n"
        "    for name, v in vars(mod).items():\n"
        "        if isinstance(v, numba.core.registry.CPUDispatcher) and "
        "v.__module__ == mod.__name__ and type(v._cache).__name__ == 'NullCache' "
        "and v.targetoptions.get('inline') != 'always':\n"
        "            bad.append(name)\n"
        "print(bad)"
    )
    assert out == "[]"
