"""Behaviour unchanged: every golden scenario (``tests/golden/scenarios.py``)
recomputed and compared with the outputs ``tests/golden/record.py``
recorded.

In the recorded environment (same ``fingerprint.json``: library versions,
BLAS builds, machine, CPU) every array must be identical, bit for bit. In
another environment only the structure is compared (the same outputs, with
the same dtypes and shapes): another BLAS can change the last bits of a
product, flip one draw of a training chain and so move every later
parameter, which no tolerance would absorb. ``SKEBM_GOLDEN_TOLERANT=1``
compares values there anyway: floats to ``rtol=1e-6, atol=1e-9``, discrete
draws or labels in at least 99% of their entries. Each scenario runs with
the kernels forced to one thread and to two: the results may depend on the
seeds only.

``SKEBM_GOLDEN_DIR`` points the test at another directory holding
``outputs.npz`` and ``fingerprint.json``.
"""

import functools
import json
import os

import numpy as np
import pytest
from golden import scenarios

GOLDEN_DIR = os.environ.get(
    "SKEBM_GOLDEN_DIR", os.path.join(os.path.dirname(__file__), "golden")
)
NPZ = os.path.join(GOLDEN_DIR, "outputs.npz")
FINGERPRINT = os.path.join(GOLDEN_DIR, "fingerprint.json")
RTOL, ATOL = 1e-6, 1e-9
MIN_EQUAL_FRACTION = 0.99
HOW_TO_RECORD = "record them with: python tests/golden/record.py"


def _recorded_names():
    """Scenario names found in outputs.npz (read at collection: only the
    archive's directory is read)."""
    if not os.path.exists(NPZ):
        return []
    with np.load(NPZ) as data:
        return sorted({key.split(scenarios.SEP, 1)[0] for key in data.files})


@functools.lru_cache(maxsize=1)
def _recorded():
    """``(scenario -> {output: array}, fingerprint dict)``."""
    if not (os.path.exists(NPZ) and os.path.exists(FINGERPRINT)):
        pytest.fail(
            f"no golden outputs in {GOLDEN_DIR}; {HOW_TO_RECORD}", pytrace=False
        )
    by_scenario = {}
    with np.load(NPZ) as data:
        for key in data.files:
            name, output = key.split(scenarios.SEP, 1)
            by_scenario.setdefault(name, {})[output] = data[key]
    with open(FINGERPRINT, encoding="utf-8") as f:
        fingerprint = json.load(f)
    return by_scenario, fingerprint


@functools.lru_cache(maxsize=1)
def _mode():
    """``("exact" | "tolerant" | "structure", reason)``."""
    recorded = _recorded()[1]
    current = scenarios.environment_fingerprint()
    if os.environ.get("SKEBM_GOLDEN_TOLERANT") == "1":
        return "tolerant", "SKEBM_GOLDEN_TOLERANT=1"
    if current == recorded:
        return "exact", "same environment as recorded"
    keys = recorded.keys() | current.keys()
    changed = sorted(k for k in keys if recorded.get(k) != current.get(k))
    details = ", ".join(
        f"{k}: {recorded.get(k)!r} -> {current.get(k)!r}" for k in changed
    )
    return "structure", f"environment differs from the recorded one ({details})"


def _difference(got, want, mode, discrete):
    """None when ``got`` matches the recorded ``want``, else a description."""
    if got.dtype != want.dtype:
        return f"dtype {got.dtype}, recorded {want.dtype}"
    if got.shape != want.shape:
        return f"shape {got.shape}, recorded {want.shape}"
    if mode == "structure":
        return None
    try:
        if mode == "exact" or want.dtype.kind not in "fc" and not discrete:
            np.testing.assert_array_equal(got, want, strict=True)
        elif discrete:
            fraction = np.mean(got == want) if want.size else 1.0
            if fraction < MIN_EQUAL_FRACTION:
                return (
                    f"only {fraction:.2%} of the {want.size} discrete entries "
                    f"equal the recorded ones (at least "
                    f"{MIN_EQUAL_FRACTION:.0%} required)"
                )
        else:
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    except AssertionError as exc:
        return str(exc).strip()
    return None


SCENARIO_NAMES = list(scenarios.SCENARIOS) + [
    name for name in _recorded_names() if name not in scenarios.SCENARIOS
]


@pytest.mark.parametrize("n_threads", [1, 2], ids=["threads1", "threads2"])
@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_golden(name, n_threads):
    recorded_all, _ = _recorded()
    if name not in scenarios.SCENARIOS:
        pytest.fail(
            f"scenario {name!r} is recorded in {NPZ} but no longer defined in "
            f"tests/golden/scenarios.py; re-record if it was removed on purpose",
            pytrace=False,
        )
    if name not in recorded_all:
        pytest.fail(
            f"scenario {name!r} has no recorded outputs; {HOW_TO_RECORD}",
            pytrace=False,
        )
    if n_threads > scenarios.max_threads():
        pytest.skip(f"{n_threads} threads unavailable here")
    recorded = recorded_all[name]
    mode, reason = _mode()

    got = scenarios.run(name, n_threads=n_threads)

    problems = []
    for key in sorted(recorded.keys() - got.keys()):
        problems.append(f"{name}/{key}: recorded, but no longer produced")
    for key in sorted(got.keys() - recorded.keys()):
        problems.append(f"{name}/{key}: produced, but not recorded")
    for key in sorted(recorded.keys() & got.keys()):
        problem = _difference(got[key], recorded[key], mode, key in got.discrete)
        if problem is not None:
            problems.append(f"{name}/{key} differs: {problem}")
    if problems:
        header = (
            f"{len(problems)} output(s) of scenario {name!r} differ from the "
            f"recording ({mode} comparison: {reason}; {n_threads} thread(s)):"
        )
        pytest.fail("\n".join([header, *problems]), pytrace=False)
