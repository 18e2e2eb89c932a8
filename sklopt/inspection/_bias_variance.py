"""Bias^2, variance and expected loss against model complexity."""

import numbers

import numpy as np

from sklopt.inspection._base import _axes

_STYLE = {
    "loss": {"color": "#222222", "lw": 2.2, "marker": "o", "ms": 4},
    "bias": {"color": "#4c72b0", "lw": 1.8, "marker": "s", "ms": 4},
    "variance": {"color": "#dd8452", "lw": 1.8, "marker": "^", "ms": 4},
    "net_variance": {"color": "#dd8452", "lw": 1.2, "ls": ":", "marker": "v", "ms": 3},
    "noise": {"color": "#8c8c8c", "lw": 1.2, "ls": "--"},
}


class BiasVarianceDisplay:
    """Bias-variance trade-off visualization.

    Bias, variance and total error against one complexity parameter. Build
    it with :meth:`from_estimator` (which runs
    :func:`sklopt.model_selection.bias_variance_curve`) or
    :meth:`from_results` (a curve computed before).

    Parameters
    ----------
    param_name : str
        The parameter on the x axis.
    param_range : array-like of shape (n_values,)
        Its values.
    loss : ndarray of shape (n_values,)
        Expected loss for each value.
    bias : ndarray of shape (n_values,)
        ``bias2`` (squared loss) or ``bias`` (0-1 and log loss).
    variance : ndarray of shape (n_values,)
        Variance for each value.
    noise : ndarray of shape (n_values,), default=None
        Noise, when the true targets were known.
    net_variance : ndarray of shape (n_values,), default=None
        Domingos' net variance (0-1 loss).
    loss_name : {'squared', '0-1', 'log'}, default='squared'
        The decomposed loss, used in labels.
    name : str, default=None
        Title of the plot.

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        The drawn curves, keyed ``'loss'``, ``'bias'``, ``'variance'`` and,
        when present, ``'net_variance'`` and ``'noise'``.
    best_index_ : int
        Index of the parameter value with the smallest expected loss (marked).
    ax_ : matplotlib Axes
        Axes with the plot.
    figure_ : matplotlib Figure
        Figure containing the plot.

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from sklopt.datasets import make_friedman1
    >>> from sklopt.inspection import BiasVarianceDisplay
    >>> X, y = make_friedman1(200, noise=1.0, random_state=0)
    >>> display = BiasVarianceDisplay.from_estimator(
    ...     DecisionTreeRegressor(random_state=0), X, y, param_name="max_depth",
    ...     param_range=[1, 3, 8], n_rounds=10, random_state=0)
    >>> sorted(display.lines_)
    ['bias', 'loss', 'variance']
    """

    def __init__(
        self,
        *,
        param_name,
        param_range,
        loss,
        bias,
        variance,
        noise=None,
        net_variance=None,
        loss_name="squared",
        name=None,
    ):
        self.param_name = param_name
        self.param_range = param_range
        self.loss = loss
        self.bias = bias
        self.variance = variance
        self.noise = noise
        self.net_variance = net_variance
        self.loss_name = loss_name
        self.name = name

    def _x(self):
        values = list(self.param_range)
        numeric = all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values
        )
        if numeric:
            return np.asarray(values, dtype=float), None
        # None (unlimited depth) or strings: evenly spaced, labelled positions.
        return np.arange(len(values), dtype=float), [str(v) for v in values]

    def plot(self, ax=None, *, logx=None, name=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on; a new figure is created when None.
        logx : bool, default=None
            Logarithmic x axis; None picks it when positive numeric values
            span a factor of 50 or more.
        name : str, default=None
            Title; overrides the ``name`` given at construction.

        Returns
        -------
        display : BiasVarianceDisplay
            The object, with the artists stored as attributes.
        """
        self.figure_, self.ax_ = _axes(ax, "BiasVarianceDisplay.plot")
        x, tick_labels = self._x()
        bias_label = "bias$^2$" if self.loss_name == "squared" else "bias"
        curves = [
            ("loss", f"expected {self.loss_name} loss", self.loss),
            ("bias", bias_label, self.bias),
            ("variance", "variance", self.variance),
        ]
        if self.net_variance is not None:
            curves.append(("net_variance", "net variance", self.net_variance))
        if self.noise is not None:
            curves.append(("noise", "noise", self.noise))
        self.lines_ = {
            key: self.ax_.plot(
                x, np.asarray(values, dtype=float), label=label, **_STYLE[key]
            )[0]
            for key, label, values in curves
        }
        loss = np.asarray(self.loss, dtype=float)
        self.best_index_ = int(np.nanargmin(loss))
        self.ax_.plot(
            x[self.best_index_],
            loss[self.best_index_],
            "o",
            ms=11,
            mfc="none",
            mec="#c44e52",
            mew=2,
            label=f"lowest loss ({self.param_range[self.best_index_]})",
        )
        if tick_labels is not None:
            self.ax_.set_xticks(x, tick_labels)
        elif logx or (logx is None and x.min() > 0 and x.max() / x.min() >= 50):
            self.ax_.set_xscale("log")
        self.ax_.set_xlabel(self.param_name)
        self.ax_.set_ylabel(f"{self.loss_name} loss")
        title = self.name if name is None else name
        if title:
            self.ax_.set_title(title)
        self.ax_.grid(True, alpha=0.3)
        self.ax_.legend(frameon=False, fontsize="small")
        return self

    @classmethod
    def _from_curve(cls, curve, *, name=None):
        """A display holding a curve of :func:`bias_variance_curve`; draws nothing."""
        bias = curve.get("bias2")
        if bias is None:
            bias = curve.get("bias")
        return cls(
            param_name=curve["param_name"],
            param_range=list(curve["param_range"]),
            loss=curve["loss"],
            bias=bias,
            variance=curve["variance"],
            noise=curve.get("noise"),
            net_variance=curve.get("net_variance"),
            loss_name=curve["results"][0].loss_name,
            name=name,
        )

    @classmethod
    def from_results(cls, curve, *, name=None, ax=None, logx=None):
        """Plot a curve returned by :func:`sklopt.model_selection.bias_variance_curve`.

        Parameters
        ----------
        curve : Bunch
            The curve (``param_name``, ``param_range``, ``loss``, ``bias2`` or
            ``bias``, ``variance``, ``noise``, ``net_variance``, ``results``).
        name : str, default=None
            Title of the plot.
        ax : matplotlib Axes, default=None
            Axes to plot on.
        logx : bool, default=None
            Logarithmic x axis (see :meth:`plot`).

        Returns
        -------
        display : BiasVarianceDisplay
        """
        return cls._from_curve(curve, name=name).plot(ax=ax, logx=logx)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        param_name,
        param_range,
        name=None,
        ax=None,
        logx=None,
        **curve_params,
    ):
        """Plot the bias-variance trade-off of an estimator over a parameter.

        Runs :func:`sklopt.model_selection.bias_variance_curve` (all the
        computation happens here), then :meth:`plot` draws the curves.

        Parameters
        ----------
        estimator : estimator instance
            Unfitted estimator; never modified (clones are fitted).
        X : array-like of shape (n_samples, n_features)
            Input data, split once into training and test sets.
        y : array-like of shape (n_samples,)
            Targets.
        param_name : str
            Parameter to vary (``set_params`` name, e.g. ``'max_depth'`` or
            ``'mlpclassifier__hidden_layer_sizes'``).
        param_range : array-like
            Its values, from simple to complex; tuples are single values.
        name : str, default=None
            Title of the plot.
        ax : matplotlib Axes, default=None
            Axes to plot on.
        logx : bool, default=None
            Logarithmic x axis (see :meth:`plot`).
        **curve_params
            The other parameters of
            :func:`~sklopt.model_selection.bias_variance_curve`, forwarded as
            given: ``loss``, ``test_size``, ``n_rounds``, ``y_true``,
            ``random_state``, ``n_jobs``, ``verbose``, ``batched``.

        Returns
        -------
        display : BiasVarianceDisplay
        """
        import inspect

        from sklopt.model_selection import bias_variance_curve
        from sklopt.utils._optional import check_matplotlib_support

        check_matplotlib_support("BiasVarianceDisplay.from_estimator")
        accepted = set(inspect.signature(bias_variance_curve).parameters) - {
            "estimator",
            "X",
            "y",
            "param_name",
            "param_range",
        }
        unknown = sorted(set(curve_params) - accepted)
        if unknown:
            raise TypeError(
                f"BiasVarianceDisplay.from_estimator got unexpected parameters "
                f"{unknown}; it takes name, ax, logx and the parameters of "
                f"bias_variance_curve: {sorted(accepted)}."
            )
        curve = bias_variance_curve(
            estimator,
            X,
            y,
            param_name=param_name,
            param_range=param_range,
            **curve_params,
        )
        return cls._from_curve(curve, name=name).plot(ax=ax, logx=logx)
