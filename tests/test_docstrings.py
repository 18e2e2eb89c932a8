"""numpydoc validation of every public class, method and function.

The public objects are the names in the ``__all__`` of each public
subpackage (the same lists the API reference documents) and the methods
that sklopt defines or overrides on the public classes; methods inherited
unchanged from scikit-learn (``get_params``, ``score`` of the mixins, the
metadata-routing ``set_*_request``) are scikit-learn's to document.
"""

import importlib
import inspect

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

from sklopt.utils.discovery import _api_objects, _defined_in_sklopt  # noqa: E402

# numpydoc's checks we do not enforce, and why:
#   GL01  summary on the line after the opening quotes (we start on the same
#         line, as scikit-learn does)
#   ES01  an extended summary is welcome but not required
#   SA01  a See Also section is welcome but not required
#   RT02  scikit-learn's "self : object" return entries name the value
#   EX01  checked separately: required for classes and functions, not for
#         each method (the class example shows the methods in use)
IGNORED = {"GL01", "ES01", "SA01", "RT02", "EX01"}


def _public_objects():
    """``(import path, kind)`` of each public class, function and method."""
    for module_name, name, obj in _api_objects():
        path = f"{module_name}.{name}"
        if inspect.isclass(obj):
            yield path, "class"
            for attr in sorted(dir(obj)):
                if attr.startswith("_"):
                    continue
                member = inspect.getattr_static(obj, attr)
                if _defined_in_sklopt(member) and (
                    callable(getattr(obj, attr)) or isinstance(member, property)
                ):
                    yield f"{path}.{attr}", "method"
        elif inspect.isfunction(obj):
            yield path, "function"
        # Constants (such as sklopt.neural.OPTIMIZERS) have no docstring of
        # their own; the API reference describes them.


PUBLIC_OBJECTS = sorted(_public_objects())


def _resolve(path):
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:n]))
        except ImportError:
            continue
        for attr in parts[n:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(path)


def test_shared_texts_are_filled_in():
    """No ``%(name)s`` placeholder of utils/_docstrings.py is left unfilled
    (a class that forgot ``@fill_doc``)."""
    unfilled = [
        path
        for path, _ in PUBLIC_OBJECTS
        if "%(" in (inspect.getdoc(_resolve(path)) or "")
    ]
    assert not unfilled


def test_public_objects_found():
    kinds = {kind for _, kind in PUBLIC_OBJECTS}
    assert kinds == {"class", "function", "method"}
    paths = {path for path, _ in PUBLIC_OBJECTS}
    assert "sklopt.neural.MLPClassifier.fit" in paths
    assert "sklopt.model_selection.bias_variance_decomposition" in paths


@pytest.mark.parametrize(
    "path, kind", PUBLIC_OBJECTS, ids=[path for path, _ in PUBLIC_OBJECTS]
)
def test_docstring(path, kind):
    result = numpydoc_validate.validate(path)
    errors = [
        f"{code}: {message}"
        for code, message in result["errors"]
        if code not in IGNORED
    ]
    if kind in ("class", "function"):
        errors += [
            f"{code}: {message}" for code, message in result["errors"] if code == "EX01"
        ]
    assert not errors, f"{path}:\n" + "\n".join(errors)
