"""Discover sklopt's public estimators, displays and functions.

Used by the common tests (``parametrize_with_checks`` over every estimator)
and by the docs.
"""

import importlib
import inspect

from sklearn.base import BaseEstimator

_PUBLIC_MODULES = (
    "sklopt.ensemble",
    "sklopt.model_selection",
    "sklopt.neural",
    "sklopt.metrics",
    "sklopt.inspection",
    "sklopt.datasets",
)

#: The subpackages whose ``__all__`` the API reference documents (the docs'
#: ``conf.py`` and the documentation tests read it).
_API_MODULES = (
    "sklopt.neural",
    "sklopt.ensemble",
    "sklopt.model_selection",
    "sklopt.metrics",
    "sklopt.inspection",
    "sklopt.datasets",
    "sklopt.exceptions",
    "sklopt.utils",
)


def _public_objects():
    for module_name in _PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            yield name, getattr(module, name)


def _api_objects():
    """``(module name, name, object)`` of every name the API reference
    documents, in the order of :data:`_API_MODULES`."""
    for module_name in _API_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            yield module_name, name, getattr(module, name)


def _defined_in_sklopt(member):
    """Whether a class member comes from sklopt's code (not from
    scikit-learn's base classes or its generated metadata-routing methods)."""
    func = getattr(member, "__func__", member)
    if isinstance(func, property):
        func = func.fget
    module = getattr(func, "__module__", None) or ""
    return module == "sklopt" or module.startswith("sklopt.")


def all_estimators():
    """List every public sklopt estimator class.

    Returns
    -------
    estimators : list of (name, class) tuples, sorted by name
        The estimator classes in the ``__all__`` of the public subpackages.

    Examples
    --------
    >>> from sklopt.utils import all_estimators
    >>> names = [name for name, _ in all_estimators()]
    >>> isinstance(names, list)
    True
    """
    found = {
        name: obj
        for name, obj in _public_objects()
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator)
    }
    return sorted(found.items())


def all_displays():
    """List every public Display class (names ending in ``Display``).

    Returns
    -------
    displays : list of (name, class) tuples, sorted by name
        The Display classes in the ``__all__`` of the public subpackages.

    Examples
    --------
    >>> from sklopt.utils import all_displays
    >>> all(name.endswith("Display") for name, _ in all_displays())
    True
    """
    found = {
        name: obj
        for name, obj in _public_objects()
        if inspect.isclass(obj) and name.endswith("Display")
    }
    return sorted(found.items())


def all_functions():
    """List every public sklopt function.

    Returns
    -------
    functions : list of (name, function) tuples, sorted by name
        The functions in the ``__all__`` of the public subpackages.

    Examples
    --------
    >>> from sklopt.utils import all_functions
    >>> all(callable(func) for _, func in all_functions())
    True
    """
    found = {name: obj for name, obj in _public_objects() if inspect.isfunction(obj)}
    return sorted(found.items())
