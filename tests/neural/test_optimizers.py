"""Each optimizer name against the update formulas of REFERENCE.md in NumPy.

The model is linear regression (``MLPRegressor(hidden_layer_sizes=())``)
trained with full-batch steps (one ``partial_fit`` = one step), so the
gradient of the MSE has the closed form ``2/n X^T (X w + b - y)``. NumPy
iterates the textbook formulas in float64 from the same initial weights;
torch trains in float32, hence rtol=1e-5 after a few steps.

Where torch's form differs from the textbook one, the test states and checks
the exact relation:

* Nesterov: torch's parameters are the look-ahead points
  ``V_t = W_t - lr * beta * a_t`` of the textbook iteration.
* RMSprop and Adam put eps outside the square root; with eps = 0 both forms
  coincide, and the textbook Adam step equals torch's with
  ``sqrt(v_hat) + eps`` replaced by ``sqrt(v_hat + eps / (1 - b2^t))``.
* Adadelta is the textbook method with lr = 1.0 (our default for lr=None).
* AdamW decays the weights by ``lr * weight_decay * W`` before the Adam step
  (decoupled); Adam/SGD add ``weight_decay * W`` to the gradient.
"""

import numpy as np
import pytest
import torch

from sklopt.neural import MLPClassifier, MLPRegressor
from sklopt.neural._optim import OPTIMIZERS, _resolve_optimizer
from sklopt.neural._spec import _FitResult

N_STEPS = 5
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*maximum number of epochs:sklearn.exceptions.ConvergenceWarning"
)
RTOL, ATOL = 1e-5, 1e-6


@pytest.fixture(scope="module")
def problem():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(24, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=24)).astype(
        np.float32
    )
    w0 = rng.normal(scale=0.5, size=3).astype(np.float32)
    b0 = np.float32(0.1)
    return X, y, w0, b0


def grad(X, y, w, b):
    residual = X.astype(np.float64) @ w + b - y
    return 2 / len(X) * X.T @ residual, 2 / len(X) * residual.sum()


def torch_weights(problem, steps=N_STEPS, **params):
    """Train our estimator for ``steps`` full-batch steps from (w0, b0)."""
    X, y, w0, b0 = problem
    est = MLPRegressor((), batch_size="full", device="cpu", random_state=0, **params)
    state = {
        "layers.0.weight": torch.tensor(w0[None, :]),
        "layers.0.bias": torch.tensor([b0]),
    }
    # fitted metadata of 3 features and one output, then the given weights
    est.n_features_in_, est.n_outputs_, est._y_ndim = 3, 1, 1
    est._apply_result(_FitResult(state_dict=state), est._net_spec("cpu", False))
    for _ in range(steps):
        est.partial_fit(X, y)
    layer = est.net_.module_.layers[0]
    return layer.weight.detach().numpy().ravel(), float(layer.bias.detach()[0])


def numpy_iterate(problem, update, steps=N_STEPS, weight_decay=0.0):
    """Iterate ``update(theta, g, state, t)`` on theta = (w, b) in float64;
    weight_decay adds alpha * w to the weight gradient (not to the bias)."""
    X, y, w0, b0 = problem
    theta = np.r_[w0, b0].astype(np.float64)
    state = {}
    for t in range(1, steps + 1):
        gw, gb = grad(X, y, theta[:3], theta[3])
        g = np.r_[gw + weight_decay * theta[:3], gb]
        theta = update(theta, g, state, t)
    return theta


def assert_matches(torch_result, theta):
    w, b = torch_result
    np.testing.assert_allclose(w, theta[:3], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(b, theta[3], rtol=RTOL, atol=ATOL)


def sgd(lr):
    def update(theta, g, state, t):
        return theta - lr * g

    return update


def momentum(lr, beta):
    def update(theta, g, state, t):
        state["a"] = beta * state.get("a", 0.0) + g
        return theta - lr * state["a"]

    return update


def adagrad(lr, eps):
    def update(theta, g, state, t):
        state["G"] = state.get("G", 0.0) + g**2
        return theta - lr / (np.sqrt(state["G"]) + eps) * g

    return update


def adadelta(gamma, eps):
    def update(theta, g, state, t):
        state["G"] = gamma * state.get("G", 0.0) + (1 - gamma) * g**2
        H = state.get("H", 0.0)
        dW = -np.sqrt(H + eps) / np.sqrt(state["G"] + eps) * g
        state["H"] = gamma * H + (1 - gamma) * dW**2
        return theta + dW

    return update


def rmsprop(lr, gamma, eps, eps_inside):
    def update(theta, g, state, t):
        state["G"] = gamma * state.get("G", 0.0) + (1 - gamma) * g**2
        denominator = (
            np.sqrt(state["G"] + eps) if eps_inside else np.sqrt(state["G"]) + eps
        )
        return theta - lr / denominator * g

    return update


def adam(lr, b1, b2, eps, textbook, decoupled_decay=0.0):
    def update(theta, g, state, t):
        if decoupled_decay:
            theta = np.r_[theta[:3] * (1 - lr * decoupled_decay), theta[3]]
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
        state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g**2
        m, v = state["m"], state["v"]
        if (
            textbook
        ):  # REFERENCE.md: eta / sqrt(v + eps) * sqrt(1 - b2^t) / (1 - b1^t) * m
            return theta - lr / np.sqrt(v + eps) * np.sqrt(1 - b2**t) / (1 - b1**t) * m
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        return theta - lr * m_hat / (np.sqrt(v_hat) + eps)

    return update


def test_sgd_is_plain_gradient_descent(problem):
    assert_matches(
        torch_weights(problem, optimizer="sgd", lr=0.05),
        numpy_iterate(problem, sgd(0.05)),
    )


def test_sgd_ignores_momentum_constant(problem):
    plain = torch_weights(problem, optimizer="sgd", lr=0.05)
    with_momentum = torch_weights(problem, optimizer="sgd", lr=0.05, momentum=0.9)
    np.testing.assert_array_equal(plain[0], with_momentum[0])


@pytest.mark.parametrize("beta", [None, 0.5])
def test_momentum(problem, beta):
    expected = numpy_iterate(problem, momentum(0.05, 0.9 if beta is None else beta))
    assert_matches(
        torch_weights(problem, optimizer="momentum", lr=0.05, momentum=beta), expected
    )


def test_nesterov_is_shifted_textbook_nesterov(problem):
    # Textbook: a <- beta a + grad L(W - lr beta a); W <- W - lr a.
    # torch.optim.SGD(nesterov=True) iterates V = W - lr beta a instead.
    lr, beta = 0.05, 0.9
    X, y, w0, b0 = problem
    W, a = np.r_[w0, b0].astype(np.float64), np.zeros(4)
    for _ in range(N_STEPS):
        look = W - lr * beta * a
        gw, gb = grad(X, y, look[:3], look[3])
        a = beta * a + np.r_[gw, gb]
        W = W - lr * a
    assert_matches(
        torch_weights(problem, optimizer="nesterov", lr=lr), W - lr * beta * a
    )
    # The shift vanishes at convergence but not after a few steps.
    assert np.abs(lr * beta * a).max() > 1e-3


def test_adagrad(problem):
    expected = numpy_iterate(problem, adagrad(0.1, 1e-10))
    assert_matches(torch_weights(problem, optimizer="adagrad", lr=0.1), expected)


def test_adagrad_steps_shrink_like_inverse_sqrt_t():
    # Constant gradient g: the t-th step is lr * g / sqrt(t g^2) = lr / sqrt(t).
    param = torch.nn.Parameter(torch.zeros(1))
    cls, kwargs = _resolve_optimizer("adagrad", lr=0.1)
    opt = cls([param], **kwargs)
    steps = []
    for _ in range(100):
        before = param.item()
        param.grad = torch.ones(1)
        opt.step()
        steps.append(before - param.item())
    np.testing.assert_allclose(steps, 0.1 / np.sqrt(np.arange(1, 101)), rtol=1e-5)


def test_adadelta_default_lr_is_one_and_matches_textbook(problem):
    assert _resolve_optimizer("adadelta")[1]["lr"] == 1.0
    expected = numpy_iterate(problem, adadelta(0.9, 1e-6), steps=8)
    assert_matches(torch_weights(problem, steps=8, optimizer="adadelta"), expected)


@pytest.mark.parametrize("eps", [None, 1e-2])
def test_rmsprop_torch_form(problem, eps):
    # torch: W <- W - lr g / (sqrt(G) + eps); REFERENCE.md: / sqrt(G + eps).
    torch_form = numpy_iterate(
        problem, rmsprop(0.01, 0.99, 1e-8 if eps is None else eps, eps_inside=False)
    )
    assert_matches(
        torch_weights(problem, optimizer="rmsprop", lr=0.01, eps=eps), torch_form
    )
    if eps is not None:  # a large eps shows the placement
        textbook = numpy_iterate(problem, rmsprop(0.01, 0.99, eps, eps_inside=True))
        assert np.abs(torch_form - textbook).max() > 1e-4


def test_rmsprop_equals_textbook_when_eps_is_zero(problem):
    textbook = numpy_iterate(problem, rmsprop(0.01, 0.9, 0.0, eps_inside=True))
    assert_matches(
        torch_weights(problem, optimizer="rmsprop", lr=0.01, rho=0.9, eps=0.0), textbook
    )


def test_adam_torch_form(problem):
    expected = numpy_iterate(problem, adam(0.01, 0.9, 0.999, 1e-8, textbook=False))
    assert_matches(torch_weights(problem, optimizer="adam", lr=0.01), expected)


def test_adam_equals_textbook_when_eps_is_zero(problem):
    textbook = numpy_iterate(problem, adam(0.01, 0.8, 0.99, 0.0, textbook=True))
    assert_matches(
        torch_weights(problem, optimizer="adam", lr=0.01, betas=(0.8, 0.99), eps=0.0),
        textbook,
    )


def test_adam_textbook_eps_relation(problem):
    # Textbook eps inside the root equals torch's form with
    # sqrt(v_hat) + eps replaced by sqrt(v_hat + eps / (1 - b2^t)).
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-3
    textbook = numpy_iterate(problem, adam(lr, b1, b2, eps, textbook=True))

    def rewritten(theta, g, state, t):
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
        state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g**2
        m_hat, v_hat = state["m"] / (1 - b1**t), state["v"] / (1 - b2**t)
        return theta - lr * m_hat / np.sqrt(v_hat + eps / (1 - b2**t))

    np.testing.assert_allclose(numpy_iterate(problem, rewritten), textbook, rtol=1e-12)
    # With such a large eps the two placements differ visibly.
    torch_form = numpy_iterate(problem, adam(lr, b1, b2, eps, textbook=False))
    assert np.abs(torch_form - textbook).max() > 1e-4


def test_weight_decay_is_l2_gradient_on_weights_only(problem):
    expected = numpy_iterate(problem, sgd(0.05), weight_decay=0.5)
    assert_matches(
        torch_weights(problem, optimizer="sgd", lr=0.05, weight_decay=0.5), expected
    )
    expected = numpy_iterate(
        problem, adam(0.01, 0.9, 0.999, 1e-8, textbook=False), weight_decay=0.5
    )
    assert_matches(
        torch_weights(problem, optimizer="adam", lr=0.01, weight_decay=0.5), expected
    )


def test_adamw_decay_is_decoupled(problem):
    update = adam(0.01, 0.9, 0.999, 1e-8, textbook=False, decoupled_decay=0.5)
    assert_matches(
        torch_weights(problem, optimizer="adamw", lr=0.01, weight_decay=0.5),
        numpy_iterate(problem, update),
    )
    coupled = torch_weights(problem, optimizer="adam", lr=0.01, weight_decay=0.5)
    assert not np.allclose(coupled[0], numpy_iterate(problem, update)[:3], rtol=1e-4)


def test_torch_optimizer_class_is_accepted(problem):
    by_name = torch_weights(problem, optimizer="sgd", lr=0.05)
    by_class = torch_weights(problem, optimizer=torch.optim.SGD, lr=0.05)
    np.testing.assert_array_equal(by_name[0], by_class[0])
    assert_matches(
        torch_weights(problem, optimizer=torch.optim.Adamax, lr=0.01),
        numpy_iterate(problem, _adamax(0.01)),
    )


def _adamax(lr, b1=0.9, b2=0.999, eps=1e-8):
    def update(theta, g, state, t):
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
        state["u"] = np.maximum(b2 * state.get("u", 0.0), np.abs(g) + eps)
        return theta - lr / (1 - b1**t) * state["m"] / state["u"]

    return update


def test_lbfgs_class_works_through_the_closure(problem):
    X, y, _, _ = problem
    est = MLPRegressor(
        (),
        optimizer=torch.optim.LBFGS,
        lr=1.0,
        batch_size="full",
        max_epochs=5,
        device="cpu",
        random_state=0,
    ).fit(X, y)
    assert est.score(X, y) > 0.99


@pytest.mark.parametrize(
    "name, cls, lr",
    [
        ("sgd", torch.optim.SGD, 0.01),
        ("momentum", torch.optim.SGD, 0.01),
        ("nesterov", torch.optim.SGD, 0.01),
        ("adagrad", torch.optim.Adagrad, 0.01),
        ("adadelta", torch.optim.Adadelta, 1.0),
        ("rmsprop", torch.optim.RMSprop, 0.001),
        ("adam", torch.optim.Adam, 0.001),
        ("adamw", torch.optim.AdamW, 0.001),
    ],
)
def test_registry_defaults(name, cls, lr):
    resolved_cls, kwargs = _resolve_optimizer(name)
    assert resolved_cls is cls
    assert kwargs["lr"] == lr
    assert kwargs["weight_decay"] == 0.0
    assert kwargs.get("nesterov", False) == (name == "nesterov")
    assert kwargs.get("momentum", 0.0) == (
        0.9 if name in ("momentum", "nesterov") else 0.0
    )
    cls(torch.nn.Linear(2, 1).parameters(), **kwargs)  # torch accepts them


def test_registry_lists_all_names():
    assert OPTIMIZERS == (
        "sgd",
        "momentum",
        "nesterov",
        "adagrad",
        "adadelta",
        "rmsprop",
        "adam",
        "adamw",
    )


def test_bad_optimizers_raise_clear_errors(problem):
    X, y, _, _ = problem
    with pytest.raises(
        ValueError, match="'optimizer' parameter .* must be a str among"
    ):
        MLPRegressor(optimizer="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="subclass of torch.optim.Optimizer"):
        MLPRegressor(optimizer=int).fit(X, y)
    with pytest.raises(ValueError, match="nesterov' needs momentum > 0"):
        MLPRegressor(optimizer="nesterov", momentum=0.0).fit(X, y)
    with pytest.raises(ValueError, match="betas must be None or a pair"):
        MLPRegressor(betas=(0.9,)).fit(X, y)
    with pytest.raises(ValueError, match="could not be built"):
        MLPRegressor(optimizer=torch.optim.SGD, betas=(0.9, 0.99), device="cpu").fit(
            X, y
        )
    with pytest.raises(ValueError, match="'lr' parameter"):
        MLPRegressor(lr=-1.0).fit(X, y)


def test_adamw_without_weight_decay_does_not_decay():
    # torch's AdamW decays by 0.01 unless told otherwise; weight_decay=0 means none.
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((4,), optimizer="adamw", max_epochs=2, device="cpu").fit(X, y)
    assert all(g["weight_decay"] == 0.0 for g in clf.net_.optimizer_.param_groups)
    clf = clf.set_params(weight_decay=0.1).fit(X, y)
    assert sorted(g["weight_decay"] for g in clf.net_.optimizer_.param_groups) == [
        0.0,
        0.1,
    ]
