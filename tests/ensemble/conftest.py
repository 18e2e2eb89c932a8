"""Stand-in base estimators for the ensemble tests.

``Float32Regressor`` / ``Float32Classifier`` mimic what the ensembles must
cope with in sklopt.neural networks: float32 outputs, a ``random_state``
parameter, and no ``sample_weight`` in ``fit``.
"""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import Ridge
from sklearn.utils.validation import check_is_fitted, validate_data


class Float32Regressor(RegressorMixin, BaseEstimator):
    """Ridge on random features, float32 output, no sample_weight."""

    def __init__(self, alpha=1.0, random_state=None):
        self.alpha = alpha
        self.random_state = random_state

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float32)
        rng = np.random.RandomState(self.random_state)
        self.jitter_ = rng.normal(scale=1e-3, size=X.shape[1]).astype(np.float32)
        self.model_ = Ridge(alpha=self.alpha).fit(X + self.jitter_, y)
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        return self.model_.predict(X + self.jitter_).astype(np.float32)


class Float32Classifier(ClassifierMixin, BaseEstimator):
    """Nearest class mean with float32 probabilities, no sample_weight."""

    def __init__(self, temperature=1.0, random_state=None):
        self.temperature = temperature
        self.random_state = random_state

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float32)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        self.means_ = np.array(
            [X[y_index == k].mean(axis=0) for k in range(len(self.classes_))]
        )
        return self

    def predict_proba(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        distances = ((X[:, None, :] - self.means_[None]) ** 2).sum(axis=2)
        logits = -distances / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return (proba / proba.sum(axis=1, keepdims=True)).astype(np.float32)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@pytest.fixture
def clf_data():
    """Three-class data, 120 rows."""
    return make_classification(
        n_samples=120,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        random_state=0,
    )


@pytest.fixture
def reg_data():
    """Regression data, 120 rows."""
    return make_regression(n_samples=120, n_features=6, noise=5.0, random_state=0)


@pytest.fixture
def float32_regressor():
    """The class of a neural-net-like regressor (float32, no sample_weight)."""
    return Float32Regressor


@pytest.fixture
def float32_classifier():
    """The class of a neural-net-like classifier (float32, no sample_weight)."""
    return Float32Classifier
