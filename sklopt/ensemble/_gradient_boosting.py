"""Gradient boosting with any regressor as the base learner."""

from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.dummy import DummyClassifier, DummyRegressor

from sklopt.ensemble._base import _check_classification_y
from sklopt.ensemble._gb_base import _BaseGradientBoosting
from sklopt.utils._docstrings import fill_doc
from sklopt.utils._validation import HasMethods, Interval, StrOptions

__all__ = ["GradientBoostingClassifier", "GradientBoostingRegressor"]


# The tree parameters (scikit-learn's, with the defaults of its gradient
# boosting) configure the default tree only: with an explicit estimator a
# non-default value is an error (set it on that estimator).
_SHARED_PARAMETERS = """\
    n_estimators : int, default=100
        Number of boosting stages.
    learning_rate : float, default=0.1
        Shrinks the contribution of every stage; must be > 0.
    subsample : float, default=1.0
        Fraction of the training rows drawn (without replacement) to fit
        each stage; below 1 gives stochastic gradient boosting and the
        out-of-bag attributes. Decision-tree members are fitted on all rows
        with weight 0 for the rows not drawn, as in scikit-learn; other
        members on the drawn rows.
    criterion : {'friedman_mse', 'squared_error'}, default='deprecated'
        Deprecated, as in scikit-learn 1.9: it has no effect (the trees use
        'squared_error'); setting it gives a FutureWarning.
    min_samples_split : int or float, default=2
        Minimum number (or fraction) of rows to split a node of the default
        tree.
    min_samples_leaf : int or float, default=1
        Minimum number (or fraction) of rows in a leaf of the default tree.
    min_weight_fraction_leaf : float, default=0.0
        Minimum fraction of the total sample weight in a leaf of the default
        tree.
    max_depth : int or None, default=3
        Maximum depth of the default tree (None: unlimited).
    min_impurity_decrease : float, default=0.0
        A node of the default tree is split only if the split lowers the
        impurity by at least this much.
    init : estimator or 'zero', default=None
        The estimator of the initial predictions, cloned and fitted first
        (it needs ``predict_proba`` for classification). None is the
        constant of the loss (class priors, mean, median or quantile);
        'zero' starts from raw predictions of 0.
    max_features : {'sqrt', 'log2'}, int or float, default=None
        Number (or fraction) of features each split of the default tree
        considers (None: all).
    max_leaf_nodes : int, default=None
        Maximum number of leaves of the default tree (None: unlimited).
    ccp_alpha : float, default=0.0
        Cost-complexity pruning of the default tree.
    warm_start : bool, default=False
        When True, ``fit`` keeps the fitted stages and adds stages up to
        ``n_estimators`` (the initial estimator is kept).
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping (used
        only when ``n_iter_no_change`` is set), split as scikit-learn splits
        it (stratified for classification).
    n_iter_no_change : int, default=None
        Stop when the validation loss has not improved by more than
        ``tol`` on any of the last ``n_iter_no_change`` stages. None
        disables early stopping (no data are held out).
    tol : float, default=1e-4
        Minimal improvement of the validation loss for early stopping."""

_SHARED_ATTRIBUTES = """\
    estimator_ : estimator
        The unfitted base regressor the members are cloned from.
    estimators_ : ndarray of estimators of shape (`n_estimators_`, n_outputs)
        The fitted base regressors, one per stage and raw output.
    estimator_weights_ : ndarray of shape (`n_estimators_`,)
        The learning rate of each stage (every stage is shrunk by it).
    init_ : estimator or 'zero'
        The fitted initial estimator the stages start from.
    max_features_ : int
        Number of features each split of the default tree considers (only
        with ``estimator=None``).
    feature_importances_ : ndarray of shape (n_features,)
        Impurity-based importances, as scikit-learn's (decision-tree members
        only).
    n_estimators_ : int
        Number of stages fitted (fewer than ``n_estimators`` after early
        stopping).
    train_score_ : ndarray of shape (`n_estimators_`,)
        Loss on the (in-bag) training rows after each stage, on
        scikit-learn's scale: the deviance (twice the mean log-loss) for two
        classes with the log-loss, else the mean loss.
    oob_scores_ : ndarray of shape (`n_estimators_`,)
        Loss (same scale) on each stage's out-of-bag rows after the stage
        (only when ``subsample < 1``).
    oob_improvement_ : ndarray of shape (`n_estimators_`,)
        As scikit-learn computes it: the out-of-bag loss of the initial model
        (first stage) or of the previous stage (on that stage's out-of-bag
        rows) minus ``oob_scores_`` (only when ``subsample < 1``).
    oob_score_ : float
        The last entry of ``oob_scores_`` (only when ``subsample < 1``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit (only when they are all strings)."""

_SHARED_NOTES = """\
    Each stage fits clones of ``estimator`` to the negative gradient of the
    loss (the pseudo-residuals). How much of a stage's output is added is
    then chosen to lower the loss:

    - base learners with an ``apply`` method that returns leaf indices
      (decision trees) get Friedman's terminal-region update: each leaf's
      value is replaced by the loss-optimal constant for its in-bag rows
      (mean residual, weighted median or quantile, Huber's estimate, or one
      Newton step for the log-loss and the exponential loss), as in
      scikit-learn's gradient boosting;
    - any other regressor's output ``h`` is multiplied by a line-searched
      step ``gamma`` (least squares for the squared error, a weighted median
      for the absolute error, a scalar minimisation for Huber and the
      quantile loss, one Newton step for the log-loss and the exponential
      loss).

    scikit-learn's trees receive the new leaf values, as in scikit-learn, so
    a member's ``predict`` is its stage's contribution before the learning
    rate; other members keep their own ``predict``. Use ``predict``,
    ``staged_predict`` (and ``staged_predict_proba``) for the ensemble, and
    ``predict_members`` for every member's contribution.

    With ``estimator=None`` and the same ``random_state``, the fitted trees
    and predictions are those of scikit-learn's gradient boosting (the same
    validation split, subsamples and tree seeds)."""


@fill_doc
class GradientBoostingRegressor(RegressorMixin, _BaseGradientBoosting):
    __doc__ = f"""Gradient boosting for regression with any regressor as base learner.

    Parameters
    ----------
    estimator : object, default=None
        The base regressor, cloned for every stage. None means
        ``DecisionTreeRegressor(max_depth=3)``, configured by the tree
        parameters below; with an explicit estimator, a tree parameter that
        is not at its default is an error. Any scikit-learn compatible
        regressor works, e.g. :class:`sklopt.neural.MLPRegressor`.
    loss : {{'squared_error', 'absolute_error', 'huber', 'quantile'}}, \
default='squared_error'
        The loss to minimise; 'quantile' estimates the ``alpha`` quantile.
{_SHARED_PARAMETERS}
    alpha : float, default=0.9
        For ``loss='huber'``: the quantile of the absolute residuals used as
        Huber's threshold, re-estimated at every stage; for
        ``loss='quantile'``: the quantile estimated.
    %(random_state)s
        It draws the validation split, the subsamples and one seed per base
        regressor (set on its ``random_state`` parameters).
    %(verbose)s

    Attributes
    ----------
{_SHARED_ATTRIBUTES}

    See Also
    --------
    GradientBoostingClassifier : The classification counterpart.
    AdaBoostRegressor : AdaBoost.R2.
    sklearn.ensemble.GradientBoostingRegressor : The scikit-learn version,
        with trees only.

    Notes
    -----
{_SHARED_NOTES}

    References
    ----------
    .. [1] J. H. Friedman, "Greedy Function Approximation: A Gradient
       Boosting Machine", Annals of Statistics 29 (2001) 1189-1232.
    .. [2] J. H. Friedman, "Stochastic Gradient Boosting", Computational
       Statistics & Data Analysis 38 (2002) 367-378.

    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from sklearn.linear_model import Ridge
    >>> from sklopt.ensemble import GradientBoostingRegressor
    >>> X, y = make_friedman1(n_samples=200, random_state=0)
    >>> gbr = GradientBoostingRegressor(n_estimators=50, random_state=0).fit(X, y)
    >>> errors = [((y - pred) ** 2).mean() for pred in gbr.staged_predict(X)]
    >>> bool(errors[-1] < errors[0])
    True
    >>> ridge = GradientBoostingRegressor(Ridge(), loss="huber", n_estimators=5)
    >>> ridge.fit(X, y).estimators_.shape
    (5, 1)
    """

    _parameter_constraints: dict = {
        **_BaseGradientBoosting._parameter_constraints,
        "loss": [StrOptions({"squared_error", "absolute_error", "huber", "quantile"})],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "init": [StrOptions({"zero"}), None, HasMethods(["fit", "predict"])],
    }

    def __init__(
        self,
        estimator=None,
        *,
        loss="squared_error",
        n_estimators=100,
        learning_rate=0.1,
        subsample=1.0,
        criterion="deprecated",
        min_samples_split=2,
        min_samples_leaf=1,
        min_weight_fraction_leaf=0.0,
        max_depth=3,
        min_impurity_decrease=0.0,
        init=None,
        max_features=None,
        max_leaf_nodes=None,
        ccp_alpha=0.0,
        warm_start=False,
        validation_fraction=0.1,
        n_iter_no_change=None,
        tol=1e-4,
        alpha=0.9,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.loss = loss
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.criterion = criterion
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_depth = max_depth
        self.min_impurity_decrease = min_impurity_decrease
        self.init = init
        self.max_features = max_features
        self.max_leaf_nodes = max_leaf_nodes
        self.ccp_alpha = ccp_alpha
        self.warm_start = warm_start
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.alpha = alpha
        self.random_state = random_state
        self.verbose = verbose

    def _encode_y(self, y, sample_weight):
        self.n_trees_per_iteration_ = 1
        return np.asarray(y, dtype=np.float64)

    def _n_classes(self):
        return 1

    def _make_init(self):
        if self.loss == "squared_error":
            return DummyRegressor(strategy="mean")
        quantile = self.alpha if self.loss == "quantile" else 0.5
        return DummyRegressor(strategy="quantile", quantile=quantile)

    def _init_raw_from(self, init, X):
        return np.asarray(init.predict(X), dtype=np.float64)

    def predict(self, X):
        """Predict regression targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted values (class labels for classifiers).
        """
        return self._raw_predict(X)[:, 0]

    def staged_predict(self, X):
        """Predict regression targets after each stage.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Yields
        ------
        y_pred : ndarray of shape (n_samples,)
            Predicted values (class labels for classifiers).
        """
        for raw in self._staged_raw_predict(X):
            yield raw[:, 0].copy()

    def apply(self, X):
        """Leaf index of every row in every member (decision-tree members).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        X_leaves : ndarray of shape (n_samples, `n_estimators_`)
            For each row and stage, the index of the leaf the row ends up in.
        """
        return super().apply(X)[:, :, 0]


@fill_doc
class GradientBoostingClassifier(ClassifierMixin, _BaseGradientBoosting):
    __doc__ = f"""Gradient boosting for classification, any regressor as base learner.

    The log-loss is minimised on the log-odds of ``classes_[1]`` for two
    classes (one regressor per stage) and on one raw score per class for
    ``K > 2`` classes (multinomial deviance, ``K`` regressors per stage).

    Parameters
    ----------
    estimator : object, default=None
        The base regressor, cloned for every stage and class. None means
        ``DecisionTreeRegressor(max_depth=3)``, configured by the tree
        parameters below; with an explicit estimator, a tree parameter that
        is not at its default is an error. Any scikit-learn compatible
        regressor works, e.g. :class:`sklopt.neural.MLPRegressor`.
    loss : {{'log_loss', 'exponential'}}, default='log_loss'
        The loss to minimise: the log-loss (binomial or multinomial
        deviance), or for two classes the exponential loss of AdaBoost.
{_SHARED_PARAMETERS}
    %(random_state)s
        It draws the (stratified) validation split, the subsamples and one
        seed per base regressor (set on its ``random_state`` parameters).
    %(verbose)s

    Attributes
    ----------
{_SHARED_ATTRIBUTES}
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_classes_ : int
        Number of classes.

    See Also
    --------
    GradientBoostingRegressor : The regression counterpart.
    AdaBoostClassifier : SAMME boosting of classifiers.
    sklearn.ensemble.GradientBoostingClassifier : The scikit-learn version,
        with trees only.

    Notes
    -----
{_SHARED_NOTES}

    References
    ----------
    .. [1] J. H. Friedman, "Greedy Function Approximation: A Gradient
       Boosting Machine", Annals of Statistics 29 (2001) 1189-1232.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklopt.ensemble import GradientBoostingClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y)
    >>> clf.estimators_.shape
    (20, 3)
    >>> clf.predict_proba(X[:1]).round(2)
    array([[0.95, 0.03, 0.03]])
    """

    _parameter_constraints: dict = {
        **_BaseGradientBoosting._parameter_constraints,
        "loss": [StrOptions({"log_loss", "exponential"})],
        "init": [StrOptions({"zero"}), None, HasMethods(["fit", "predict_proba"])],
    }

    def __init__(
        self,
        estimator=None,
        *,
        loss="log_loss",
        n_estimators=100,
        learning_rate=0.1,
        subsample=1.0,
        criterion="deprecated",
        min_samples_split=2,
        min_samples_leaf=1,
        min_weight_fraction_leaf=0.0,
        max_depth=3,
        min_impurity_decrease=0.0,
        init=None,
        max_features=None,
        max_leaf_nodes=None,
        ccp_alpha=0.0,
        warm_start=False,
        validation_fraction=0.1,
        n_iter_no_change=None,
        tol=1e-4,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.loss = loss
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.criterion = criterion
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_depth = max_depth
        self.min_impurity_decrease = min_impurity_decrease
        self.init = init
        self.max_features = max_features
        self.max_leaf_nodes = max_leaf_nodes
        self.ccp_alpha = ccp_alpha
        self.warm_start = warm_start
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    def _encode_y(self, y, sample_weight):
        self.classes_, y_encoded = _check_classification_y(y, type(self).__name__)
        self.n_classes_ = len(self.classes_)
        self.n_trees_per_iteration_ = 1 if self.n_classes_ == 2 else self.n_classes_
        if sample_weight is not None:
            n_weighted = np.count_nonzero(np.bincount(y_encoded, sample_weight))
            if n_weighted < 2:
                raise ValueError(
                    f"y contains {n_weighted} class after sample_weight trimmed "
                    "classes with zero weights, while a minimum of 2 classes are "
                    "required."
                )
        return y_encoded

    def _n_classes(self):
        return self.n_classes_

    def _make_init(self):
        return DummyClassifier(strategy="prior")

    def _init_raw_from(self, init, X):
        return self._loss.raw_from_proba(np.asarray(init.predict_proba(X)))

    def _target_column(self, y, k):
        if self.n_classes_ == 2:
            return y.astype(np.float64)
        return (y == k).astype(np.float64)

    def _decision(self, raw):
        return raw[:, 0].copy() if self.n_classes_ == 2 else raw.copy()

    def decision_function(self, X):
        """Compute the raw scores (log-odds for two classes, else one per class).

        For two classes, the score is the log-odds of ``classes_[1]``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        decision : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Raw scores (one column per class for more than two classes).
        """
        return self._decision(self._raw_predict(X))

    def staged_decision_function(self, X):
        """Raw scores after each stage.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Yields
        ------
        decision : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Raw scores (one column per class for more than two classes).
        """
        for raw in self._staged_raw_predict(X):
            yield self._decision(raw)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns in the order of ``classes_``.
        """
        return self._loss_proba(self._raw_predict(X))

    def staged_predict_proba(self, X):
        """Class probabilities after each stage.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Yields
        ------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns in the order of ``classes_``.
        """
        for raw in self._staged_raw_predict(X):
            yield self._loss_proba(raw)

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
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predict the most probable class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted values (class labels for classifiers).
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def staged_predict(self, X):
        """Predicted classes after each stage.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Yields
        ------
        y_pred : ndarray of shape (n_samples,)
            Predicted values (class labels for classifiers).
        """
        for proba in self.staged_predict_proba(X):
            yield self.classes_[np.argmax(proba, axis=1)]

    def _loss_proba(self, raw):
        return self._loss.proba(raw)
