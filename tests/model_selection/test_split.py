"""BootstrapSplit and bootstrap_632_score."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, make_classification, make_friedman1
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    explained_variance_score,
    get_scorer,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    root_mean_squared_error,
)
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    cross_val_score,
    cross_validate,
    learning_curve,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from sklopt.model_selection import BootstrapSplit, bootstrap_632_score
from sklopt.model_selection._split import (
    _closed_form_no_information,
    _no_information_score,
)

# --- BootstrapSplit ------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    n_samples=st.integers(2, 60),
    fraction=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31 - 2),
)
def test_oob_test_sets_are_exactly_the_rows_not_drawn(n_samples, fraction, seed):
    n_train = max(1, int(np.floor(fraction * n_samples)))
    cv = BootstrapSplit(n_splits=5, train_size=n_train, random_state=seed)
    for train, test in cv.split(np.zeros((n_samples, 1))):
        assert len(train) == n_train
        assert len(test) > 0
        assert not np.isin(test, train).any()
        np.testing.assert_array_equal(np.union1d(train, test), np.arange(n_samples))
        np.testing.assert_array_equal(test, np.unique(test))  # sorted and unique


def test_split_draws_randint_in_sequence():
    n, seed = 37, 3
    rng = np.random.RandomState(seed)
    expected = []
    while len(expected) < 4:
        train = rng.randint(0, n, n)
        if len(np.unique(train)) < n:  # a full bag is redrawn
            expected.append(train)
    for (train, _), want in zip(
        BootstrapSplit(4, random_state=seed).split(range(n)), expected
    ):
        np.testing.assert_array_equal(train, want)


def test_oob_fraction_is_about_0368(global_random_seed):
    cv = BootstrapSplit(n_splits=200, random_state=global_random_seed)
    fractions = [len(test) / 500 for _, test in cv.split(np.zeros((500, 1)))]
    # E = (1 - 1/n)^n = 0.3675; sd of the mean over 200 splits ~ 0.0015
    assert np.mean(fractions) == pytest.approx((1 - 1 / 500) ** 500, abs=0.006)


def test_empty_out_of_bag_is_redrawn():
    # With 2 samples half of the draws put both rows in the bag.
    splits = list(BootstrapSplit(n_splits=50, random_state=0).split(np.zeros((2, 1))))
    assert all(len(test) == 1 for _, test in splits)


def test_random_state_semantics():
    X = np.zeros((30, 1))
    cv = BootstrapSplit(n_splits=3, random_state=5)
    first = [t for t, _ in cv.split(X)]
    again = [t for t, _ in cv.split(X)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    cv = BootstrapSplit(n_splits=3, random_state=np.random.RandomState(5))
    first = [t for t, _ in cv.split(X)]
    again = [t for t, _ in cv.split(X)]
    assert not all(np.array_equal(a, b) for a, b in zip(first, again))


def test_get_n_splits_and_repr():
    cv = BootstrapSplit(n_splits=7, train_size=0.5, random_state=1)
    assert cv.get_n_splits() == 7
    assert cv.get_n_splits(np.zeros((3, 1)), [0, 1, 0]) == 7
    assert repr(cv) == (
        "BootstrapSplit(n_splits=7, train_size=0.5, stratify=None, random_state=1)"
    )


@pytest.mark.parametrize("train_size", [None, 0.6, 40])
def test_stratified_bootstrap_keeps_class_counts(train_size):
    y = np.array([0] * 50 + [1] * 30 + [2] * 20)
    cv = BootstrapSplit(
        n_splits=10, train_size=train_size, stratify=True, random_state=0
    )
    n_train = {None: 100, 0.6: 60, 40: 40}[train_size]
    want = np.bincount(y) * n_train / 100
    for train, test in cv.split(np.zeros((100, 1)), y):
        counts = np.bincount(y[train], minlength=3)
        assert counts.sum() == n_train
        np.testing.assert_allclose(counts, want, atol=1)
        assert not np.isin(test, train).any()


def test_stratify_on_given_groups():
    groups = np.repeat([0, 1], [10, 30])
    y = np.arange(40) % 2  # not what we stratify on
    cv = BootstrapSplit(n_splits=5, stratify=groups, random_state=0)
    for train, _ in cv.split(np.zeros((40, 1)), y):
        np.testing.assert_array_equal(np.bincount(groups[train]), [10, 30])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_splits": 0}, "'n_splits' parameter of BootstrapSplit must be an int >= 1"),
        ({"n_splits": 2.5}, "'n_splits'"),
        ({"train_size": 0.0}, "'train_size' parameter of BootstrapSplit"),
        ({"train_size": 1.5}, "'train_size'"),
        ({"train_size": 0}, "'train_size'"),
        ({"train_size": -3}, "'train_size'"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BootstrapSplit(**kwargs)


@pytest.mark.parametrize(
    "cv, X, y, match",
    [
        (
            BootstrapSplit(train_size=50),
            np.zeros((10, 1)),
            None,
            "train_size=50 gives 50",
        ),
        (
            BootstrapSplit(train_size=0.01),
            np.zeros((10, 1)),
            None,
            "gives 0 training rows",
        ),
        (BootstrapSplit(), np.zeros((1, 1)), None, "at least 2 samples"),
        (BootstrapSplit(stratify=True), np.zeros((4, 1)), None, "pass y to split"),
        (
            BootstrapSplit(stratify=[0, 1]),
            np.zeros((4, 1)),
            None,
            "one entry per sample",
        ),
        (BootstrapSplit(stratify=True), np.zeros((3, 1)), [0, 1, 2], "out of the bag"),
        (
            BootstrapSplit(stratify=True, train_size=2),
            np.zeros((6, 1)),
            [0, 1, 2] * 2,
            "one training row per class",
        ),
    ],
)
def test_bad_data_for_split(cv, X, y, match):
    with pytest.raises(ValueError, match=match):
        next(cv.split(X, y))


def test_splitter_plugs_into_sklearn_model_selection():
    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    cv = BootstrapSplit(n_splits=4, random_state=0)
    tree = DecisionTreeClassifier(random_state=0)
    scores = cross_val_score(tree, X, y, cv=cv)
    manual = [
        accuracy_score(y[test], clone(tree).fit(X[train], y[train]).predict(X[test]))
        for train, test in cv.split(X, y)
    ]
    np.testing.assert_allclose(scores, manual, rtol=1e-12)
    assert cross_validate(tree, X, y, cv=cv)["test_score"].shape == (4,)
    search = GridSearchCV(tree, {"max_depth": [1, 3]}, cv=cv).fit(X, y)
    assert search.n_splits_ == 4
    search = RandomizedSearchCV(
        tree, {"max_depth": [1, 2, 3]}, n_iter=2, cv=cv, random_state=0
    ).fit(X, y)
    assert len(search.cv_results_["mean_test_score"]) == 2
    sizes, train_scores, _ = learning_curve(tree, X, y, cv=cv, train_sizes=[0.5, 1.0])
    assert train_scores.shape == (2, 4)


# --- bootstrap_632_score ---------------------------------------------------------


def _no_information_brute_force(metric, y, pred):
    """The metric over all n^2 pairs (y_i, pred_j)."""
    n = len(y)
    return metric(np.repeat(y, n, axis=0), np.tile(pred, (n,) + (1,) * (pred.ndim - 1)))


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X[:, :8], y


def test_632_estimators_follow_efron_tibshirani(cancer):
    X, y = cancer
    tree = DecisionTreeClassifier(random_state=0)
    details = bootstrap_632_score(
        tree, X, y, n_splits=30, random_state=0, return_details=True
    )
    # Independent recomputation of every part.
    oob = [
        accuracy_score(y[test], clone(tree).fit(X[train], y[train]).predict(X[test]))
        for train, test in BootstrapSplit(30, random_state=0).split(X, y)
    ]
    np.testing.assert_allclose(details.split_scores, oob, rtol=1e-12)
    full = clone(tree).fit(X, y)
    pred = full.predict(X)
    err_train = 1 - accuracy_score(y, pred)
    err_oob = 1 - np.mean(oob)
    p = np.bincount(y) / len(y)
    q = np.bincount(pred, minlength=2) / len(y)
    gamma = np.sum(p * (1 - q))  # Efron & Tibshirani (1997), eq. (27)
    assert details.train_score == pytest.approx(1 - err_train, rel=1e-12)
    assert details.no_information_score == pytest.approx(1 - gamma, rel=1e-12)
    err_oob_prime = min(err_oob, gamma)
    R = (err_oob_prime - err_train) / (gamma - err_train)
    err_632 = 0.368 * err_train + 0.632 * err_oob
    err_plus = err_632 + (err_oob_prime - err_train) * 0.368 * 0.632 * R / (
        1 - 0.368 * R
    )
    assert details.relative_overfitting_rate == pytest.approx(R, rel=1e-12)
    assert details.weight == pytest.approx(0.632 / (1 - 0.368 * R), rel=1e-12)
    assert details.score == pytest.approx(1 - err_plus, rel=1e-12)
    # the weighted form of the same estimate
    w = details.weight
    assert details.score == pytest.approx(
        1 - ((1 - w) * err_train + w * err_oob), rel=1e-12
    )
    for method, want in [("oob", 1 - err_oob), (".632", 1 - err_632)]:
        got = bootstrap_632_score(
            tree, X, y, method=method, n_splits=30, random_state=0
        )
        assert isinstance(got, float)
        assert got == pytest.approx(want, rel=1e-12)


def test_632_plus_lies_between_632_and_oob_and_clips(cancer):
    X, y = cancer
    tree = DecisionTreeClassifier(random_state=0)
    kw = dict(n_splits=20, random_state=1)
    plus = bootstrap_632_score(tree, X, y, **kw)
    assert bootstrap_632_score(tree, X, y, method="oob", **kw) <= plus
    assert plus <= bootstrap_632_score(tree, X, y, method=".632", **kw)
    # A model no better than chance: oob error exceeds gamma, R' is clipped to 1
    rng = np.random.RandomState(0)
    X_noise, y_noise = rng.rand(120, 3), rng.randint(0, 2, 120)
    d = bootstrap_632_score(tree, X_noise, y_noise, return_details=True, **kw)
    assert d.oob_score < d.no_information_score
    assert d.relative_overfitting_rate == 1.0 and d.weight == pytest.approx(1.0)
    # err_.632+ = 0.632 err_oob + 0.368 gamma when R' = 1
    want = 0.632 * d.oob_score + 0.368 * d.no_information_score
    assert d.score == pytest.approx(want, rel=1e-12)
    # No over-fitting (train not better than oob): R' = 0 and .632+ == .632
    dummy = DummyClassifier(strategy="prior")
    d = bootstrap_632_score(dummy, X, y, return_details=True, **kw)
    assert d.relative_overfitting_rate == 0.0
    assert d.score == pytest.approx(0.368 * d.train_score + 0.632 * d.oob_score)


@pytest.mark.parametrize(
    "name, metric",
    [
        ("neg_mean_squared_error", lambda t, p: -mean_squared_error(t, p)),
        ("neg_root_mean_squared_error", lambda t, p: -root_mean_squared_error(t, p)),
        ("neg_mean_absolute_error", lambda t, p: -mean_absolute_error(t, p)),
        ("r2", r2_score),
        ("explained_variance", explained_variance_score),
    ],
)
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_closed_form_no_information_matches_all_pairs(name, metric, n_outputs):
    rng = np.random.RandomState(0)
    y = rng.randn(150, n_outputs).squeeze()
    pred = (0.5 * y + rng.randn(150, n_outputs).squeeze()).round(1)  # with ties
    want = _no_information_brute_force(metric, y, pred)
    assert _closed_form_no_information(name, y, pred) == pytest.approx(want, rel=1e-10)


def test_closed_form_no_information_scales_past_n_squared():
    # 10^6 samples: 10^12 pairs could not even be stored.
    rng = np.random.RandomState(0)
    y, pred = rng.randn(10**6), rng.randn(10**6)
    mae = -_closed_form_no_information("neg_mean_absolute_error", y, pred)
    assert mae == pytest.approx(2 / np.sqrt(np.pi), rel=2e-3)  # E|N(0,2)|


@pytest.mark.parametrize(
    "scoring", ["accuracy", "neg_log_loss", "roc_auc", "balanced_accuracy"]
)
def test_generic_no_information_matches_all_pairs(cancer, scoring):
    X, y = cancer
    clf = LogisticRegression(max_iter=2000).fit(X, y)
    scorer = get_scorer(scoring)

    class _Pairs:  # the fitted classifier applied to the rows of all pairs
        classes_ = clf.classes_

        def __sklearn_tags__(self):
            return clf.__sklearn_tags__()

        def predict(self, rows):
            return clf.predict(X[rows])

        def predict_proba(self, rows):
            return clf.predict_proba(X[rows])

        def decision_function(self, rows):
            return clf.decision_function(X[rows])

    n = len(y)
    want = scorer(_Pairs(), np.tile(np.arange(n), n), np.repeat(y, n))
    from sklopt.model_selection._split import _FixedResponses

    got = _no_information_score(_FixedResponses(clf, X), y, scorer, scoring)
    assert got == pytest.approx(want, rel=1e-9)


def test_regression_632_plus_and_bad_scorer_for_continuous_targets():
    X, y = make_friedman1(n_samples=120, noise=1.0, random_state=0)
    tree = DecisionTreeRegressor(random_state=0)
    d = bootstrap_632_score(
        tree, X, y, n_splits=10, random_state=0, return_details=True
    )
    pred = clone(tree).fit(X, y).predict(X)
    assert d.no_information_score == pytest.approx(
        _no_information_brute_force(r2_score, y, pred), rel=1e-10
    )
    assert d.oob_score <= d.score <= 0.368 * d.train_score + 0.632 * d.oob_score
    # a generic scorer on continuous targets still works while n^2 is small
    s = bootstrap_632_score(
        tree, X, y, n_splits=5, scoring="neg_median_absolute_error", random_state=0
    )
    assert np.isfinite(s)


def test_no_information_refuses_too_many_pairs(monkeypatch):
    from sklopt.model_selection import _split

    monkeypatch.setattr(_split, "_MAX_PAIRS", 100)
    X, y = make_friedman1(n_samples=50, random_state=0)
    with pytest.raises(ValueError, match="neg_mean_squared_error"):
        bootstrap_632_score(
            LinearRegression(), X, y, n_splits=3, scoring="max_error", random_state=0
        )


def test_632_score_does_not_depend_on_n_jobs_nor_touch_estimator(cancer):
    X, y = cancer
    tree = DecisionTreeClassifier(max_depth=3, random_state=0)
    params = tree.get_params()
    one = bootstrap_632_score(tree, X, y, n_splits=12, random_state=3, n_jobs=1)
    two = bootstrap_632_score(tree, X, y, n_splits=12, random_state=3, n_jobs=2)
    assert one == two
    assert tree.get_params() == params and not hasattr(tree, "tree_")


def test_632_score_with_callable_scoring_and_pandas(cancer):
    pd = pytest.importorskip("pandas")
    X, y = cancer
    X_df, y_s = pd.DataFrame(X[:150]), pd.Series(y[:150])

    def error_rate(estimator, X, y):
        return -np.mean(estimator.predict(X) != y)

    tree = DecisionTreeClassifier(random_state=0)
    got = bootstrap_632_score(
        tree, X_df, y_s, n_splits=8, scoring=error_rate, random_state=0
    )
    want = bootstrap_632_score(tree, X[:150], y[:150], n_splits=8, random_state=0)
    assert got == pytest.approx(want - 1, rel=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "0.632"}, "'method' parameter"),
        ({"n_splits": 0}, "'n_splits' parameter"),
        ({"scoring": "accuracy_score"}, "'scoring' parameter"),
    ],
)
def test_632_bad_parameters(cancer, kwargs, match):
    X, y = cancer
    with pytest.raises(ValueError, match=match):
        bootstrap_632_score(DecisionTreeClassifier(), X, y, **kwargs)


def test_632_score_with_sparse_coo_input(cancer):
    sp = pytest.importorskip("scipy.sparse")
    X, y = cancer
    tree = DecisionTreeClassifier(random_state=0)
    dense = bootstrap_632_score(tree, X, y, n_splits=5, random_state=0)
    assert (
        bootstrap_632_score(tree, sp.coo_matrix(X), y, n_splits=5, random_state=0)
        == dense
    )
