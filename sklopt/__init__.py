"""sklopt: deep-learning optimization and generalization as scikit-learn estimators.

Subpackages are imported lazily (PEP 562), so ``import sklopt`` stays fast and
does not import torch; torch loads on first use of :mod:`sklopt.neural`.
"""

import importlib

__version__ = "0.1.0.dev0"

_SUBPACKAGES = (
    "datasets",
    "ensemble",
    "inspection",
    "metrics",
    "model_selection",
    "neural",
    "utils",
)

__all__ = list(_SUBPACKAGES) + ["__version__"]


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
