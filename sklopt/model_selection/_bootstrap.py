"""Bootstrap confidence intervals of a metric on fixed predictions."""

import inspect
import warnings

import numpy as np
from scipy import stats
from sklearn import metrics
from sklearn.utils import check_consistent_length

from sklopt.utils._docstrings import fill_doc
from sklopt.utils._random import draw_seeds
from sklopt.utils._validation import (
    Integral,
    Interval,
    Real,
    StrOptions,
    validate_params,
)

# Metric names accepted as strings, as functions metric(y_true, y_pred).
_METRICS = {
    "accuracy": metrics.accuracy_score,
    "balanced_accuracy": metrics.balanced_accuracy_score,
    "f1": metrics.f1_score,
    "precision": metrics.precision_score,
    "recall": metrics.recall_score,
    "matthews_corrcoef": metrics.matthews_corrcoef,
    "roc_auc": metrics.roc_auc_score,
    "average_precision": metrics.average_precision_score,
    "log_loss": metrics.log_loss,
    "brier_score_loss": metrics.brier_score_loss,
    "r2": metrics.r2_score,
    "explained_variance": metrics.explained_variance_score,
    "mean_squared_error": metrics.mean_squared_error,
    "root_mean_squared_error": metrics.root_mean_squared_error,
    "mean_absolute_error": metrics.mean_absolute_error,
}


def _vectorized_r2(y_true, y_pred, axis):
    residual = ((y_true - y_pred) ** 2).sum(axis=axis)
    spread = ((y_true - y_true.mean(axis=axis, keepdims=True)) ** 2).sum(axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            spread == 0, np.where(residual == 0, 1.0, 0.0), 1.0 - residual / spread
        )


# Metrics of 1-D targets computed over all resamples at once (each one
# equal to the scikit-learn function on a single resample).
_VECTORIZED = {
    "accuracy": lambda t, p, axis: (t == p).mean(axis=axis),
    "mean_squared_error": lambda t, p, axis: ((t - p) ** 2).mean(axis=axis),
    "root_mean_squared_error": lambda t, p, axis: np.sqrt(
        ((t - p) ** 2).mean(axis=axis)
    ),
    "mean_absolute_error": lambda t, p, axis: np.abs(t - p).mean(axis=axis),
    "r2": _vectorized_r2,
}

# Bound on the resample indices held at once (scipy's ``batch``).
_MAX_BATCH_ELEMENTS = 2**22


def _resample_statistic(metric, y_true, y_pred):
    """The statistic of resampled row indices (paired resampling): the
    metric of ``y_true[idx]`` and ``y_pred[idx]`` for each row of ``idx``."""
    name = metric if isinstance(metric, str) else None
    fast = _VECTORIZED.get(name) if y_true.ndim == y_pred.ndim == 1 else None
    if fast is not None and y_true.dtype.kind in "biuf" and y_pred.dtype.kind in "biuf":
        y_true_f, y_pred_f = y_true.astype(np.float64), y_pred.astype(np.float64)

        def statistic(idx, axis=-1):
            return fast(y_true_f[idx], y_pred_f[idx], axis)

        return statistic
    func = _METRICS[metric] if name is not None else metric

    def statistic(idx, axis=-1):
        rows = idx.reshape(-1, idx.shape[-1])
        values = [float(func(y_true[row], y_pred[row])) for row in rows]
        return np.asarray(values).reshape(idx.shape[:-1])

    return statistic


def _rng_keyword():
    # scipy >= 1.15 names the source of randomness ``rng``.
    parameters = inspect.signature(stats.bootstrap).parameters
    return "rng" if "rng" in parameters else "random_state"


@fill_doc
@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "metric": [StrOptions(set(_METRICS)), callable],
        "confidence_level": [Interval(Real, 0, 1, closed="neither")],
        "n_resamples": [Interval(Integral, 1, None, closed="left")],
        "method": [StrOptions({"percentile", "basic", "BCa"})],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def score_confidence_interval(
    y_true,
    y_pred,
    *,
    metric,
    confidence_level=0.95,
    n_resamples=9999,
    method="BCa",
    random_state=None,
):
    """Bootstrap confidence interval of a metric of fixed predictions.

    The test samples are resampled with replacement, ``y_true`` and
    ``y_pred`` together (paired), and the metric is recomputed on each
    resample; :func:`scipy.stats.bootstrap` turns the resampled values into
    an interval. The interval covers the uncertainty from the finite test
    set, not from training.

    Read more in the :ref:`User Guide <bootstrap>`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True targets.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_classes)
        Predictions (labels, values, scores or probabilities, as the metric
        expects).
    metric : str or callable
        ``metric(y_true, y_pred) -> float``, or one of the names
        'accuracy', 'balanced_accuracy', 'f1', 'precision', 'recall',
        'matthews_corrcoef', 'roc_auc', 'average_precision', 'log_loss',
        'brier_score_loss', 'r2', 'explained_variance',
        'mean_squared_error', 'root_mean_squared_error',
        'mean_absolute_error' (the scikit-learn functions; accuracy, the
        squared and absolute errors and R^2 are computed for all resamples
        at once).
    confidence_level : float, default=0.95
        Confidence level, in (0, 1).
    n_resamples : int, default=9999
        Number of bootstrap resamples.
    method : {'percentile', 'basic', 'BCa'}, default='BCa'
        Interval type (as in :func:`scipy.stats.bootstrap`): percentile,
        basic (reverse percentile), or bias-corrected and accelerated.
    %(random_state)s

    Returns
    -------
    low : float
        Lower end of the interval.
    high : float
        Upper end of the interval.

    See Also
    --------
    bootstrap_632_score : Bootstrap estimate of a model's score.
    scipy.stats.bootstrap : The resampling engine.

    Notes
    -----
    When every resample gives the same value (for example perfect
    predictions), the interval is that value at both ends.

    References
    ----------
    .. [1] B. Efron and R. Tibshirani, "An Introduction to the Bootstrap",
       Chapman & Hall, 1993.

    Examples
    --------
    >>> import numpy as np
    >>> from sklopt.model_selection import score_confidence_interval
    >>> rng = np.random.RandomState(0)
    >>> y_true = rng.randint(0, 2, 200)
    >>> y_pred = np.where(rng.rand(200) < 0.8, y_true, 1 - y_true)
    >>> low, high = score_confidence_interval(
    ...     y_true, y_pred, metric="accuracy", n_resamples=999, random_state=0)
    >>> bool(low < np.mean(y_true == y_pred) < high)
    True
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    check_consistent_length(y_true, y_pred)
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        if values.dtype.kind in "fc" and not np.isfinite(values).all():
            raise ValueError(f"{name} must be finite; it holds NaN or infinity.")
    n_samples = len(y_true)
    if n_samples < 2:
        raise ValueError(
            f"A bootstrap interval needs at least 2 samples; got {n_samples}."
        )
    statistic = _resample_statistic(metric, y_true, y_pred)
    seed = int(draw_seeds(random_state, 1)[0])
    # A degenerate resampling distribution (all values equal) is handled
    # below; its BCa arithmetic divides zero by zero.
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        result = stats.bootstrap(
            (np.arange(n_samples),),
            statistic,
            n_resamples=n_resamples,
            batch=max(1, _MAX_BATCH_ELEMENTS // n_samples),
            vectorized=True,
            confidence_level=confidence_level,
            method=method,
            **{_rng_keyword(): np.random.default_rng(seed)},
        )
    low, high = result.confidence_interval
    distribution = result.bootstrap_distribution
    if not np.isfinite(distribution).all():
        name = metric if isinstance(metric, str) else getattr(metric, "__name__", "")
        raise ValueError(
            f"The metric {name!r} is undefined (not finite) on "
            f"{np.sum(~np.isfinite(distribution))} of the {n_resamples} bootstrap "
            "resamples (for example resamples that hold a single class), so the "
            "interval is undefined. Use a metric defined on every resample or "
            "more samples."
        )
    if np.ptp(distribution) == 0:
        low = high = distribution[0]
    return float(low), float(high)
