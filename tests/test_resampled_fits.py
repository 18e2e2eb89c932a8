"""Tests of the engine that fits copies of an estimator on resampled rows
(sklopt.utils._resampled_fits), shared by bagging, BootstrapReplicas, the
bias-variance rounds and bootstrap_632_score."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier

from sklopt.exceptions import NotBatchableError
from sklopt.utils._batching import resolve_batched
from sklopt.utils._resampled_fits import (
    Member,
    count_weights_exact,
    fit_members,
    task_sizes,
)


@pytest.mark.parametrize(
    "n_items, n_jobs", [(10, 3), (2, 4), (5, 1), (100, 2), (1000, 2)]
)
def test_task_sizes(n_items, n_jobs):
    sizes = task_sizes(n_items, n_jobs)
    assert sum(sizes) == n_items
    if n_jobs == 1:
        assert sizes == [1] * n_items  # no complete item lost to an interrupt
    else:
        assert max(sizes) - min(sizes) <= 1
        assert max(sizes) <= 32
        assert len(sizes) == min(n_items, len(sizes))
        assert len(sizes) % n_jobs == 0 or len(sizes) == n_items


def test_resolve_batched_for_trees():
    tree = DecisionTreeClassifier()
    kwargs = dict(items="members", verb="train", owner="test")
    assert resolve_batched("auto", tree, **kwargs) is False
    assert resolve_batched(False, tree, **kwargs) is False
    with pytest.raises(NotBatchableError, match="DecisionTreeClassifier offers no"):
        resolve_batched(True, tree, **kwargs)


def test_count_weights_exact_hook():
    assert count_weights_exact(Ridge())

    class Repeating(Ridge):
        _count_weights_exact = False

    assert not count_weights_exact(Repeating())

    class NoWeights(BaseEstimator):
        def fit(self, X, y):
            return self

    assert not count_weights_exact(NoWeights())


class _Recorder(RegressorMixin, BaseEstimator):
    """Records what fit received."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        self.X_, self.y_, self.sample_weight_ = X, y, sample_weight
        return self

    def predict(self, X):
        return np.zeros(len(X))


def _data():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10.0)
    return X, y


def test_rows_repeated_or_counted():
    X, y = _data()
    rows = np.array([0, 0, 3, 7, 7, 7])
    members = [Member(rows=rows)]
    repeated = list(fit_members(_Recorder(), X, y, members, n_members=1))[0]
    assert_array_equal(repeated.X_, X[rows])
    assert repeated.sample_weight_ is None
    counted = list(
        fit_members(_Recorder(), X, y, members, n_members=1, by_counts=True)
    )[0]
    assert_array_equal(counted.X_, X[[0, 3, 7]])
    assert_array_equal(counted.sample_weight_, [2.0, 1.0, 3.0])
    weight = np.linspace(1.0, 2.0, 10)
    weighted = list(
        fit_members(
            _Recorder(),
            X,
            y,
            members,
            n_members=1,
            by_counts=True,
            fit_params={"sample_weight": weight},
        )
    )[0]
    assert_allclose(weighted.sample_weight_, [2, 1, 3] * weight[[0, 3, 7]])


def test_counted_rows_never_lose_a_class():
    # A draw without class 1: every row, the undrawn ones with weight 0
    # (scikit-learn's scheme), so LogisticRegression sees both classes.
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    member = Member(rows=np.array([0, 1, 1, 0]))
    (fitted,) = fit_members(
        LogisticRegression(), X, y, [member], n_members=1, by_counts=True
    )
    assert_array_equal(fitted.classes_, [0, 1])
    reference = LogisticRegression().fit(X, y, sample_weight=[2, 2, 0, 0])
    assert_allclose(fitted.coef_, reference.coef_)


def test_seeds_params_and_columns():
    X, y = _data()
    members = [
        Member(rows=np.arange(10), columns=np.array([1]), seed=3),
        Member(rows=np.arange(5), params={"random_state": 7}),
    ]
    first, second = fit_members(_Recorder(), X, y, members, n_members=2)
    assert first.X_.shape == (10, 1)
    expected = np.random.RandomState(3).randint(np.iinfo(np.int32).max)
    assert first.random_state == expected
    assert second.random_state == 7
    assert second.X_.shape == (5, 2)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_results_in_member_order(n_jobs):
    X, y = _data()
    members = [Member(rows=np.arange(k + 1)) for k in range(9)]

    def n_rows(fitted, member):
        return len(fitted.X_)

    results = list(
        fit_members(
            _Recorder(),
            X,
            y,
            iter(members),
            n_members=9,
            respond=n_rows,
            n_jobs=n_jobs,
            batched=False,
        )
    )
    assert results == list(range(1, 10))


class _Warns(_Recorder):
    def fit(self, X, y, sample_weight=None):
        if len(X) % 2:
            warnings.warn("did not converge", ConvergenceWarning, stacklevel=2)
        return super().fit(X, y, sample_weight)


def test_each_distinct_warning_once_at_the_callers_line():
    X, y = _data()
    members = [Member(rows=np.arange(k + 1)) for k in range(8)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        list(fit_members(_Warns(), X, y, members, n_members=8, items="rounds"))
    assert len(caught) == 1
    assert caught[0].category is ConvergenceWarning
    assert str(caught[0].message).startswith("4 of 8 rounds warned")
    assert "did not converge" in str(caught[0].message)
    assert caught[0].filename == __file__
