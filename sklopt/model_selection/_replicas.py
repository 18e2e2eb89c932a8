"""Bootstrap replicas of an estimator, as one meta-estimator."""

import warnings
from dataclasses import replace

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, is_classifier
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from sklopt.exceptions import TrainingInterruptedWarning
from sklopt.model_selection._rounds import (
    _align_proba,
    _bootstrap_indices,
    _encode_labels,
    _fit_predict_rounds,
    _mode_codes,
)
from sklopt.utils._docstrings import fill_doc
from sklopt.utils._fit_guard import restore_on_failure
from sklopt.utils._resampled_fits import as_given
from sklopt.utils._validation import (
    HasMethods,
    Integral,
    Interval,
    StrOptions,
    _fit_context,
    check_finite_input,
    check_sample_weight,
    check_two_classes,
    validate_data,
)


def _estimator_has(attr):
    """Check the fitted replicas if any, else the template estimator."""

    def check(self):
        if hasattr(self, "estimators_"):
            return hasattr(self.estimators_[0], attr)
        return hasattr(self.estimator, attr)

    return check


def _is_classifier_with(attr):
    def check(self):
        return is_classifier(self.estimator) and _estimator_has(attr)(self)

    return check


@fill_doc
class BootstrapReplicas(MetaEstimatorMixin, BaseEstimator):
    """Replicas of an estimator fitted on bootstrap samples of the training set.

    ``fit`` fits ``n_rounds`` clones of ``estimator``, clone ``r`` on the rows
    of the ``r``-th ``rng.randint(0, n, n)`` of one
    ``np.random.RandomState(random_state)`` (the scheme of
    :func:`bias_variance_decomposition`). ``predict_members`` returns every
    replica's predictions, which is what the scorers of
    :func:`bias_variance_scorers` read: with this meta-estimator the
    bias-variance decomposition on a test fold is an ordinary score, so
    ``cross_validate`` and ``GridSearchCV`` compute it without adapters.

    It behaves as a classifier or a regressor, as ``estimator`` does:
    ``predict`` averages the replicas (regression) or takes their soft vote
    (mean of ``predict_proba``; majority vote with ties to the smallest
    label when ``estimator`` has no ``predict_proba``).

    Read more in the :ref:`User Guide <bias_variance>`.

    Parameters
    ----------
    estimator : estimator instance
        The estimator to replicate; cloned, never fitted itself. Its own
        ``random_state`` is not reseeded per replica.
    n_rounds : int, default=50
        Number of replicas.
    %(random_state)s
    %(n_jobs)s
    %(verbose)s
    batched : {'auto', True, False}, default='auto'
        Fit all replicas at once as one batched model when ``estimator`` is
        a :mod:`sklopt.neural` network whose settings allow it (see
        ``docs/user_guide/batched.rst``): every replica gets the weights it
        would get on its own (to float32 rounding), for a fraction of the
        time; ``n_jobs`` is then not used. ``'auto'`` falls back to
        one-by-one fitting otherwise (saying why when ``verbose``), ``True``
        raises :class:`~sklopt.exceptions.NotBatchableError` instead,
        ``False`` always fits one by one.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted replicas.
    classes_ : ndarray of shape (n_classes,)
        Class labels (classifiers only).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string
        feature names.

    See Also
    --------
    bias_variance_scorers : Loss, bias and variance scorers reading
        ``predict_members``.
    bias_variance_decomposition : The same rounds on one train/test split.

    Notes
    -----
    Parameters of ``fit`` are passed on to every replica's ``fit``; array
    parameters with one entry per sample (such as ``sample_weight``) are
    indexed by the replica's bootstrap rows, so the weights act within each
    bootstrap sample while the draw itself stays uniform.

    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from sklearn.model_selection import cross_validate
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from sklopt.model_selection import BootstrapReplicas, bias_variance_scorers
    >>> X, y = make_friedman1(n_samples=100, random_state=0)
    >>> replicas = BootstrapReplicas(DecisionTreeRegressor(max_depth=3),
    ...                              n_rounds=10, random_state=0)
    >>> scores = cross_validate(replicas, X, y, cv=3,
    ...                         scoring=bias_variance_scorers())
    >>> sorted(key for key in scores if key.startswith("test_"))
    ['test_neg_bias2', 'test_neg_loss', 'test_neg_variance']
    >>> replicas.fit(X, y).predict_members(X[:4]).shape
    (10, 4)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"])],
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "batched": [StrOptions({"auto"}), "boolean"],
    }

    def __init__(
        self,
        estimator,
        n_rounds=50,
        *,
        random_state=None,
        n_jobs=None,
        verbose=0,
        batched="auto",
    ):
        self.estimator = estimator
        self.n_rounds = n_rounds
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.batched = batched

    def _validate_X(self, X):
        checked = validate_data(
            self,
            X,
            reset=False,
            accept_sparse=["csr", "csc"],
            dtype=None,
            ensure_all_finite=False,
        )
        return as_given(X, checked)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit ``n_rounds`` replicas on bootstrap samples of ``(X, y)``.

        A KeyboardInterrupt keeps the replicas completed before it (with a
        warning) and is re-raised.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, handed to the replicas as given (a DataFrame keeps
            its columns).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets (several outputs for regressors only).
        **fit_params : dict
            Passed to every replica's ``fit``; arrays with one entry per
            sample are indexed by the replica's rows.

        Returns
        -------
        self : BootstrapReplicas
            The fitted meta-estimator.
        """
        with restore_on_failure(self):
            interrupted = self._fit(X, y, fit_params)
        if interrupted is not None:
            raise interrupted
        return self

    def _fit(self, X, y, fit_params):
        regression = not is_classifier(self.estimator)
        X_given = X
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            dtype=None,
            ensure_all_finite=False,
            multi_output=regression,
            y_numeric=regression,
        )
        if is_classifier(self.estimator):
            y = column_or_1d(y, warn=True)
            check_classification_targets(y)
            check_two_classes(y, "y", type(self).__name__)
            self.classes_ = np.unique(y)
        if fit_params.get("sample_weight") is not None:
            fit_params = {
                **fit_params,
                "sample_weight": check_sample_weight(
                    fit_params["sample_weight"], len(y)
                ),
            }
        X = as_given(X_given, X)
        check_finite_input(X, "X", self.estimator)
        replicas = _fit_predict_rounds(
            self.estimator,
            X,
            y,
            None,
            _bootstrap_indices(self.random_state, len(y), self.n_rounds),
            n_rounds=self.n_rounds,
            fit_params=fit_params,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            batched=self.batched,
        )
        self.estimators_ = []
        try:
            self.estimators_.extend(replicas)
        except KeyboardInterrupt as exc:
            if not self.estimators_:
                raise
            warnings.warn(
                f"BootstrapReplicas.fit was interrupted (KeyboardInterrupt) after "
                f"{len(self.estimators_)} of n_rounds={self.n_rounds} replicas; "
                "it keeps the complete ones and predicts with them.",
                TrainingInterruptedWarning,
                stacklevel=4,
            )
            return exc
        return None

    def predict_members(self, X):
        """Every replica's predictions.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        predictions : ndarray of shape (n_rounds, n_samples) or \
                (n_rounds, n_samples, n_outputs)
            Class labels for classifiers, values for regressors.
        """
        check_is_fitted(self)
        X = self._validate_X(X)
        return np.stack([member.predict(X) for member in self.estimators_])

    @available_if(_is_classifier_with("predict_proba"))
    def predict_proba_members(self, X):
        """Every replica's class probabilities, over ``classes_``.

        A replica whose bootstrap sample missed a class gives it probability 0.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        probabilities : ndarray of shape (n_rounds, n_samples, n_classes)
            Probabilities of each replica.
        """
        check_is_fitted(self)
        X = self._validate_X(X)
        return np.stack(
            [
                _align_proba(member.predict_proba(X), member.classes_, self.classes_)
                for member in self.estimators_
            ]
        )

    @available_if(_is_classifier_with("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities: the mean of the replicas' probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        probabilities : ndarray of shape (n_samples, n_classes)
            Mean probabilities over the replicas, columns in ``classes_``.
        """
        return self.predict_proba_members(X).mean(axis=0)

    def predict(self, X):
        """Aggregated prediction of the replicas.

        Regressors: mean over the replicas. Classifiers: soft vote (the
        class of highest mean probability) when ``estimator`` has
        ``predict_proba``, else majority vote with ties going to the
        smallest label.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions.
        """
        check_is_fitted(self)
        if not is_classifier(self.estimator):
            return self.predict_members(X).mean(axis=0)
        if hasattr(self, "predict_proba"):
            return self.classes_[self.predict_proba(X).argmax(axis=1)]
        codes = _encode_labels(self.predict_members(X), self.classes_)
        return self.classes_[_mode_codes(codes, len(self.classes_))]

    def score(self, X, y, sample_weight=None):
        """Accuracy (classifiers) or R^2 (regressors) of ``predict``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Accuracy or coefficient of determination.
        """
        metric = accuracy_score if is_classifier(self) else r2_score
        return float(metric(y, self.predict(X), sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        base = get_tags(self.estimator)
        tags.estimator_type = base.estimator_type
        tags.input_tags = replace(base.input_tags)
        tags.target_tags = replace(base.target_tags)
        if base.classifier_tags is not None:
            # Labels are aggregated per sample: a single output only.
            tags.classifier_tags = replace(base.classifier_tags, multi_label=False)
            tags.target_tags.multi_output = False
        tags.regressor_tags = base.regressor_tags
        return tags
