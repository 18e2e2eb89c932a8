"""The process-wide warning state around parallel work."""

import contextlib
import warnings


@contextlib.contextmanager
def warning_state_kept():
    """Put the caller's warning filters and ``warnings.showwarning`` back
    after the block (a joblib call that runs fits).

    The warnings module is process-wide and not thread-safe. Under a
    thread-based joblib backend each task runs inside scikit-learn's task
    wrapper, which enters a ``warnings.catch_warnings`` in its worker thread;
    a wrapper that entered while another thread was recording its fit's
    warnings (``simplefilter('always')``, a recording hook) restores that
    state when its own task ends, after the recording thread has put the
    caller's state back. Restoring once more in the caller's thread, when
    every task is done, keeps that state from outliving the call.
    """
    shown, filters = warnings.showwarning, warnings.filters[:]
    try:
        yield
    finally:
        warnings.showwarning = shown
        warnings.filters[:] = filters
        warnings._filters_mutated()
