"""The documentation: the API reference lists every public name, and the
snippets of the user guide run."""

import ast
import doctest
import importlib
import re
from pathlib import Path

import numpy as np
import pytest

from sklopt.utils import all_displays, all_estimators, all_functions
from sklopt.utils.discovery import _API_MODULES

DOCS = Path(__file__).resolve().parents[1] / "docs"
API_RST = DOCS / "api.rst"

# The subpackages whose public names (``__all__``) the API reference lists.
PUBLIC_MODULES = _API_MODULES

_CURRENTMODULE = re.compile(r"^\.\. currentmodule:: (\S+)\s*$")
_AUTODATA = re.compile(r"^\.\. auto(?:data|class|function|exception):: (\w+)\s*$")
_DIRECTIVE = re.compile(r"^\s*\.\. (\S+)::")
_ENTRY = re.compile(r"^   ([A-Za-z_]\w*)\s*$")


def _documented_names(text):
    """``{module: {names}}`` listed in autosummary tables and auto*
    directives of ``text``, under the ``currentmodule`` in effect."""
    documented = {}
    module = None
    in_autosummary = False
    for line in text.splitlines():
        if match := _CURRENTMODULE.match(line):
            module = match.group(1)
            in_autosummary = False
            continue
        if match := _AUTODATA.match(line):
            documented.setdefault(module, set()).add(match.group(1))
            in_autosummary = False
            continue
        if match := _DIRECTIVE.match(line):
            in_autosummary = match.group(1) == "autosummary"
            continue
        if line and not line[0].isspace():
            in_autosummary = False
            continue
        if in_autosummary and (match := _ENTRY.match(line)):
            documented.setdefault(module, set()).add(match.group(1))
    return documented


DOCUMENTED = _documented_names(API_RST.read_text(encoding="utf-8"))


def test_parser_reads_the_api_reference():
    assert "MLPClassifier" in DOCUMENTED["sklopt.neural"]
    assert "OPTIMIZERS" in DOCUMENTED["sklopt.neural"]
    # Options such as :toctree: are not names.
    assert not any(
        name.startswith(":") for names in DOCUMENTED.values() for name in names
    )


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_api_reference_lists_every_public_name(module_name):
    module = importlib.import_module(module_name)
    documented = DOCUMENTED.get(module_name, set())
    missing = sorted(set(module.__all__) - documented)
    assert not missing, (
        f"docs/api.rst does not list {missing} of {module_name}.__all__; add them "
        f"under '.. currentmodule:: {module_name}'."
    )
    stale = sorted(documented - set(module.__all__))
    assert not stale, f"docs/api.rst lists {stale}, which {module_name} does not export"


@pytest.mark.parametrize(
    "discover", [all_estimators, all_displays, all_functions], ids=lambda f: f.__name__
)
def test_api_reference_lists_every_discovered_object(discover):
    found = discover()
    assert found, f"{discover.__name__}() found nothing"
    all_documented = {
        f"{module}.{name}" for module, names in DOCUMENTED.items() for name in names
    }
    missing = []
    for name, obj in found:
        public_module = next(
            module
            for module in PUBLIC_MODULES
            if name in importlib.import_module(module).__all__
        )
        if f"{public_module}.{name}" not in all_documented:
            missing.append(f"{public_module}.{name} ({obj!r})")
    assert not missing, f"docs/api.rst lacks {missing}"


def _pages_with_doctests():
    return sorted(
        path
        for path in DOCS.rglob("*.rst")
        if "_build" not in path.parts
        and "generated" not in path.parts
        and "auto_examples" not in path.parts
        and ">>>" in path.read_text(encoding="utf-8")
    )


PAGES = _pages_with_doctests()


def test_pages_with_doctests_found():
    names = {path.name for path in PAGES}
    assert {"generalization.rst", "persistence.rst", "bootstrap.rst"} <= names


@pytest.mark.parametrize(
    "page", PAGES, ids=[str(path.relative_to(DOCS)) for path in PAGES]
)
def test_documentation_snippets_run(page, monkeypatch, tmp_path):
    """Run the ``>>>`` snippets of a documentation page as doctests."""
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)  # snippets that write files write here
    result = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS,
        verbose=False,
        report=True,
    )
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} snippet(s) of {page.name} failed"


# ---- claims of docs/persistence.rst -------------------------------------------


def _skops_cases():
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    from sklopt import ensemble
    from sklopt.model_selection import BootstrapReplicas

    tree_c, tree_r = DecisionTreeClassifier(max_depth=3), DecisionTreeRegressor()
    return {
        "BootstrapReplicas": (BootstrapReplicas(tree_c, n_rounds=3), "clf"),
        "BaggingClassifier": (
            ensemble.BaggingClassifier(tree_c, n_estimators=3),
            "clf",
        ),
        "BaggingRegressor": (ensemble.BaggingRegressor(tree_r, n_estimators=3), "reg"),
        "AdaBoostClassifier": (ensemble.AdaBoostClassifier(n_estimators=3), "clf"),
        "AdaBoostRegressor": (ensemble.AdaBoostRegressor(n_estimators=3), "reg"),
        "GradientBoostingClassifier": (
            ensemble.GradientBoostingClassifier(n_estimators=3),
            "clf",
        ),
        "GradientBoostingRegressor": (
            ensemble.GradientBoostingRegressor(Ridge(), n_estimators=3),
            "reg",
        ),
        "Pipeline": (
            make_pipeline(StandardScaler(), ensemble.BaggingClassifier(tree_c)),
            "clf",
        ),
    }


@pytest.mark.parametrize("name", sorted(_skops_cases()))
def test_skops_stores_the_estimators_without_a_network(
    name, small_classification, small_regression
):
    sio = pytest.importorskip("skops.io")
    estimator, kind = _skops_cases()[name]
    X, y = small_classification if kind == "clf" else small_regression
    estimator.set_params(
        **{key: 0 for key in estimator.get_params() if key.endswith("random_state")}
    ).fit(X, y)
    data = sio.dumps(estimator)
    untrusted = sio.get_untrusted_types(data=data)
    assert all(t.startswith(("sklearn.", "sklopt.")) for t in untrusted)
    loaded = sio.loads(data, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))


def _documented_trusted_lists():
    """The lists of types to trust that docs/persistence.rst shows, as sorted
    tuples (a list spans one or more lines: ``["a", "b"]``)."""
    text = (DOCS / "persistence.rst").read_text(encoding="utf-8")
    return {
        tuple(sorted(ast.literal_eval(match)))
        for match in re.findall(r'\[\s*"[^\]]*\]', text)
    }


def test_documented_trusted_lists_found():
    lists = _documented_trusted_lists()
    assert ("sklopt.neural._mlp.MLPClassifier",) in lists
    assert len(lists) >= 12


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("case", ["network", "bagging of networks", "pipeline"])
def test_skops_round_trip_of_networks_with_the_documented_types(
    case, small_classification
):
    """persistence.rst: a network, a bagging of networks and a pipeline ending
    in a network load from skops with exactly the types the page lists for
    them, and predict identically. (tests/test_persistence.py checks every
    estimator against its own lists; this checks the page's.)"""
    sio = pytest.importorskip("skops.io")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklopt.ensemble import BaggingClassifier
    from sklopt.neural import MLPClassifier

    X, y = small_classification
    model = MLPClassifier((4,), max_epochs=2, device="cpu", random_state=0)
    if case == "bagging of networks":
        model = BaggingClassifier(model, n_estimators=2, random_state=0)
    elif case == "pipeline":
        model = make_pipeline(StandardScaler(), model)
    model.fit(X, y)
    data = sio.dumps(model)
    needed = tuple(sorted(sio.get_untrusted_types(data=data)))
    assert needed in _documented_trusted_lists(), needed
    loaded = sio.loads(data, trusted=list(needed))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
