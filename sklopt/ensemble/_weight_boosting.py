"""AdaBoost: SAMME for classification (any number of classes) and Drucker's
AdaBoost.R2 for regression, over any scikit-learn compatible base estimator."""

import numpy as np
from scipy.special import softmax
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from sklopt.ensemble._base import (
    _check_classification_y,
    _make_member,
    _member_proba,
    _supports_sample_weight,
)
from sklopt.ensemble._weight_boosting_base import _BaseWeightBoosting
from sklopt.utils._docstrings import fill_doc
from sklopt.utils._resampled_fits import as_given, take_rows
from sklopt.utils._validation import StrOptions

__all__ = ["AdaBoostClassifier", "AdaBoostRegressor"]

# Resampling draws again (up to this many times) when a weighted draw holds a
# single class, which most classifiers cannot fit.
_MAX_REDRAWS = 10


@fill_doc
class AdaBoostClassifier(ClassifierMixin, _BaseWeightBoosting):
    """AdaBoost classifier (SAMME, any number of classes).

    Each round fits a clone of ``estimator`` to the weighted training set,
    measures its weighted error ``err``, gives it the weight

    ``alpha = learning_rate * (log((1 - err) / err) + log(K - 1))``

    and multiplies the weights of the rows it misclassified by
    ``exp(alpha)``. The prediction is the class with the largest sum of the
    weights of the members that vote for it. Base estimators whose ``fit``
    has no ``sample_weight`` are boosted by weighted resampling.

    Parameters
    ----------
    estimator : object, default=None
        The base classifier. None means a decision stump
        (``DecisionTreeClassifier(max_depth=1)``).
    n_estimators : int, default=50
        Maximum number of rounds.
    learning_rate : float, default=1.0
        Shrinks each member's weight ``alpha``; must be > 0.
    resample : {'auto', True, False}, default='auto'
        ``False`` boosts by re-weighting (the base estimator must accept
        ``sample_weight``); ``True`` fits each member on ``n_samples`` rows
        drawn with probabilities equal to the boosting weights; ``'auto'``
        re-weights when the base estimator accepts ``sample_weight`` and
        resamples otherwise.
    %(random_state)s
        Each member's ``random_state`` parameters (nested ones included) get
        integers drawn from it, in the same way as scikit-learn's
        ``AdaBoostClassifier``; it also drives the resampling.
    %(verbose)s

    Attributes
    ----------
    estimator_ : estimator
        The unfitted base estimator the members are cloned from.
    estimators_ : list of estimators
        The fitted members, one per completed round.
    estimator_weights_ : ndarray of shape (n_rounds,)
        The weight ``alpha`` of each member.
    estimator_errors_ : ndarray of shape (n_rounds,)
        The weighted training error of each member.
    resample_ : bool
        Whether members were fitted on weighted resamples.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit (only when they are all strings).

    See Also
    --------
    AdaBoostRegressor : AdaBoost.R2 for regression.
    GradientBoostingClassifier : Gradient boosting of any regressor.
    sklearn.ensemble.AdaBoostClassifier : The scikit-learn SAMME; with the same
        re-weighted base estimator and ``random_state`` both give the same
        members and weights.

    Notes
    -----
    Boosting stops early, with an
    :class:`~sklopt.exceptions.EarlyTerminationWarning`, when a member is
    perfect on the weighted training set (it is kept, with weight 1, as in
    scikit-learn) or no better than chance (``err >= 1 - 1/K``; it is
    dropped, and an error is raised when it is the first one).

    References
    ----------
    .. [1] J. Zhu, H. Zou, S. Rosset, T. Hastie, "Multi-class AdaBoost",
       Statistics and its Interface 2 (2009) 349-360.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklopt.ensemble import AdaBoostClassifier
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> clf = AdaBoostClassifier(n_estimators=10, random_state=0).fit(X, y)
    >>> clf.estimator_weights_.shape
    (10,)
    >>> [round(score, 2) for score in clf.staged_score(X, y)][-1]
    0.96
    """

    _parameter_constraints: dict = {
        **_BaseWeightBoosting._parameter_constraints,
        "resample": [StrOptions({"auto"}), "boolean"],
    }

    _default_estimator = staticmethod(lambda: DecisionTreeClassifier(max_depth=1))
    _kind = "classifier"

    def __init__(
        self,
        estimator=None,
        n_estimators=50,
        *,
        learning_rate=1.0,
        resample="auto",
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.resample = resample
        self.random_state = random_state
        self.verbose = verbose

    def _check_base(self):
        weighted = _supports_sample_weight(self.estimator_)
        if self.resample is False and not weighted:
            raise ValueError(
                f"resample=False boosts by re-weighting, but "
                f"{type(self.estimator_).__name__}.fit does not accept "
                "sample_weight; use resample='auto' or resample=True."
            )
        self.resample_ = self.resample is True or not weighted

    def _validate_y(self, y):
        self.classes_, _ = _check_classification_y(y, type(self).__name__)
        self.n_classes_ = len(self.classes_)

    def _resample_rows(self, rng, y, sample_weight):
        """Rows drawn with probabilities ``sample_weight`` (two classes at least
        when possible)."""
        n_samples = y.shape[0]
        p = sample_weight / sample_weight.sum()
        for _ in range(_MAX_REDRAWS):
            rows = rng.choice(n_samples, n_samples, replace=True, p=p)
            if np.unique(y[rows]).shape[0] > 1:
                break
        return rows

    def _boost(self, iboost, X, y, sample_weight, rng):
        member = _make_member(self.estimator_, rng)
        if self.resample_:
            rows = self._resample_rows(rng, y, sample_weight)
            member.fit(take_rows(X, rows), y[rows])
        else:
            member.fit(X, y, sample_weight=sample_weight)
        self.estimators_.append(member)
        incorrect = member.predict(X) != y
        error = np.mean(np.average(incorrect, weights=sample_weight, axis=0))
        if error <= 0:
            self._warn_stop(iboost, "a member is perfect on the training set")
            return sample_weight, 1.0, 0.0
        n_classes = self.n_classes_
        if error >= 1.0 - 1.0 / n_classes:
            self.estimators_.pop()
            if not self.estimators_:
                raise ValueError(
                    f"The first member ({type(member).__name__}) is worse than "
                    f"random (weighted error {error:.4f} >= 1 - 1/{n_classes}); "
                    "the ensemble cannot be fitted. Use a stronger 'estimator'."
                )
            self._warn_stop(
                iboost,
                f"the next member is worse than random (weighted error "
                f"{error:.4f} >= 1 - 1/{n_classes})",
            )
            return None
        estimator_weight = self.learning_rate * (
            np.log((1.0 - error) / error) + np.log(n_classes - 1.0)
        )
        if iboost < self.n_estimators - 1:
            # Only positive weights are boosted (zero weights stay zero).
            # An overflow is reported once, by the check of the weights' sum
            # (EarlyTerminationWarning), not by numpy.
            with np.errstate(divide="ignore", over="ignore"):
                sample_weight = np.exp(
                    np.log(sample_weight)
                    + estimator_weight * incorrect * (sample_weight > 0)
                )
        return sample_weight, estimator_weight, error

    def _member_votes(self, member, X, weight):
        """SAMME vote of one member: ``weight`` for its class, ``-weight/(K-1)``
        for the others."""
        hit = member.predict(X)[:, np.newaxis] == self.classes_[np.newaxis, :]
        return np.where(hit, weight, -weight / (self.n_classes_ - 1))

    def _decision_from_votes(self, votes, norm):
        votes = votes / norm
        if self.n_classes_ == 2:
            return votes[:, 1] - votes[:, 0]
        return votes

    def staged_decision_function(self, X):
        """Decision function after each boosting round.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Yields
        ------
        decision : ndarray of shape (n_samples,) or (n_samples, n_classes)
            As :meth:`decision_function`, with the first 1, 2, ... members.
        """
        X = as_given(X, self._validate_predict_X(X))
        votes, norm = 0.0, 0.0
        for member, weight in zip(self.estimators_, self.estimator_weights_):
            votes = votes + self._member_votes(member, X, weight)
            norm += weight
            yield self._decision_from_votes(votes, norm)

    def decision_function(self, X):
        """Weighted SAMME votes of the members, normalised by the total weight.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        decision : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, positive values favour ``classes_[1]``.
        """
        X = as_given(X, self._validate_predict_X(X))
        votes = sum(
            self._member_votes(member, X, weight)
            for member, weight in zip(self.estimators_, self.estimator_weights_)
        )
        return self._decision_from_votes(votes, self.estimator_weights_.sum())

    def _proba_from_decision(self, decision):
        if self.n_classes_ == 2:
            decision = np.column_stack([-decision, decision]) / 2
        else:
            decision = decision / (self.n_classes_ - 1)
        return softmax(decision, axis=1)

    def _label_from_decision(self, decision):
        if self.n_classes_ == 2:
            return self.classes_[(decision > 0).astype(int)]
        return self.classes_[np.argmax(decision, axis=1)]

    def predict(self, X):
        """Predict the class with the largest weighted vote.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted values (class labels for classifiers).
        """
        return self._label_from_decision(self.decision_function(X))

    def staged_predict(self, X):
        """Predicted classes after each boosting round.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Yields
        ------
        y_pred : ndarray of shape (n_samples,)
            Predicted values (class labels for classifiers).
        """
        for decision in self.staged_decision_function(X):
            yield self._label_from_decision(decision)

    def predict_proba(self, X):
        """Class probabilities ``softmax(decision / (K - 1))`` (Zhu et al.).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns in the order of ``classes_``.
        """
        return self._proba_from_decision(self.decision_function(X))

    def staged_predict_proba(self, X):
        """Class probabilities after each boosting round.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Yields
        ------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns in the order of ``classes_``.
        """
        for decision in self.staged_decision_function(X):
            yield self._proba_from_decision(decision)

    def predict_members(self, X):
        """Every member's predicted labels, in boosting order.

        For boosting, the members were fitted in sequence on re-weighted (or
        resampled) data, each focusing on its predecessors' errors: they are
        not replicas of one model, and the ensemble is their vote weighted by
        ``estimator_weights_``, not their majority.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        predictions : ndarray of shape (n_members, n_samples)
            Labels in the space of ``classes_``.
        """
        X = as_given(X, self._validate_predict_X(X))
        labels = np.stack([member.predict(X) for member in self.estimators_])
        return labels.astype(self.classes_.dtype, copy=False)

    def predict_proba_members(self, X):
        """Every member's class probabilities over the ensemble's classes.

        Members without ``predict_proba`` give one-hot votes; classes a member
        did not see get probability 0. As for :meth:`predict_members`, the
        ensemble is not their mean (SAMME combines the members' labels,
        weighted by ``estimator_weights_``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_members, n_samples, n_classes)
            Probabilities of each member, columns in the order of ``classes_``.
        """
        X = as_given(X, self._validate_predict_X(X))
        return np.stack(
            [_member_proba(member, X, self.classes_) for member in self.estimators_]
        )

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log class probabilities, columns in the order of ``classes_``.
        """
        return np.log(self.predict_proba(X))


@fill_doc
class AdaBoostRegressor(RegressorMixin, _BaseWeightBoosting):
    """AdaBoost regressor (Drucker's AdaBoost.R2).

    Each round fits a clone of ``estimator`` on ``n_samples`` rows drawn with
    probabilities equal to the boosting weights, computes every row's loss
    ``L_i`` in [0, 1] from its absolute error relative to the largest one
    ('linear': ``e / max e``, 'square': its square, 'exponential':
    ``1 - exp(-e / max e)``), the weighted mean loss ``err`` and
    ``beta = err / (1 - err)``; the member weighs ``learning_rate *
    log(1 / beta)`` and row weights are multiplied by
    ``beta ** ((1 - L_i) * learning_rate)``. The prediction is the weighted
    median of the members' predictions. Any regressor works as the base
    (resampling needs no ``sample_weight``).

    Parameters
    ----------
    estimator : object, default=None
        The base regressor. None means ``DecisionTreeRegressor(max_depth=3)``.
    n_estimators : int, default=50
        Maximum number of rounds.
    learning_rate : float, default=1.0
        Shrinks the member weights and the weight updates; must be > 0.
    loss : {'linear', 'square', 'exponential'}, default='linear'
        How absolute errors become per-row losses in [0, 1].
    %(random_state)s
        It drives the weighted resampling and, as in scikit-learn's
        ``AdaBoostRegressor``, the members' ``random_state`` parameters.
    %(verbose)s

    Attributes
    ----------
    estimator_ : estimator
        The unfitted base estimator the members are cloned from.
    estimators_ : list of estimators
        The fitted members, one per completed round.
    estimator_weights_ : ndarray of shape (n_rounds,)
        The weight ``log(1 / beta)`` (times the learning rate) of each member.
    estimator_errors_ : ndarray of shape (n_rounds,)
        The weighted mean loss ``err`` of each member.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit (only when they are all strings).

    See Also
    --------
    AdaBoostClassifier : SAMME for classification.
    GradientBoostingRegressor : Gradient boosting of any regressor.

    Notes
    -----
    Boosting stops early with an
    :class:`~sklopt.exceptions.EarlyTerminationWarning` when a member is
    perfect (kept, with weight 1) or has ``err >= 0.5`` (dropped, unless it
    is the first member, which is then kept alone with weight 1).

    References
    ----------
    .. [1] H. Drucker, "Improving Regressors using Boosting Techniques",
       ICML 1997.

    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from sklopt.ensemble import AdaBoostRegressor
    >>> X, y = make_friedman1(n_samples=200, random_state=0)
    >>> reg = AdaBoostRegressor(n_estimators=20, random_state=0).fit(X, y)
    >>> len(reg.estimators_), len(list(reg.staged_predict(X[:5])))
    (20, 20)
    """

    _parameter_constraints: dict = {
        **_BaseWeightBoosting._parameter_constraints,
        "loss": [StrOptions({"linear", "square", "exponential"})],
    }

    _default_estimator = staticmethod(lambda: DecisionTreeRegressor(max_depth=3))
    _kind = "regressor"

    def __init__(
        self,
        estimator=None,
        n_estimators=50,
        *,
        learning_rate=1.0,
        loss="linear",
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.loss = loss
        self.random_state = random_state
        self.verbose = verbose

    def _validate_y(self, y):
        pass

    def _row_losses(self, errors):
        """Per-row losses in [0, 1] from absolute errors."""
        error_max = errors.max()
        if error_max != 0:
            errors = errors / error_max
        if self.loss == "square":
            return errors**2
        if self.loss == "exponential":
            return 1.0 - np.exp(-errors)
        return errors

    def _boost(self, iboost, X, y, sample_weight, rng):
        member = _make_member(self.estimator_, rng)
        n_samples = X.shape[0]
        rows = rng.choice(n_samples, n_samples, replace=True, p=sample_weight)
        member.fit(take_rows(X, rows), y[rows])
        self.estimators_.append(member)
        mask = sample_weight > 0
        losses = self._row_losses(np.abs(member.predict(X) - y)[mask])
        error = (sample_weight[mask] * losses).sum()
        if error <= 0:
            self._warn_stop(iboost, "a member is perfect on the training set")
            return sample_weight, 1.0, 0.0
        if error >= 0.5:
            if len(self.estimators_) > 1:
                self.estimators_.pop()
                self._warn_stop(
                    iboost,
                    f"the next member's weighted loss {error:.4f} is >= 0.5",
                )
                return None
            self._warn_stop(
                iboost, f"the first member's weighted loss {error:.4f} is >= 0.5"
            )
            return sample_weight, 1.0, 0.0
        beta = error / (1.0 - error)
        estimator_weight = self.learning_rate * np.log(1.0 / beta)
        if iboost < self.n_estimators - 1:
            sample_weight = sample_weight.copy()
            sample_weight[mask] *= np.power(beta, (1.0 - losses) * self.learning_rate)
        return sample_weight, estimator_weight, error

    def _weighted_median(self, predictions, weights):
        """Weighted median over members (rows of ``predictions``) per sample."""
        order = np.argsort(predictions, axis=0)
        cdf = np.cumsum(weights[order], axis=0)
        median_at = np.argmax(cdf >= 0.5 * cdf[-1], axis=0)
        member = order[median_at, np.arange(predictions.shape[1])]
        return predictions[member, np.arange(predictions.shape[1])]

    def predict(self, X):
        """Predict the weighted median of the members' predictions.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted values (class labels for classifiers).
        """
        X = as_given(X, self._validate_predict_X(X))
        predictions = np.array([member.predict(X) for member in self.estimators_])
        return self._weighted_median(predictions, self.estimator_weights_)

    def predict_members(self, X):
        """Every member's predictions, in boosting order.

        The members were fitted in sequence on resamples weighted towards
        their predecessors' errors; the ensemble is their weighted median
        (weights ``estimator_weights_``), not their mean.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        predictions : ndarray of shape (n_members, n_samples)
            Predictions of each member.
        """
        X = as_given(X, self._validate_predict_X(X))
        return np.array([member.predict(X) for member in self.estimators_])

    def staged_predict(self, X):
        """Weighted-median predictions after each boosting round.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Yields
        ------
        y_pred : ndarray of shape (n_samples,)
            Predicted values (class labels for classifiers).
        """
        X = as_given(X, self._validate_predict_X(X))
        predictions = np.array([member.predict(X) for member in self.estimators_])
        for limit in range(1, len(self.estimators_) + 1):
            yield self._weighted_median(
                predictions[:limit], self.estimator_weights_[:limit]
            )
