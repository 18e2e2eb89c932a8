"""The one place where sklopt reaches into scikit-learn's private validation API.

``_fit_context``, ``validate_params``, ``validate_data`` and the constraint
classes are private in scikit-learn; they are imported through
``sklearn-compat`` (which follows their moves across releases) so that an
upstream change touches this file only.

Two of them are wrapped to make bad input fail with a message that names
the culprit:

- :func:`validate_params` names the function and its parameters when it is
  called with an unknown keyword, and keeps the name of a nested estimator
  in the messages of that estimator's parameter checks (scikit-learn's
  decorator renames them after the function, which has no such parameter);
- :func:`validate_data` says that ``X`` (or ``y``) holds non-numeric values
  when the conversion to a number fails (instead of numpy's bare "could not
  convert string to float").
"""

import functools
import inspect
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils import get_tags
from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    InvalidParameterError,
    Options,
    RealNotInt,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import _assert_all_finite
from sklearn_compat.base import _fit_context
from sklearn_compat.utils._param_validation import (
    validate_params as _sklearn_validate_params,
)
from sklearn_compat.utils.validation import validate_data as _sklearn_validate_data

__all__ = [
    "HasMethods",
    "Hidden",
    "Integral",
    "Interval",
    "InvalidParameterError",
    "MetadataRouter",
    "MethodMapping",
    "Options",
    "Real",
    "RealNotInt",
    "StrOptions",
    "_fit_context",
    "_raise_for_params",
    "_routing_enabled",
    "check_finite_1d",
    "check_finite_input",
    "check_sample_weight",
    "check_two_classes",
    "finite_check",
    "process_routing",
    "validate_data",
    "validate_parameter_constraints",
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


def check_sample_weight(sample_weight, n_samples):
    """Return ``sample_weight`` as a float array, or raise a ValueError naming it.

    The weights must be finite, non-negative, one per sample and not all
    zero. None gives ones.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
        The weights to check.
    n_samples : int
        The number of samples they must match.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,), dtype float64
    """
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    weight = check_finite_1d(sample_weight, "sample_weight")
    if len(weight) != n_samples:
        raise ValueError(
            f"sample_weight has {len(weight)} entries but X has {n_samples} "
            "samples; they must match."
        )
    if np.any(weight < 0):
        raise ValueError(
            "sample_weight must be non-negative; it holds negative values."
        )
    if not weight.sum() > 0:
        raise ValueError("sample_weight must have a positive sum; it sums to zero.")
    return weight


def validate_params(parameter_constraints, *, prefer_skip_nested_validation):
    """scikit-learn's ``validate_params`` decorator, with clearer messages.

    Same arguments and checks as :func:`sklearn.utils.validate_params`.
    Calls with an unknown (or a missing) argument raise a TypeError naming
    the function and listing its parameters; an ``InvalidParameterError``
    raised by a nested estimator keeps that estimator's name.

    Parameters
    ----------
    parameter_constraints : dict
        Constraints of each parameter, as for scikit-learn.
    prefer_skip_nested_validation : bool
        Whether nested estimators skip their own parameter validation.

    Returns
    -------
    decorator : callable
    """
    sklearn_decorator = _sklearn_validate_params(
        parameter_constraints,
        prefer_skip_nested_validation=prefer_skip_nested_validation,
    )

    def decorator(func):
        validated = sklearn_decorator(func)
        signature = inspect.signature(func)

        @functools.wraps(validated)
        def wrapper(*args, **kwargs):
            try:
                signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise TypeError(
                    f"{func.__qualname__}() {exc}; its parameters are "
                    f"{list(signature.parameters)}."
                ) from None
            try:
                return validated(*args, **kwargs)
            except InvalidParameterError as exc:
                nested = exc.__cause__
                if isinstance(nested, InvalidParameterError):
                    # The nested estimator's own message names it correctly.
                    raise InvalidParameterError(str(nested)) from nested
                raise

        return wrapper

    return decorator


def _fails_number_conversion(data):
    """Whether ``data`` (not a sparse matrix) cannot be converted to floats."""
    if data is None or isinstance(data, str) or sp.issparse(data):
        return False
    try:
        with warnings.catch_warnings():
            # complex input is refused elsewhere, with its own message
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        return True
    return False


def validate_data(_estimator, /, X="no_validation", y="no_validation", **kwargs):
    """scikit-learn's ``validate_data``, naming the input that holds non-numbers.

    Same arguments and return value as
    :func:`sklearn.utils.validation.validate_data`. When the validation fails
    because ``X`` or ``y`` holds strings (or other values that are not
    numbers) where numbers are needed, the ValueError says which input it is.

    Parameters
    ----------
    _estimator : estimator instance
    X, y : array-like or 'no_validation'
    **kwargs : dict
        Passed on (``reset``, ``dtype``, ``ensure_all_finite``, ...).

    Returns
    -------
    out : ndarray, or tuple of ndarrays
        The validated input(s).
    """
    numeric_y = kwargs.get("y_numeric", False) and not isinstance(y, str)
    try:
        validated = _sklearn_validate_data(_estimator, X=X, y=y, **kwargs)
    except ValueError as exc:
        if kwargs.get("dtype", "numeric") is None:
            raise
        for name, data, numeric in (("X", X, True), ("y", y, numeric_y)):
            if numeric and not isinstance(data, str) and _fails_number_conversion(data):
                raise _non_numeric_error(name, _estimator, exc) from exc
        raise
    # scikit-learn leaves numpy string arrays as they are, even with y_numeric.
    if numeric_y and np.asarray(y).dtype.kind in "US" and _fails_number_conversion(y):
        raise _non_numeric_error("y", _estimator, None)
    return validated


def _non_numeric_error(name, estimator, cause):
    detail = f" ({cause})" if cause is not None else ""
    advice = (
        "targets."
        if name == "y"
        else "input: encode categorical features first, for example with "
        "sklearn.preprocessing.OneHotEncoder in a Pipeline."
    )
    return ValueError(
        f"{name} must hold numbers, but it holds values that cannot be converted "
        f"to float{detail}. {type(estimator).__name__} needs numeric {advice}"
    )


def check_two_classes(y, name, owner):
    """Raise a ValueError naming ``name`` when the labels ``y`` hold fewer than
    two classes (a classifier cannot learn, nor be scored, from one class).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.
    name : str
        The parameter name used in the message (``'y'``, ``'y_train'``).
    owner : str
        The function or estimator named in the message.
    """
    classes = np.unique(np.asarray(y))
    if len(classes) < 2:
        found = f"only one class: {classes[0]!r}" if len(classes) else "no class"
        raise ValueError(
            f"{owner} needs at least 2 classes in {name}, but it holds {found}."
        )


def finite_check(estimator):
    """The ``ensure_all_finite`` value for input passed on to ``estimator``:
    infinity is always an error, NaN only when ``estimator`` cannot handle
    missing values: its tags say so (scikit-learn's trees can), or, for a
    :class:`~sklearn.pipeline.Pipeline`, whose tags do not tell, its first
    step cannot (an imputer first handles NaN for the steps after it); a
    :class:`~sklearn.compose.ColumnTransformer` first step handles NaN when
    each of its transformers does (a ``'passthrough'`` one does not).

    Parameters
    ----------
    estimator : estimator instance

    Returns
    -------
    ensure_all_finite : True or 'allow-nan'
    """
    return "allow-nan" if _handles_nan(estimator) else True


def _handles_nan(estimator):
    if get_tags(estimator).input_tags.allow_nan:
        return True
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps:
        first = steps[0][1]
        return first != "passthrough" and first is not None and _handles_nan(first)
    transformers = getattr(estimator, "transformers", None)
    if isinstance(transformers, list) and transformers:
        # a ColumnTransformer: each of its transformers (and the remainder)
        # gets some of the columns, so each must handle NaN
        parts = [part[1] for part in transformers]
        parts.append(getattr(estimator, "remainder", "drop"))
        return all(
            part == "drop" or (part != "passthrough" and _handles_nan(part))
            for part in parts
        )
    return False


def check_finite_input(X, name, estimator):
    """Raise a ValueError naming ``name`` when the numeric input ``X``, to be
    fitted by clones of ``estimator``, holds infinity (or NaN, which
    ``estimator`` cannot handle: see :func:`finite_check`).

    The one rule of the ensembles (bagging, AdaBoost), ``BootstrapReplicas``
    and the resampling studies, which hand their members what the user gave:
    infinity in numeric input is always an error; NaN is an error unless the
    base estimator accepts it (its ``allow_nan`` tag, or for a Pipeline its
    first step's); non-numeric (object, string) values and columns are left
    to the estimator. The whole input is checked once: a bad row that no
    resample happens to draw would otherwise go unnoticed.

    Parameters
    ----------
    X : {array-like, sparse matrix, DataFrame}
        A DataFrame's numeric columns are checked.
    name : str
        Parameter name used in the message.
    estimator : estimator instance
    """
    if hasattr(X, "select_dtypes"):
        X = X.select_dtypes(include="number")
        if X.shape[1] == 0:
            return
        try:
            values = X.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            return
    else:
        values = X.data if sp.issparse(X) else X
        try:
            values = np.asarray(values)
        except (TypeError, ValueError):
            return
    if values.dtype.kind not in "fc":
        return
    _assert_all_finite(
        values, allow_nan=finite_check(estimator) == "allow-nan", input_name=name
    )
