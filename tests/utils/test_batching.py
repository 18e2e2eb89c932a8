"""The rules shared by every caller of the stacked engine."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sklopt.utils._batching import (
    concat_rows,
    same_value,
    stack_structure,
    stacking_params,
)


class _Callable:
    def __init__(self, scale):
        self.scale = scale

    def __call__(self, x):
        return x * self.scale


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (1, 1.0, True),
        ((64, 32), (64, 32), True),
        ((64, 32), [64, 32], False),
        ((64,), (32,), False),
        ({"a": 1, "b": (2,)}, {"a": 1, "b": (2,)}, True),
        ({"a": 1}, {"a": 2}, False),
        ({"a": 1}, {"b": 1}, False),
        (np.arange(3), np.arange(3), True),
        (np.arange(3), np.arange(4), False),
        (np.arange(3), [0, 1, 2], False),
        (StandardScaler(), StandardScaler(), True),
        (StandardScaler(), StandardScaler(with_mean=False), False),
        (_Callable(2.0), _Callable(2.0), True),
        (_Callable(2.0), _Callable(3.0), False),
        ("adam", "adam", True),
        ("adam", "sgd", False),
        (None, 0, False),
    ],
)
def test_same_value(a, b, expected):
    assert same_value(a, b) is expected
    assert same_value(b, a) is expected


def test_stack_structure_leaves_out_the_per_member_parameters():
    pytest.importorskip("torch")
    from sklopt.neural import MLPClassifier

    net = MLPClassifier((8,), lr=0.1, dropout=0.2, max_epochs=3)
    other = MLPClassifier((8,), lr=0.01, weight_decay=1e-3, max_epochs=3)
    assert {"lr", "dropout", "weight_decay", "random_state"} <= stacking_params(net)
    assert same_value(stack_structure(net), stack_structure(other))
    wider = MLPClassifier((16,), lr=0.1, max_epochs=3)
    assert not same_value(stack_structure(net), stack_structure(wider))
    # without the hook, copies differ in their seed only
    assert stacking_params(LogisticRegression()) == {"random_state"}
    assert not same_value(
        stack_structure(LogisticRegression(C=1.0)),
        stack_structure(LogisticRegression(C=2.0)),
    )


@pytest.mark.parametrize("kind", ["array", "sparse", "frame"])
def test_concat_rows(kind):
    parts = [np.arange(6.0).reshape(3, 2), np.arange(4.0).reshape(2, 2) + 10]
    expected = np.vstack(parts)
    if kind == "sparse":
        parts = [sp.csr_matrix(p) for p in parts]
    elif kind == "frame":
        parts = [pd.DataFrame(p, columns=["a", "b"]) for p in parts]
    X, rows = concat_rows(parts)
    assert_array_equal(rows[0], [0, 1, 2])
    assert_array_equal(rows[1], [3, 4])
    if kind == "sparse":
        assert sp.issparse(X)
        X = X.toarray()
    elif kind == "frame":
        assert list(X.columns) == ["a", "b"]
        X = X.to_numpy()
    assert_array_equal(X, expected)
