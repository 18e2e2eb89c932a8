"""The boosting loop shared by AdaBoost's classifier and regressor."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from sklopt.ensemble._base import (
    _BaseEstimatorMixin,
    _check_sample_weight,
    _progress,
    _StagedScoreMixin,
    _validated_once,
    _warn_interrupted,
)
from sklopt.exceptions import EarlyTerminationWarning
from sklopt.utils._fit_guard import restore_on_failure
from sklopt.utils._validation import HasMethods, Interval, _fit_context


class _BaseWeightBoosting(
    _StagedScoreMixin, _BaseEstimatorMixin, MetaEstimatorMixin, BaseEstimator
):
    """The boosting loop shared by AdaBoost's classifier and regressor.

    Subclasses implement ``_boost(iboost, X, y, sample_weight, rng)``, which
    returns ``(sample_weight, estimator_weight, estimator_error)`` or None
    when the round's learner is dropped.
    """

    # predict_members gives members fitted in sequence, not replicas of one
    # model: the bias-variance scorers refuse them.
    _members_are_replicas = False

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the boosted ensemble on (X, y).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (sparse input when the base estimator accepts it),
            handed to the members as given: a DataFrame keeps its columns.
            Infinity is an error; NaN is the base estimator's to accept.
        y : array-like of shape (n_samples,)
            Target values (class labels for classifiers).
        sample_weight : array-like of shape (n_samples,), default=None
            Initial sample weights (uniform when None).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        with restore_on_failure(self):
            self._validate_estimator()
            self._check_base()
            X, y = self._validate_members_X_y(X, y, y_numeric=self._kind == "regressor")
            self._validate_y(y)
            sample_weight = _check_sample_weight(sample_weight, X.shape[0])
            self._boost_rounds(X, y, sample_weight / sample_weight.sum())
        return self

    def _boost_rounds(self, X, y, sample_weight):
        """Run the boosting rounds; set ``estimators_`` and the weights.

        A KeyboardInterrupt ends boosting after the last complete round (with
        a warning); before the first one it propagates.
        """
        rng = check_random_state(self.random_state)
        self.estimators_, weights, errors = [], [], []
        epsilon = np.finfo(np.float64).eps
        zero_weight = sample_weight == 0.0
        rounds = _progress(range(self.n_estimators), self.verbose, "boosting")
        for iboost in rounds:
            # Tiny weights are floored (not exactly zero ones) to avoid underflow.
            sample_weight = np.clip(sample_weight, epsilon, None)
            sample_weight[zero_weight] = 0.0
            try:
                with _validated_once(iboost):
                    result = self._boost(iboost, X, y, sample_weight, rng)
            except KeyboardInterrupt:
                if not weights:
                    raise
                # A member appended before the interrupt has no weight yet.
                del self.estimators_[len(weights) :]
                _warn_interrupted(self, len(weights), "boosting rounds")
                break
            if result is None:
                break
            sample_weight, estimator_weight, estimator_error = result
            weights.append(estimator_weight)
            errors.append(estimator_error)
            if estimator_error == 0:
                break
            total = sample_weight.sum()
            if not np.isfinite(total):
                warnings.warn(
                    "Sample weights have reached infinite values at round "
                    f"{iboost + 1}, causing overflow; boosting stopped after "
                    f"{len(weights)} rounds. Lower the learning_rate.",
                    EarlyTerminationWarning,
                    stacklevel=4,
                )
                break
            if iboost < self.n_estimators - 1:
                sample_weight = sample_weight / total
        self.estimator_weights_ = np.asarray(weights, dtype=np.float64)
        self.estimator_errors_ = np.asarray(errors, dtype=np.float64)

    def _check_base(self):
        """Checks of the base estimator beyond its type (subclass hook)."""

    @property
    def feature_importances_(self):
        """The members' importances, weighted by ``estimator_weights_``.

        The average of the members' ``feature_importances_`` with the member
        weights, as scikit-learn's AdaBoost computes it.

        Returns
        -------
        feature_importances_ : ndarray of shape (n_features,)
        """
        check_is_fitted(self)
        try:
            importances = [m.feature_importances_ for m in self.estimators_]
        except AttributeError as exc:
            raise AttributeError(
                "Unable to compute feature importances since estimator does not "
                "have a feature_importances_ attribute "
                f"({type(self.estimator_).__name__})."
            ) from exc
        weights = self.estimator_weights_
        return np.average(
            np.asarray(importances), axis=0, weights=weights / weights.max()
        )

    def _warn_stop(self, iboost, reason):
        if iboost < self.n_estimators - 1:
            warnings.warn(
                f"Boosting stopped after {len(self.estimators_)} of "
                f"{self.n_estimators} rounds: {reason}.",
                EarlyTerminationWarning,
                stacklevel=6,
            )
