"""Loss, bias and variance as scikit-learn scorers of replicated estimators."""

import numpy as np
from sklearn.utils.validation import check_consistent_length

from sklopt.model_selection._rounds import (
    _encode_labels,
    _log_terms,
    _squared_terms,
    _zero_one_terms,
)
from sklopt.utils._validation import StrOptions, validate_params

_BIAS_NAME = {"squared": "bias2", "0-1": "bias", "log": "bias"}


def _members_terms(loss, estimator, X, y):
    """Per-sample decomposition terms of a fitted replicated estimator."""
    y = np.asarray(y)
    if y.dtype.kind in "fc" and not np.isfinite(y).all():
        raise ValueError("y must be finite; it holds NaN or infinity.")
    if loss == "log":
        proba = estimator.predict_proba_members(X)
        classes = np.asarray(estimator.classes_)
        y_codes = _encode_labels(np.asarray(y).ravel(), classes)
        if np.any(y_codes < 0):
            unknown = np.unique(np.asarray(y).ravel()[y_codes < 0])
            raise ValueError(
                f"y holds labels {unknown.tolist()} that are not among the "
                f"estimator's classes_ {classes.tolist()}; the log-loss is "
                "undefined for them."
            )
        return _log_terms(proba, y_codes)
    members = np.asarray(estimator.predict_members(X))
    if loss == "squared":
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"loss='squared' needs numeric targets; y could not be used: {exc}"
            ) from exc
        if y.ndim == 2 and y.shape[1] == 1 and members.ndim == 2:
            y = y.ravel()
        return _squared_terms(members.astype(np.float64), y)
    y = np.asarray(y).ravel()
    classes = np.unique(np.concatenate([members.ravel(), y]))
    codes = _encode_labels(members, classes)
    return _zero_one_terms(codes, _encode_labels(y, classes), len(classes))


class _BiasVarianceScorer:
    """A scorer ``scorer(estimator, X, y, sample_weight=None)`` returning minus
    one term of the bias-variance decomposition on ``(X, y)`` (greater is
    better), for estimators with ``predict_members``."""

    def __init__(self, loss, term):
        self.loss = loss
        self.term = term

    def __call__(self, estimator, X, y, sample_weight=None):
        check_consistent_length(X, y, sample_weight)
        if not hasattr(estimator, "predict_members"):
            raise TypeError(
                "bias-variance scorers need an estimator with predict_members "
                "(BootstrapReplicas, sklopt's bagging ensembles); got "
                f"{type(estimator).__name__}."
            )
        if not getattr(estimator, "_members_are_replicas", True):
            raise TypeError(
                "bias-variance scorers need members that are replicas of one "
                f"model; the members of {type(estimator).__name__} are boosting "
                "stages fitted in sequence, whose spread is no variance."
            )
        terms = _members_terms(self.loss, estimator, X, y)
        return -float(np.average(terms[self.term], weights=sample_weight))

    def __repr__(self):
        return f"bias_variance_scorers(loss={self.loss!r})['neg_{self.term}']"


@validate_params(
    {"loss": [StrOptions({"squared", "0-1", "log"})]},
    prefer_skip_nested_validation=True,
)
def bias_variance_scorers(loss="squared"):
    """Make scorers of the expected loss, bias and variance of replicated estimators.

    Each scorer reads ``predict_members(X)`` (``predict_proba_members`` for
    ``'log'``) of a fitted estimator, such as :class:`BootstrapReplicas` or
    sklopt's bagging ensembles, and returns minus one term of the
    decomposition on ``(X, y)``, averaged over samples (weighted when
    ``sample_weight`` is passed). The dict goes straight into
    ``cross_validate(scoring=...)`` or ``GridSearchCV(scoring=...,
    refit='neg_loss')``.

    Parameters
    ----------
    loss : {'squared', '0-1', 'log'}, default='squared'
        Loss to decompose, as in :func:`bias_variance_decomposition`.

    Returns
    -------
    scorers : dict of str to callable
        ``'neg_loss'``, ``'neg_bias2'`` (squared) or ``'neg_bias'`` ('0-1',
        'log'), and ``'neg_variance'``; greater is better. Without noise-free
        targets, the bias term contains the noise.

    See Also
    --------
    BootstrapReplicas : Makes any estimator scorable with these scorers.
    bias_variance_decomposition : The same numbers on one train/test split.

    Notes
    -----
    Every scorer calls ``predict_members`` itself, so the replicas predict
    once per scorer.

    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from sklopt.model_selection import BootstrapReplicas, bias_variance_scorers
    >>> X, y = make_friedman1(n_samples=120, noise=1.0, random_state=0)
    >>> search = GridSearchCV(
    ...     BootstrapReplicas(DecisionTreeRegressor(random_state=0), n_rounds=10,
    ...                       random_state=0),
    ...     {"estimator__max_depth": [1, 4]}, scoring=bias_variance_scorers(),
    ...     refit="neg_loss", cv=3).fit(X, y)
    >>> search.cv_results_["mean_test_neg_bias2"].shape
    (2,)
    """
    terms = ("loss", _BIAS_NAME[loss], "variance")
    return {f"neg_{term}": _BiasVarianceScorer(loss, term) for term in terms}
