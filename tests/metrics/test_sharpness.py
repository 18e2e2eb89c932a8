import itertools
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklopt.metrics import sharpness
from sklopt.metrics._sharpness import _box_radius, _maximize_in_box

torch = pytest.importorskip("torch")
# Tiny networks: one thread is fastest and avoids oversubscribing the CPU.
torch.set_num_threads(1)


# ---- the box maximization on analytic quadratics ------------------------------
def _quadratic(H, g, c):
    def fun(theta):
        return 0.5 * theta @ H @ theta + g @ theta + c, H @ theta + g

    return fun


def _corners(center, radius):
    signs = np.array(list(itertools.product([-1.0, 1.0], repeat=len(center))))
    return center + signs * radius


def _kkt_corners(H, g, center, radius):
    """Corners where no coordinate can move inward and increase f to first
    order: the vertices at which a projected ascent method stops."""
    corners = _corners(center, radius)
    grad = corners @ H + g
    outward = np.sign(corners - center) * grad >= 0
    return corners[outward.all(axis=1)]


def _values(H, g, c, points):
    return 0.5 * np.einsum("ni,ij,nj->n", points, H, points) + points @ g + c


def _random_problem(rng, d):
    B = rng.normal(size=(d, d))
    return B.T @ B / d, rng.normal(size=d), rng.normal(), rng.normal(size=d)


@pytest.mark.parametrize("seed", range(5))
def test_box_max_reaches_the_corner_maximum_of_a_monotone_quadratic(seed):
    # The linear term dominates the Hessian over the box, so f increases
    # towards one corner along every coordinate: the maximum is unique.
    rng = np.random.RandomState(seed)
    d = 8
    H, _, c, center = _random_problem(rng, d)
    radius = rng.uniform(0.1, 1.0, size=d)
    slope = np.abs(H) @ (np.abs(center) + radius)
    g = rng.choice([-1.0, 1.0], size=d) * (slope + rng.uniform(0.1, 1.0, size=d))
    fun = _quadratic(H, g, c)
    x0 = center + rng.uniform(-1, 1, size=d) * radius
    value, theta, converged = _maximize_in_box(fun, center, radius, x0=x0, max_iter=50)
    assert converged
    expected = _values(H, g, c, _corners(center, radius)).max()
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert value == pytest.approx(fun(theta)[0], rel=1e-15)


@pytest.mark.parametrize("seed", range(5))
def test_box_max_reaches_the_corner_maximum_around_a_minimizer(seed):
    # f = 1/2 (theta - m)^T H (theta - m): the center m is the minimizer (zero
    # gradient) and H is close to rank one with positive entries, so that the
    # only corners where the search can stop are the two global maximizers.
    rng = np.random.RandomState(seed)
    d = 8
    v = rng.uniform(0.5, 1.5, size=d)
    H = 10.0 * np.outer(v, v) + 0.01 * np.eye(d)
    center = rng.normal(size=d)
    g, c = -H @ center, 0.5 * center @ H @ center
    radius = _box_radius(center, 1e-2)
    values = _values(H, g, c, _corners(center, radius))
    expected = values.max()
    kkt = _values(H, g, c, _kkt_corners(H, g, center, radius))
    np.testing.assert_allclose(kkt, expected, rtol=1e-12)
    for start in range(5):
        x0 = center + np.random.RandomState(start).uniform(-1, 1, size=d) * radius
        value, _, _ = _maximize_in_box(
            _quadratic(H, g, c), center, radius, x0=x0, max_iter=50
        )
        assert value == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("seed", range(10))
def test_box_max_ends_at_a_local_maximum_corner_of_any_convex_quadratic(seed):
    # A convex quadratic can have several corners that are local maxima; the
    # search ends at one of them, never above the global maximum.
    rng = np.random.RandomState(seed)
    d = 8
    H, g, c, center = _random_problem(rng, d)
    radius = rng.uniform(0.1, 1.0, size=d)
    fun = _quadratic(H, g, c)
    x0 = center + rng.uniform(-1, 1, size=d) * radius
    value, theta, converged = _maximize_in_box(fun, center, radius, x0=x0, max_iter=200)
    assert converged
    corner_max = _values(H, g, c, _corners(center, radius)).max()
    assert value <= corner_max + 1e-12
    assert value >= fun(x0)[0]
    kkt = _kkt_corners(H, g, center, radius)
    distance = np.abs(kkt - theta).max(axis=1)
    assert distance.min() < 1e-8 * radius.max()


def test_box_max_keeps_the_best_point_evaluated():
    # With one iteration from a point next to the maximizing corner the
    # search still returns a value no lower than the start.
    H, g, c = np.eye(2), np.zeros(2), 0.0
    center, radius = np.zeros(2), np.ones(2)
    x0 = np.array([0.999, 0.999])
    value, theta, _ = _maximize_in_box(
        _quadratic(H, g, c), center, radius, x0=x0, max_iter=1
    )
    assert value >= 0.999**2 - 1e-15
    assert np.all(np.abs(theta) <= 1.0)


@pytest.mark.parametrize("seed", range(5))
def test_box_max_converges_to_the_interior_maximum_of_a_concave_function(seed):
    # f(theta) = -sum cosh(theta_i - m_i): not quadratic, separable and
    # strictly concave, so its maximum over the box is m clipped to the box
    # (closed form). Some m_i lie inside the box (an interior optimum that
    # only a converged search reaches), others outside (a face of the box).
    rng = np.random.RandomState(seed)
    d = 12
    center = rng.normal(size=d)
    radius = rng.uniform(0.5, 2.0, size=d)
    m = center + rng.uniform(-1.5, 1.5, size=d) * radius

    def fun(theta):
        return -np.cosh(theta - m).sum(), -np.sinh(theta - m)

    expected_theta = np.clip(m, center - radius, center + radius)
    expected = fun(expected_theta)[0]
    x0 = center + rng.uniform(-1, 1, size=d) * radius
    value, theta, converged = _maximize_in_box(
        fun, center, radius, x0=x0, max_iter=1000
    )
    assert converged
    assert value == pytest.approx(expected, rel=1e-7)
    # A value within 1e-7 puts theta within about sqrt(1e-7) of the maximizer.
    np.testing.assert_allclose(theta, expected_theta, atol=1e-3)
    # Two iterations are not enough: the search reports it did not converge.
    value_2, _, converged_2 = _maximize_in_box(fun, center, radius, x0=x0, max_iter=2)
    assert not converged_2
    assert value_2 < value


# ---- sharpness of fitted estimators -------------------------------------------
@pytest.fixture(scope="module")
def linear_regressor():
    # A network without hidden layers and with MSE: its loss is quadratic in
    # the parameters, mean((A theta - y)^2) with A = [X, 1]. Positive inputs
    # make the Hessian close to rank one with positive entries, so that the
    # search cannot stop at a corner other than the maximizers (see above).
    from sklopt.neural import MLPRegressor

    rng = np.random.RandomState(0)
    X = rng.uniform(1, 2, size=(200, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.3 + 0.1 * rng.normal(size=200)
    est = MLPRegressor(
        (),
        optimizer=torch.optim.LBFGS,
        lr=1.0,
        batch_size="full",
        max_epochs=20,
        device="cpu",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    return est, X, y


@pytest.fixture(scope="module")
def classifier():
    from sklearn.datasets import load_iris

    from sklopt.neural import MLPClassifier

    X, y = load_iris(return_X_y=True)
    est = make_pipeline(
        StandardScaler(),
        MLPClassifier(
            (8,), lr=0.01, max_epochs=30, tol=0.0, device="cpu", random_state=0
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    return est, X, y


@pytest.mark.parametrize("epsilon", [1e-3, 1e-2])
def test_sharpness_of_a_quadratic_loss_matches_corner_enumeration(
    linear_regressor, epsilon
):
    est, X, y = linear_regressor
    layer = est.net_.module_.layers[0]
    theta = np.r_[
        layer.weight.detach().double().numpy().ravel(),
        layer.bias.detach().double().numpy(),
    ]
    A = np.c_[X, np.ones(len(X))]
    residuals = _corners(theta, _box_radius(theta, epsilon)) @ A.T - y
    peak = (residuals**2).mean(axis=1).max()
    base = ((A @ theta - y) ** 2).mean()
    expected = (peak - base) / (1 + base) * 100
    got, starts = sharpness(
        est, X, y, epsilon=epsilon, random_state=0, return_starts=True
    )
    # The maximum is unique, so every converged start reaches it. float32
    # network: theta + z is rounded to ~1e-7 relative, which moves the rise
    # of the loss by ~1e-4 relative at epsilon=1e-3.
    assert starts.shape == (5,)
    np.testing.assert_allclose(starts, expected, rtol=2e-3)
    assert got == starts.max()


def test_sharpness_is_reproducible_and_does_not_modify_the_estimator(classifier):
    est, X, y = classifier
    proba = est.predict_proba(X)
    first = sharpness(est, X, y, random_state=0)
    assert sharpness(est, X, y, random_state=0) == first
    assert sharpness(est, X, y, random_state=np.random.RandomState(0)) == first
    np.testing.assert_array_equal(est.predict_proba(X), proba)


def test_sharpness_grows_with_epsilon_and_max_iter(classifier):
    est, X, y = classifier
    values = [
        sharpness(est, X, y, epsilon=e, random_state=0) for e in (1e-4, 1e-3, 1e-2)
    ]
    assert values[0] > 0
    assert values[0] < values[1] < values[2]
    # Same start, more iterations: the same search continued, so the best
    # value found cannot fall.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        by_iter = [
            sharpness(est, X, y, max_iter=k, n_starts=1, random_state=0)
            for k in (1, 5, 20)
        ]
    assert by_iter[0] <= by_iter[1] <= by_iter[2]


def test_sharpness_converges_and_warns_when_cut_short(classifier):
    est, X, y = classifier
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        value, starts = sharpness(est, X, y, random_state=0, return_starts=True)
    # Converged: ten times the iteration bound finds the same maxima.
    longer, longer_starts = sharpness(
        est, X, y, max_iter=10_000, random_state=0, return_starts=True
    )
    np.testing.assert_allclose(longer_starts, starts, rtol=1e-6)
    assert longer == pytest.approx(value, rel=1e-6)
    # One iteration stops early, says so, and finds no more.
    with pytest.warns(ConvergenceWarning, match="max_iter=1 .*lower bound"):
        short = sharpness(est, X, y, max_iter=1, random_state=0)
    assert short <= value * (1 + 1e-6)


def test_return_starts_gives_each_start(classifier):
    est, X, y = classifier
    value, starts = sharpness(est, X, y, n_starts=3, random_state=0, return_starts=True)
    assert starts.shape == (3,) and np.all(starts >= 0)
    assert value == starts.max()
    assert sharpness(est, X, y, n_starts=3, random_state=0) == value
    # The first start is the one a single search draws.
    assert sharpness(est, X, y, n_starts=1, random_state=0) == starts[0]


def test_pipeline_equals_the_final_step_on_transformed_data(classifier):
    est, X, y = classifier
    final, Xt = est[-1], est[:-1].transform(X)
    assert sharpness(est, X, y, random_state=0) == sharpness(
        final, Xt, y, random_state=0
    )


def test_sharpness_of_a_cnn_and_sample_weight():
    from sklearn.datasets import load_digits

    from sklopt.neural import CNNClassifier

    X, y = load_digits(return_X_y=True)
    X, y = X[:200] / 16.0, y[:200]
    est = CNNClassifier(
        channels=(4,), max_epochs=3, lr=0.01, device="cpu", random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    phi = sharpness(est, X, y, random_state=0)
    assert np.isfinite(phi) and phi > 0
    # Uniform weights give the unweighted loss, hence the same sharpness.
    phi_w = sharpness(est, X, y, random_state=0, sample_weight=np.full(len(y), 3.0))
    assert phi_w == pytest.approx(phi, rel=1e-6)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"epsilon": 0.0}, "epsilon"),
        ({"epsilon": -1e-3}, "epsilon"),
        ({"epsilon": "big"}, "epsilon"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_iter": 2.5}, "max_iter"),
        ({"n_starts": 0}, "n_starts"),
        ({"return_starts": "yes"}, "return_starts"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_invalid_parameters(classifier, params, match):
    est, X, y = classifier
    with pytest.raises(ValueError, match=match):
        sharpness(est, X, y, **params)


def test_unfitted_and_non_neural_estimators():
    from sklopt.neural import MLPClassifier

    X, y = np.random.RandomState(0).normal(size=(20, 3)), np.arange(20) % 2
    with pytest.raises(NotFittedError):
        sharpness(MLPClassifier(), X, y)
    with pytest.raises(NotFittedError):
        sharpness(make_pipeline(StandardScaler(), MLPClassifier()), X, y)
    with pytest.raises(TypeError, match="sklopt neural estimator.*LinearRegression"):
        sharpness(LinearRegression().fit(X, y), X, y)
    with pytest.raises(TypeError, match="LinearRegression"):
        sharpness(make_pipeline(StandardScaler(), LinearRegression()).fit(X, y), X, y)


def test_bad_data(classifier):
    est, X, y = classifier
    with pytest.raises(ValueError, match="features"):
        sharpness(est, X[:, :2], y)
    with pytest.raises(ValueError, match="not among the classes"):
        sharpness(est, X, np.full(len(y), 7))
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        sharpness(est, X_nan, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        sharpness(est, X, y[:-1])
