"""Shared machinery of the ensembles: base-estimator checks, per-member seeds,
row and feature draws, and the single routine that fits the members of a
bagging ensemble, one by one or, for neural networks, all at once as one
batched model (:func:`_fit_members`)."""

import numbers
import warnings
from collections.abc import Sequence
from contextlib import nullcontext

import numpy as np
from joblib import effective_n_jobs
from sklearn import config_context
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.random import sample_without_replacement
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from sklopt.exceptions import TrainingInterruptedWarning
from sklopt.utils._batching import resolve_batched
from sklopt.utils._random import MAX_SEED
from sklopt.utils._validation import check_finite_1d, finite_check, validate_data


def _random_state_keys(estimator):
    """Sorted names of the ``random_state`` parameters of ``estimator``,
    nested ones included."""
    return [
        key
        for key in sorted(estimator.get_params(deep=True))
        if key == "random_state" or key.endswith("__random_state")
    ]


def _set_random_states(estimator, random_state, keys=None):
    """Set every ``random_state`` parameter of ``estimator`` (nested ones
    included) to an integer drawn from ``random_state``.

    Keys are visited in sorted order, so that the same ``random_state`` gives
    the same integers as scikit-learn's ensembles, which use this scheme.
    ``keys`` (from :func:`_random_state_keys`) saves looking them up again.
    """
    rng = check_random_state(random_state)
    keys = _random_state_keys(estimator) if keys is None else keys
    if keys:
        estimator.set_params(**{key: int(rng.randint(MAX_SEED)) for key in keys})
    return estimator


def _make_member(estimator, random_state, keys=None):
    """Clone ``estimator`` and seed its random_state parameters."""
    return _set_random_states(clone(estimator), random_state, keys)


def _validated_once(round_index):
    """Context for fitting the members of one boosting round.

    The first round's members validate their parameters in ``fit``; later
    rounds clone the same parameters (only ``random_state`` differs), so they
    skip that check (scikit-learn's gradient boosting likewise builds its
    trees without re-validating them).
    """
    if round_index == 0:
        return nullcontext()
    return config_context(skip_parameter_validation=True)


def _warn_interrupted(ensemble, n_done, what, stacklevel=5):
    """Warn that a KeyboardInterrupt ended ``ensemble.fit`` after ``n_done``
    complete ``what`` (members or boosting rounds), which the ensemble keeps."""
    warnings.warn(
        f"{type(ensemble).__name__}.fit was interrupted (KeyboardInterrupt) after "
        f"{n_done} of n_estimators={ensemble.n_estimators} {what}; the ensemble "
        "keeps the complete ones and predicts with them.",
        TrainingInterruptedWarning,
        stacklevel=stacklevel,
    )


def _validate_base_estimator(estimator, default, *, kind, owner):
    """Return a clone of ``estimator`` (or of ``default``), checking that it is a
    classifier or a regressor as ``kind`` asks.

    Estimators whose type cannot be told (no estimator type tag) are accepted.
    """
    if isinstance(estimator, type):
        raise TypeError(
            f"The 'estimator' parameter of {owner} must be an estimator instance; "
            f"got the class {estimator.__name__}. Pass {estimator.__name__}() "
            "instead."
        )
    try:
        base = clone(default if estimator is None else estimator)
    except TypeError as exc:
        raise TypeError(
            f"The 'estimator' parameter of {owner} must be a scikit-learn "
            f"compatible estimator (with get_params); {exc}"
        ) from exc
    wrong = is_regressor(base) if kind == "classifier" else is_classifier(base)
    if wrong:
        raise ValueError(
            f"The 'estimator' parameter of {owner} must be a {kind}; got "
            f"{type(base).__name__}."
        )
    return base


class _BaseEstimatorMixin:
    """Base-estimator handling shared by the ensembles.

    Subclasses set ``_default_estimator`` (a callable giving the default base)
    and ``_kind`` (``'classifier'`` or ``'regressor'``: what the base must be).
    Input tags (sparse input, NaN) are forwarded from the base estimator.
    """

    _default_estimator = None
    _kind = None

    def _base_or_default(self):
        return self._default_estimator() if self.estimator is None else self.estimator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        base_tags = get_tags(self._base_or_default())
        tags.input_tags.sparse = base_tags.input_tags.sparse
        tags.input_tags.allow_nan = base_tags.input_tags.allow_nan
        return tags

    def _validate_estimator(self):
        """Set ``estimator_``, the validated unfitted base."""
        self.estimator_ = _validate_base_estimator(
            self.estimator,
            self._default_estimator(),
            kind=self._kind,
            owner=type(self).__name__,
        )

    def _validate_fit_X_y(self, X, y, **kwargs):
        """``validate_data`` for fit: sparse input and NaN as the base allows."""
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            dtype=None,
            ensure_all_finite=finite_check(self),
            **kwargs,
        )
        return self._numeric_objects(X), y

    def _validate_predict_X(self, X):
        """Check that the ensemble is fitted and validate X against the fit."""
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=None,
            ensure_all_finite=finite_check(self),
            reset=False,
        )
        return self._numeric_objects(X)

    def _numeric_objects(self, X):
        """Raise the base estimator's TypeError for an object array holding
        values that are neither numbers, strings nor None (a dict, a list).

        The members see subsets of the rows (bootstrap samples, resampling,
        subsampling), so such a value would otherwise be noticed only when a
        member happens to draw its row. Strings and None are left to the
        base estimator (a pipeline may encode or impute them).
        """
        if isinstance(X, np.ndarray) and X.dtype == object:
            try:
                X.astype(np.float64)
            except TypeError:
                if not all(
                    v is None or isinstance(v, (str, bytes, numbers.Number))
                    for v in X.flat
                ):
                    raise
            except ValueError:
                pass  # strings: the base estimator decides
        return X


def _supports_sample_weight(estimator):
    """Whether ``estimator.fit`` accepts ``sample_weight``."""
    return has_fit_parameter(estimator, "sample_weight")


def _check_sample_weight(sample_weight, n_samples):
    """Return ``sample_weight`` as a float array of shape (n_samples,) (ones when
    None), or raise a ValueError naming the parameter."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    sample_weight = check_finite_1d(sample_weight, "sample_weight")
    if sample_weight.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has {sample_weight.shape[0]} entries; X has "
            f"{n_samples} rows."
        )
    if np.any(sample_weight < 0):
        raise ValueError("sample_weight must not hold negative values.")
    if sample_weight.sum() <= 0:
        raise ValueError(
            "sample_weight must not be all zero (a positive sum is needed)."
        )
    return sample_weight


def _check_classification_y(y, owner):
    """Check classification targets; return ``(classes, y_encoded)``.

    Raises a ValueError when ``y`` holds fewer than two classes.
    """
    check_classification_targets(y)
    classes, y_encoded = np.unique(y, return_inverse=True)
    if classes.shape[0] < 2:
        raise ValueError(
            f"{owner} needs at least two classes in y; got only one class "
            f"({classes[0]!r})."
        )
    return classes, y_encoded


def _class_columns(member, classes):
    """Column indices in ``classes`` of a fitted member's ``classes_``.

    A member fitted on a bootstrap sample may have seen only some classes.
    """
    member_classes = getattr(member, "classes_", None)
    if member_classes is None:
        return np.arange(len(classes))
    return np.searchsorted(classes, member_classes)


def _partition_estimators(n_estimators, n_jobs):
    """Split ``n_estimators`` into at most ``n_jobs`` contiguous chunks.

    Returns the list of ``(start, stop)`` pairs.
    """
    n_jobs = max(1, min(effective_n_jobs(n_jobs), n_estimators))
    sizes = np.full(n_jobs, n_estimators // n_jobs, dtype=int)
    sizes[: n_estimators % n_jobs] += 1
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def _resolve_max_samples(max_samples, n_samples, bootstrap):
    """Turn ``max_samples`` (int or fraction) into a number of rows."""
    if isinstance(max_samples, (int, np.integer)):
        n_draw = int(max_samples)
    else:
        n_draw = max(1, int(max_samples * n_samples))
    if not bootstrap and n_draw > n_samples:
        raise ValueError(
            f"max_samples={max_samples!r} asks for {n_draw} rows, more than the "
            f"{n_samples} rows of X; without replacement (bootstrap=False) at most "
            f"{n_samples} can be drawn."
        )
    return n_draw


def _resolve_max_features(max_features, n_features):
    """Turn ``max_features`` (int or fraction) into a number of columns."""
    if isinstance(max_features, (int, np.integer)):
        if max_features > n_features:
            raise ValueError(
                f"max_features={max_features} is larger than the number of "
                f"features in X ({n_features})."
            )
        return int(max_features)
    return max(1, int(max_features * n_features))


def _draw_indices(rng, bootstrap, n_population, n_draw, p=None):
    """Draw ``n_draw`` indices out of ``n_population``, with replacement when
    ``bootstrap`` (probabilities ``p`` when given)."""
    if p is not None:
        return rng.choice(n_population, n_draw, replace=bootstrap, p=p)
    if bootstrap:
        return rng.randint(0, n_population, n_draw)
    return sample_without_replacement(n_population, n_draw, random_state=rng)


def _draw_member_indices(seed, settings):
    """Feature then row indices of one bagging member, drawn from its seed.

    The order of the draws (features first, then rows, both from
    ``RandomState(seed)``) follows scikit-learn's bagging, so that the same
    ``random_state`` draws the same samples.
    """
    rng = np.random.RandomState(seed)
    features = _draw_indices(
        rng,
        settings["bootstrap_features"],
        settings["n_features"],
        settings["max_features"],
    )
    rows = _draw_indices(
        rng,
        settings["bootstrap"],
        settings["n_samples"],
        settings["max_samples"],
        p=settings["row_probabilities"],
    )
    return rows, features


class _DrawnRows(Sequence):
    """The row indices of members, drawn from their seeds when accessed.

    Stands for the list ``[_draw_member_indices(seed, settings)[0] for seed in
    seeds]`` without holding it: the rows of all members together take
    ``n_estimators x n_samples`` integers, while a fit needs one member's at a
    time. Slices are lazy too (and pickle small, for joblib workers).
    """

    def __init__(self, seeds, settings):
        self.seeds = list(seeds)
        self.settings = settings

    def __len__(self):
        return len(self.seeds)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return _DrawnRows(self.seeds[index], self.settings)
        return _draw_member_indices(self.seeds[index], self.settings)[0]


def _member_X(X, features):
    """The columns of X that a bagging member uses (X itself when it uses all
    of them, in order)."""
    n_features = X.shape[1]
    if len(features) == n_features and np.array_equal(features, np.arange(n_features)):
        return X
    return X[:, features]


# --- fitting the members of a bagging ensemble ----------------------------------


def _resolve_batched(
    batched, estimator, features=None, n_features=None, *, verbose=0, owner=None
):
    """Decide whether the members are trained as one batched model (see
    :func:`sklopt.utils._batching.resolve_batched`): besides the base
    estimator's settings and device, the members must see the same columns.
    """
    extra = None
    if features is not None:
        all_columns = np.arange(n_features)
        if any(not np.array_equal(f, all_columns) for f in features):
            extra = (
                "the members use different feature subsets (max_features < 1.0 or "
                "bootstrap_features=True)"
            )
    return resolve_batched(
        batched,
        estimator,
        extra,
        items="members",
        verb="train",
        owner=owner or "ensemble",
        verbose=verbose,
    )


def _member_data(estimator, rows, sample_weight, n_samples):
    """The rows and ``sample_weight`` a member is fitted on.

    When the estimator accepts ``sample_weight``, the distinct rows drawn,
    weighted by how often each was drawn (times ``sample_weight``; None when
    all weights are 1); otherwise the drawn rows themselves, repeats included.
    """
    if not _supports_sample_weight(estimator):
        return rows, None
    counts = np.bincount(rows, minlength=n_samples)
    in_bag = np.flatnonzero(counts)
    weight = counts[in_bag].astype(np.float64)
    if sample_weight is not None:
        weight *= sample_weight[in_bag]
    return in_bag, None if np.all(weight == 1.0) else weight


def _fit_one_member(estimator, X, y, sample_weight, rows, features, seed):
    """Fit one clone of ``estimator`` on ``rows`` and ``features`` of (X, y)
    (see :func:`_member_data`)."""
    member = _make_member(estimator, seed)
    rows, weight = _member_data(estimator, rows, sample_weight, X.shape[0])
    fit_params = {} if weight is None else {"sample_weight": weight}
    member.fit(_member_X(X[rows], features), y[rows], **fit_params)
    return member


class _MembersInterrupted(KeyboardInterrupt):
    """KeyboardInterrupt while a chunk of members was being fitted; holds the
    members of that chunk fitted before the interrupt, in order."""

    def __init__(self, members):
        super().__init__(f"interrupted after {len(members)} members")
        self.members = members

    def __reduce__(self):
        return type(self), (self.members,)


def _fit_members_batched(estimator, X, y, sample_weight, rows, seeds, verbose=0):
    """Fit all members at once through the estimator's batched-training hook;
    each member ends up as :func:`_fit_one_member` would fit it."""
    keys = _random_state_keys(estimator)
    members = [_make_member(estimator, seed, keys) for seed in seeds]
    data = [_member_data(estimator, r, sample_weight, X.shape[0]) for r in rows]
    return estimator._fit_batched(
        X,
        y,
        members,
        [member_rows for member_rows, _ in data],
        [weight for _, weight in data],
        verbose=verbose,
    )


def _parallel_fit_members(
    estimator, X, y, sample_weight, rows, features, seeds, verbose=0
):
    """joblib worker: fit a chunk of members one by one.

    A KeyboardInterrupt is re-raised as :class:`_MembersInterrupted`, which
    carries the members completed before it.
    """
    draws = _progress(zip(rows, features, seeds), verbose, "members", len(seeds))
    members = []
    try:
        for draw in draws:
            members.append(_fit_one_member(estimator, X, y, sample_weight, *draw))
    except KeyboardInterrupt as exc:
        raise _MembersInterrupted(members) from exc
    return members


def _fit_members(
    estimator,
    X,
    y,
    sample_weight,
    rows,
    features,
    seeds,
    *,
    n_jobs=None,
    verbose=0,
    batched=False,
):
    """Fit every member of a bagging ensemble; return the fitted members.

    This is the one place where members are trained.

    Parameters
    ----------
    estimator : estimator
        The unfitted base estimator (cloned per member).
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
    sample_weight : ndarray of shape (n_samples,) or None
        Multiplies the draw counts for estimators that accept weights.
    rows : list of ndarray
        Row indices drawn for each member (with repeats under bootstrap).
    features : list of ndarray
        Feature indices of each member.
    seeds : list of int
        Seed of each member: its ``random_state`` parameters are derived from it.
    n_jobs : int, default=None
        Members are fitted in at most ``n_jobs`` chunks through joblib.
    verbose : int, default=0
        A progress bar over the members (one job), else joblib's reports.
    batched : bool, default=False
        Train the members together as one batched model through the
        estimator's ``_fit_batched`` hook (see :func:`_resolve_batched`; the
        members then use all columns, and ``n_jobs`` is not used): the same
        members as one-by-one training.

    Returns
    -------
    members : list of fitted estimators, in the order of ``seeds``
    """
    if batched:
        return _fit_members_batched(
            estimator, X, y, sample_weight, rows, seeds, verbose
        )
    chunks = _partition_estimators(len(seeds), n_jobs)
    # One chunk: a progress bar over its members; several: joblib's reports.
    single = len(chunks) == 1
    results = Parallel(n_jobs=len(chunks), verbose=0 if single else verbose)(
        delayed(_parallel_fit_members)(
            estimator,
            X,
            y,
            sample_weight,
            rows[start:stop],
            features[start:stop],
            seeds[start:stop],
            verbose if single else 0,
        )
        for start, stop in chunks
    )
    return [member for chunk in results for member in chunk]


class _StagedScoreMixin:
    """``staged_score`` for boosting models that have ``staged_predict``."""

    def staged_score(self, X, y, sample_weight=None):
        """Score (accuracy or R^2) of the ensemble after each boosting round.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.
        y : array-like of shape (n_samples,)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Yields
        ------
        score : float
            Accuracy for classifiers, R^2 for regressors, after rounds
            1, 2, ..., ``len(estimators_)``.
        """
        metric = accuracy_score if is_classifier(self) else r2_score
        for y_pred in self.staged_predict(X):
            yield metric(y, y_pred, sample_weight=sample_weight)


def _progress(iterable, verbose, desc, total=None):
    """Wrap ``iterable`` in a tqdm progress bar when ``verbose > 0``."""
    if not verbose:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total)
