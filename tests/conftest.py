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
