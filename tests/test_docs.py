"""The API reference (doc/api.rst) lists every public name, and nothing else.

Cheap checks on the documentation sources that need no Sphinx: the full
build (``python -m sphinx -W ... doc doc/_build/html``) runs in CI.
"""

import importlib
import inspect
import re
from pathlib import Path

import pytest

import skebm

DOC = Path(__file__).resolve().parent.parent / "doc"

_DIRECTIVE = re.compile(r"^\.\. ([\w:-]+)::\s*(.*)$")
_DOCUMENTING = {"autoclass", "autofunction", "autodata", "py:data", "data"}


def documented_names(text):
    """Fully qualified names that api.rst documents: the entries of its
    ``autosummary`` blocks and its ``auto*`` directives, each resolved
    against the ``currentmodule`` / ``module`` in force."""
    names = set()
    module = None
    in_autosummary = False
    for line in text.splitlines():
        directive = _DIRECTIVE.match(line)
        if directive:
            kind, argument = directive.groups()
            in_autosummary = kind == "autosummary"
            if kind in ("currentmodule", "module", "py:currentmodule", "py:module"):
                module = argument.strip()
            elif kind in _DOCUMENTING and argument.strip():
                names.add(_qualify(module, argument.strip()))
            continue
        if in_autosummary:
            if line and not line[0].isspace():
                in_autosummary = False
            elif line.strip() and not line.strip().startswith(":"):
                names.add(_qualify(module, line.strip().lstrip("~")))
    return names


def _qualify(module, name):
    if module is None or name.startswith(f"{module}.") or name.startswith("skebm."):
        return name
    return f"{module}.{name}"


def public_names():
    """Every public class or function, as ``skebm.X`` or
    ``skebm.module.X`` for the names in a public submodule's ``__all__``."""
    names = set()
    for name in skebm.__all__:
        if name.startswith("__"):
            continue  # __version__
        obj = getattr(skebm, name)
        if inspect.ismodule(obj):
            for member in getattr(obj, "__all__", []):
                names.add(f"skebm.{name}.{member}")
        else:
            names.add(f"skebm.{name}")
    return names


def _resolve(qualified):
    module_name, _, attr = qualified.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


@pytest.fixture(scope="module")
def api_names():
    return documented_names((DOC / "api.rst").read_text(encoding="utf-8"))


def test_every_public_name_is_in_the_api_reference(api_names):
    missing = sorted(public_names() - api_names)
    assert not missing, (
        f"In skebm.__all__ (or a public submodule's __all__) but not listed in "
        f"doc/api.rst: {missing}. Add each to an autosummary block there."
    )


def test_api_reference_lists_only_existing_names(api_names):
    stale = []
    for name in sorted(api_names):
        try:
            _resolve(name)
        except (ImportError, AttributeError):
            stale.append(name)
    assert not stale, f"doc/api.rst lists names that do not exist: {stale}"


def test_parser_reads_autosummary_blocks():
    text = (
        ".. currentmodule:: skebm\n\n"
        ".. autosummary::\n   :toctree: generated/\n\n   BernoulliRBM\n"
        "   ~partition.exact_log_partition\n\n"
        "Heading\n=======\n\nNotAName\n\n"
        ".. currentmodule:: skebm.partition\n\n"
        ".. autodata:: MAX_EXACT_UNITS\n"
    )
    assert documented_names(text) == {
        "skebm.BernoulliRBM",
        "skebm.partition.exact_log_partition",
        "skebm.partition.MAX_EXACT_UNITS",
    }


def test_gallery_examples_are_gallery_scripts():
    """Each doc/examples/plot_*.py opens with a docstring whose first line
    is an RST title, as sphinx-gallery requires."""
    examples = sorted((DOC / "examples").glob("plot_*.py"))
    assert examples
    for path in examples:
        source = path.read_text(encoding="utf-8")
        assert source.lstrip().startswith('"""'), f"{path.name}: no docstring"
        lines = source.split('"""')[1].strip().splitlines()
        title = lines[1] if set(lines[0]) == {"="} else lines[0]
        underline = lines[2] if set(lines[0]) == {"="} else lines[1]
        assert set(underline) <= set("=-~^*+#") and len(underline) >= len(title), (
            f"{path.name}: the docstring must start with an RST title"
        )


def test_model_family_pages_need_no_index_edit():
    """doc/modules/*.rst is picked up by a glob in the user guide's toctree."""
    text = (DOC / "user_guide.rst").read_text(encoding="utf-8")
    assert ":glob:" in text and "   modules/*" in text
