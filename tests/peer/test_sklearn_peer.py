"""The peer-test runner: its import rewriting, its list of deliberate
differences (mirrored in the docs), and (marker ``peer``) the run itself."""

import ast
import importlib.util
import re
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DIFFERENCES_RST = HERE.parents[1] / "docs" / "user_guide" / "differences.rst"


def _runner():
    spec = importlib.util.spec_from_file_location(
        "run_sklearn_ensemble_tests", HERE / "run_sklearn_ensemble_tests.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rewrite_imports_takes_only_the_ensembles_from_sklopt():
    source = (
        "from sklearn.ensemble import (\n"
        "    AdaBoostClassifier,\n"
        "    BaggingRegressor as BR,\n"
        "    HistGradientBoostingClassifier,\n"
        ")\n"
        "from sklearn.ensemble._gb import _safe_divide\n"
        "def f():\n"
        "    from sklearn.ensemble import RandomForestClassifier\n"
        "    from sklearn.ensemble import GradientBoostingRegressor\n"
        "    return 1\n"
    )
    new, replaced = _runner().rewrite_imports(source)
    assert replaced == [
        "AdaBoostClassifier",
        "BaggingRegressor",
        "GradientBoostingRegressor",
    ]
    imports = {
        (node.module, alias.name, alias.asname)
        for node in ast.walk(ast.parse(new))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert imports == {
        ("sklearn.ensemble", "HistGradientBoostingClassifier", None),
        ("sklopt.ensemble", "AdaBoostClassifier", None),
        ("sklopt.ensemble", "BaggingRegressor", "BR"),
        ("sklearn.ensemble._gb", "_safe_divide", None),
        ("sklearn.ensemble", "RandomForestClassifier", None),
        ("sklopt.ensemble", "GradientBoostingRegressor", None),
    }
    # The function body keeps its indentation: the result compiles.
    compile(new, "<rewritten>", "exec")
    assert "    return 1\n" in new


def test_expected_failures_are_the_documented_differences():
    entries = _runner().load_expected_failures()
    text = DIFFERENCES_RST.read_text()
    start = text.index(".. peer-failures-start")
    text = text[start : text.index(".. peer-failures-end")]
    documented = re.findall(
        r"^   \* - ``([^`]+)``\n     - (.+?)(?=\n   \* - |\n\n|\Z)",
        text,
        flags=re.MULTILINE | re.DOTALL,
    )
    documented = [(test, " ".join(reason.split())) for test, reason in documented]
    assert documented, "no table between the peer-failures markers"
    listed = [(e["test"], " ".join(e["reason"].split())) for e in entries]
    assert documented == listed


@pytest.mark.peer
def test_sklearn_ensemble_tests_pass_with_sklopt():
    assert _runner().main([]) == 0
