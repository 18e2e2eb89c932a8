"""Trajectories of the optimizers on 2-D test functions.

The same update rules as the estimators
(:func:`~sklopt.neural._optim._resolve_optimizer`) applied to one 2-D point,
to show how each optimizer moves on a valley (Rosenbrock), a flat plateau with
steep walls (Beale) or a saddle.
"""

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import Bunch

from sklopt.neural._base import _BaseNeural
from sklopt.neural._optim import OPTIMIZERS, _resolve_optimizer
from sklopt.neural._rules import _warn
from sklopt.utils._validation import (
    Integral,
    Interval,
    Real,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)


def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _beale(x, y):
    return (
        (1.5 - x + x * y) ** 2
        + (2.25 - x + x * y**2) ** 2
        + (2.625 - x + x * y**3) ** 2
    )


def _saddle(x, y):
    return x**2 - y**2


# name -> function, start, minimum (or None), plot box, n_steps, lr per optimizer.
# The learning rates were picked so that each optimizer makes visible progress
# without diverging in n_steps (plain SGD diverges on Rosenbrock above ~2e-3).
TEST_FUNCTIONS = {
    "rosenbrock": {
        "function": _rosenbrock,
        "start": (-1.5, 2.0),
        "minimum": (1.0, 1.0),
        "bounds": ((-2.0, 2.0), (-1.0, 3.0)),
        "n_steps": 500,
        "lr": {
            "sgd": 1e-3,
            "momentum": 1e-3,
            "nesterov": 1e-3,
            "adagrad": 0.5,
            "adadelta": 1.0,
            "rmsprop": 1e-2,
            "adam": 0.1,
            "adamw": 0.1,
        },
    },
    "beale": {
        "function": _beale,
        "start": (1.0, 1.5),
        "minimum": (3.0, 0.5),
        "bounds": ((-0.5, 4.0), (-1.0, 2.0)),
        "n_steps": 300,
        "lr": {
            "sgd": 1e-2,
            "momentum": 1e-3,
            "nesterov": 1e-3,
            "adagrad": 0.5,
            "adadelta": 1.0,
            "rmsprop": 1e-2,
            "adam": 0.1,
            "adamw": 0.1,
        },
    },
    "saddle": {
        "function": _saddle,
        "start": (-1.0, 1e-3),
        "minimum": None,
        "bounds": ((-1.5, 1.5), (-1.5, 1.5)),
        "n_steps": 100,
        "lr": {
            "sgd": 1e-2,
            "momentum": 1e-2,
            "nesterov": 1e-2,
            "adagrad": 0.1,
            "adadelta": 1.0,
            "rmsprop": 1e-2,
            "adam": 1e-2,
            "adamw": 1e-2,
        },
    },
}


def _evaluate(function, x, y):
    """Evaluate a 2-D function given as a name or a callable, with torch."""
    f = TEST_FUNCTIONS[function]["function"] if isinstance(function, str) else function
    return f(x, y)


@validate_params(
    {
        "function": [StrOptions(set(TEST_FUNCTIONS)), callable],
        "bounds": [tuple, list, None],
        "n_points": [Interval(Integral, 2, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def function_surface(function="rosenbrock", *, bounds=None, n_points=200):
    """Evaluate a 2-D test function on a grid (for contour plots).

    Parameters
    ----------
    function : {'rosenbrock', 'beale', 'saddle'} or callable, default='rosenbrock'
        A named test function of :func:`optimizer_path`, or a callable taking
        torch tensors ``(x, y)`` and returning a tensor of their shape.
    bounds : tuple of two (low, high) pairs, default=None
        The box ``((x_low, x_high), (y_low, y_high))``; None uses the named
        function's box (required for a callable).
    n_points : int, default=200
        Grid points along each axis.

    Returns
    -------
    surface : Bunch
        ``xx``, ``yy``, ``zz``: float64 arrays of shape (n_points, n_points)
        (``numpy.meshgrid`` layout); ``bounds``: the box; ``minimum``: the
        named function's minimizer (None for the saddle or a callable).

    Examples
    --------
    >>> from sklopt.neural import function_surface
    >>> surface = function_surface("rosenbrock", n_points=50)
    >>> surface.zz.shape, surface.minimum
    ((50, 50), (1.0, 1.0))
    """
    named = TEST_FUNCTIONS.get(function) if isinstance(function, str) else None
    if bounds is None:
        if named is None:
            raise ValueError("bounds is required when function is a callable.")
        bounds = named["bounds"]
    try:
        (x0, x1), (y0, y1) = np.asarray(bounds, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"bounds must be two (low, high) pairs; got {bounds!r}."
        ) from exc
    xx, yy = np.meshgrid(np.linspace(x0, x1, n_points), np.linspace(y0, y1, n_points))
    with torch.no_grad():
        zz = _evaluate(function, torch.from_numpy(xx), torch.from_numpy(yy))
    return Bunch(
        xx=xx,
        yy=yy,
        zz=np.asarray(zz, dtype=np.float64),
        bounds=((float(x0), float(x1)), (float(y0), float(y1))),
        minimum=named["minimum"] if named else None,
    )


def _check_hyperparameters(hyperparameters):
    """Check the optimizer constants as the estimators' parameter checks do."""
    constraints = _BaseNeural._parameter_constraints
    validate_parameter_constraints(
        {name: constraints[name] for name in hyperparameters},
        hyperparameters,
        caller_name="optimizer_path",
    )
    betas = hyperparameters.get("betas")
    if betas is not None and not (
        len(betas) == 2 and all(isinstance(b, Real) and 0 <= b < 1 for b in betas)
    ):
        raise ValueError(
            f"betas must be None or a pair of floats in [0, 1); got {betas!r}."
        )


@validate_params(
    {
        "optimizer": [StrOptions(set(OPTIMIZERS)), type],
        "function": [StrOptions(set(TEST_FUNCTIONS)), callable],
        "start": ["array-like", None],
        "n_steps": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def optimizer_path(
    optimizer, *, function="rosenbrock", start=None, n_steps=None, **hyperparameters
):
    """Run an optimizer on a 2-D test function and return its trajectory.

    The update rules are exactly those the neural estimators use for the same
    ``optimizer`` and hyperparameters.

    Parameters
    ----------
    optimizer : str or torch optimizer class
        One of ``'sgd', 'momentum', 'nesterov', 'adagrad', 'adadelta',
        'rmsprop', 'adam', 'adamw'`` or a subclass of
        :class:`torch.optim.Optimizer`.
    function : {'rosenbrock', 'beale', 'saddle'} or callable, default='rosenbrock'
        The function to minimise. A callable takes two scalar torch tensors
        ``(x, y)`` and returns a scalar tensor (use torch operations).
    start : array-like of shape (2,), default=None
        Starting point; None uses the named function's usual start (required
        for a callable).
    n_steps : int, default=None
        Number of optimizer steps; None uses the named function's default
        (Rosenbrock 500, Beale 300, saddle 100; 200 for a callable).
    **hyperparameters
        ``lr``, ``momentum``, ``betas``, ``rho``, ``eps``, ``weight_decay``
        as in the estimators. A missing ``lr`` takes a value tuned for the
        named function (see ``TEST_FUNCTIONS``), else the optimizer's default.

    Returns
    -------
    path : ndarray of shape (n_steps + 1, 2)
        The points visited, starting with ``start``.
    values : ndarray of shape (n_steps + 1,)
        The function value at each point.

    Examples
    --------
    >>> from sklopt.neural import optimizer_path
    >>> path, values = optimizer_path("adam", function="rosenbrock", n_steps=200)
    >>> path.shape, bool(values[-1] < values[0])
    ((201, 2), True)
    """
    unknown = set(hyperparameters) - {
        "lr",
        "momentum",
        "betas",
        "rho",
        "eps",
        "weight_decay",
    }
    if unknown:
        raise TypeError(
            f"optimizer_path got unknown hyperparameters {sorted(unknown)}."
        )
    _check_hyperparameters(hyperparameters)
    spec = TEST_FUNCTIONS.get(function) if isinstance(function, str) else None
    if start is None:
        if spec is None:
            raise ValueError("start is required when function is a callable.")
        start = spec["start"]
    try:
        start = np.asarray(start, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"start must be 2 finite numbers; got {start!r}.") from exc
    if start.shape != (2,) or not np.all(np.isfinite(start)):
        raise ValueError(f"start must be 2 finite numbers; got {start!r}.")
    if n_steps is None:
        n_steps = spec["n_steps"] if spec else 200
    if "lr" not in hyperparameters and spec and isinstance(optimizer, str):
        hyperparameters["lr"] = spec["lr"][optimizer]
    cls, kwargs = _resolve_optimizer(optimizer, **hyperparameters)
    point = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = cls([point], **kwargs)
    path = np.empty((n_steps + 1, 2))
    values = np.empty(n_steps + 1)
    path[0] = start
    for step in range(n_steps + 1):
        opt.zero_grad()
        value = _evaluate(function, point[0], point[1])
        values[step] = value.detach().item()
        if step == n_steps:
            break
        value.backward()
        opt.step()
        path[step + 1] = point.detach().numpy()
    finite = np.isfinite(values) & np.isfinite(path).all(axis=1)
    if not finite.all():
        _warn(
            f"optimizer_path: {kwargs.get('lr', 'the default')!r} is too large a "
            f"learning rate here; the path diverges (not finite) from step "
            f"{int(np.argmin(finite))} on. A smaller lr keeps it finite.",
            ConvergenceWarning,
        )
    return path, values
