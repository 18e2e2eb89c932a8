"""The bootstrap cross-validation splitter and the .632/.632+ estimators."""

import inspect
import numbers
from functools import partial

import numpy as np
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.utils import Bunch, check_random_state, get_tags, indexable
from sklearn.utils.metaestimators import available_if

from sklopt.utils._docstrings import fill_doc
from sklopt.utils._resampled_fits import (
    Member,
    fit_members,
    row_indexable,
    take_rows,
)
from sklopt.utils._validation import (
    HasMethods,
    Integral,
    Interval,
    InvalidParameterError,
    StrOptions,
    check_finite_input,
    check_two_classes,
    validate_params,
)

# Redrawing stops after this many bootstrap samples without out-of-bag rows.
_MAX_REDRAWS = 1000


@fill_doc
class BootstrapSplit:
    """Bootstrap cross-validator: training rows drawn with replacement.

    Each split draws ``train_size`` training indices with replacement
    (``rng.randint(0, n_samples, train_size)``, or per class when
    stratified); the test indices are exactly the rows that were not drawn,
    sorted and unique (about 36.8% of the rows when ``train_size`` is the
    number of samples). A draw with no out-of-bag row is redrawn, never
    returned with an empty test set. Use it as ``cv=`` of any scikit-learn
    model selection tool.

    Read more in the :ref:`User Guide <bootstrap>`.

    Parameters
    ----------
    n_splits : int, default=100
        Number of bootstrap splits; at least 1.
    train_size : int, float or None, default=None
        Number of training indices drawn per split (an int >= 1, at most the
        number of samples), or that fraction of the samples (a float in
        (0, 1]). None draws as many as there are samples (the ordinary
        bootstrap).
    stratify : bool or array-like of shape (n_samples,), default=None
        None or False: draw from all rows. True: draw within each class of
        the ``y`` passed to :meth:`split`, keeping class counts (a
        class-stratified bootstrap). An array gives the groups to stratify
        on instead of ``y``.
    %(random_state)s
        An int gives the same splits on every call of :meth:`split`; a
        ``RandomState`` instance gives new splits on each call.

    See Also
    --------
    bootstrap_632_score : The .632 and .632+ bootstrap estimates of a score.
    sklearn.model_selection.ShuffleSplit : Random splits without replacement.

    Examples
    --------
    >>> import numpy as np
    >>> from sklopt.model_selection import BootstrapSplit
    >>> X = np.arange(20).reshape(10, 2)
    >>> cv = BootstrapSplit(n_splits=3, random_state=0)
    >>> cv.get_n_splits()
    3
    >>> for train, test in cv.split(X):
    ...     assert len(train) == 10 and not set(train) & set(test)
    >>> train, test = next(cv.split(X))
    >>> train
    array([5, 0, 3, 3, 7, 9, 3, 5, 2, 4])
    >>> test
    array([1, 6, 8])
    """

    def __init__(
        self, n_splits=100, *, train_size=None, stratify=None, random_state=None
    ):
        # Splitters are not estimators: like KFold, they check their
        # arguments when built, and what depends on the data in split().
        if (
            not isinstance(n_splits, numbers.Integral)
            or isinstance(n_splits, bool)
            or n_splits < 1
        ):
            raise InvalidParameterError(
                f"The 'n_splits' parameter of BootstrapSplit must be an int >= 1. "
                f"Got {n_splits!r} instead."
            )
        _check_train_size(train_size)
        self.n_splits = n_splits
        self.train_size = train_size
        self.stratify = stratify
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splits.

        Parameters
        ----------
        X, y, groups : object
            Ignored, for API compatibility.

        Returns
        -------
        n_splits : int
            The number of bootstrap splits.
        """
        return self.n_splits

    def split(self, X, y=None, groups=None):
        """Generate indices of the bootstrap training rows and the out-of-bag rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; only its number of rows is used.
        y : array-like of shape (n_samples,), default=None
            Class labels; needed with ``stratify=True``.
        groups : object
            Ignored, for API compatibility.

        Yields
        ------
        train : ndarray of shape (train_size,)
            Training indices, drawn with replacement (repeats included).
        test : ndarray
            The out-of-bag indices, sorted and unique, never empty.
        """
        X, y = indexable(X, y)
        n_samples = _n_rows(X)
        n_train = self._n_train(n_samples)
        groups = self._strata(y, n_samples)
        if groups is None:
            draw = _plain_draw(n_samples, n_train)
        else:
            draw = _stratified_draw(groups, n_train)
        rng = check_random_state(self.random_state)
        for _ in range(self.n_splits):
            yield _draw_until_out_of_bag(draw, rng, n_samples)

    def _n_train(self, n_samples):
        if n_samples < 2:
            raise ValueError(
                f"BootstrapSplit needs at least 2 samples to leave rows out of "
                f"the bag; got n_samples={n_samples}."
            )
        train_size = self.train_size
        if train_size is None:
            return n_samples
        if isinstance(train_size, numbers.Integral):
            n_train = int(train_size)
        else:
            n_train = int(np.floor(train_size * n_samples))
        if not 1 <= n_train <= n_samples:
            raise ValueError(
                f"train_size={train_size!r} gives {n_train} training rows, "
                f"but it must give between 1 and n_samples={n_samples}."
            )
        return n_train

    def _strata(self, y, n_samples):
        stratify = self.stratify
        if stratify is None or stratify is False:
            return None
        if stratify is True:
            if y is None:
                raise ValueError(
                    "BootstrapSplit(stratify=True) stratifies on the class "
                    "labels y; pass y to split()."
                )
            stratify = y
        stratify = np.asarray(stratify)
        if stratify.ndim != 1 or len(stratify) != n_samples:
            raise ValueError(
                "The labels to stratify on must be 1-D with one entry per sample; "
                f"got shape {stratify.shape} for {n_samples} samples."
            )
        return np.unique(stratify, return_inverse=True)[1]

    def __repr__(self):
        params = inspect.signature(type(self).__init__).parameters
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in list(params)[1:])
        return f"{type(self).__name__}({args})"


def _n_rows(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _check_train_size(train_size):
    if train_size is None:
        return
    if isinstance(train_size, numbers.Integral) and not isinstance(train_size, bool):
        if train_size >= 1:
            return
    elif isinstance(train_size, numbers.Real) and not isinstance(train_size, bool):
        if 0 < train_size <= 1:
            return
    raise InvalidParameterError(
        "The 'train_size' parameter of BootstrapSplit must be None, an int >= 1 "
        f"or a float in the range (0, 1]. Got {train_size!r} instead."
    )


def _plain_draw(n_samples, n_train):
    def draw(rng):
        return rng.randint(0, n_samples, n_train)

    return draw


def _stratified_draw(groups, n_train):
    """A draw of ``n_train`` rows with replacement within each group, the
    group sizes proportional to the group frequencies (largest remainders)."""
    counts = np.bincount(groups)
    if n_train < len(counts):
        raise ValueError(
            f"A stratified bootstrap needs at least one training row per class: "
            f"train_size gives {n_train} rows for {len(counts)} classes."
        )
    quota = counts * n_train / counts.sum()
    sizes = np.floor(quota).astype(int)
    remainder_order = np.argsort(-(quota - sizes), kind="stable")
    sizes[remainder_order[: n_train - sizes.sum()]] += 1
    # Every class keeps at least one training row: a class whose quota rounds
    # to zero takes a row from the class holding the most rows above its quota.
    for k in np.flatnonzero(sizes == 0):
        donor = np.argmax(np.where(sizes > 1, sizes - quota, -np.inf))
        sizes[donor] -= 1
        sizes[k] = 1
    members = [np.flatnonzero(groups == k) for k in range(len(counts))]
    if all(len(rows) == 1 and size >= 1 for rows, size in zip(members, sizes)):
        return None  # every row is always drawn: no out-of-bag row is possible

    def draw(rng):
        train = np.concatenate(
            [
                rows[rng.randint(0, len(rows), size)]
                for rows, size in zip(members, sizes)
            ]
        )
        return train[rng.permutation(len(train))]

    return draw


def _draw_until_out_of_bag(draw, rng, n_samples):
    if draw is not None:
        for _ in range(_MAX_REDRAWS):
            train = draw(rng)
            in_bag = np.zeros(n_samples, dtype=bool)
            in_bag[train] = True
            if not in_bag.all():
                return train, np.flatnonzero(~in_bag)
    raise ValueError(
        "BootstrapSplit could not draw a training sample that leaves any row "
        "out of the bag; use more samples or a smaller train_size."
    )


# --- the .632 and .632+ bootstrap estimators -----------------------------------

# Scorers whose no-information value has a closed form for numeric targets.
_CLOSED_FORM_SCORERS = {
    "neg_mean_squared_error",
    "neg_root_mean_squared_error",
    "neg_mean_absolute_error",
    "r2",
    "explained_variance",
}
# The generic no-information score evaluates the scorer on one (target,
# prediction) pair per distinct target value and sample; beyond this many
# pairs it refuses rather than exhaust memory.
_MAX_PAIRS = 10_000_000


def _has_response(method):
    return lambda self: hasattr(self.estimator, method)


class _FixedResponses:
    """Stands in for a fitted estimator whose responses on ``X`` are computed
    once: each response method takes a column of row numbers of ``X``.

    Lets any scorer evaluate the training predictions, and the pairs of
    (target, prediction) of the no-information rate, without predicting twice.
    """

    def __init__(self, estimator, X):
        self.estimator = estimator
        self.X = X
        self._cache = {}

    def __sklearn_tags__(self):
        return get_tags(self.estimator)

    @property
    def classes_(self):
        return self.estimator.classes_

    def _respond(self, method, rows):
        if method not in self._cache:
            self._cache[method] = np.asarray(getattr(self.estimator, method)(self.X))
        return self._cache[method][np.asarray(rows)[:, 0]]

    @available_if(_has_response("predict"))
    def predict(self, rows):
        return self._respond("predict", rows)

    @available_if(_has_response("predict_proba"))
    def predict_proba(self, rows):
        return self._respond("predict_proba", rows)

    @available_if(_has_response("predict_log_proba"))
    def predict_log_proba(self, rows):
        return self._respond("predict_log_proba", rows)

    @available_if(_has_response("decision_function"))
    def decision_function(self, rows):
        return self._respond("decision_function", rows)


def _resolve_scoring(estimator, scoring):
    """Return (name or None, scorer); None means accuracy or R^2."""
    if scoring is None:
        if is_classifier(estimator):
            scoring = "accuracy"
        elif is_regressor(estimator):
            scoring = "r2"
        else:
            raise ValueError(
                f"{type(estimator).__name__} is neither a classifier nor a "
                "regressor; pass scoring= explicitly."
            )
    name = scoring if isinstance(scoring, str) else None
    return name, check_scoring(estimator, scoring=scoring)


def _pairwise_mean_abs(y, pred):
    """mean over all pairs (i, j) of |y_i - pred_j|, in O(n log n)."""
    y_sorted = np.sort(y)
    cumsum = np.concatenate([[0.0], np.cumsum(y_sorted)])
    below = np.searchsorted(y_sorted, pred)
    n = len(y_sorted)
    total = pred * below - cumsum[below] + (cumsum[-1] - cumsum[below])
    total -= pred * (n - below)
    return total.sum() / (n * len(pred))


def _ratio_or_perfect(numerator, denominator):
    # scikit-learn's force_finite convention for a constant target.
    if denominator == 0:
        return 1.0 if numerator == 0 else 0.0
    return numerator / denominator


def _closed_form_no_information(name, y, pred):
    """The score of all (y_i, pred_j) pairs for the scorers of
    ``_CLOSED_FORM_SCORERS``, per output then averaged, in O(n log n)."""
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    pred = np.asarray(pred, dtype=np.float64).reshape(len(pred), -1)
    scores = []
    for y_k, pred_k in zip(y.T, pred.T):
        var_y, var_pred = y_k.var(), pred_k.var()
        mse = var_y + var_pred + (y_k.mean() - pred_k.mean()) ** 2
        scores.append(
            {
                "neg_mean_squared_error": -mse,
                "neg_root_mean_squared_error": -np.sqrt(mse),
                "neg_mean_absolute_error": -_pairwise_mean_abs(y_k, pred_k),
                "r2": 1.0 - _ratio_or_perfect(mse, var_y),
                "explained_variance": 1.0 - _ratio_or_perfect(var_y + var_pred, var_y),
            }[name]
        )
    return float(np.mean(scores))


def _no_information_score(fixed, y, scorer, name):
    """Score of the model's predictions against targets drawn independently
    of the inputs: the mean over all pairs (y_i, prediction_j) (Efron and
    Tibshirani, 1997), without forming the n^2 pairs.

    Closed forms cover the squared and absolute errors, R^2 and explained
    variance. Any other scorer is evaluated once on the pairs (distinct
    target value, sample j), weighted by the count of that target value:
    O(n_classes * n) for classification.
    """
    n_samples = len(y)
    rows = np.arange(n_samples)[:, None]
    if name in _CLOSED_FORM_SCORERS:
        return _closed_form_no_information(name, y, fixed.predict(rows))
    y = np.asarray(y)
    values, counts = np.unique(y, return_counts=True, axis=0 if y.ndim > 1 else None)
    n_pairs = len(values) * n_samples
    if n_pairs > _MAX_PAIRS:
        raise ValueError(
            f"The no-information score of this scorer needs {n_pairs} "
            "(target, prediction) pairs. For continuous targets use one of "
            f"{sorted(_CLOSED_FORM_SCORERS)} (computed in O(n log n)) or "
            "method='.632'."
        )
    pair_rows = np.tile(rows, (len(values), 1))
    pair_y = np.repeat(values, n_samples, axis=0)
    weights = np.repeat(counts, n_samples)
    try:
        return float(scorer(fixed, pair_rows, pair_y, sample_weight=weights))
    except TypeError as exc:
        if "sample_weight" not in str(exc):
            raise
    # A scorer without sample weights gets every pair spelled out: n^2 rows.
    if n_samples**2 > _MAX_PAIRS:
        raise ValueError(
            f"The no-information score needs the scorer to accept sample_weight, "
            f"or {n_samples**2} (target, prediction) pairs; use a scorer with "
            "sample_weight or method='.632'."
        )
    return float(
        scorer(
            fixed,
            np.repeat(pair_rows, weights, axis=0),
            np.repeat(pair_y, weights, axis=0),
        )
    )


def _632_plus(train_score, oob_score, no_information_score):
    """Efron and Tibshirani's (1997) .632+ rule, written for scores (greater
    is better): the error-rate formulas with err = -score.

    Returns (score, relative over-fitting rate R', weight w).
    """
    # Err1' = min(Err1, gamma): the out-of-bag score is not taken below the
    # no-information score.
    oob_clipped = max(oob_score, no_information_score)
    if oob_score < train_score and no_information_score < train_score:
        rate = (train_score - oob_clipped) / (train_score - no_information_score)
    else:
        rate = 0.0
    weight = 0.632 / (1.0 - 0.368 * rate)
    score_632 = 0.368 * train_score + 0.632 * oob_score
    score = score_632 + (oob_clipped - train_score) * (
        0.368 * 0.632 * rate / (1.0 - 0.368 * rate)
    )
    return score, rate, weight


def _score_out_of_bag(X, y, scorer, fitted, member):
    """Score a round's fitted copy on its out-of-bag rows."""
    test = member.test_rows
    return scorer(fitted, take_rows(X, test), take_rows(y, test))


@fill_doc
@validate_params(
    {
        "estimator": [HasMethods(["fit"])],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "method": [StrOptions({"oob", ".632", ".632+"})],
        "n_splits": [Interval(Integral, 1, None, closed="left")],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "return_details": ["boolean"],
    },
    prefer_skip_nested_validation=False,
)
def bootstrap_632_score(
    estimator,
    X,
    y,
    *,
    method=".632+",
    n_splits=200,
    scoring=None,
    random_state=None,
    n_jobs=None,
    verbose=0,
    return_details=False,
):
    """Bootstrap estimate of a model's score: out-of-bag, .632 or .632+.

    ``n_splits`` clones of ``estimator`` are fitted on the bootstrap samples
    of :class:`BootstrapSplit` and scored on their out-of-bag rows. The
    out-of-bag score is pessimistic (each model sees only about 63.2% of the
    distinct rows); Efron's .632 estimate mixes in the optimistic
    resubstitution score of a model fitted on all data, and the .632+
    estimate (Efron and Tibshirani, 1997) raises the weight of the
    out-of-bag score as the model over-fits more.

    Read more in the :ref:`User Guide <bootstrap>`.

    Parameters
    ----------
    estimator : estimator instance
        Unfitted estimator; cloned, never fitted itself.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Data.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets.
    method : {'oob', '.632', '.632+'}, default='.632+'
        ``'oob'``: mean out-of-bag score. ``'.632'``: ``0.368 * train +
        0.632 * oob``. ``'.632+'``: see Notes.
    n_splits : int, default=200
        Number of bootstrap samples.
    scoring : str, callable or None, default=None
        A scikit-learn scorer name or callable ``scorer(estimator, X, y)``
        (greater is better). None: accuracy for classifiers, R^2 for
        regressors.
    %(random_state)s
    %(n_jobs)s
    %(verbose)s
    return_details : bool, default=False
        Return a Bunch with the parts of the estimate instead of a float.

    Returns
    -------
    score : float
        The estimate (a score: accuracy by default, that is 1 - error).
    details : Bunch
        With ``return_details=True``: ``score``, ``method``, ``oob_score``
        (mean out-of-bag score), ``split_scores`` (per split),
        ``train_score`` (resubstitution), ``no_information_score``,
        ``relative_overfitting_rate`` (R'), ``weight`` (w); the parts
        ``method`` does not need are None.

    See Also
    --------
    BootstrapSplit : The bootstrap splitter, for ``cv=``.
    score_confidence_interval : Bootstrap confidence interval of a metric.

    Notes
    -----
    In error terms (err = -score), with ``err_train`` the resubstitution
    error of the model fitted on all data, ``err_oob`` the mean out-of-bag
    error over the splits and ``gamma`` the no-information error (the mean
    error over all pairs of a target and a prediction, i.e. with inputs and
    targets independent)::

        err_.632  = 0.368 err_train + 0.632 err_oob
        err_oob'  = min(err_oob, gamma)
        R'        = (err_oob' - err_train) / (gamma - err_train)
                    if err_oob > err_train and gamma > err_train, else 0
        err_.632+ = err_.632 + (err_oob' - err_train)
                               * 0.368 * 0.632 R' / (1 - 0.368 R')

    so R' lies in [0, 1], the weight ``w = 0.632 / (1 - 0.368 R')`` in
    [0.632, 1], and the .632+ estimate between the .632 and the out-of-bag
    estimates. These are Efron and Tibshirani's formulas written for any
    score; ``err_oob`` is the mean of the per-split out-of-bag scores, so
    that scorers which do not average over samples (AUC, F1) work too.

    The no-information score costs O(n log n) for the squared and absolute
    errors, R^2 and explained variance, and O(n_classes * n) for any
    classification scorer (one evaluation on the weighted pairs of class
    and prediction); it is never computed over n^2 pairs.

    References
    ----------
    .. [1] B. Efron, "Estimating the Error Rate of a Prediction Rule:
       Improvement on Cross-Validation", JASA 78, 1983.
    .. [2] B. Efron and R. Tibshirani, "Improvements on Cross-Validation:
       The .632+ Bootstrap Method", JASA 92, 1997.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sklopt.model_selection import bootstrap_632_score
    >>> X, y = load_iris(return_X_y=True)
    >>> tree = DecisionTreeClassifier(random_state=0)
    >>> oob = bootstrap_632_score(tree, X, y, method="oob", n_splits=20,
    ...                           random_state=0)
    >>> plus = bootstrap_632_score(tree, X, y, n_splits=20, random_state=0)
    >>> plain = bootstrap_632_score(tree, X, y, method=".632", n_splits=20,
    ...                             random_state=0)
    >>> bool(oob <= plus <= plain)
    True
    """
    X, y = indexable(row_indexable(X), y)
    check_finite_input(X, "X", estimator)
    if is_classifier(estimator):
        check_two_classes(y, "y", "bootstrap_632_score with a classifier")
    name, scorer = _resolve_scoring(estimator, scoring)
    splits = BootstrapSplit(n_splits, random_state=random_state).split(X, y)
    # Each round is fitted on its bootstrap sample (rows repeated) and
    # scored on its out-of-bag rows where it was fitted.
    scores = fit_members(
        clone(estimator),
        X,
        y,
        (Member(rows=train, test_rows=test) for train, test in splits),
        n_members=n_splits,
        respond=partial(_score_out_of_bag, X, y, scorer),
        n_jobs=n_jobs,
        verbose=verbose,
        batched=False,
        owner="bootstrap_632_score",
        items="bootstrap splits",
        verb="fit",
    )
    split_scores = np.fromiter(scores, dtype=np.float64, count=n_splits)
    details = Bunch(
        score=None,
        method=method,
        oob_score=float(split_scores.mean()),
        split_scores=split_scores,
        train_score=None,
        no_information_score=None,
        relative_overfitting_rate=None,
        weight=None,
    )
    if method == "oob":
        details.score = details.oob_score
    else:
        fitted = clone(estimator).fit(X, y)
        fixed = _FixedResponses(fitted, X)
        rows = np.arange(_n_rows(X))[:, None]
        details.train_score = float(scorer(fixed, rows, y))
        if method == ".632":
            details.weight = 0.632
            details.score = 0.368 * details.train_score + 0.632 * details.oob_score
        else:
            details.no_information_score = _no_information_score(fixed, y, scorer, name)
            score, rate, weight = _632_plus(
                details.train_score, details.oob_score, details.no_information_score
            )
            details.update(
                score=float(score), relative_overfitting_rate=rate, weight=weight
            )
    return details if return_details else details.score
