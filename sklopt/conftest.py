"""Doctest set-up: Agg backend and a numpy print style that is stable."""

import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _doctest_setup(doctest_namespace):
    doctest_namespace["np"] = np
    with np.printoptions(precision=4, suppress=True, legacy="1.25"):
        yield
