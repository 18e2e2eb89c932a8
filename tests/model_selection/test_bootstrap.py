"""score_confidence_interval."""

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, r2_score

from sklopt.model_selection import score_confidence_interval
from sklopt.utils._random import draw_seeds


@pytest.fixture
def labels():
    rng = np.random.RandomState(0)
    y_true = rng.randint(0, 2, 300)
    y_pred = np.where(rng.rand(300) < 0.8, y_true, 1 - y_true)
    return y_true, y_pred


@pytest.fixture
def values():
    rng = np.random.RandomState(1)
    y_true = rng.randn(200)
    return y_true, y_true + 0.5 * rng.randn(200)


def _scipy_paired(y_true, y_pred, metric, method, random_state, n_resamples=499):
    """The same interval straight from scipy's paired bootstrap."""
    seed = int(draw_seeds(random_state, 1)[0])
    res = stats.bootstrap(
        (y_true, y_pred),
        lambda t, p: metric(t, p),
        paired=True,
        vectorized=False,
        n_resamples=n_resamples,
        method=method,
        rng=np.random.default_rng(seed),
    )
    return tuple(res.confidence_interval)


@pytest.mark.parametrize("method", ["percentile", "basic", "BCa"])
@pytest.mark.parametrize(
    "data, name, metric",
    [
        ("labels", "accuracy", accuracy_score),
        ("values", "mean_squared_error", mean_squared_error),
        ("values", "r2", r2_score),
    ],
)
def test_interval_is_scipys_paired_bootstrap(request, method, data, name, metric):
    y_true, y_pred = request.getfixturevalue(data)
    got = score_confidence_interval(
        y_true, y_pred, metric=name, method=method, n_resamples=499, random_state=0
    )
    want = _scipy_paired(y_true, y_pred, metric, method, random_state=0)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    # the vectorized fast path equals the plain call of the metric
    slow = score_confidence_interval(
        y_true, y_pred, metric=metric, method=method, n_resamples=499, random_state=0
    )
    np.testing.assert_allclose(got, slow, rtol=1e-10)
    assert all(isinstance(v, float) for v in got)


def test_interval_brackets_the_estimate_and_narrows_with_confidence(labels):
    y_true, y_pred = labels
    acc = accuracy_score(y_true, y_pred)
    low95, high95 = score_confidence_interval(
        y_true, y_pred, metric="accuracy", random_state=0
    )
    low50, high50 = score_confidence_interval(
        y_true, y_pred, metric="accuracy", confidence_level=0.5, random_state=0
    )
    assert low95 < low50 < acc < high50 < high95
    # normal approximation of a proportion: half width 1.96 sqrt(p(1-p)/n)
    half = 1.96 * np.sqrt(acc * (1 - acc) / len(y_true))
    assert (high95 - low95) / 2 == pytest.approx(half, rel=0.1)


def test_probabilities_as_predictions():
    rng = np.random.RandomState(0)
    y_true = rng.randint(0, 3, 150)
    proba = rng.dirichlet([1, 1, 1], 150)
    proba[np.arange(150), y_true] += 1
    proba /= proba.sum(axis=1, keepdims=True)
    low, high = score_confidence_interval(
        y_true,
        proba,
        metric=lambda t, p: log_loss(t, p, labels=[0, 1, 2]),
        n_resamples=199,
        method="percentile",
        random_state=0,
    )
    assert low < log_loss(y_true, proba) < high


@pytest.mark.parametrize("method", ["percentile", "BCa"])
def test_degenerate_distribution_gives_a_point_without_warnings(labels, method):
    y_true, _ = labels
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        low, high = score_confidence_interval(
            y_true, y_true, metric="accuracy", method=method, random_state=0
        )
    assert (low, high) == (1.0, 1.0)


def test_reproducible_and_random_state_instances(labels):
    y_true, y_pred = labels
    kw = dict(metric="accuracy", n_resamples=199, method="percentile")
    assert score_confidence_interval(y_true, y_pred, random_state=3, **kw) == (
        score_confidence_interval(y_true, y_pred, random_state=3, **kw)
    )
    rng = np.random.RandomState(0)
    first = score_confidence_interval(y_true, y_pred, random_state=rng, **kw)
    second = score_confidence_interval(y_true, y_pred, random_state=rng, **kw)
    assert first != second


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"metric": "accuracy_score"}, "'metric' parameter"),
        ({"metric": "accuracy", "method": "bca"}, "'method' parameter"),
        (
            {"metric": "accuracy", "confidence_level": 1.0},
            "'confidence_level' parameter",
        ),
        ({"metric": "accuracy", "n_resamples": 0}, "'n_resamples' parameter"),
    ],
)
def test_bad_parameters(labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        score_confidence_interval(*labels, **kwargs)


def test_bad_data():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        score_confidence_interval([0, 1, 1], [0, 1], metric="accuracy")
    with pytest.raises(ValueError, match="at least 2 samples"):
        score_confidence_interval([1], [1], metric="accuracy")
