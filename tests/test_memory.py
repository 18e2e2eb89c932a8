"""Large studies keep no per-member or per-round copy of the data.

The peak of numpy allocations (tracemalloc) during a fit with many members or
rounds stays within 3 x the size of X plus the stored predictions: what one
member needs at a time, not what all of them need together.
``benchmarks/bench_scaling.py`` measures the same on 100,000 x 50 data.
"""

import tracemalloc

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Ridge

from sklopt.ensemble import BaggingRegressor
from sklopt.model_selection import (
    BootstrapReplicas,
    bias_variance_decomposition,
    bootstrap_632_score,
)


def _peak_mb(func):
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((20_000, 10))  # 1.5 MB
    return X, X[:, 0] + rng.standard_normal(20_000)


def test_bagging_holds_one_members_rows_at_a_time(data):
    X, y = data
    x_mb = X.nbytes / 2**20
    # 300 members' rows together would take 300 x 20,000 x 8 bytes = 46 MB.
    peak = _peak_mb(
        lambda: (
            BaggingRegressor(DummyRegressor(), n_estimators=300, random_state=0)
            .fit(X, y)
            .predict(X)
        )
    )
    assert peak <= 3 * x_mb, f"{peak:.1f} MB for X of {x_mb:.1f} MB"


@pytest.mark.parametrize("n_rounds", [10, 100])
def test_bias_variance_rounds_keep_only_their_predictions(data, n_rounds):
    X, y = data
    X_test, y_test = X[:1000], y[:1000]
    predictions_mb = n_rounds * len(X_test) * 8 / 2**20
    peak = _peak_mb(
        lambda: bias_variance_decomposition(
            Ridge(), X, y, X_test, y_test, n_rounds=n_rounds, random_state=0
        )
    )
    bound = 3 * X.nbytes / 2**20 + predictions_mb
    assert peak <= bound, f"{peak:.1f} MB > {bound:.1f} MB at {n_rounds} rounds"


def test_bootstrap_scores_keep_no_copy_per_split(data):
    X, y = data
    peak = _peak_mb(
        lambda: bootstrap_632_score(
            Ridge(), X, y, method="oob", n_splits=40, random_state=0
        )
    )
    assert peak <= 3 * X.nbytes / 2**20


def test_replicas_keep_their_models_not_their_samples(data):
    X, y = data
    peak = _peak_mb(
        lambda: BootstrapReplicas(Ridge(), n_rounds=40, random_state=0).fit(X, y)
    )
    assert peak <= 3 * X.nbytes / 2**20
