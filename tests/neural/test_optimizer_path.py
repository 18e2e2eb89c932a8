import numpy as np
import pytest
import torch

from sklopt.neural import OPTIMIZERS, optimizer_path


def _quadratic(x, y):
    return 0.5 * (x**2 + 10 * y**2)


def test_sgd_path_matches_closed_form():
    # Gradient descent on a quadratic: x_t = (1 - lr)^t x_0, y_t = (1 - 10 lr)^t y_0.
    path, values = optimizer_path(
        "sgd", function=_quadratic, start=(1.0, 1.0), n_steps=20, lr=0.05
    )
    t = np.arange(21)
    np.testing.assert_allclose(path[:, 0], 0.95**t, rtol=1e-12)
    np.testing.assert_allclose(path[:, 1], 0.5**t, rtol=1e-12)
    np.testing.assert_allclose(values, 0.5 * (path[:, 0] ** 2 + 10 * path[:, 1] ** 2))


def test_momentum_path_matches_recursion():
    # a <- beta a + g; w <- w - lr a (REFERENCE.md), written out in NumPy.
    lr, beta = 0.02, 0.9
    w, a = np.array([1.0, -1.0]), np.zeros(2)
    expected = [w.copy()]
    for _ in range(15):
        g = np.array([w[0], 10 * w[1]])
        a = beta * a + g
        w = w - lr * a
        expected.append(w.copy())
    path, _ = optimizer_path(
        "momentum",
        function=_quadratic,
        start=(1.0, -1.0),
        n_steps=15,
        lr=lr,
        momentum=beta,
    )
    np.testing.assert_allclose(path, np.array(expected), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("function", ["rosenbrock", "beale"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_named_functions_make_progress(function, optimizer):
    path, values = optimizer_path(optimizer, function=function)
    assert np.all(np.isfinite(path))
    assert values[-1] < values[0]


def test_saddle_escape_and_torch_class():
    path, values = optimizer_path("adam", function="saddle")
    assert abs(path[-1, 1]) > abs(path[0, 1])  # leaves the saddle along y
    assert values[-1] < values[0]
    p1, _ = optimizer_path(torch.optim.SGD, function="saddle", lr=0.01)
    p2, _ = optimizer_path("sgd", function="saddle", lr=0.01)
    np.testing.assert_allclose(p1, p2)


def test_errors():
    with pytest.raises(ValueError, match="start is required"):
        optimizer_path("sgd", function=_quadratic)
    with pytest.raises(ValueError, match="optimizer"):
        optimizer_path("adamax")
    with pytest.raises(ValueError, match="function"):
        optimizer_path("sgd", function="himmelblau")
    with pytest.raises(TypeError, match="unknown hyperparameters"):
        optimizer_path("sgd", learning_rate=0.1)
    with pytest.raises(ValueError, match="start must be 2 finite"):
        optimizer_path("sgd", start=(np.nan, 1.0))
