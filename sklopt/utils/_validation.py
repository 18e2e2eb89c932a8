"""The one place where sklopt reaches into scikit-learn's private validation API.

``_fit_context``, ``validate_params``, ``validate_data`` and the constraint
classes are private in scikit-learn; they are imported through
``sklearn-compat`` (which follows their moves across releases) so that an
upstream change touches this file only.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    InvalidParameterError,
    Options,
    RealNotInt,
    StrOptions,
)
from sklearn_compat.base import _fit_context
from sklearn_compat.utils._param_validation import validate_params
from sklearn_compat.utils.validation import validate_data

__all__ = [
    "HasMethods",
    "Hidden",
    "Integral",
    "Interval",
    "InvalidParameterError",
    "Options",
    "Real",
    "RealNotInt",
    "StrOptions",
    "_fit_context",
    "check_finite_1d",
    "validate_data",
    "validate_params",
]


def check_finite_1d(values, name):
    """Return ``values`` as a 1-D float array, or raise a ValueError naming ``name``.

    Parameters
    ----------
    values : array-like of shape (n,)
        The values to check.
    name : str
        The parameter name used in the error message.

    Returns
    -------
    values : ndarray of shape (n,)
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be 1-dimensional; got an array of shape {arr.shape}."
        )
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must hold numbers; got dtype {arr.dtype}.") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; it holds NaN or infinity.")
    return arr
