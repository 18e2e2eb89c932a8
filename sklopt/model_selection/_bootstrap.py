"""Bootstrap confidence intervals of a metric on fixed predictions."""

import inspect
import warnings

import numpy as np
from scipy import stats
from sklearn import metrics
from sklearn.utils import check_consistent_length
from sklearn.utils.multiclass import unique_labels

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


# Regression metrics computed over all resamples at once (each one equal to
# the scikit-learn function on a single resample).
_VECTORIZED_REGRESSION = {
    "mean_squared_error": lambda t, p, axis: ((t - p) ** 2).mean(axis=axis),
    "root_mean_squared_error": lambda t, p, axis: np.sqrt(
        ((t - p) ** 2).mean(axis=axis)
    ),
    "mean_absolute_error": lambda t, p, axis: np.abs(t - p).mean(axis=axis),
    "r2": _vectorized_r2,
}

# Bound on the resample indices held at once (scipy's ``batch``).
_MAX_BATCH_ELEMENTS = 2**22


def _ratio(numerator, denominator):
    """``numerator / denominator``, 0 where the denominator is 0 (the value
    of scikit-learn's ``zero_division='warn'``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator == 0, 0.0, numerator / denominator)


def _confusion_statistic(name, y_true, y_pred):
    """Accuracy, or binary precision/recall/F1 of the positive label 1 (the
    scikit-learn defaults) from per-resample confusion counts; None when the
    labels are not binary with a label 1 (scikit-learn's function decides)."""
    if y_true.ndim != 1 or y_pred.ndim != 1:
        return None
    if name == "accuracy":
        correct = np.asarray(y_true == y_pred, dtype=np.float64)
        return lambda idx: correct[idx].mean(axis=-1)
    labels = unique_labels(y_true, y_pred)
    if labels.dtype.kind not in "biuf" or len(labels) != 2 or not (labels == 1).any():
        return None
    true_pos, pred_pos = y_true == 1, y_pred == 1
    hits = (true_pos & pred_pos).astype(np.int64)
    true_pos, pred_pos = true_pos.astype(np.int64), pred_pos.astype(np.int64)

    def statistic(idx):
        tp = hits[idx].sum(axis=-1)
        if name == "precision":
            return _ratio(tp, pred_pos[idx].sum(axis=-1))
        if name == "recall":
            return _ratio(tp, true_pos[idx].sum(axis=-1))
        return _ratio(2 * tp, true_pos[idx].sum(axis=-1) + pred_pos[idx].sum(axis=-1))

    return statistic


def _counts_per_group(idx, groups, n_groups):
    """``out[..., g]``: how many entries of each resample (row of ``idx``)
    fall in group ``groups[i] == g``."""
    rows = idx.reshape(-1, idx.shape[-1])
    flat = groups[rows] + n_groups * np.arange(len(rows))[:, None]
    out = np.bincount(flat.ravel(), minlength=len(rows) * n_groups)
    return out.reshape(*idx.shape[:-1], n_groups)


def _roc_auc_statistic(y_true, y_score):
    """Binary ROC AUC from ranks: the Mann-Whitney probability that a
    positive scores above a negative, ties counted 1/2 (equal to the area
    under scikit-learn's ROC curve); NaN for a resample with one class."""
    classes = np.unique(y_true)
    if y_score.ndim != 1 or len(classes) != 2:
        return None
    levels, groups = np.unique(y_score, return_inverse=True)
    # one group per (score level, class): negatives even, positives odd
    groups = 2 * groups + (y_true == classes[1])
    n_groups = 2 * len(levels)

    def statistic(idx):
        counts = _counts_per_group(idx, groups, n_groups)
        neg, pos = counts[..., 0::2], counts[..., 1::2]
        # negatives strictly below each level, plus half of those on it
        below = np.cumsum(neg, axis=-1) - neg
        wins = (pos * (below + 0.5 * neg)).sum(axis=-1)
        pairs = (pos.sum(axis=-1) * neg.sum(axis=-1)).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(pairs == 0, np.nan, wins / pairs)

    return statistic


def _log_loss_statistic(y_true, y_proba):
    """Mean of the per-sample log losses (probabilities clipped to [eps,
    1 - eps] as scikit-learn does), with the classes of the whole y_true."""
    if y_true.ndim != 1:
        return None
    classes, codes = np.unique(y_true, return_inverse=True)
    proba = np.asarray(y_proba)
    if proba.dtype.kind not in "f":
        proba = proba.astype(np.float64)
    if proba.ndim == 1:
        proba = np.column_stack([1 - proba, proba])
    if proba.shape[1] != len(classes):
        return None
    eps = np.finfo(proba.dtype).eps
    true_proba = np.clip(proba, eps, 1 - eps)[np.arange(len(codes)), codes]
    losses = -np.log(true_proba).astype(np.float64)
    return lambda idx: losses[idx].mean(axis=-1)


def _vectorized_statistic(name, y_true, y_pred):
    """A function of resample indices ``idx`` (..., n) giving the metric of
    each resample at once, or None where only the per-resample call of the
    scikit-learn function applies."""
    if name in ("accuracy", "f1", "precision", "recall"):
        return _confusion_statistic(name, y_true, y_pred)
    if name == "roc_auc":
        return _roc_auc_statistic(y_true, y_pred)
    if name == "log_loss":
        return _log_loss_statistic(y_true, y_pred)
    fast = _VECTORIZED_REGRESSION.get(name)
    if (
        fast is None
        or not y_true.ndim == y_pred.ndim == 1
        or y_true.dtype.kind not in "biuf"
        or y_pred.dtype.kind not in "biuf"
    ):
        return None
    y_true_f, y_pred_f = y_true.astype(np.float64), y_pred.astype(np.float64)
    return lambda idx: fast(y_true_f[idx], y_pred_f[idx], -1)


def _resample_statistic(metric, y_true, y_pred):
    """The statistic of resampled row indices (paired resampling): the
    metric of ``y_true[idx]`` and ``y_pred[idx]`` for each row of ``idx``."""
    name = metric if isinstance(metric, str) else None
    fast = _vectorized_statistic(name, y_true, y_pred) if name else None
    if fast is not None:

        def statistic(idx, axis=-1):
            return fast(idx)

        return statistic
    func = _METRICS[metric] if name is not None else metric

    def statistic(idx, axis=-1):
        rows = idx.reshape(-1, idx.shape[-1])
        values = [float(func(y_true[row], y_pred[row])) for row in rows]
        return np.asarray(values).reshape(idx.shape[:-1])

    return statistic


def _positive_scores(metric, y_true, y_pred):
    """The positive class's column of binary (n, 2) probabilities for the
    metrics that score one column (as scikit-learn's scorers do)."""
    if (
        metric in ("roc_auc", "average_precision", "brier_score_loss")
        and y_pred.ndim == 2
        and y_pred.shape[1] == 2
        and y_true.ndim == 1
        and len(np.unique(y_true)) <= 2
    ):
        return y_pred[:, 1]
    return y_pred


class ConfidenceInterval(tuple):
    """A bootstrap confidence interval that unpacks as ``(low, high)``.

    Returned by :func:`score_confidence_interval`. It is a tuple of the two
    ends, so ``low, high = score_confidence_interval(...)`` and
    ``tuple(result) == (low, high)`` hold, and it also carries the metric on
    the whole test set and the bootstrap standard error.

    Parameters
    ----------
    low : float
        Lower end of the interval.
    high : float
        Upper end of the interval.
    estimate : float
        The metric on all the samples.
    standard_error : float
        Standard deviation of the metric over the bootstrap resamples
        (``ddof=1``).
    confidence_level : float
        The confidence level of the interval.

    Attributes
    ----------
    low : float
        Lower end of the interval (``result[0]``).
    high : float
        Upper end of the interval (``result[1]``).
    estimate : float
        The metric on all the samples.
    standard_error : float
        Bootstrap standard error of the metric.
    confidence_level : float
        The confidence level of the interval.

    See Also
    --------
    score_confidence_interval : Computes it.

    Examples
    --------
    >>> from sklopt.model_selection import ConfidenceInterval
    >>> ci = ConfidenceInterval(0.8, 0.9, estimate=0.85, standard_error=0.025,
    ...                         confidence_level=0.95)
    >>> low, high = ci
    >>> (low, high, ci.estimate)
    (0.8, 0.9, 0.85)
    """

    def __new__(cls, low, high, *, estimate, standard_error, confidence_level):
        interval = super().__new__(cls, (low, high))
        interval.estimate = estimate
        interval.standard_error = standard_error
        interval.confidence_level = confidence_level
        return interval

    def __getnewargs_ex__(self):
        keywords = {
            "estimate": self.estimate,
            "standard_error": self.standard_error,
            "confidence_level": self.confidence_level,
        }
        return tuple(self), keywords

    @property
    def low(self):
        """Lower end of the interval."""
        return self[0]

    @property
    def high(self):
        """Upper end of the interval."""
        return self[1]

    def __repr__(self):
        return (
            f"ConfidenceInterval(low={self.low!r}, high={self.high!r}, "
            f"estimate={self.estimate!r}, standard_error={self.standard_error!r}, "
            f"confidence_level={self.confidence_level!r})"
        )


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
        expects). For 'roc_auc', 'average_precision' and 'brier_score_loss'
        with binary ``y_true``, the second column of (n_samples, 2)
        probabilities (``predict_proba``) is the positive class's score.
    metric : str or callable
        ``metric(y_true, y_pred) -> float``, or one of the names
        'accuracy', 'balanced_accuracy', 'f1', 'precision', 'recall',
        'matthews_corrcoef', 'roc_auc', 'average_precision', 'log_loss',
        'brier_score_loss', 'r2', 'explained_variance',
        'mean_squared_error', 'root_mean_squared_error',
        'mean_absolute_error' (the scikit-learn functions with their
        defaults). Accuracy, binary f1/precision/recall (positive label 1),
        binary roc_auc, log_loss, the squared and absolute errors and R^2
        are computed for all resamples at once (see Notes); the others and
        callables are called once per resample.
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
    interval : ConfidenceInterval
        A tuple ``(low, high)`` of floats (``low, high =
        score_confidence_interval(...)`` unpacks it) with the attributes
        ``estimate`` (the metric on all samples), ``standard_error`` (the
        standard deviation of the resampled metric) and
        ``confidence_level``.

    See Also
    --------
    bootstrap_632_score : Bootstrap estimate of a model's score.
    scipy.stats.bootstrap : The resampling engine.

    Notes
    -----
    When every resample gives the same value (for example perfect
    predictions), the interval is that value at both ends.

    The metrics computed for all resamples at once give the scikit-learn
    function's value on each resample up to floating-point rounding (a
    relative 1e-12), hence the same interval as the per-resample calls for
    the same ``random_state``: confusion counts per resample for accuracy,
    precision, recall and F1 (0 where scikit-learn's ``zero_division``
    gives 0); for ROC AUC the probability that a positive outscores a
    negative, ties counted one half, from per-resample counts at each score
    level; for the log loss the mean of the per-sample losses. The log loss
    of a resample lacking a class uses the classes of the whole ``y_true``
    (scikit-learn's function would need ``labels``). At 9,999 resamples of
    143 samples this takes about as long as accuracy, instead of one
    scikit-learn call per resample (see ``benchmarks/README.md``).

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
    >>> ci = score_confidence_interval(
    ...     y_true, y_pred, metric="accuracy", n_resamples=999, random_state=0)
    >>> low, high = ci
    >>> bool(low < ci.estimate < high), ci.estimate == np.mean(y_true == y_pred)
    (True, True)
    >>> bool(0.02 < ci.standard_error < 0.04)
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
    y_pred = _positive_scores(metric, y_true, y_pred)
    # The metric on all samples: scikit-learn's own checks of the input run
    # here, before any resampling.
    func = _METRICS[metric] if isinstance(metric, str) else metric
    estimate = float(func(y_true, y_pred))
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
    return ConfidenceInterval(
        float(low),
        float(high),
        estimate=estimate,
        standard_error=float(result.standard_error),
        confidence_level=confidence_level,
    )
