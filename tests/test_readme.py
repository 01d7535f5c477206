"""The README's promises: its usage example runs and says what it claims,
its two set-up commands are the ones CI runs, and the demo they start
(``python -m skebm``) runs to the end and shows RBM features beating raw
pixels."""

import io
import re
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def _set_up_commands(text):
    section = text.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    ")]


def test_readme_has_one_example_of_about_ten_lines():
    (block,) = _python_blocks(README)
    assert 8 <= len([line for line in block.splitlines() if line.strip()]) <= 12


def test_readme_example_runs_and_prints_accuracy_and_log_probabilities():
    (block,) = _python_blocks(README)
    out = io.StringIO()
    with redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    accuracy, log_p = out.getvalue().split(" ", 1)
    assert 0.9 < float(accuracy) <= 1.0  # held-out
    log_p = float(log_p)  # the mean log p(x) of the held-out digits, in nats
    assert np.isfinite(log_p) and log_p < 0.0


def test_readme_has_exactly_two_set_up_commands_and_ci_runs_the_test_one():
    demo, tests = _set_up_commands(README)
    assert demo == "pip install . && python -m skebm"
    assert tests == 'pip install ".[test]" && python -m pytest'
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci.splitlines()


def test_demo_runs_and_rbm_features_beat_raw_pixels():
    done = subprocess.run(
        [sys.executable, "-m", "skebm"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    accuracy = {
        m.group(1).strip(): float(m.group(2))
        for m in re.finditer(r"^  (\S.*?)\s{2,}(0\.\d+|1\.0+)\s", done.stdout, re.M)
    }
    raw = accuracy["LogisticRegression on raw pixels"]
    assert accuracy["skebm.BernoulliRBM -> LogisticRegression"] > raw + 0.03
    assert accuracy["skebm.DBNClassifier (100, 50), fine-tuned"] > raw + 0.03


def test_demo_warm_up_processes_never_race_on_numba_cache_entries():
    """The demo compiles in two processes side by side; numba's cache index
    is not safe against two processes adding different entries to it at
    once (a later run could load the wrong specialisation's code), so the
    two must add the same entries to every index both write."""
    from skebm.__main__ import _split_conflicts

    assert _split_conflicts() == []
