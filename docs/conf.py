"""Sphinx configuration of the sklopt documentation.

Build: ``make -C docs html`` (warnings are errors). Environment variables:

``SKLOPT_DOCS_PLOT_GALLERY``
    ``1`` (default) runs the example scripts of the gallery and shows their
    figures; ``0`` renders the examples as code only, much faster (CI).
``SKLOPT_DOCS_INTERSPHINX``
    ``1`` links names of Python, NumPy, SciPy, scikit-learn, joblib, pandas,
    matplotlib and PyTorch to their documentation (needs internet); ``0``
    (default) builds offline: such names render as code, unlinked.
"""

import inspect
import os
import re
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")
# The gallery runs the examples in this process: one BLAS/torch thread, as
# tests/test_examples.py runs them (their small networks are fastest that way).
# Set before anything imports torch.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import sklopt  # noqa: E402
from sklopt.utils.discovery import _api_objects, _defined_in_sklopt  # noqa: E402


def _env_flag(name, default):
    value = os.environ.get(name, default).strip().lower()
    if value not in {"0", "1", "true", "false", "yes", "no", "on", "off"}:
        raise ValueError(f"{name} must be 0 or 1; got {os.environ[name]!r}.")
    return value in {"1", "true", "yes", "on"}


PLOT_GALLERY = _env_flag("SKLOPT_DOCS_PLOT_GALLERY", "1")
INTERSPHINX = _env_flag("SKLOPT_DOCS_INTERSPHINX", "0")
EXAMPLES_DIR = ROOT / "examples"
HAS_GALLERY = any((EXAMPLES_DIR / f"README.{ext}").exists() for ext in ("txt", "rst"))

project = "sklopt"
author = "The sklopt developers"
copyright = "2026, the sklopt developers"
release = sklopt.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]
if HAS_GALLERY:
    extensions.append("sphinx_gallery.gen_gallery")

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "auto_examples/*.ipynb",
    "auto_examples/*/*.ipynb",
    "**/sg_execution_times.rst",
    "sg_execution_times.rst",
]
default_role = "literal"
nitpicky = True

# ---- API reference -------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True


def _public_methods():
    """``{"module.Class": [method names]}`` of every public sklopt class, for
    the method table of the class template (only methods sklopt defines or
    overrides; inherited scikit-learn methods such as ``get_params`` are
    documented by scikit-learn)."""
    table = {}
    for module_name, name, obj in _api_objects():
        if not inspect.isclass(obj):
            continue
        methods = []
        for attr in dir(obj):
            if attr.startswith("_"):
                continue
            member = inspect.getattr_static(obj, attr)
            if isinstance(member, property):
                continue
            if callable(getattr(obj, attr)) and _defined_in_sklopt(member):
                methods.append(attr)
        table[f"{module_name}.{name}"] = methods
    return table


autosummary_context = {
    "sklopt_methods": _public_methods(),
    "sklopt_gallery": HAS_GALLERY,
}


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document only the members sklopt defines (inherited ones included)."""
    if what == "class" and not _defined_in_sklopt(obj):
        return True
    return None


# ---- cross-references to other projects ----------------------------------
# Offline (the default) the inventories of other projects are not fetched, so
# references into them cannot resolve and render as code; with
# SKLOPT_DOCS_INTERSPHINX=1 they link where the inventory has the name. Either
# way the build stays warning-free for them: nitpicky mode only has to hold
# for sklopt's own names, which must all resolve.
intersphinx_timeout = 5
intersphinx_mapping = {}
if INTERSPHINX:
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "joblib": ("https://joblib.readthedocs.io/en/stable", None),
        "pandas": ("https://pandas.pydata.org/docs", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable", None),
        "skops": ("https://skops.readthedocs.io/en/stable", None),
        "dask": ("https://docs.dask.org/en/stable", None),
        "distributed": ("https://distributed.dask.org/en/stable", None),
    }
_EXTERNAL = (
    "numpy|np|scipy|sklearn|joblib|pandas|pd|matplotlib|torch|skorch|skops"
    "|dask|distributed|ray|tqdm"
)
_BUILTINS = (
    "int|float|str|bool|bytes|dict|list|tuple|set|object|callable|type"
    "|None|True|False|Exception|ValueError|TypeError|ArithmeticError"
    "|UserWarning|RuntimeWarning|ImportError|KeyboardInterrupt"
)
# The searches subclass scikit-learn's: numpydoc renders their inherited
# properties (classes_, n_features_in_) with scikit-learn's own docstrings,
# whose references point into scikit-learn's documentation.
nitpick_ignore = [
    ("py:obj", "classes_"),
    ("py:obj", "n_features_in_"),
    ("std:term", "fit"),
]
nitpick_ignore_regex = [
    (r"py:.*", rf"({_EXTERNAL})(\..*)?"),
    (r"py:.*", rf"({_BUILTINS})"),
    (r"py:.*", rf"({'|'.join(sorted(sys.stdlib_module_names))})(\..*)?"),
]

# ---- HTML ------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklopt {release}"
html_static_path = ["_static"]
html_css_files = ["sklopt.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 7,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {"index": [], "install": [], "cli": [], "persistence": []}
html_show_sourcelink = True

# ---- doctest (sphinx-build -b doctest) -------------------------------------
doctest_global_setup = "import numpy as np"

# ---- examples gallery --------------------------------------------------------
if HAS_GALLERY:
    sphinx_gallery_conf = {
        "examples_dirs": str(EXAMPLES_DIR),
        "gallery_dirs": "auto_examples",
        "filename_pattern": r"/plot_",
        "plot_gallery": PLOT_GALLERY,
        "within_subsection_order": "FileNameSortKey",
        "download_all_examples": False,
        "remove_config_comments": True,
        "matplotlib_animations": False,
        "image_scrapers": ("matplotlib",),
        "backreferences_dir": "generated/backreferences",
        "doc_module": ("sklopt",),
        "inspect_global_variables": False,
        "reference_url": {"sklopt": None},
        "show_memory": False,
        "write_computation_times": False,
    }

warnings.filterwarnings(
    "ignore", category=UserWarning, message="Matplotlib is currently"
)

_GALLERY_LINE = re.compile(r"^[ \t]*auto_examples/index[ \t]*\n", re.MULTILINE)


def _drop_missing_gallery(app, docname, source):
    """Without an ``examples/`` folder, leave the gallery out of the toctree
    (instead of a warning about a missing document)."""
    if not HAS_GALLERY and docname == "index":
        source[0] = _GALLERY_LINE.sub("", source[0])


def _write_cli_help(app):
    """Write the ``--help`` text of ``sklopt`` and of each subcommand to
    ``generated/cli_commands.inc`` (included by cli.rst), so that the page
    always matches the installed command."""
    import argparse

    from sklopt.cli._main import build_parser

    old_columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"
    try:
        parser = build_parser()
        blocks = [("sklopt", parser.format_help())]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                blocks += [
                    (f"sklopt {name}", sub.format_help())
                    for name, sub in action.choices.items()
                ]
    finally:
        if old_columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old_columns
    lines = []
    for title, text in blocks:
        lines += [f"``{title} --help``", "", ".. code-block:: text", ""]
        lines += [f"   {line}".rstrip() for line in text.rstrip().splitlines()]
        lines.append("")
    out = Path(app.srcdir) / "generated" / "cli_commands.inc"
    out.parent.mkdir(exist_ok=True)
    text = "\n".join(lines)
    if not out.exists() or out.read_text() != text:
        out.write_text(text)


def setup(app):
    app.connect("builder-inited", _write_cli_help)
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.connect("source-read", _drop_missing_gallery)
