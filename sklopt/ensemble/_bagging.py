"""Bagging: members fitted on bootstrap samples (or subsamples) of the rows and
subsets of the features, aggregated by soft voting, majority vote or averaging."""

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils import column_or_1d, get_tags
from sklearn.utils.metaestimators import available_if

from sklopt.ensemble._bagging_base import _base_has, _BaseBagging
from sklopt.ensemble._base import _check_classification_y, _member_proba
from sklopt.utils._docstrings import fill_doc
from sklopt.utils._resampled_fits import as_given

__all__ = ["BaggingClassifier", "BaggingRegressor"]


@fill_doc
class BaggingClassifier(ClassifierMixin, _BaseBagging):
    """A bagging classifier: members on bootstrap samples, soft or hard voting.

    Each member is a clone of ``estimator`` fitted on ``max_samples`` rows
    drawn with replacement (``bootstrap=True``) or without, restricted to
    ``max_features`` columns. Predictions average the members' class
    probabilities (soft voting); members without ``predict_proba`` vote with
    their predicted labels (majority vote, ties to the first class in
    ``classes_``). Any scikit-learn compatible classifier can be the base,
    including :mod:`sklopt.neural` networks.

    Parameters
    ----------
    estimator : object, default=None
        The base classifier. None means a
        :class:`~sklearn.tree.DecisionTreeClassifier`.
    n_estimators : int, default=10
        Number of members.
    max_samples : int, float or None, default=1.0
        Rows drawn per member. An int: that many rows. A float: that fraction
        of ``n_samples`` without ``sample_weight``; with ``sample_weight``,
        that fraction of ``sample_weight.sum()`` (the weights count rows, as
        in scikit-learn 1.9), so that the default 1.0 then draws
        ``int(sample_weight.sum())`` rows, not ``n_samples`` (a warning says
        when that leaves few rows). None: ``n_samples`` rows whatever the
        weights (scikit-learn 1.9's default).
    max_features : int or float, default=1.0
        Columns drawn per member: an int, or a fraction of ``n_features``.
    bootstrap : bool, default=True
        Draw rows with replacement; ``False`` draws subsamples (pasting).
    bootstrap_features : bool, default=False
        Draw columns with replacement.
    oob_score : bool, default=False
        Score the ensemble on the out-of-bag rows (needs ``bootstrap=True``).
        Rows that are never out of bag get NaN in ``oob_decision_function_``
        and a warning.
    warm_start : bool, default=False
        Keep the members of the previous fit and add new ones up to
        ``n_estimators`` (use the same data). Cannot be combined with
        ``oob_score=True``, as in scikit-learn.
    %(n_jobs)s
    %(random_state)s
        Each member gets its own seed, drawn before the members are fitted;
        the member's ``random_state`` parameters (nested ones included) are
        derived from it.
    %(verbose)s
    batched : {'auto', True, False}, default='auto'
        Train the members together as one batched model: K networks for
        about the price of one on a GPU (see the user guide,
        ``docs/user_guide/batched.rst``). Each member gets exactly the
        weights of one-by-one training (same rows, weights, seed, shuffling,
        dropout masks, noise and mixup draws; to float32 rounding).
        ``'auto'`` batches :class:`~sklopt.neural.MLPClassifier` and
        :class:`~sklopt.neural.MLPRegressor` members (and
        :class:`~sklopt.neural.CNNClassifier` members on a GPU) when their
        settings allow it and all members use all columns, and otherwise
        trains them one by one (saying why when ``verbose``); ``True`` raises
        :class:`~sklopt.exceptions.NotBatchableError` when it cannot batch;
        ``False`` always trains one by one. Batched training runs in this
        process on the members' ``device`` and ignores ``n_jobs``.

    Attributes
    ----------
    estimator_ : estimator
        The unfitted base estimator the members are cloned from.
    estimators_ : list of estimators
        The fitted members.
    estimators_features_ : list of ndarray
        Column indices of each member.
    estimators_samples_ : list of ndarray
        Row indices drawn for each member.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_classes_ : int
        Number of classes.
    oob_score_ : float
        Out-of-bag accuracy (when ``oob_score=True``).
    oob_decision_function_ : ndarray of shape (n_samples, n_classes)
        Out-of-bag class probabilities (NaN for rows never out of bag).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit (only when they are all strings).

    See Also
    --------
    BaggingRegressor : The regression counterpart.
    sklearn.ensemble.BaggingClassifier : The scikit-learn bagging classifier;
        for the same ``random_state`` both draw the same rows and columns
        (with or without ``sample_weight``).

    Notes
    -----
    A member whose ``fit`` accepts ``sample_weight`` is fitted on the
    distinct rows drawn, weighted by their number of draws (on all rows, the
    undrawn ones with weight 0, when its draw misses a class); networks, and
    members without ``sample_weight``, are fitted on the drawn rows, repeats
    included (the bootstrap sample itself). Members keep the original
    labels; ``predict_proba_members`` maps each member's classes onto the
    ensemble's ``classes_`` (a member that did not see a class gives it
    probability 0).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklopt.ensemble import BaggingClassifier
    >>> X, y = make_classification(n_samples=100, random_state=0)
    >>> clf = BaggingClassifier(n_estimators=5, random_state=0).fit(X, y)
    >>> clf.predict_members(X[:2]).shape
    (5, 2)
    >>> clf.predict_proba_members(X[:2]).shape
    (5, 2, 2)
    """

    _default_estimator = DecisionTreeClassifier
    _kind = "classifier"

    def _validate_y(self, y):
        self.classes_, _ = _check_classification_y(y, type(self).__name__)
        self.n_classes_ = len(self.classes_)
        return y

    def _set_oob_score(self, X, y):
        def predict_one(member, X_oob):
            return _member_proba(member, X_oob, self.classes_)

        proba, scored = self._oob_sums(X, self.n_classes_, predict_one)
        self.oob_decision_function_ = proba
        y_pred = self.classes_[np.argmax(proba[scored], axis=1)]
        self.oob_score_ = accuracy_score(y[scored], y_pred)

    def predict_proba(self, X, **params):
        """Predict class probabilities: the members' mean (or vote fractions).

        Members without ``predict_proba`` contribute one-hot votes, so the
        result is then the fraction of members voting for each class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.
        **params : dict
            Parameters routed to the members' ``predict_proba`` (or
            ``predict``), with metadata routing enabled.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        return self._proba(X, self._routed("predict_proba", params))

    def _proba(self, X, routed):
        X = as_given(X, self._validate_predict_X(X))
        return self._mean_output(X, "predict_proba", self.classes_, routed)

    def predict_log_proba(self, X, **params):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.
        **params : dict
            Parameters routed to the members' ``predict_proba`` (or
            ``predict``), with metadata routing enabled.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log class probabilities, columns in the order of ``classes_``.
        """
        proba = self._proba(X, self._routed("predict_log_proba", params))
        with np.errstate(divide="ignore"):
            return np.log(proba)

    def predict(self, X, **params):
        """Predict the class with the highest mean probability (or vote).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.
        **params : dict
            Parameters routed to the members' ``predict_proba`` (or
            ``predict``), with metadata routing enabled.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted values (class labels for classifiers).
        """
        proba = self._proba(X, self._routed("predict", params))
        return self.classes_[np.argmax(proba, axis=1)]

    @available_if(_base_has("decision_function"))
    def decision_function(self, X, **params):
        """Mean of the members' ``decision_function``.

        Available when the base estimator has ``decision_function``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.
        **params : dict
            Parameters routed to the members' ``decision_function``, with
            metadata routing enabled.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The members' mean decision values (one column for two classes,
            as scikit-learn's classifiers give).
        """
        routed = self._routed("decision_function", params)
        X = as_given(X, self._validate_predict_X(X))
        return self._mean_output(X, "decision_function", params=routed)

    def predict_members(self, X):
        """Every member's predicted labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        predictions : ndarray of shape (n_estimators, n_samples)
            Labels in the space of ``classes_`` (strings allowed).
        """
        X = as_given(X, self._validate_predict_X(X))
        labels = np.stack(list(self._member_outputs(X, "predict")))
        return labels.astype(self.classes_.dtype, copy=False)

    def predict_proba_members(self, X):
        """Every member's class probabilities over the ensemble's classes.

        Members without ``predict_proba`` give one-hot votes; classes a member
        did not see get probability 0.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_estimators, n_samples, n_classes)
            Probabilities of each member, columns in the order of ``classes_``.
        """
        X = as_given(X, self._validate_predict_X(X))
        return np.stack(list(self._member_outputs(X, "predict_proba", self.classes_)))


@fill_doc
class BaggingRegressor(RegressorMixin, _BaseBagging):
    """A bagging regressor: members on bootstrap samples, predictions averaged.

    Each member is a clone of ``estimator`` fitted on ``max_samples`` rows
    drawn with replacement (``bootstrap=True``) or without, restricted to
    ``max_features`` columns; the prediction is the members' mean. Any
    scikit-learn compatible regressor can be the base, including
    :mod:`sklopt.neural` networks.

    Parameters
    ----------
    estimator : object, default=None
        The base regressor. None means a
        :class:`~sklearn.tree.DecisionTreeRegressor`.
    n_estimators : int, default=10
        Number of members.
    max_samples : int, float or None, default=1.0
        Rows drawn per member. An int: that many rows. A float: that fraction
        of ``n_samples`` without ``sample_weight``; with ``sample_weight``,
        that fraction of ``sample_weight.sum()`` (the weights count rows, as
        in scikit-learn 1.9), so that the default 1.0 then draws
        ``int(sample_weight.sum())`` rows, not ``n_samples`` (a warning says
        when that leaves few rows). None: ``n_samples`` rows whatever the
        weights (scikit-learn 1.9's default).
    max_features : int or float, default=1.0
        Columns drawn per member: an int, or a fraction of ``n_features``.
    bootstrap : bool, default=True
        Draw rows with replacement; ``False`` draws subsamples (pasting).
    bootstrap_features : bool, default=False
        Draw columns with replacement.
    oob_score : bool, default=False
        Score (R^2) the ensemble on the out-of-bag rows (needs
        ``bootstrap=True``). Rows that are never out of bag get NaN in
        ``oob_prediction_`` and a warning.
    warm_start : bool, default=False
        Keep the members of the previous fit and add new ones up to
        ``n_estimators`` (use the same data). Cannot be combined with
        ``oob_score=True``, as in scikit-learn.
    %(n_jobs)s
    %(random_state)s
        Each member gets its own seed, drawn before the members are fitted;
        the member's ``random_state`` parameters (nested ones included) are
        derived from it.
    %(verbose)s
    batched : {'auto', True, False}, default='auto'
        Train the members together as one batched model: K networks for
        about the price of one on a GPU (see the user guide,
        ``docs/user_guide/batched.rst``). Each member gets exactly the
        weights of one-by-one training (same rows, weights, seed, shuffling,
        dropout masks, noise and mixup draws; to float32 rounding).
        ``'auto'`` batches :class:`~sklopt.neural.MLPClassifier` and
        :class:`~sklopt.neural.MLPRegressor` members (and
        :class:`~sklopt.neural.CNNClassifier` members on a GPU) when their
        settings allow it and all members use all columns, and otherwise
        trains them one by one (saying why when ``verbose``); ``True`` raises
        :class:`~sklopt.exceptions.NotBatchableError` when it cannot batch;
        ``False`` always trains one by one. Batched training runs in this
        process on the members' ``device`` and ignores ``n_jobs``.

    Attributes
    ----------
    estimator_ : estimator
        The unfitted base estimator the members are cloned from.
    estimators_ : list of estimators
        The fitted members.
    estimators_features_ : list of ndarray
        Column indices of each member.
    estimators_samples_ : list of ndarray
        Row indices drawn for each member.
    oob_score_ : float
        Out-of-bag R^2 (when ``oob_score=True``).
    oob_prediction_ : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Out-of-bag predictions (NaN for rows never out of bag).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit (only when they are all strings).

    See Also
    --------
    BaggingClassifier : The classification counterpart.
    sklearn.ensemble.BaggingRegressor : The scikit-learn bagging regressor;
        for the same ``random_state`` both draw the same rows and columns
        (with or without ``sample_weight``).

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.linear_model import Ridge
    >>> from sklopt.ensemble import BaggingRegressor
    >>> X, y = make_regression(n_samples=100, noise=1.0, random_state=0)
    >>> reg = BaggingRegressor(Ridge(), n_estimators=5, random_state=0).fit(X, y)
    >>> reg.predict_members(X[:3]).shape
    (5, 3)
    >>> round(reg.score(X, y), 3)
    0.927
    """

    _default_estimator = DecisionTreeRegressor
    _kind = "regressor"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        base_tags = get_tags(self._base_or_default())
        tags.target_tags.multi_output = base_tags.target_tags.multi_output
        return tags

    def _validate_y(self, y):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return y

    def _set_oob_score(self, X, y):
        width = 1 if y.ndim == 1 else y.shape[1]

        def predict_one(member, X_oob):
            return np.asarray(member.predict(X_oob), dtype=np.float64)

        prediction, scored = self._oob_sums(X, width, predict_one)
        self.oob_prediction_ = prediction[:, 0] if y.ndim == 1 else prediction
        self.oob_score_ = r2_score(y[scored], self.oob_prediction_[scored])

    def predict(self, X, **params):
        """Predict the mean of the members' predictions.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.
        **params : dict
            Parameters routed to the members' ``predict``, with metadata
            routing enabled.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Mean of the members' predictions.
        """
        routed = self._routed("predict", params)
        X = as_given(X, self._validate_predict_X(X))
        return self._mean_output(X, "values", params=routed)

    def predict_members(self, X):
        """Every member's predictions.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        predictions : ndarray of shape (n_estimators, n_samples) or \
(n_estimators, n_samples, n_outputs)
            Predictions of each member.
        """
        X = as_given(X, self._validate_predict_X(X))
        return np.stack(list(self._member_outputs(X, "values")))
