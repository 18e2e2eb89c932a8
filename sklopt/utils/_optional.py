"""Helpers for optional dependencies."""

import importlib


def check_matplotlib_support(caller_name):
    """Raise an informative ImportError if matplotlib is not installed.

    Parameters
    ----------
    caller_name : str
        The name of the caller that needs matplotlib, used in the message.
    """
    try:
        importlib.import_module("matplotlib")
    except ImportError as exc:
        raise ImportError(
            f"{caller_name} requires matplotlib. Install it with "
            '`pip install "sklopt[plot]"`.'
        ) from exc
