"""Shared machinery of the ensembles: base-estimator checks, input validation,
per-member seeds, row and feature draws. The members of a bagging ensemble are
fitted by the engine of :mod:`sklopt.utils._resampled_fits`."""

import numbers
import warnings
from contextlib import nullcontext

import numpy as np
from sklearn import config_context
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.random import sample_without_replacement
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from sklopt.exceptions import TrainingInterruptedWarning
from sklopt.utils._resampled_fits import (
    as_given,
)
from sklopt.utils._resampled_fits import (
    progress as _progress,
)
from sklopt.utils._resampled_fits import (
    random_state_keys as _random_state_keys,
)
from sklopt.utils._resampled_fits import (
    set_random_states as _set_random_states,
)
from sklopt.utils._validation import check_finite_input, validate_data
from sklopt.utils._validation import check_sample_weight as _check_sample_weight

# The boosting ensembles take these names from here.
__all__ = [
    "_check_sample_weight",
    "_progress",
    "_random_state_keys",
    "_set_random_states",
]


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
        """``validate_data`` for fit: sparse input as the base allows; NaN and
        infinity are left to the base estimator, which judges its input (a
        pipeline may impute them)."""
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            dtype=None,
            ensure_all_finite=False,
            **kwargs,
        )
        return self._numeric_objects(X), y

    def _validate_members_X_y(self, X, y, **kwargs):
        """Validate the input of the members' fits: ``(X, y)``, X as the
        members get it (the user's DataFrame, else the validated array),
        checked by the rule of :func:`check_finite_input` (infinity is an
        error, NaN unless ``estimator_`` accepts it)."""
        X_checked, y = self._validate_fit_X_y(X, y, **kwargs)
        X = as_given(X, X_checked)
        check_finite_input(X, "X", self.estimator_)
        return X, y

    def _validate_predict_X(self, X):
        """Check that the ensemble is fitted and validate X against the fit."""
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=None,
            ensure_all_finite=False,
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


def _member_proba(member, X, classes, params=None):
    """A member's class probabilities over the ensemble's ``classes``; a one-hot
    vote when the member has no ``predict_proba``. ``params``: the routed
    parameters of each member method (metadata routing)."""
    params = params or {}
    proba = np.zeros((X.shape[0], len(classes)))
    if hasattr(member, "predict_proba"):
        proba[:, _class_columns(member, classes)] = member.predict_proba(
            X, **params.get("predict_proba", {})
        )
    else:
        labels = member.predict(X, **params.get("predict", {}))
        votes = np.searchsorted(classes, labels)
        proba[np.arange(X.shape[0]), votes] = 1.0
    return proba


def _resolve_max_samples(max_samples, n_samples, bootstrap, sample_weight=None):
    """Turn ``max_samples`` (None, int or fraction) into a number of rows.

    As in scikit-learn 1.9: None means ``n_samples``; a fraction is taken of
    ``n_samples``, or of ``sample_weight.sum()`` when weights are given (the
    weights count rows), with a warning when that leaves few rows.
    """
    if max_samples is None:
        n_draw = n_samples
    elif isinstance(max_samples, (int, np.integer)):
        n_draw = int(max_samples)
    else:
        total = n_samples if sample_weight is None else sample_weight.sum()
        n_draw = max(1, int(max_samples * total))
        # (the default 1.0 without weights draws n_samples rows: no warning)
        few = n_draw < max(10, n_samples ** (1 / 3))
        if few and (sample_weight is not None or max_samples != 1.0):
            what = (
                f"the number of samples is {total}"
                if sample_weight is None
                else f"the total sum of sample weights is {total}"
            )
            warnings.warn(
                f"Using the fractional value max_samples={max_samples} when {what} "
                f"results in a low number ({n_draw}) of bootstrap samples. We "
                "recommend passing `max_samples` as an integer instead.",
                UserWarning,
                stacklevel=6,
            )
    if not bootstrap and n_draw > n_samples:
        raise ValueError(
            f"max_samples={n_draw} must be <= n_samples={n_samples} to be able to "
            "sample without replacement. Use bootstrap=True or fewer rows "
            f"(max_samples={max_samples!r} was given)."
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
