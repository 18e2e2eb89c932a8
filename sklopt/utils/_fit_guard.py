"""What a fit leaves behind when it fails or is interrupted.

Two rules hold for every sklopt estimator:

- A ``fit`` that raises (bad data, a diverging member) leaves the estimator
  unfitted, or, for a warm-started fit, as it was before the call
  (:func:`restore_on_failure`). Predictions from a half-built model are
  never possible.
- A KeyboardInterrupt during any fit keeps what was trained so far and is
  re-raised, everywhere: a neural estimator keeps the weights reached and
  its ``history_``; an ensemble or bootstrap study keeps its complete
  members (boosting its complete rounds, bagging and ``BootstrapReplicas``
  their complete members, with a
  :class:`~sklopt.exceptions.TrainingInterruptedWarning`) and re-raises
  once it holds them, so that one Ctrl-C stops the whole fit. Such fits
  catch the interrupt themselves, outside :func:`restore_on_failure`.
"""

from contextlib import contextmanager


def _fitted_names(estimator):
    return [
        name
        for name in vars(estimator)
        if name.endswith("_") and not name.startswith("__")
    ]


@contextmanager
def restore_on_failure(estimator, *, warm_start=False):
    """Undo a failed fit of ``estimator``.

    On any exception raised inside the block (KeyboardInterrupt included),
    a warm-started fit (``warm_start=True`` and already fitted) gets back the
    attributes it had before the block; any other fit loses its fitted
    (``_``-suffixed) attributes, so that ``check_is_fitted`` fails instead of
    a half-built model predicting. The exception is re-raised.

    Parameters
    ----------
    estimator : estimator instance
    warm_start : bool, default=False
        Whether the fit continues the previous one.
    """
    keep = warm_start and bool(_fitted_names(estimator))
    # Lists are copied: fits extend them in place.
    saved = (
        {
            name: list(value) if isinstance(value, list) else value
            for name, value in vars(estimator).items()
        }
        if keep
        else None
    )
    try:
        yield
    except BaseException:
        if saved is not None:
            vars(estimator).clear()
            vars(estimator).update(saved)
        else:
            for name in _fitted_names(estimator):
                delattr(estimator, name)
        raise
