"""The ``sklopt`` command line."""

from sklopt.cli._main import main

__all__ = ["main"]
