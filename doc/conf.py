"""Sphinx configuration of the skebm documentation.

Build (from the repository root, no network needed)::

    python -m sphinx -W --keep-going -b html doc doc/_build/html

Links to the Python, NumPy, SciPy and scikit-learn docs (intersphinx) need
their inventories from the web, so they are opt-in: set
``SKEBM_DOCS_INTERSPHINX=1`` to turn them on.
"""

import logging
import os
import re
import sys
import warnings
from pathlib import Path

# Document the checkout this file belongs to, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import skebm  # noqa: E402

project = "skebm"
author = "the skebm developers"
copyright = "2026, the skebm developers"
release = skebm.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
# examples/ holds the gallery's sources; sphinx-gallery renders them into
# auto_examples/.
exclude_patterns = ["_build", "examples", "Thumbs.db", ".DS_Store"]
# The user guide lists ``modules/rbm`` first and then globs ``modules/*`` for
# the other model-family pages; while there are none the glob is empty (see
# ``_EmptyModulesGlob`` below).
root_doc = "index"
# ``x`` in single backticks is an object reference (numpydoc style), so that
# parameter descriptions can say `BernoulliRBM` and get a link.
default_role = "autolink"

# -- API reference -------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": False, "inherited-members": False}
autodoc_typehints = "none"
# The class template (``_templates/autosummary/class.rst``) documents the
# methods a class defines itself and only names the ones it inherits from
# scikit-learn: their docstrings point into scikit-learn's own docs, which
# would be unresolved references here.
numpydoc_show_class_members = False


def _sklearn_inherited_methods():
    """``{"skebm.Name": [methods it inherits from scikit-learn]}``.

    Autosummary's ``inherited_members`` counts everything not defined in the
    class body, which would file the methods our estimators share through
    skebm base classes (``fit``, ``score_samples`` of both RBMs) under
    scikit-learn's; the template uses this instead.
    """
    import inspect

    import skebm

    out = {}
    for name in skebm.__all__:
        obj = getattr(skebm, name)
        if not inspect.isclass(obj):
            continue
        inherited = []
        for attr in dir(obj):
            owner = next((k for k in obj.__mro__ if attr in vars(k)), None)
            if owner is not None and not owner.__module__.startswith("skebm"):
                inherited.append(attr)
        out[f"skebm.{name}"] = inherited
    return out


autosummary_context = {"sklearn_inherited": _sklearn_inherited_methods()}
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# Docstring checks that fail the build (warnings are errors): every
# parameter documented and no unknown one, sections known and in order,
# returns described, a summary line.
numpydoc_validation_checks = {
    "GL06",  # unknown section
    "GL07",  # sections in the wrong order
    "GL08",  # no docstring
    "PR01",  # parameter not documented
    "PR02",  # documented parameter that does not exist
    "PR03",  # parameters in the wrong order
    "PR04",  # parameter without a type
    "PR07",  # parameter without a description
    "RT01",  # no Returns section
    "RT03",  # return value without a description
    "SS01",  # no summary
}

# -- Cross-links to other projects (opt-in: needs the network) -----------------
intersphinx_mapping = {}
if os.environ.get("SKEBM_DOCS_INTERSPHINX", "") not in ("", "0"):
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
    }

# -- Gallery -------------------------------------------------------------------
sphinx_gallery_conf = {
    # Every doc/examples/plot_*.py is executed and rendered; a new example
    # needs no edit here.
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skebm",),
    "backreferences_dir": "generated/backreferences",
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "show_memory": False,
    "min_reported_time": 1,
    # No sg_execution_times.rst in the source tree.
    "write_computation_times": False,
}

# Examples run with the non-interactive backend; matplotlib's notice that
# plt.show() does nothing there is expected.
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="(Matplotlib is currently using agg|FigureCanvasAgg is non-interactive)",
)

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skebm {release}"
html_static_path = []
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "from_sklearn": []}
html_show_sourcelink = False


# -- Docstring fix-ups -----------------------------------------------------------
# numpydoc type lines such as ``feature_names_in_ : ndarray of shape
# (n_features_in_,)`` (scikit-learn's wording) would make docutils read
# ``n_features_in_`` as a hyperlink reference. Escape the trailing underscore of
# bare names on the type side of "name : type" lines, before numpydoc parses
# them.
_TYPE_LINE = re.compile(r"^(\s*[\w*, ]+ : )(.*)$")
_BARE_NAME = re.compile(r"(?<![`\w\\])([A-Za-z]\w*_)(?![\w`])")


def _escape_type_underscores(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        match = _TYPE_LINE.match(line)
        if match:
            head, kind = match.groups()
            lines[i] = head + _BARE_NAME.sub(lambda m: m.group(1)[:-1] + r"\_", kind)


class _EmptyModulesGlob(logging.Filter):
    """Drop Sphinx's warning that the ``modules/*`` glob matched nothing (it
    has no warning type, so ``suppress_warnings`` cannot reach it)."""

    def filter(self, record):
        message = record.getMessage()
        return not ("glob pattern" in message and "'modules/*'" in message)


def setup(app):
    logging.getLogger("sphinx.sphinx.directives.other").addFilter(_EmptyModulesGlob())
    # Before numpydoc's own handler (priority 500).
    app.connect("autodoc-process-docstring", _escape_type_underscores, priority=400)
