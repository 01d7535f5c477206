import os

import numpy as np
import pytest

#: One place for the test seed; override with SKEBM_TEST_SEED to explore.
SEED = int(os.environ.get("SKEBM_TEST_SEED", "20261123"))


def pytest_report_header(config):
    return f"skebm test seed: {SEED} (set SKEBM_TEST_SEED to change)"


@pytest.fixture
def rng():
    return np.random.RandomState(SEED)


@pytest.fixture
def seed():
    return SEED


# Hypothesis profiles for tests/test_properties.py. "default" is small and
# derandomized (the same examples on every run, no example database), so CI
# is deterministic and the module stays under a minute; run more with
# ``pytest --hypothesis-profile=thorough``. The plugin loads a profile named
# on the command line after this file is imported, so loading "default" here
# only takes effect when no profile was chosen.
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is only needed by test_properties.py
    pass
else:
    _slow = [HealthCheck.too_slow, HealthCheck.data_too_large]
    settings.register_profile(
        "default",
        max_examples=5,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=_slow,
        print_blob=True,
    )
    settings.register_profile(
        "thorough",
        max_examples=500,
        deadline=None,
        suppress_health_check=_slow,
        print_blob=True,
    )
    if settings.get_current_profile_name() == "default":
        settings.load_profile("default")
