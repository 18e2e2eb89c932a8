"""Neural tests need torch; tiny nets run fastest single-threaded."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def iris():
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="session")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


@pytest.fixture(scope="session")
def linear_regression():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 4))
    coef = np.array([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0], [-1.5, 0.0]])
    Y = X @ coef + 0.05 * rng.normal(size=(80, 2))
    return X, Y
