"""The mutation catalogue (tests/mutations) still matches the code: every
mutation's ``old`` text occurs exactly once in its file, so a refactor that
moves a mutated line shows up here rather than when the runner is next run."""

import importlib.util
from pathlib import Path

RUNNER = Path(__file__).resolve().parent / "mutations" / "run.py"


def test_every_mutation_applies_to_the_current_code():
    spec = importlib.util.spec_from_file_location("_skebm_mutation_runner", RUNNER)
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    mutations = runner.load_mutations()
    assert len(mutations) > 50  # the catalogue was found
    assert runner.check_mutations(mutations) == []
