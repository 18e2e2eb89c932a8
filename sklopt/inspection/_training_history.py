"""Training and validation loss per epoch of a fitted neural estimator."""

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from sklopt.inspection._base import _axes, _final_estimator


class TrainingHistoryDisplay:
    """Training history visualization: loss per epoch, best epoch marked.

    Build it with :meth:`from_estimator` (a fitted sklopt neural estimator, or
    a Pipeline ending in one) or :meth:`from_history` (a ``history_``
    DataFrame). Calling several displays' ``plot`` on one ``ax`` with distinct
    ``name`` values overlays the curves, for instance to compare optimizers.

    Parameters
    ----------
    history : pandas.DataFrame
        One row per epoch with columns ``epoch`` and ``train_loss``, and
        optionally ``valid_loss`` (as in ``history_`` of the neural estimators).
    best_epoch : int, default=None
        The epoch whose weights the estimator kept (``best_epoch_``); marked
        with a vertical line when given.
    name : str, default=None
        Name used in the legend.

    Attributes
    ----------
    line_train_ : matplotlib Line2D
        The training-loss curve.
    line_valid_ : matplotlib Line2D or None
        The validation-loss curve, when the history has validation losses.
    best_epoch_line_ : matplotlib Line2D or None
        The vertical line at the best epoch.
    ax_ : matplotlib Axes
        Axes with the plot.
    figure_ : matplotlib Figure
        Figure containing the plot.

    See Also
    --------
    sklopt.neural.MLPClassifier : Its ``history_`` is what is drawn.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklopt.inspection import TrainingHistoryDisplay
    >>> history = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.3],
    ...                         "valid_loss": [1.1, 0.7, 0.8]})
    >>> display = TrainingHistoryDisplay.from_history(history, best_epoch=2)
    >>> display.line_train_.get_label(), display.line_valid_.get_label()
    ('training loss', 'validation loss')
    """

    def __init__(self, *, history, best_epoch=None, name=None):
        self.history = history
        self.best_epoch = best_epoch
        self.name = name

    def plot(self, ax=None, *, name=None, logy=True, train_kw=None, valid_kw=None):
        """Plot the loss curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on; a new figure is created when None.
        name : str, default=None
            Legend name; overrides the ``name`` given at construction.
        logy : bool, default=True
            Use a logarithmic loss axis (losses span decades in long training).
        train_kw, valid_kw : dict, default=None
            Keyword arguments for the training / validation ``ax.plot`` calls.

        Returns
        -------
        display : TrainingHistoryDisplay
            The object, with the artists stored as attributes.
        """
        self.figure_, self.ax_ = _axes(ax, "TrainingHistoryDisplay.plot")
        name = self.name if name is None else name
        prefix = f"{name}: " if name else ""
        history = pd.DataFrame(self.history)
        epoch = history["epoch"].to_numpy()
        self.line_train_ = self.ax_.plot(
            epoch,
            history["train_loss"].to_numpy(),
            **{"label": f"{prefix}training loss", "lw": 1.8, **(train_kw or {})},
        )[0]
        self.line_valid_ = None
        valid = history.get("valid_loss")
        if valid is not None and np.isfinite(valid.to_numpy(dtype=float)).any():
            self.line_valid_ = self.ax_.plot(
                epoch,
                valid.to_numpy(dtype=float),
                **{
                    "label": f"{prefix}validation loss",
                    "lw": 1.8,
                    "ls": "--",
                    "color": self.line_train_.get_color(),
                    **(valid_kw or {}),
                },
            )[0]
        self.best_epoch_line_ = None
        if self.best_epoch is not None:
            self.best_epoch_line_ = self.ax_.axvline(
                self.best_epoch,
                color=self.line_train_.get_color(),
                ls=":",
                lw=1.2,
                label=f"{prefix}best epoch ({self.best_epoch})",
            )
        if logy:
            self.ax_.set_yscale("log")
        self.ax_.set_xlabel("epoch")
        self.ax_.set_ylabel("loss")
        self.ax_.grid(True, alpha=0.3)
        self.ax_.legend(frameon=False, fontsize="small")
        return self

    @classmethod
    def from_history(cls, history, *, best_epoch=None, name=None, ax=None, **kwargs):
        """Plot a ``history_`` DataFrame.

        Parameters
        ----------
        history : pandas.DataFrame
            One row per epoch with ``epoch``, ``train_loss`` and optionally
            ``valid_loss``.
        best_epoch : int, default=None
            Epoch to mark.
        name : str, default=None
            Legend name.
        ax : matplotlib Axes, default=None
            Axes to plot on.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : TrainingHistoryDisplay
        """
        frame = pd.DataFrame(history)
        missing = {"epoch", "train_loss"} - set(frame.columns)
        if missing:
            raise ValueError(
                f"history must have the columns 'epoch' and 'train_loss'; missing "
                f"{sorted(missing)}."
            )
        display = cls(history=frame, best_epoch=best_epoch, name=name)
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, *, name=None, ax=None, **kwargs):
        """Plot the training history of a fitted neural estimator.

        Parameters
        ----------
        estimator : fitted estimator
            A fitted sklopt neural estimator (anything with ``history_``), or
            a Pipeline whose last step is one.
        name : str, default=None
            Legend name.
        ax : matplotlib Axes, default=None
            Axes to plot on.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : TrainingHistoryDisplay
        """
        final = _final_estimator(estimator)
        check_is_fitted(final)
        if not hasattr(final, "history_"):
            raise TypeError(
                f"{type(final).__name__} has no history_; TrainingHistoryDisplay needs "
                "a fitted sklopt neural estimator."
            )
        return cls.from_history(
            final.history_,
            best_epoch=getattr(final, "best_epoch_", None),
            name=name,
            ax=ax,
            **kwargs,
        )
