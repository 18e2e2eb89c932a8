"""Sharpness of a minimizer (Keskar et al., 2017).

The loss landscape of a fitted network is reached through the private hook
:func:`sklopt.neural._functional._flat_loss_function`, imported inside
:func:`sharpness` so that ``import sklopt.metrics`` stays torch-free.
"""

import numpy as np
from scipy.optimize import minimize
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from sklopt.utils._docstrings import fill_doc
from sklopt.utils._validation import Integral, Interval, Real, validate_params


def _box_radius(theta, epsilon):
    """Half-widths of Keskar's box ``|z_i| <= epsilon * (|theta_i| + 1)``."""
    return epsilon * (np.abs(theta) + 1.0)


def _maximize_in_box(fun, center, radius, *, x0, max_iter):
    """Maximize a smooth function over the box ``|z - center| <= radius``.

    Runs scipy's L-BFGS-B on ``-fun`` from ``x0`` for ``max_iter`` iterations
    (fewer only when the line search cannot make progress). L-BFGS-B only
    evaluates points inside the bounds, so every evaluated value is attained
    in the box; the largest one is returned (the search need not end at its
    best point when the iteration limit cuts it).

    Parameters
    ----------
    fun : callable
        ``fun(theta) -> (value, gradient)``, float and float64 array.
    center : ndarray of shape (n,)
        Center of the box.
    radius : ndarray of shape (n,)
        Half-widths of the box, non-negative.
    x0 : ndarray of shape (n,)
        Starting point, inside the box.
    max_iter : int
        Maximum number of L-BFGS-B iterations.

    Returns
    -------
    value : float
        The largest value of ``fun`` found.
    theta : ndarray of shape (n,)
        Where it was found.
    """
    best = {"value": -np.inf, "theta": None}

    def negated(theta):
        value, grad = fun(theta)
        value = float(value)
        if value > best["value"]:
            best["value"], best["theta"] = value, np.array(theta, copy=True)
        return -value, -np.asarray(grad, dtype=np.float64)

    bounds = np.column_stack([center - radius, center + radius])
    x0 = np.clip(np.asarray(x0, dtype=np.float64), bounds[:, 0], bounds[:, 1])
    minimize(
        negated,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        # No tolerance-based stop: near a minimizer the gradient and the loss
        # changes are tiny by construction, so only max_iter ends the search.
        options={"maxiter": max_iter, "gtol": 0.0, "ftol": 0.0},
    )
    return best["value"], best["theta"]


def _neural_final_step(estimator, X):
    """Split a Pipeline into (transformed X, final step); check the final step
    is a fitted sklopt neural estimator."""
    final = estimator
    if hasattr(estimator, "steps"):
        final = estimator.steps[-1][1]
    # Duck-typed: the hooks that _flat_loss_function relies on.
    if not (
        hasattr(final, "_validate_training_data") and hasattr(final, "_module_spec")
    ):
        raise TypeError(
            "sharpness needs a fitted sklopt neural estimator (MLPClassifier, "
            "MLPRegressor, CNNClassifier) or a Pipeline ending in one; got "
            f"{type(final).__name__}."
        )
    check_is_fitted(final)
    if final is not estimator:
        X = estimator[:-1].transform(X)
    return final, X


@validate_params(
    {
        "estimator": "no_validation",
        "X": ["array-like"],
        "y": ["array-like"],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
@fill_doc
def sharpness(
    estimator,
    X,
    y,
    *,
    epsilon=1e-3,
    max_iter=10,
    random_state=None,
    sample_weight=None,
):
    """Sharpness of the minimizer a fitted network reached (Keskar et al., 2017).

    The largest relative rise of the training loss ``f`` within a small box
    around the fitted parameters ``x``, in percent:

    .. math::

        \\phi = \\frac{\\max_{y \\in C_\\epsilon} f(x + y) - f(x)}{1 + f(x)}
            \\times 100, \\qquad
        C_\\epsilon = \\{z : |z_i| \\le \\epsilon (|x_i| + 1)\\}.

    Flat minima (small :math:`\\phi`) tend to generalize better than sharp
    ones; large-batch training tends to find sharp ones.

    ``f`` is the unregularized training loss on ``(X, y)``: mean
    cross-entropy for classifiers, mean squared error for regressors, with the
    network in evaluation mode (no dropout; normalization layers use their
    running statistics). All parameters of the network are perturbed (the
    full space, ``A = I`` in the paper's notation).

    Parameters
    ----------
    estimator : fitted estimator
        A fitted :class:`~sklopt.neural.MLPClassifier`,
        :class:`~sklopt.neural.MLPRegressor` or
        :class:`~sklopt.neural.CNNClassifier`, or a fitted
        :class:`~sklearn.pipeline.Pipeline` ending in one (``X`` is passed
        through the preceding steps). It is not modified.
    X : array-like of shape (n_samples, n_features)
        Data on which the loss is measured, usually the training data.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets.
    epsilon : float, default=1e-3
        Relative size of the box; the paper reports 1e-3 and 5e-4.
    max_iter : int, default=10
        L-BFGS-B iterations of the maximization (10 in the paper). More
        iterations can only find a larger maximum, so the value is a lower
        bound of the true sharpness that grows with ``max_iter``.
    %(random_state)s
        It draws the starting point of the maximization.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the per-sample losses.

    Returns
    -------
    float
        The sharpness :math:`\\phi`, in percent; non-negative.

    See Also
    --------
    sklopt.neural.MLPClassifier : Its ``batch_size`` moves it between sharp and
        flat minima.

    Notes
    -----
    The maximum is searched with scipy's L-BFGS-B, bounded to the box, for
    ``max_iter`` iterations (no tolerance-based stop). It starts from a point
    drawn uniformly in the box with ``random_state``: at a minimizer the
    gradient vanishes, so a search started at ``x`` itself would have no
    direction to climb. The reported maximum is the largest loss evaluated in
    the box, including ``f(x)``.

    The search is local: the loss is not concave, so it finds a local
    maximum, and the value is a lower bound of the true maximum rise. Around
    minima that are sharp in only a few directions the climb can take more
    than 10 iterations; compare models with the same ``max_iter`` and
    ``random_state``, and check that a larger ``max_iter`` keeps their order.
    The loss is computed in the network's float32 precision, so values
    below about ``1e-4`` percent are rounding noise.

    References
    ----------
    Keskar, Mudigere, Nocedal, Smelyanskiy and Tang, "On Large-Batch Training
    for Deep Learning: Generalization Gap and Sharp Minima", ICLR 2017.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklopt.metrics import sharpness
    >>> from sklopt.neural import MLPClassifier
    >>> X, y = make_classification(n_samples=100, random_state=0)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), max_epochs=50, lr=0.01,
    ...                     device="cpu", random_state=0).fit(X, y)
    >>> phi = sharpness(clf, X, y, epsilon=1e-3, random_state=0)
    >>> 0 < phi < 100
    True
    """
    from sklopt.neural import flat_loss_function

    final, X = _neural_final_step(estimator, X)
    fun, theta = flat_loss_function(final, X, y, sample_weight=sample_weight)
    base, _ = fun(theta)
    if not np.isfinite(base):
        raise ValueError(
            f"The training loss of the fitted {type(final).__name__} on (X, y) is "
            f"{base}; sharpness needs a finite loss."
        )
    radius = _box_radius(theta, epsilon)
    rng = check_random_state(random_state)
    start = theta + rng.uniform(-1.0, 1.0, size=theta.shape) * radius
    peak, _ = _maximize_in_box(fun, theta, radius, x0=start, max_iter=max_iter)
    peak = max(peak, base)
    return float((peak - base) / (1.0 + base) * 100.0)
