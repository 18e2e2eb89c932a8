"""Warnings and errors raised by sklopt."""

__all__ = [
    "DivergenceError",
    "EarlyTerminationWarning",
    "NotBatchableError",
    "TrainingInterruptedWarning",
]


class DivergenceError(ValueError, ArithmeticError):
    """Raised when the training loss becomes NaN or infinite.

    Inherits from :class:`ValueError` so that code catching bad-input errors
    (for example ``GridSearchCV(error_score=...)``) also catches it.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklopt.exceptions import DivergenceError
    >>> from sklopt.neural import MLPRegressor
    >>> X, y = make_regression(n_samples=50, n_features=3, random_state=0)
    >>> reg = MLPRegressor((), optimizer="sgd", lr=1e3, batch_size="full",
    ...                    device="cpu", random_state=0)
    >>> try:
    ...     reg.fit(X, y)
    ... except DivergenceError as exc:
    ...     print(str(exc)[:48])
    Training of MLPRegressor diverged at epoch 6: th
    """


class NotBatchableError(ValueError):
    """Raised when ensemble members cannot be trained as one batched model.

    An ensemble given ``batched=True`` raises it when its members cannot be
    trained together as one batched model; ``batched='auto'`` then trains
    them one by one instead.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sklopt.ensemble import BaggingClassifier
    >>> from sklopt.exceptions import NotBatchableError
    >>> X, y = load_iris(return_X_y=True)
    >>> bagging = BaggingClassifier(DecisionTreeClassifier(), batched=True)
    >>> try:
    ...     bagging.fit(X, y)
    ... except NotBatchableError as exc:
    ...     print(str(exc).split(": ")[1].split(".")[0])
    DecisionTreeClassifier offers no batched training
    """


class EarlyTerminationWarning(UserWarning):
    """Warned when an iterative ensemble stops before ``n_estimators`` rounds.

    A boosting round stops the ensemble early when its learner is perfect or
    no better than chance.

    Examples
    --------
    An unpruned tree is perfect on its training data, so boosting stops after
    the first round:

    >>> import warnings
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sklopt.ensemble import AdaBoostClassifier
    >>> from sklopt.exceptions import EarlyTerminationWarning
    >>> X, y = load_iris(return_X_y=True)
    >>> ada = AdaBoostClassifier(DecisionTreeClassifier(), n_estimators=10,
    ...                          random_state=0)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     ada = ada.fit(X, y)
    >>> caught[0].category is EarlyTerminationWarning, len(ada.estimators_)
    (True, 1)
    """


class TrainingInterruptedWarning(UserWarning):
    """Warned when a KeyboardInterrupt ends an ensemble's or a study's fit.

    The members complete before the interrupt are kept, and the interrupt is
    re-raised. A neural estimator interrupted in its own fit keeps the
    weights trained so far (and ``history_``) and re-raises the interrupt
    without a warning.

    Examples
    --------
    A base estimator that raises KeyboardInterrupt stands in for Ctrl-C here:

    >>> import warnings
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sklopt.ensemble import BaggingClassifier
    >>> from sklopt.exceptions import TrainingInterruptedWarning
    >>> class Interrupting(DecisionTreeClassifier):
    ...     calls = 0
    ...     def fit(self, X, y, sample_weight=None):
    ...         type(self).calls += 1
    ...         if type(self).calls == 3:
    ...             raise KeyboardInterrupt
    ...         return super().fit(X, y, sample_weight=sample_weight)
    >>> X, y = load_iris(return_X_y=True)
    >>> bagging = BaggingClassifier(Interrupting(), n_estimators=5, random_state=0)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     try:
    ...         bagging.fit(X, y)
    ...     except KeyboardInterrupt:
    ...         print("interrupted")
    interrupted
    >>> any(w.category is TrainingInterruptedWarning for w in caught)
    True
    >>> len(bagging.estimators_)  # the complete members are kept
    2
    """
