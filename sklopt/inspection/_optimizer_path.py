"""Trajectories of optimizers on a 2-D test function."""

import numpy as np

from sklopt.inspection._base import _axes

_COLORS = (
    "#4c72b0",
    "#dd8452",
    "#55a868",
    "#c44e52",
    "#8172b3",
    "#937860",
    "#da8bc3",
    "#8c8c8c",
    "#ccb974",
    "#64b5cd",
)


class OptimizerPathDisplay:
    """Optimizer trajectories drawn over the contours of a 2-D function.

    Build it with :meth:`from_optimizers`, which runs each optimizer with
    :func:`sklopt.neural.optimizer_path` (the estimators' own update rules)
    and evaluates the function on a grid with
    :func:`sklopt.neural.function_surface`; :meth:`plot` only draws.

    Parameters
    ----------
    paths : dict of str to ndarray of shape (n_steps + 1, 2)
        The points visited by each optimizer, keyed by the legend label.
    function : {'rosenbrock', 'beale', 'saddle'} or callable
        The function (named in the title).
    bounds : tuple of two (low, high) pairs, default=None
        The plotted box ``((x_low, x_high), (y_low, y_high))``; None uses
        the range of the paths.
    minimum : tuple of two floats, default=None
        The known minimizer, marked with a star.
    name : str, default=None
        Title of the plot (default: the function's name).
    contours : tuple (xx, yy, zz) of arrays, default=None
        The function's values ``zz`` on the grid ``xx, yy`` (as
        :func:`sklopt.neural.function_surface` gives them); None draws no
        contours.

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        The trajectory of each optimizer.
    contour_ : matplotlib QuadContourSet or None
        The contour lines of the function.
    ax_ : matplotlib Axes
        Axes with the plot.
    figure_ : matplotlib Figure
        Figure containing the plot.

    Examples
    --------
    >>> from sklopt.inspection import OptimizerPathDisplay
    >>> display = OptimizerPathDisplay.from_optimizers(["sgd", "adam"], n_steps=50)
    >>> sorted(display.lines_)
    ['adam', 'sgd']
    """

    def __init__(
        self, *, paths, function, bounds=None, minimum=None, name=None, contours=None
    ):
        self.paths = paths
        self.function = function
        self.bounds = bounds
        self.minimum = minimum
        self.name = name
        self.contours = contours

    def _bounds(self):
        if self.bounds is not None:
            return self.bounds
        return _path_bounds(self.paths)

    def plot(self, ax=None, *, levels=30, contour_kw=None, path_kw=None):
        """Draw the contours and the trajectories.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on; a new figure is created when None.
        levels : int, default=30
            Number of contour levels (log-spaced when the function is
            positive on the box, as for Rosenbrock and Beale).
        contour_kw, path_kw : dict, default=None
            Keyword arguments for ``ax.contour`` and each path's ``ax.plot``.

        Returns
        -------
        display : OptimizerPathDisplay
            The object, with the artists stored as attributes.
        """
        self.figure_, self.ax_ = _axes(ax, "OptimizerPathDisplay.plot")
        bounds = self._bounds()
        self.contour_ = None
        if self.contours is not None:
            xx, yy, zz = self.contours
            finite = zz[np.isfinite(zz)]
            if finite.size and finite.min() > 0:
                levels = np.geomspace(finite.min(), finite.max(), levels)
            self.contour_ = self.ax_.contour(
                xx,
                yy,
                zz,
                levels=levels,
                **{
                    "cmap": "Greys_r",
                    "linewidths": 0.6,
                    "alpha": 0.6,
                    **(contour_kw or {}),
                },
            )
        self.lines_ = {}
        for i, (label, path) in enumerate(self.paths.items()):
            color = _COLORS[i % len(_COLORS)]
            self.lines_[label] = self.ax_.plot(
                path[:, 0],
                path[:, 1],
                **{"label": label, "color": color, "lw": 1.6, **(path_kw or {})},
            )[0]
            last = path[np.all(np.isfinite(path), axis=1)][-1]
            self.ax_.plot(*last, "o", color=color, ms=4)
        start = next(iter(self.paths.values()))[0]
        self.ax_.plot(*start, "ks", ms=6, label="start")
        if self.minimum is not None:
            self.ax_.plot(
                *self.minimum, "*", color="gold", mec="k", ms=14, label="minimum"
            )
        self.ax_.set_xlim(bounds[0])
        self.ax_.set_ylim(bounds[1])
        self.ax_.set_xlabel("x")
        self.ax_.set_ylabel("y")
        title = self.name or (
            self.function
            if isinstance(self.function, str)
            else getattr(self.function, "__name__", "function")
        )
        self.ax_.set_title(title)
        # Outside the axes: the paths fill the box and a legend inside hides them.
        self.ax_.legend(
            frameon=False,
            fontsize="small",
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            numpoints=1,
        )
        return self

    @classmethod
    def from_optimizers(
        cls,
        optimizers,
        *,
        function="rosenbrock",
        start=None,
        n_steps=None,
        ax=None,
        **kwargs,
    ):
        """Run each optimizer on ``function`` and plot the trajectories.

        The function is evaluated on a grid here (for the contours), so that
        :meth:`plot` only draws.

        Parameters
        ----------
        optimizers : list of str, or dict of str to dict
            Optimizer names (or torch optimizer classes), or a mapping of
            legend label to hyperparameters, e.g.
            ``{"sgd": {"lr": 1e-3}, "adam (lr=0.3)": {"optimizer": "adam",
            "lr": 0.3}}`` (the ``optimizer`` key defaults to the label).
        function : {'rosenbrock', 'beale', 'saddle'} or callable, default='rosenbrock'
            The 2-D function (a callable takes torch tensors ``x, y``).
        start : array-like of shape (2,), default=None
            Starting point (required for a callable).
        n_steps : int, default=None
            Number of steps (default depends on the function).
        ax : matplotlib Axes, default=None
            Axes to plot on.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : OptimizerPathDisplay
        """
        from sklopt.neural import function_surface, optimizer_path

        if isinstance(optimizers, dict):
            specs = {label: dict(params) for label, params in optimizers.items()}
        else:
            specs = {}
            for optimizer in optimizers:
                label = optimizer if isinstance(optimizer, str) else optimizer.__name__
                specs[label] = {"optimizer": optimizer}
        if not specs:
            raise ValueError("optimizers must name at least one optimizer.")
        paths = {}
        for label, params in specs.items():
            optimizer = params.pop("optimizer", label)
            paths[label], _ = optimizer_path(
                optimizer, function=function, start=start, n_steps=n_steps, **params
            )
        bounds = None if isinstance(function, str) else _path_bounds(paths)
        surface = function_surface(function, bounds=bounds)
        display = cls(
            paths=paths,
            function=function,
            bounds=surface.bounds,
            minimum=surface.minimum,
            contours=(surface.xx, surface.yy, surface.zz),
        )
        return display.plot(ax=ax, **kwargs)


def _path_bounds(paths):
    """A box around the finite points of the paths, with a margin."""
    points = np.vstack([p[np.all(np.isfinite(p), axis=1)] for p in paths.values()])
    low, high = points.min(axis=0), points.max(axis=0)
    pad = 0.15 * np.maximum(high - low, 1e-3)
    return tuple(zip(low - pad, high + pad))
