"""Calibration metrics."""

import numpy as np
from sklearn.utils import check_consistent_length, column_or_1d
from sklearn.utils.multiclass import check_classification_targets

from sklopt.utils._validation import Integral, Interval, validate_params


def _probabilities_2d(y_true, y_prob, labels):
    """Return (label indices of y_true, (n, n_classes) probabilities)."""
    given = np.asarray(y_prob)
    # Rows of probabilities sum to 1 up to the rounding of their dtype (the
    # tolerance of scikit-learn's log_loss).
    tolerance = np.sqrt(
        np.finfo(given.dtype if given.dtype.kind == "f" else np.float64).eps
    )
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if y_prob.ndim not in (1, 2) or y_prob.size == 0:
        raise ValueError(
            "y_prob must be a non-empty array of shape (n_samples,) (binary: "
            f"positive-class probabilities) or (n_samples, n_classes); got shape "
            f"{y_prob.shape}."
        )
    if not np.all(np.isfinite(y_prob)):
        raise ValueError("y_prob must be finite; it holds NaN or infinity.")
    if np.any(y_prob < 0) or np.any(y_prob > 1):
        raise ValueError("y_prob must hold probabilities in [0, 1].")
    if y_prob.ndim == 1:
        y_prob = np.column_stack([1.0 - y_prob, y_prob])
    elif not np.allclose(y_prob.sum(axis=1), 1.0, rtol=0, atol=tolerance):
        raise ValueError(
            "Each row of y_prob must hold class probabilities that sum to 1; got "
            f"row sums from {y_prob.sum(axis=1).min():.6g} to "
            f"{y_prob.sum(axis=1).max():.6g}."
        )
    classes = np.unique(y_true) if labels is None else np.asarray(labels)
    if labels is None and len(classes) != y_prob.shape[1]:
        if len(classes) > y_prob.shape[1]:
            raise ValueError(
                f"y_true holds {len(classes)} classes but y_prob has "
                f"{y_prob.shape[1]} columns."
            )
        raise ValueError(
            f"y_true holds only {len(classes)} of the {y_prob.shape[1]} classes of "
            "y_prob; pass labels= (the classes in column order)."
        )
    if len(classes) != y_prob.shape[1]:
        raise ValueError(
            f"labels has {len(classes)} entries but y_prob has {y_prob.shape[1]} "
            "columns."
        )
    order = np.argsort(classes, kind="stable")
    position = np.searchsorted(classes[order], y_true)
    position = np.clip(position, 0, len(classes) - 1)
    unknown = classes[order][position] != y_true
    if np.any(unknown):
        raise ValueError(
            f"y_true holds labels not in labels: {np.unique(y_true[unknown])[:5]}."
        )
    return order[position], y_prob


@validate_params(
    {
        "y_true": ["array-like"],
        "y_prob": ["array-like"],
        "n_bins": [Interval(Integral, 1, None, closed="left")],
        "labels": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def expected_calibration_error(y_true, y_prob, *, n_bins=15, labels=None):
    """Expected calibration error (ECE) of predicted class probabilities.

    The top-class confidence ``max_k p_ik`` of each sample is put into one of
    ``n_bins`` equal-width bins of ``[0, 1]``; the ECE is the average over bins
    of ``|accuracy - mean confidence|`` weighted by the fraction of samples in
    the bin (Guo et al., 2017):

    .. math::

        \\mathrm{ECE} = \\sum_b \\frac{|B_b|}{n}
            \\left| \\mathrm{acc}(B_b) - \\mathrm{conf}(B_b) \\right|

    Bins are right-closed, ``(lo, hi]``, with 0 in the first bin.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_prob : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted probabilities, columns in the order of ``labels`` (by default
        the sorted unique labels of ``y_true``, as in ``predict_proba`` of an
        estimator whose ``classes_`` are those labels). A 1-D array holds
        the probabilities of the positive (larger) class of a binary problem.
    n_bins : int, default=15
        Number of equal-width confidence bins.
    labels : array-like of shape (n_classes,), default=None
        The classes in the column order of ``y_prob``; needed when ``y_true``
        does not hold every class.

    Returns
    -------
    ece : float
        The expected calibration error, in [0, 1]; 0 is perfectly calibrated.

    References
    ----------
    Guo, Pleiss, Sun and Weinberger, "On Calibration of Modern Neural
    Networks", ICML 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sklopt.metrics import expected_calibration_error
    >>> y_true = np.array([0, 1, 1, 0])
    >>> y_prob = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]])
    >>> round(expected_calibration_error(y_true, y_prob, n_bins=5), 4)
    0.25
    """
    y_true = column_or_1d(y_true)
    check_classification_targets(y_true)
    check_consistent_length(y_true, y_prob)
    true_index, y_prob = _probabilities_2d(y_true, y_prob, labels)
    confidence = y_prob.max(axis=1)
    correct = (y_prob.argmax(axis=1) == true_index).astype(np.float64)
    bins = np.clip(np.ceil(confidence * n_bins).astype(np.intp) - 1, 0, n_bins - 1)
    gap = np.bincount(bins, weights=correct - confidence, minlength=n_bins)
    # |sum of (correct - confidence)| per bin / n  ==  |B|/n * |acc - conf|
    return float(np.abs(gap).sum() / len(y_true))
