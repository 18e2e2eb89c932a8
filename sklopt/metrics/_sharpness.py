"""Sharpness of a minimizer (Keskar et al., 2017).

The loss landscape of a fitted network is reached through the private hook
:func:`sklopt.neural._functional._flat_loss_function`, imported inside
:func:`sharpness` so that ``import sklopt.metrics`` stays torch-free.
"""

import warnings

import numpy as np
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from sklopt.utils._docstrings import fill_doc
from sklopt.utils._validation import Integral, Interval, Real, validate_params


def _box_radius(theta, epsilon):
    """Half-widths of Keskar's box ``|z_i| <= epsilon * (|theta_i| + 1)``."""
    return epsilon * (np.abs(theta) + 1.0)


def _climb_to_vertex(negated, u, *, max_steps, rtol=1e-4):
    """Conditional-gradient steps to a vertex of the box ``[-1, 1]^n``.

    Each step moves to the vertex that maximizes the linear model of the
    function, ``u <- sign(gradient)``; for a convex function this never
    lowers it, and its fixed points are the vertices where no coordinate can
    rise to first order (the points where L-BFGS-B would stop). Around a
    minimizer the loss is close to convex, and these steps reach such a vertex
    in a few evaluations where L-BFGS-B alone, moving a few thousand
    coordinates to their bounds at a time, needs thousands of iterations. A
    step that does not raise the value by ``rtol * max(|value|, 1)`` ends the
    climb; the best point is returned. Coordinates with a zero gradient keep
    their value.
    """
    value, grad = negated(u)
    for _ in range(max_steps):
        step = np.where(grad < 0, 1.0, np.where(grad > 0, -1.0, u))
        if np.array_equal(step, u):
            break
        new_value, new_grad = negated(step)
        gain = value - new_value
        if gain > 0:
            u, value, grad = step, new_value, new_grad
        if gain <= rtol * max(abs(value), 1.0):
            break
    return u


def _maximize_in_box(fun, center, radius, *, x0, max_iter, ftol=1e-9, gtol=1e-7):
    """Maximize a smooth function over the box ``|z - center| <= radius``.

    Climbs from ``x0`` to a vertex of the box by conditional-gradient steps
    (:func:`_climb_to_vertex`, at most ``max_iter``), then runs scipy's
    L-BFGS-B on ``-fun`` from there until it converges or has run
    ``max_iter`` iterations. The search works in the box's own
    coordinates ``u = (theta - center) / radius`` in ``[-1, 1]^n``, so that the
    tolerances do not depend on the sizes of the parameters: it stops when an
    iteration raises ``fun`` by less than ``ftol * max(|fun|, 1)`` or when
    every coordinate of the projected gradient (with respect to ``u``) is
    below ``gtol``, as scipy defines them. L-BFGS-B only evaluates points
    inside the bounds, so every evaluated value is attained in the box; the
    largest one is returned (a line search cut short need not end at its best
    point).

    Parameters
    ----------
    fun : callable
        ``fun(theta) -> (value, gradient)``, float and float64 array.
    center : ndarray of shape (n,)
        Center of the box.
    radius : ndarray of shape (n,)
        Half-widths of the box, positive.
    x0 : ndarray of shape (n,)
        Starting point, inside the box.
    max_iter : int
        Maximum number of L-BFGS-B iterations.
    ftol, gtol : float
        scipy's ``ftol`` and ``gtol`` of L-BFGS-B, in the box's coordinates.

    Returns
    -------
    value : float
        The largest value of ``fun`` found.
    theta : ndarray of shape (n,)
        Where it was found.
    converged : bool
        False when the search stopped at ``max_iter`` iterations (or
        ``100 * max_iter`` evaluations) before a tolerance was met; a line
        search that finds no higher point (the limit of the function's
        floating-point precision) counts as converged.
    """
    center = np.asarray(center, dtype=np.float64)
    radius = np.asarray(radius, dtype=np.float64)
    best = {"value": -np.inf, "theta": None}

    def negated(u):
        theta = center + radius * u
        value, grad = fun(theta)
        value = float(value)
        if value > best["value"]:
            best["value"], best["theta"] = value, theta
        return -value, -np.asarray(grad, dtype=np.float64) * radius

    u0 = np.clip((np.asarray(x0, dtype=np.float64) - center) / radius, -1.0, 1.0)
    u0 = _climb_to_vertex(negated, u0, max_steps=max_iter)
    result = minimize(
        negated,
        u0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-1.0, 1.0)] * len(u0),
        options={
            "maxiter": max_iter,
            "maxfun": 100 * max_iter,
            "ftol": ftol,
            "gtol": gtol,
        },
    )
    # status 1: an iteration or evaluation limit; 2: the line search failed
    # (no higher point within float precision), which is where it converged.
    return best["value"], best["theta"], result.status != 1


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
        "n_starts": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "sample_weight": ["array-like", None],
        "return_starts": ["boolean"],
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
    max_iter=1000,
    n_starts=5,
    random_state=None,
    sample_weight=None,
    return_starts=False,
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
    max_iter : int, default=1000
        Upper bound on the L-BFGS-B iterations of each search; a search
        normally stops earlier, when it has converged (see Notes). A
        :class:`~sklearn.exceptions.ConvergenceWarning` says when a search
        reached it. The paper's 10 iterations give a noisy lower bound.
    n_starts : int, default=5
        Number of searches, each from its own random point of the box. The
        search is local; the sharpness is the largest maximum found.
    %(random_state)s
        It draws the starting points of the searches.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the per-sample losses.
    return_starts : bool, default=False
        Also return the value found by each start, to show the spread of the
        local searches.

    Returns
    -------
    sharpness : float
        The sharpness :math:`\\phi`, in percent; non-negative: the largest
        value over the starts.
    per_start_values : ndarray of shape (n_starts,)
        Only when ``return_starts=True``: the value each start reached, in
        the order the starts were drawn.

    See Also
    --------
    sklopt.neural.MLPClassifier : Its ``batch_size`` moves it between sharp and
        flat minima.

    Notes
    -----
    Each search runs scipy's L-BFGS-B on the relative rise (in percent),
    bounded to the box, in the box's own coordinates (each parameter scaled
    by its half-width). It stops when one iteration raises the rise by less
    than ``1e-9 * max(rise, 1)`` percent, when the projected gradient
    vanishes (a corner or a stationary point), or when the line search can
    find no higher point within the float32 precision of the loss. The
    search starts from a point drawn uniformly in the box: at a minimizer the
    gradient vanishes, so a search started at ``x`` itself would have no
    direction to climb. Every value is the largest loss evaluated by that
    search, including ``f(x)``.

    The loss is not concave, so each search finds a local maximum and the
    value is a lower bound of the true maximum rise; the spread of
    ``per_start_values`` shows how much the local maxima differ. The loss is
    computed in the network's float32 precision, so values below about
    ``1e-4`` percent are rounding noise.

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
    >>> phi, starts = sharpness(clf, X, y, epsilon=1e-3, n_starts=3,
    ...                         random_state=0, return_starts=True)
    >>> bool(0 < phi < 100), starts.shape, bool(phi == starts.max())
    (True, (3,), True)
    """
    from sklopt.neural import flat_loss_function

    final, X = _neural_final_step(estimator, X)
    fun, theta = flat_loss_function(final, X, y, sample_weight=sample_weight)
    return _sharpness_of(
        fun,
        theta,
        estimator_name=type(final).__name__,
        epsilon=epsilon,
        max_iter=max_iter,
        n_starts=n_starts,
        random_state=random_state,
        return_starts=return_starts,
    )


def _sharpness_of(
    fun,
    theta,
    *,
    estimator_name,
    epsilon,
    max_iter,
    n_starts,
    random_state,
    return_starts,
):
    """Keskar's sharpness of ``fun`` at ``theta`` from ``n_starts`` searches."""
    base, _ = fun(theta)
    if not np.isfinite(base):
        raise ValueError(
            f"The training loss of the fitted {estimator_name} on (X, y) is "
            f"{base}; sharpness needs a finite loss."
        )
    scale = 100.0 / (1.0 + base)

    def rise(point):
        # The objective in percent: the tolerances then speak of sharpness.
        value, grad = fun(point)
        return (value - base) * scale, grad * scale

    radius = _box_radius(theta, epsilon)
    rng = check_random_state(random_state)
    values, n_unconverged = [], 0
    for _ in range(n_starts):
        start = theta + rng.uniform(-1.0, 1.0, size=theta.shape) * radius
        peak, _, converged = _maximize_in_box(
            rise, theta, radius, x0=start, max_iter=max_iter
        )
        values.append(max(peak, 0.0))
        n_unconverged += not converged
    if n_unconverged:
        warnings.warn(
            f"{n_unconverged} of {n_starts} sharpness searches stopped at "
            f"max_iter={max_iter} iterations before converging; the value is a "
            "lower bound. Increase max_iter.",
            ConvergenceWarning,
            stacklevel=3,
        )
    values = np.asarray(values, dtype=np.float64)
    value = float(values.max())
    return (value, values) if return_starts else value
