"""What a fit leaves behind when it fails or is interrupted.

Two rules hold for every sklopt estimator:

- A ``fit`` that raises (bad data, a diverging member, KeyboardInterrupt)
  leaves the estimator unfitted, or, for a warm-started fit, as it was
  before the call (:func:`restore_on_failure`). Predictions from a half-built
  model are never possible.
- A KeyboardInterrupt stops a top-level neural fit, which keeps the weights
  trained so far and warns (:class:`~sklopt.exceptions.TrainingInterruptedWarning`).
  Inside an sklopt ensemble or bootstrap study (:func:`fitting_members`) the
  member stops and re-raises instead, so that one Ctrl-C stops the whole
  fit, not only the member being trained; the ensemble then decides what to
  keep (boosting keeps the complete rounds, bagging the complete members of
  a sequential fit).
"""

import contextvars
from contextlib import contextmanager

_MEMBER_FIT = contextvars.ContextVar("sklopt_member_fit", default=False)


@contextmanager
def fitting_members():
    """Context in which estimators are fitted as members of another one.

    Neural estimators fitted inside it re-raise a KeyboardInterrupt after
    stopping, instead of returning normally. The flag is a
    :class:`contextvars.ContextVar`: it holds in the thread that set it
    (sequential joblib runs included); worker processes and threads never
    receive the KeyboardInterrupt, which is raised in the main thread.
    """
    token = _MEMBER_FIT.set(True)
    try:
        yield
    finally:
        _MEMBER_FIT.reset(token)


def interrupts_propagate():
    """Whether the current fit runs inside :func:`fitting_members`."""
    return _MEMBER_FIT.get()


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
