"""Hypothesis fuzzing of the splitters, the decompositions and the scorers.

Extends the property tests of ``tests/model_selection`` (plain bootstrap
splits, the 0-1 and squared identities, test-row order of the decomposition)
with: stratified and grouped splits, the log-loss and multi-output identities,
the scorers agreeing with the decomposition they are a door onto, and the
row-order invariance of the scorers and of the calibration error.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from sklopt.metrics import expected_calibration_error
from sklopt.model_selection import (
    BootstrapReplicas,
    BootstrapSplit,
    bias_variance_decomposition,
    bias_variance_scorers,
)

FUZZ = settings(max_examples=20, deadline=None)

labels = hnp.arrays(
    np.int64,
    st.integers(4, 40),
    elements=st.integers(0, 3),
).filter(lambda y: np.unique(y).size >= 2 and np.bincount(y).max() >= 2)


def _check_split(train, test, n_samples, n_train):
    assert len(train) == n_train and len(test) > 0
    assert not np.isin(test, train).any(), "an out-of-bag row is in the bag"
    np.testing.assert_array_equal(np.union1d(train, test), np.arange(n_samples))
    np.testing.assert_array_equal(test, np.unique(test))


@FUZZ
@given(y=labels, fraction=st.floats(0.3, 1.0), seed=st.integers(0, 2**31 - 2))
def test_stratified_splits_keep_class_shares_and_disjoint_oob(y, fraction, seed):
    n_samples = len(y)
    n_classes = np.unique(y).size
    n_train = max(n_classes, int(np.floor(fraction * n_samples)))
    cv = BootstrapSplit(4, train_size=n_train, stratify=True, random_state=seed)
    counts = np.bincount(y, minlength=4)
    for train, test in cv.split(np.zeros((n_samples, 2)), y):
        _check_split(train, test, n_samples, n_train)
        drawn = np.bincount(y[train], minlength=4)
        quota = counts * n_train / n_samples
        assert np.all(drawn[counts > 0] >= 1), "a class lost all its training rows"
        if np.all(quota[counts > 0] >= 1):
            # largest remainders: each class within one row of its exact quota
            np.testing.assert_array_less(np.abs(drawn - quota), 1.0 + 1e-9)


@FUZZ
@given(
    groups=hnp.arrays(np.int64, st.integers(4, 40), elements=st.integers(0, 5)),
    seed=st.integers(0, 2**31 - 2),
)
def test_grouped_splits_on_pandas_input(groups, seed):
    counts = np.bincount(groups)
    if np.all(counts[counts > 0] == 1):
        return  # every row is its own stratum: no bootstrap can leave one out
    X = pd.DataFrame({"a": np.arange(len(groups)), "b": 1.0})
    cv = BootstrapSplit(3, stratify=groups, random_state=seed)
    first = list(cv.split(X))
    for train, test in first:
        _check_split(train, test, len(groups), len(groups))
        np.testing.assert_array_equal(
            np.bincount(groups[train], minlength=counts.size), counts
        )
    # an int random_state repeats the same splits at every call
    for (train_a, test_a), (train_b, test_b) in zip(first, cv.split(X)):
        np.testing.assert_array_equal(train_a, train_b)
        np.testing.assert_array_equal(test_a, test_b)


@FUZZ
@given(
    seed=st.integers(0, 10_000), n_classes=st.integers(2, 4), n_rounds=st.integers(1, 8)
)
def test_log_loss_is_bias_plus_variance(seed, n_classes, n_rounds):
    rng = np.random.RandomState(seed)
    X = rng.randn(40, 2)
    y = np.arange(40) % n_classes
    r = bias_variance_decomposition(
        LogisticRegression(C=rng.uniform(0.01, 10)),
        X[:25],
        y[:25],
        X[25:],
        y[25:],
        loss="log",
        n_rounds=n_rounds,
        random_state=seed,
    )
    np.testing.assert_allclose(
        r.per_sample.loss, r.per_sample.bias + r.per_sample.variance, rtol=1e-10
    )
    assert r.variance >= -1e-12 and r.bias >= 0
    np.testing.assert_allclose(r.main_prediction.sum(axis=1), 1.0, rtol=1e-12)


@FUZZ
@given(
    seed=st.integers(0, 10_000), n_outputs=st.integers(2, 3), n_rounds=st.integers(1, 8)
)
def test_multi_output_squared_loss_is_bias2_plus_variance(seed, n_outputs, n_rounds):
    rng = np.random.RandomState(seed)
    X = rng.randn(40, 3)
    Y = X @ rng.randn(3, n_outputs) + rng.randn(40, n_outputs)
    r = bias_variance_decomposition(
        KNeighborsRegressor(3),
        X[:25],
        Y[:25],
        X[25:],
        Y[25:],
        n_rounds=n_rounds,
        random_state=seed,
    )
    np.testing.assert_allclose(
        r.per_sample.loss, r.per_sample.bias2 + r.per_sample.variance, rtol=1e-10
    )
    # per-sample terms average the outputs: an independent NumPy computation
    assert r.main_prediction.shape == (15, n_outputs)
    bias2 = ((r.main_prediction - Y[25:]) ** 2).mean(axis=1)
    np.testing.assert_allclose(r.per_sample.bias2, bias2, rtol=1e-12)


def _replica_case(loss, seed):
    rng = np.random.RandomState(seed)
    X = rng.randn(45, 2)
    if loss == "squared":
        return X, X[:, 0] + rng.randn(45), KNeighborsRegressor(2)
    y = np.arange(45) % 3
    if loss == "0-1":
        return X, y, KNeighborsClassifier(3)
    return X, y, LogisticRegression(C=rng.uniform(0.05, 5))


@FUZZ
@given(
    seed=st.integers(0, 10_000),
    loss=st.sampled_from(["squared", "0-1", "log"]),
    n_rounds=st.integers(1, 6),
)
def test_scorers_equal_the_decomposition_on_the_same_rounds(seed, loss, n_rounds):
    """BootstrapReplicas draws the rounds of bias_variance_decomposition, so its
    scorers give the same terms: the two doors open onto one computation."""
    X, y, estimator = _replica_case(loss, seed)
    replicas = BootstrapReplicas(estimator, n_rounds=n_rounds, random_state=seed)
    replicas.fit(X[:30], y[:30])
    scores = {
        name: scorer(replicas, X[30:], y[30:])
        for name, scorer in bias_variance_scorers(loss).items()
    }
    r = bias_variance_decomposition(
        estimator,
        X[:30],
        y[:30],
        X[30:],
        y[30:],
        loss=loss,
        n_rounds=n_rounds,
        random_state=seed,
    )
    bias = r.bias2 if loss == "squared" else r.bias
    bias_name = "neg_bias2" if loss == "squared" else "neg_bias"
    assert -scores["neg_loss"] == pytest.approx(r.loss, rel=1e-10, abs=1e-12)
    assert -scores[bias_name] == pytest.approx(bias, rel=1e-10, abs=1e-12)
    assert -scores["neg_variance"] == pytest.approx(r.variance, rel=1e-10, abs=1e-12)
    if loss != "0-1":  # 0-1 needs the net variance, which no scorer returns
        assert scores["neg_loss"] == pytest.approx(
            scores[bias_name] + scores["neg_variance"], rel=1e-10, abs=1e-12
        )


@FUZZ
@given(seed=st.integers(0, 10_000), loss=st.sampled_from(["squared", "0-1", "log"]))
def test_scorers_do_not_depend_on_test_row_order(seed, loss):
    X, y, estimator = _replica_case(loss, seed)
    replicas = BootstrapReplicas(estimator, n_rounds=4, random_state=seed)
    replicas.fit(X[:30], y[:30])
    order = np.random.RandomState(seed).permutation(15)
    for scorer in bias_variance_scorers(loss).values():
        assert scorer(replicas, X[30:][order], y[30:][order]) == pytest.approx(
            scorer(replicas, X[30:], y[30:]), rel=1e-12, abs=1e-12
        )


@FUZZ
@given(
    proba=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 60), st.integers(2, 4)),
        elements=st.floats(0.01, 1.0),
    ),
    seed=st.integers(0, 10_000),
    n_bins=st.integers(1, 20),
)
def test_calibration_error_is_row_order_free_and_bounded(proba, seed, n_bins):
    proba = proba / proba.sum(axis=1, keepdims=True)
    rng = np.random.RandomState(seed)
    classes = np.arange(proba.shape[1])
    y = rng.randint(0, proba.shape[1], len(proba))
    ece = expected_calibration_error(y, proba, n_bins=n_bins, labels=classes)
    order = rng.permutation(len(y))
    assert expected_calibration_error(
        y[order], proba[order], n_bins=n_bins, labels=classes
    ) == pytest.approx(ece, rel=1e-12, abs=1e-15)
    assert 0.0 <= ece <= 1.0
    # one bin: |accuracy - mean confidence|, computed independently
    one_bin = abs(np.mean(proba.argmax(1) == y) - proba.max(1).mean())
    assert expected_calibration_error(
        y, proba, n_bins=1, labels=classes
    ) == pytest.approx(one_bin, rel=1e-12, abs=1e-15)


@FUZZ
@given(seed=st.integers(0, 10_000), alpha=st.floats(0.01, 100.0))
def test_replicas_predict_the_mean_of_their_members(seed, alpha):
    rng = np.random.RandomState(seed)
    X = rng.randn(30, 3)
    y = X[:, 0] + rng.randn(30)
    replicas = BootstrapReplicas(Ridge(alpha=alpha), n_rounds=5, random_state=seed)
    replicas.fit(X, y)
    members = replicas.predict_members(X)
    np.testing.assert_allclose(replicas.predict(X), members.mean(axis=0), rtol=1e-12)
    draw = np.random.RandomState(seed)
    for member_prediction in members:
        rows = draw.randint(0, 30, 30)
        expected = Ridge(alpha=alpha).fit(X[rows], y[rows]).predict(X)
        np.testing.assert_allclose(member_prediction, expected, rtol=1e-10)
