"""Shared plumbing of the Display classes."""

from sklopt.utils._optional import check_matplotlib_support


def _axes(ax, caller):
    """Return ``(figure, ax)``, creating a figure only when ``ax`` is None."""
    check_matplotlib_support(caller)
    if ax is None:
        import matplotlib.pyplot as plt

        figure, ax = plt.subplots(layout="constrained")
        return figure, ax
    return ax.figure, ax


def _final_estimator(estimator):
    """The last step of a Pipeline, or the estimator itself."""
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator
