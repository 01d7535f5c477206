"""``import skebm`` stays light: no scikit-learn, no numba, no compilation."""

import pathlib
import subprocess
import sys

import skebm

#: Every kernel module (discovered, so a new one is checked too). Private by
#: nature: what is checked is how the kernels compile, not estimator behaviour.
_KERNEL_MODULES = sorted(
    p.stem
    for p in (pathlib.Path(skebm.__file__).parent / "_kernels").glob("_*.py")
    if p.stem != "__init__"
)


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
        "import skebm, skebm.partition\n"
        "for name in skebm.__all__: getattr(skebm, name)\n"
        "import importlib, numba\n"
        f"mods = {_KERNEL_MODULES!r}\n"
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
        f"for m in {_KERNEL_MODULES!r}:\n"
        "    mod = importlib.import_module('skebm._kernels.' + m)\n"
        "    for name, v in vars(mod).items():\n"
        "        if isinstance(v, numba.core.registry.CPUDispatcher) and "
        "v.__module__ == mod.__name__ and type(v._cache).__name__ == 'NullCache' "
        "and v.targetoptions.get('inline') != 'always':\n"
        "            bad.append(name)\n"
        "print(bad)"
    )
    assert out == "[]"


def test_no_kernel_is_parallel():
    # A cached kernel that calls a cached function containing parallel=True
    # code segfaults when it was compiled in a process that loaded that
    # function from the disk cache (numba #8578; reproduced with numba 0.68:
    # fit in one process, a new method in a second, then that method again
    # in a third). Until that is fixed upstream, kernels stay serial.
    out = _run(
        "import importlib, numba\n"
        "par = []\n"
        f"for m in {_KERNEL_MODULES!r}:\n"
        "    mod = importlib.import_module('skebm._kernels.' + m)\n"
        "    for name, v in vars(mod).items():\n"
        "        if isinstance(v, numba.core.registry.CPUDispatcher) and "
        "v.targetoptions.get('parallel'):\n"
        "            par.append(m + '.' + name)\n"
        "print(par)"
    )
    assert out == "[]"
