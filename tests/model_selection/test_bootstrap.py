"""score_confidence_interval."""

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)

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
    if np.ndim(y_pred) == 2:  # paired resampling is resampling of row indices
        data, statistic = (
            (np.arange(len(y_true)),),
            lambda i: metric(y_true[i], y_pred[i]),
        )
    else:
        data, statistic = (y_true, y_pred), lambda t, p: metric(t, p)
    res = stats.bootstrap(
        data,
        statistic,
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


# --- metrics computed for all resamples at once ------------------------------


def _binary_data(n=143, seed=0, ties=False):
    """Binary labels, noisy label predictions and probabilities of class 1."""
    rng = np.random.RandomState(seed)
    y_true = rng.randint(0, 2, n)
    score = np.clip(0.5 + 0.3 * (2 * y_true - 1) + 0.25 * rng.randn(n), 0.01, 0.99)
    if ties:
        score = np.round(score, 1)  # many equal scores across classes
    y_pred = (score > 0.5).astype(int)
    return y_true, y_pred, score


def _multiclass_proba(n=150, seed=0):
    rng = np.random.RandomState(seed)
    y_true = rng.randint(0, 3, n)
    proba = rng.dirichlet([1, 1, 1], n)
    proba[np.arange(n), y_true] += 1
    return y_true, proba / proba.sum(axis=1, keepdims=True)


def _cases():
    y, labels, score = _binary_data()
    _, _, tied = _binary_data(ties=True)
    y3, proba3 = _multiclass_proba()
    proba2 = np.column_stack([1 - score, score])
    auc_column = lambda t, p: roc_auc_score(t, p[:, 1])  # noqa: E731
    return {
        "accuracy": (y, labels, accuracy_score),
        "accuracy-strings": (
            np.array(["no", "yes"])[y],
            np.array(["no", "yes"])[labels],
            accuracy_score,
        ),
        "f1": (y, labels, f1_score),
        "precision": (y, labels, precision_score),
        "recall": (y, labels, recall_score),
        "f1-labels-1-2": (y + 1, labels + 1, f1_score),
        "roc_auc": (y, score, roc_auc_score),
        "roc_auc-ties": (y, tied, roc_auc_score),
        "roc_auc-proba": (y, proba2, auc_column),
        "log_loss": (y, score, log_loss),
        "log_loss-proba": (y, proba2, log_loss),
        "log_loss-multiclass": (y3, proba3, log_loss),
    }


CASES = _cases()


@pytest.mark.parametrize("case", sorted(CASES))
def test_vectorized_metric_is_sklearns_on_each_resample(case):
    from sklopt.model_selection._bootstrap import (
        _positive_scores,
        _resample_statistic,
    )

    y_true, y_pred, sklearn_metric = CASES[case]
    name = case.split("-")[0]
    y_used = _positive_scores(name, y_true, y_pred)
    rng = np.random.RandomState(0)
    idx = rng.randint(0, len(y_true), size=(100, len(y_true)))
    # small resamples too, where counts are 0 (zero_division) or ties abound
    small = rng.randint(0, len(y_true), size=(100, 6))
    statistic = _resample_statistic(name, y_true, y_used)
    for rows in (idx, small):
        if name == "log_loss":  # defined by scikit-learn when all classes appear
            n_classes = len(np.unique(y_true))
            rows = rows[[len(np.unique(y_true[r])) == n_classes for r in rows]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zero_division, one class
            want = [sklearn_metric(y_true[r], y_pred[r]) for r in rows]
        np.testing.assert_allclose(statistic(rows), want, rtol=1e-12, atol=1e-15)
    # a metric defined on one class is NaN there, as scikit-learn's
    if name == "roc_auc":
        assert np.isnan(statistic(np.zeros((1, 5), dtype=int)))[0]


@pytest.mark.parametrize("method", ["percentile", "basic", "BCa"])
@pytest.mark.parametrize("case", ["f1", "precision", "recall", "log_loss-proba"])
def test_vectorized_interval_is_the_per_resample_interval(case, method):
    y_true, y_pred, sklearn_metric = CASES[case]
    name = case.split("-")[0]
    fast = score_confidence_interval(
        y_true, y_pred, metric=name, method=method, n_resamples=199, random_state=0
    )
    want = _scipy_paired(
        y_true, y_pred, sklearn_metric, method, random_state=0, n_resamples=199
    )
    np.testing.assert_allclose(fast, want, rtol=1e-10)
    assert fast.estimate == pytest.approx(sklearn_metric(y_true, y_pred), rel=1e-12)


@pytest.mark.parametrize("method", ["percentile", "basic", "BCa"])
@pytest.mark.parametrize("ties", [False, True])
def test_roc_auc_interval_with_binary_predict_proba(method, ties):
    # (n, 2) probabilities failed mid-resampling ("y should be a 1d array").
    y_true, _, score = _binary_data(ties=ties)
    proba = np.column_stack([1 - score, score])
    got = score_confidence_interval(
        y_true, proba, metric="roc_auc", method=method, n_resamples=199,
        random_state=0,
    )  # fmt: skip
    assert tuple(got) == tuple(
        score_confidence_interval(
            y_true,
            score,
            metric="roc_auc",
            method=method,
            n_resamples=199,
            random_state=0,
        )  # fmt: skip
    )
    assert got.estimate == pytest.approx(roc_auc_score(y_true, score), rel=1e-12)

    # Percentile and basic ends are order statistics: equal to the
    # per-resample scikit-learn ROC AUC's up to rounding.
    def auc(t, p):
        return roc_auc_score(t, p[:, 1])

    if method != "BCa":
        want = _scipy_paired(
            y_true, proba, auc, method, random_state=0, n_resamples=199
        )
        np.testing.assert_allclose(got, want, rtol=1e-10)

    # BCa also counts resamples below the estimate: exact ratios of integer
    # counts, as the Mann-Whitney U statistic of scipy (roc_auc_score's
    # trapezoids can round a resample equal to the estimate to either side).
    def mann_whitney(t, p):
        positive = p[:, 1][t == 1]
        negative = p[:, 1][t == 0]
        u = stats.mannwhitneyu(positive, negative, method="asymptotic").statistic
        return u / (len(positive) * len(negative))

    want = _scipy_paired(
        y_true, proba, mann_whitney, method, random_state=0, n_resamples=199
    )
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_vectorized_metrics_call_sklearn_once(monkeypatch):
    from sklopt.model_selection import _bootstrap

    y_true, y_pred, score = _binary_data()
    for name, pred in [("f1", y_pred), ("roc_auc", score), ("log_loss", score)]:
        calls = []
        func = _bootstrap._METRICS[name]

        def counted(*args, func=func, calls=calls):
            calls.append(1)
            return func(*args)

        monkeypatch.setitem(_bootstrap._METRICS, name, counted)
        score_confidence_interval(y_true, pred, metric=name, random_state=0)
        assert len(calls) == 1, name  # the estimate on all samples only


def test_result_unpacks_as_low_high_and_carries_estimate_and_error(labels):
    import pickle

    from sklopt.model_selection import ConfidenceInterval

    y_true, y_pred = labels
    result = score_confidence_interval(
        y_true, y_pred, metric="accuracy", n_resamples=499, random_state=0
    )
    low, high = result
    assert isinstance(result, ConfidenceInterval)
    assert tuple(result) == (low, high) == (result.low, result.high)
    assert len(result) == 2 and result == (low, high)
    assert result.estimate == accuracy_score(y_true, y_pred)
    seed = int(draw_seeds(0, 1)[0])
    scipy_result = stats.bootstrap(
        (y_true, y_pred),
        accuracy_score,
        paired=True,
        vectorized=False,
        n_resamples=499,
        rng=np.random.default_rng(seed),
    )
    assert result.standard_error == pytest.approx(
        scipy_result.standard_error, rel=1e-10
    )
    assert result.confidence_level == 0.95
    copy = pickle.loads(pickle.dumps(result))
    assert copy == result and copy.estimate == result.estimate
    assert repr(result).startswith("ConfidenceInterval(low=")


@pytest.mark.parametrize("metric", ["average_precision", "brier_score_loss"])
def test_binary_predict_proba_scores_the_positive_column(metric):
    y_true, _, score = _binary_data(n=60)
    proba = np.column_stack([1 - score, score])
    kwargs = dict(metric=metric, n_resamples=99, method="percentile", random_state=0)
    got = score_confidence_interval(y_true, proba, **kwargs)
    want = score_confidence_interval(y_true, score, **kwargs)
    assert tuple(got) == tuple(want) and got.estimate == want.estimate
