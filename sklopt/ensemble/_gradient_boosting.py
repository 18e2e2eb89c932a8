"""Gradient boosting with any regressor as the base learner."""

import copy
from numbers import Integral, Real

import numpy as np
from scipy.sparse import issparse
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    RegressorMixin,
)
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.model_selection import train_test_split
from sklearn.tree import BaseDecisionTree, DecisionTreeRegressor
from sklearn.utils import check_random_state

from sklopt.ensemble._base import (
    _BaseEstimatorMixin,
    _check_classification_y,
    _check_sample_weight,
    _progress,
    _random_state_keys,
    _set_random_states,
    _StagedScoreMixin,
    _supports_sample_weight,
    _validated_once,
    _warn_interrupted,
)
from sklopt.ensemble._gb_losses import _HuberLoss, _make_loss
from sklopt.utils._docstrings import fill_doc
from sklopt.utils._fit_guard import fitting_members, restore_on_failure
from sklopt.utils._random import draw_seeds
from sklopt.utils._validation import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
)

__all__ = ["GradientBoostingClassifier", "GradientBoostingRegressor"]


def _tree_input(estimator, X):
    """X as C-ordered float32 when ``estimator`` is a scikit-learn decision tree
    and X is dense and finite, else None.

    Trees convert X to float32 and validate it at every ``fit`` and
    ``apply``; with the converted X they can skip that (``check_input=False``),
    as scikit-learn's own gradient boosting does. The fitted trees are the same.
    """
    if not isinstance(estimator, BaseDecisionTree) or issparse(X):
        return None
    try:
        X32 = np.ascontiguousarray(X, dtype=np.float32)
    except (TypeError, ValueError):
        return None
    return X32 if np.isfinite(X32).all() else None


def _leaf_indices(member, X, **kwargs):
    """Leaf index of each row when ``member.apply`` gives one (decision
    trees), else None."""
    apply = getattr(member, "apply", None)
    if apply is None:
        return None
    leaves = np.asarray(apply(X, **kwargs))
    if leaves.ndim != 1 or not np.issubdtype(leaves.dtype, np.integer):
        return None
    return leaves


def _lookup(table, leaves):
    """``table[leaves]``, 0 for leaves that no training row reached."""
    out = np.zeros(leaves.shape[0])
    known = leaves < table.shape[0]
    out[known] = table[leaves[known]]
    return out


class _BaseGradientBoosting(
    _StagedScoreMixin, _BaseEstimatorMixin, MetaEstimatorMixin, BaseEstimator
):
    """The boosting loop shared by the gradient-boosting classifier and
    regressor."""

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "subsample": [Interval(Real, 0, 1, closed="right")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # Classifiers too boost regressors (fitted to the pseudo-residuals).
    _default_estimator = staticmethod(lambda: DecisionTreeRegressor(max_depth=3))
    _kind = "regressor"

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the boosted ensemble on (X, y).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (sparse input when the base regressor accepts it).
        y : array-like of shape (n_samples,)
            Target values (class labels for classifiers).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; the base regressor must accept ``sample_weight``
            when they are given.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        with restore_on_failure(self):
            self._fit_checked(X, y, sample_weight)
        return self

    def _fit_checked(self, X, y, sample_weight):
        """Validate, fit the initial estimator, then the stages."""
        self._validate_estimator()
        X, y = self._validate_fit_X_y(
            X, y, y_numeric=not isinstance(self, ClassifierMixin)
        )
        y = self._encode_y(y)
        weighted = sample_weight is not None
        if weighted and not _supports_sample_weight(self.estimator_):
            raise ValueError(
                f"sample_weight was given, but {type(self.estimator_).__name__}.fit "
                "does not accept sample_weight."
            )
        sample_weight = _check_sample_weight(sample_weight, X.shape[0])
        rng = check_random_state(self.random_state)
        split_seed, subsample_seed = draw_seeds(rng, 2)
        train, val = self._split(y, split_seed)
        self._loss = _make_loss(
            self.loss, alpha=getattr(self, "alpha", 0.9), n_classes=self._n_classes()
        )
        self.init_ = self._fit_init(X[train], y[train], sample_weight[train], weighted)
        self._raw_init = self._init_raw(self.init_)
        self._fit_stages(
            X,
            y,
            sample_weight,
            train,
            val,
            rng,
            check_random_state(subsample_seed),
            weighted,
        )

    def _split(self, y, seed):
        """Training and validation row indices (all rows train without early
        stopping)."""
        if self.n_iter_no_change is None:
            return slice(None), None
        rows = np.arange(y.shape[0])
        stratify = y if isinstance(self, ClassifierMixin) else None
        if stratify is not None and np.bincount(y).min() < 2:
            raise ValueError(
                "Early stopping (n_iter_no_change) holds out a stratified "
                f"validation_fraction={self.validation_fraction} of the data, "
                "which needs at least two rows of every class; set "
                "n_iter_no_change=None or use more data."
            )
        try:
            train, val = train_test_split(
                rows,
                test_size=self.validation_fraction,
                random_state=seed,
                stratify=stratify,
            )
        except ValueError as exc:
            raise ValueError(
                "Early stopping (n_iter_no_change) cannot hold out "
                f"validation_fraction={self.validation_fraction} of {len(rows)} "
                f"rows: {exc}"
            ) from exc
        return np.sort(train), np.sort(val)

    def _fit_init(self, X, y, sample_weight, weighted):
        init = self._make_init()
        init.fit(X, y, sample_weight=sample_weight if weighted else None)
        return init

    def _fit_stages(self, X, y, w, train, val, rng, subsample_rng, weighted):
        loss, lr = self._loss, self.learning_rate
        X_train, y_train, w_train = X[train], y[train], w[train]
        n_train = X_train.shape[0]
        raw = np.tile(self._raw_init, (n_train, 1))
        n_in_bag = max(1, int(self.subsample * n_train))
        in_bag = np.ones(n_train, dtype=bool)
        stopper = _EarlyStopping(self, X, y, w, val)
        self.estimators_, self._stage_values = [], []
        self._random_state_keys = _random_state_keys(self.estimator_)
        X32 = _tree_input(self.estimator_, X_train)
        self.train_score_, oob_scores, oob_improvement = [], [], []
        for i in _progress(range(self.n_estimators), self.verbose, "boosting"):
            if self.subsample < 1.0:
                in_bag = np.zeros(n_train, dtype=bool)
                in_bag[subsample_rng.permutation(n_train)[:n_in_bag]] = True
                oob_before = loss(y_train[~in_bag], raw[~in_bag], w_train[~in_bag])
            if isinstance(loss, _HuberLoss):
                loss.update_delta(y_train, raw, w_train)
            try:
                with _validated_once(i), fitting_members():
                    members, values, contributions = self._fit_stage(
                        X_train, y_train, w_train, raw, in_bag, rng, weighted, X32
                    )
            except KeyboardInterrupt:
                # Keep the complete stages; none yet: nothing to keep.
                if not self.estimators_:
                    raise
                _warn_interrupted(
                    self, len(self.estimators_), "boosting rounds", stacklevel=6
                )
                break
            raw += lr * contributions
            self.estimators_.append(members)
            self._stage_values.append(values)
            self.train_score_.append(
                loss(y_train[in_bag], raw[in_bag], w_train[in_bag])
            )
            if self.subsample < 1.0:
                oob_scores.append(
                    loss(y_train[~in_bag], raw[~in_bag], w_train[~in_bag])
                )
                oob_improvement.append(oob_before - oob_scores[-1])
            if stopper.stop(i, members, values):
                break
        self._store_stages(oob_scores, oob_improvement)

    def _store_stages(self, oob_scores, oob_improvement):
        """Turn the per-stage lists into the fitted attributes."""
        n_stages = len(self.estimators_)
        # Filled cell by cell: np.array would unpack sequence-like members
        # (a Pipeline has __len__ and __getitem__).
        members = np.empty((n_stages, self._loss.n_outputs), dtype=object)
        for stage, stage_members in enumerate(self.estimators_):
            for k, member in enumerate(stage_members):
                members[stage, k] = member
        self.estimators_ = members
        self.n_estimators_ = n_stages
        self.estimator_weights_ = np.full(n_stages, self.learning_rate)
        self.train_score_ = np.asarray(self.train_score_)
        for name in ("oob_scores_", "oob_improvement_", "oob_score_"):
            if hasattr(self, name):
                delattr(self, name)
        if self.subsample < 1.0:
            self.oob_scores_ = np.asarray(oob_scores)
            self.oob_improvement_ = np.asarray(oob_improvement)
            self.oob_score_ = self.oob_scores_[-1]

    def _fit_stage(self, X, y, w, raw, in_bag, rng, weighted, X32=None):
        """Fit one regressor per raw column to the negative gradient.

        Returns the members, their stage values (a table of leaf values for
        leaf-based learners, else the scalar step of the line search) and
        their contributions on X (before the learning rate).
        """
        loss = self._loss
        neg_gradient = loss.neg_gradient(y, raw)
        bag = np.flatnonzero(in_bag) if not in_bag.all() else slice(None)
        fit_params = {"sample_weight": w[bag]} if weighted else {}
        check = {}
        if X32 is not None:  # a scikit-learn tree: validate once, not per member
            X, check = X32, {"check_input": False}
        X_bag = X[bag]
        members, values = [], []
        contributions = np.empty_like(raw)
        for k in range(loss.n_outputs):
            # A deep copy of the unfitted base is a clone, made faster.
            member = _set_random_states(
                copy.deepcopy(self.estimator_), rng, self._random_state_keys
            )
            member.fit(X_bag, neg_gradient[bag, k], **fit_params, **check)
            leaves = _leaf_indices(member, X, **check)
            if leaves is not None:
                # Friedman's terminal-region update, from the in-bag rows.
                value = loss.leaf_values(
                    leaves[bag],
                    leaves.max() + 1,
                    self._target_column(y, k)[bag],
                    raw[bag, k],
                    neg_gradient[bag, k],
                    w[bag],
                )
                contributions[:, k] = _lookup(value, leaves)
            else:
                h = np.asarray(member.predict(X), dtype=np.float64).reshape(-1)
                value = loss.step(y[bag], raw[bag], h[bag], w[bag], k)
                contributions[:, k] = value * h
            members.append(member)
            values.append(value)
        return members, values, contributions

    def _target_column(self, y, k):
        return y

    def _contribution(self, member, value, X, **check):
        if isinstance(value, np.ndarray):
            return _lookup(value, _leaf_indices(member, X, **check))
        return value * np.asarray(member.predict(X), dtype=np.float64).reshape(-1)

    def _stage_raw(self, stage, X):
        """The raw output of one stage (learning rate applied)."""
        members, values = self.estimators_[stage], self._stage_values[stage]
        return self.learning_rate * np.column_stack(
            [self._contribution(m, v, X) for m, v in zip(members, values)]
        )

    def _staged_raw_predict(self, X):
        X = self._validate_predict_X(X)
        raw = np.tile(self._raw_init, (X.shape[0], 1))
        for stage in range(self.n_estimators_):
            raw = raw + self._stage_raw(stage, X)
            yield raw

    def _raw_predict(self, X):
        raw = None
        for raw in self._staged_raw_predict(X):  # noqa: B007 - keep the last stage
            pass
        return raw


class _EarlyStopping:
    """Validation-based early stopping (active when ``n_iter_no_change`` is
    set): stop when the validation loss has not improved by more than ``tol``
    on any of the last ``n_iter_no_change`` stages."""

    def __init__(self, ensemble, X, y, w, val):
        self.ensemble = ensemble
        self.active = val is not None
        if self.active:
            self.X, self.y, self.w = X[val], y[val], w[val]
            X32 = _tree_input(ensemble.estimator_, self.X)
            self.check = {} if X32 is None else {"check_input": False}
            self.X = self.X if X32 is None else X32
            self.raw = np.tile(ensemble._raw_init, (len(val), 1))
            self.history = np.full(ensemble.n_iter_no_change, np.inf)

    def stop(self, i, members, values):
        if not self.active:
            return False
        ensemble = self.ensemble
        self.raw = self.raw + ensemble.learning_rate * np.column_stack(
            [
                ensemble._contribution(m, v, self.X, **self.check)
                for m, v in zip(members, values)
            ]
        )
        loss = ensemble._loss(self.y, self.raw, self.w)
        if np.any(loss + ensemble.tol < self.history):
            self.history[i % len(self.history)] = loss
            return False
        return True


_SHARED_PARAMETERS = """\
    n_estimators : int, default=100
        Number of boosting stages.
    learning_rate : float, default=0.1
        Shrinks the contribution of every stage; must be > 0.
    subsample : float, default=1.0
        Fraction of the training rows drawn (without replacement) to fit
        each stage; below 1 gives stochastic gradient boosting and the
        out-of-bag attributes.
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping (used
        only when ``n_iter_no_change`` is set).
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
    init_ : estimator
        The fitted constant baseline the stages start from.
    n_estimators_ : int
        Number of stages fitted (fewer than ``n_estimators`` after early
        stopping).
    train_score_ : ndarray of shape (`n_estimators_`,)
        Loss on the (in-bag) training rows after each stage.
    oob_scores_ : ndarray of shape (`n_estimators_`,)
        Loss on each stage's out-of-bag rows after the stage (only when
        ``subsample < 1``).
    oob_improvement_ : ndarray of shape (`n_estimators_`,)
        Decrease of that loss brought by each stage on its out-of-bag rows
        (only when ``subsample < 1``).
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
      (mean residual, weighted median, Huber's estimate, or one Newton step
      for the log-loss), as in scikit-learn's gradient boosting;
    - any other regressor's output ``h`` is multiplied by a line-searched
      step ``gamma`` (least squares for the squared error, a weighted median
      for the absolute error, a scalar minimisation for Huber, one Newton
      step for the log-loss).

    The stage's members then keep their own ``predict``; use ``predict``,
    ``staged_predict`` (and ``staged_predict_proba``) for the ensemble."""


def _fill(doc):
    return (
        doc.replace("%(gb_parameters)s", _SHARED_PARAMETERS)
        .replace("%(gb_attributes)s", _SHARED_ATTRIBUTES)
        .replace("%(gb_notes)s", _SHARED_NOTES)
    )


@fill_doc
class GradientBoostingRegressor(RegressorMixin, _BaseGradientBoosting):
    __doc__ = _fill(
        """Gradient boosting for regression with any regressor as the base learner.

    Parameters
    ----------
    estimator : object, default=None
        The base regressor, cloned for every stage. None means
        ``DecisionTreeRegressor(max_depth=3)``. Any scikit-learn compatible
        regressor works, e.g. :class:`sklopt.neural.MLPRegressor`.
    loss : {'squared_error', 'absolute_error', 'huber'}, default='squared_error'
        The loss to minimise.
%(gb_parameters)s
    alpha : float, default=0.9
        For ``loss='huber'``: the quantile of the absolute residuals used as
        Huber's threshold, re-estimated at every stage.
    %(random_state)s
        It draws the validation split, the subsamples and one seed per base
        regressor (set on its ``random_state`` parameters).
    %(verbose)s

    Attributes
    ----------
%(gb_attributes)s

    See Also
    --------
    GradientBoostingClassifier : The classification counterpart.
    AdaBoostRegressor : AdaBoost.R2.
    sklearn.ensemble.GradientBoostingRegressor : The scikit-learn version,
        with trees only.

    Notes
    -----
%(gb_notes)s

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
    )

    _parameter_constraints: dict = {
        **_BaseGradientBoosting._parameter_constraints,
        "loss": [StrOptions({"squared_error", "absolute_error", "huber"})],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(
        self,
        estimator=None,
        *,
        loss="squared_error",
        n_estimators=100,
        learning_rate=0.1,
        subsample=1.0,
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
        self.alpha = alpha
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    def _encode_y(self, y):
        return np.asarray(y, dtype=np.float64)

    def _n_classes(self):
        return 1

    def _make_init(self):
        if self.loss == "squared_error":
            return DummyRegressor(strategy="mean")
        return DummyRegressor(strategy="quantile", quantile=0.5)

    def _init_raw(self, init):
        return np.asarray(init.constant_, dtype=np.float64).reshape(1)

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


@fill_doc
class GradientBoostingClassifier(ClassifierMixin, _BaseGradientBoosting):
    __doc__ = _fill(
        """Gradient boosting for classification with any regressor as base learner.

    The log-loss is minimised on the log-odds of ``classes_[1]`` for two
    classes (one regressor per stage) and on one raw score per class for
    ``K > 2`` classes (multinomial deviance, ``K`` regressors per stage).

    Parameters
    ----------
    estimator : object, default=None
        The base regressor, cloned for every stage and class. None means
        ``DecisionTreeRegressor(max_depth=3)``. Any scikit-learn compatible
        regressor works, e.g. :class:`sklopt.neural.MLPRegressor`.
    loss : {'log_loss'}, default='log_loss'
        The loss to minimise.
%(gb_parameters)s
    %(random_state)s
        It draws the (stratified) validation split, the subsamples and one
        seed per base regressor (set on its ``random_state`` parameters).
    %(verbose)s

    Attributes
    ----------
%(gb_attributes)s
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
%(gb_notes)s

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
    )

    _parameter_constraints: dict = {
        **_BaseGradientBoosting._parameter_constraints,
        "loss": [StrOptions({"log_loss"})],
    }

    def __init__(
        self,
        estimator=None,
        *,
        loss="log_loss",
        n_estimators=100,
        learning_rate=0.1,
        subsample=1.0,
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
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    def _encode_y(self, y):
        self.classes_, y_encoded = _check_classification_y(y, type(self).__name__)
        self.n_classes_ = len(self.classes_)
        return y_encoded

    def _n_classes(self):
        return self.n_classes_

    def _make_init(self):
        return DummyClassifier(strategy="prior")

    def _init_raw(self, init):
        log_prior = np.log(np.clip(init.class_prior_, np.finfo(float).eps, 1.0))
        if self.n_classes_ == 2:
            return np.array([log_prior[1] - log_prior[0]])
        return log_prior - log_prior.mean()

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
