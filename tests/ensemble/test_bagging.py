"""Tests of BaggingClassifier and BaggingRegressor."""

import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import ensemble as sk
from sklearn.base import clone
from sklearn.datasets import load_digits, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from sklopt import ensemble as sklopt_ensemble
from sklopt.ensemble import BaggingClassifier, BaggingRegressor
from sklopt.exceptions import NotBatchableError
from sklopt.utils._validation import InvalidParameterError

DRAWS = [
    {},
    {"max_features": 0.5},
    {"max_samples": 0.5, "bootstrap": False},
    {"max_samples": 40, "bootstrap_features": True, "max_features": 0.7},
]


@pytest.mark.parametrize("params", DRAWS)
def test_classifier_matches_sklearn(params):
    # Same seeds, same draws, same member seeds: the same trees as sklearn's.
    X, y = load_digits(return_X_y=True)
    X, y = X[:400], y[:400]
    ours = BaggingClassifier(n_estimators=8, random_state=3, **params).fit(X, y)
    theirs = sk.BaggingClassifier(n_estimators=8, random_state=3, **params).fit(X, y)
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-12)
    for mine, their in zip(ours.estimators_samples_, theirs.estimators_samples_):
        assert_array_equal(mine, their)
    for mine, their in zip(ours.estimators_features_, theirs.estimators_features_):
        assert_array_equal(mine, their)


@pytest.mark.parametrize("params", DRAWS[:2])
def test_regressor_and_oob_match_sklearn(params):
    X, y = make_friedman1(n_samples=150, random_state=0)
    ours = BaggingRegressor(
        n_estimators=20, oob_score=True, random_state=1, **params
    ).fit(X, y)
    theirs = sk.BaggingRegressor(
        n_estimators=20, oob_score=True, random_state=1, **params
    ).fit(X, y)
    assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-12)
    assert_allclose(ours.oob_prediction_, theirs.oob_prediction_, rtol=1e-12)
    assert ours.oob_score_ == pytest.approx(theirs.oob_score_, rel=1e-12)


def _manual_oob(ensemble, X, member_output):
    """Mean output of the members over the rows each did not draw."""
    sums, counts = 0.0, np.zeros(X.shape[0])
    for member, rows, feats in zip(
        ensemble.estimators_,
        ensemble.estimators_samples_,
        ensemble.estimators_features_,
    ):
        oob = ~np.isin(np.arange(X.shape[0]), rows)
        out = np.zeros((X.shape[0],) + member_output(member, X[:, feats][:1]).shape[1:])
        out[oob] = member_output(member, X[oob][:, feats])
        sums = sums + out
        counts += oob
    with np.errstate(invalid="ignore"):
        return sums / counts.reshape((-1,) + (1,) * (np.ndim(sums) - 1)), counts


def test_oob_rows_never_out_of_bag_are_nan_with_warning(clf_data):
    X, y = clf_data
    clf = BaggingClassifier(
        LogisticRegression(), n_estimators=2, oob_score=True, random_state=0
    )
    with pytest.warns(UserWarning, match="never out of bag") as record:
        clf.fit(X, y)
    assert record[0].filename == __file__  # points at the caller's fit
    proba, counts = _manual_oob(
        clf, X, lambda member, X_: _full_proba(member, X_, clf.classes_)
    )
    never = counts == 0
    assert never.any() and not never.all()
    assert np.isnan(clf.oob_decision_function_[never]).all()
    assert_allclose(clf.oob_decision_function_[~never], proba[~never], rtol=1e-12)
    expected = np.mean(clf.classes_[proba[~never].argmax(axis=1)] == y[~never])
    assert clf.oob_score_ == pytest.approx(expected, rel=1e-12)


def test_regressor_oob_nan_and_score(reg_data):
    X, y = reg_data
    reg = BaggingRegressor(Ridge(), n_estimators=2, oob_score=True, random_state=0)
    with pytest.warns(UserWarning, match="never out of bag"):
        reg.fit(X, y)
    prediction, counts = _manual_oob(reg, X, lambda member, X_: member.predict(X_))
    never = counts == 0
    assert np.isnan(reg.oob_prediction_[never]).all()
    assert_allclose(reg.oob_prediction_[~never], prediction[~never], rtol=1e-12)
    residual = y[~never] - prediction[~never]
    r2 = 1 - np.sum(residual**2) / np.sum((y[~never] - y[~never].mean()) ** 2)
    assert reg.oob_score_ == pytest.approx(r2, rel=1e-10)


def test_no_warning_when_every_row_is_out_of_bag_once(clf_data):
    X, y = clf_data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = BaggingClassifier(n_estimators=30, oob_score=True, random_state=0)
        clf.fit(X, y)
    assert np.isfinite(clf.oob_decision_function_).all()


def _full_proba(member, X, classes):
    proba = np.zeros((X.shape[0], len(classes)))
    proba[:, np.searchsorted(classes, member.classes_)] = member.predict_proba(X)
    return proba


def test_members_in_original_label_space_with_missing_classes():
    # Class "rare" has 3 rows: small draws miss it in some members (members
    # without sample_weight see their draw only).
    rng = np.random.RandomState(0)
    X = rng.normal(size=(90, 4))
    y = np.array(["a", "b"] * 43 + ["rare"] * 4)
    X[y == "rare"] += 3
    clf = BaggingClassifier(
        KNeighborsClassifier(3), n_estimators=12, max_samples=20, random_state=0
    ).fit(X, y)
    missing = [len(m.classes_) < 3 for m in clf.estimators_]
    assert any(missing) and not all(missing)
    labels = clf.predict_members(X)
    assert labels.shape == (12, 90)
    assert set(np.unique(labels)) <= {"a", "b", "rare"}
    proba = clf.predict_proba_members(X)
    assert proba.shape == (12, 90, 3)
    assert_allclose(proba.sum(axis=2), 1.0, rtol=1e-12)
    for i, member in enumerate(clf.estimators_):
        assert_array_equal(labels[i], member.predict(X))
        assert_allclose(proba[i], _full_proba(member, X, clf.classes_), rtol=1e-12)
        if missing[i]:
            assert_array_equal(proba[i][:, 2], 0.0)
    assert_allclose(proba.mean(axis=0), clf.predict_proba(X), rtol=1e-12)
    assert_array_equal(clf.predict(X), clf.classes_[proba.mean(axis=0).argmax(1)])


def test_majority_vote_without_predict_proba(clf_data):
    X, y = clf_data
    clf = BaggingClassifier(SVC(), n_estimators=7, random_state=0).fit(X, y)
    assert not hasattr(clf.estimators_[0], "predict_proba")
    labels = clf.predict_members(X)
    votes = np.stack([(labels == c).sum(axis=0) for c in clf.classes_], axis=1)
    # Majority vote, ties to the first class.
    assert_array_equal(clf.predict(X), clf.classes_[votes.argmax(axis=1)])
    assert_allclose(clf.predict_proba(X), votes / 7, rtol=1e-12)
    onehot = clf.predict_proba_members(X)
    assert_array_equal(onehot.argmax(axis=2), np.searchsorted(clf.classes_, labels))
    assert_array_equal(onehot.sum(axis=2), 1.0)


def test_multi_output_regression(reg_data):
    X, y = reg_data
    Y = np.column_stack([y, -2 * y])
    reg = BaggingRegressor(n_estimators=4, random_state=0).fit(X, Y)
    members = reg.predict_members(X)
    assert members.shape == (4, 120, 2)
    assert_allclose(reg.predict(X), members.mean(axis=0), rtol=1e-12)


def test_column_y_is_raveled_with_warning(reg_data):
    X, y = reg_data
    with pytest.warns(Warning, match="column-vector y"):
        reg = BaggingRegressor(Ridge(), n_estimators=2, random_state=0)
        reg.fit(X, y[:, None])
    assert reg.predict_members(X).shape == (2, 120)


def test_weighted_members_see_distinct_rows_with_counts(reg_data):
    # Ridge takes sample_weight: members fit distinct rows weighted by their
    # number of draws, which for Ridge equals fitting the repeated rows. With
    # sample_weight, rows are drawn in proportion to it (scikit-learn 1.9):
    # the members see the draw counts only.
    X, y = reg_data
    sample_weight = np.random.RandomState(0).uniform(0.5, 2.0, size=y.shape[0])
    reg = BaggingRegressor(Ridge(alpha=1e-3), n_estimators=3, random_state=0)
    reg.fit(X, y, sample_weight=sample_weight)
    for member, rows in zip(reg.estimators_, reg.estimators_samples_):
        reference = Ridge(alpha=1e-3).fit(X[rows], y[rows])
        assert_allclose(member.coef_, reference.coef_, rtol=1e-7)


@pytest.mark.parametrize("Ensemble", ["BaggingClassifier", "BaggingRegressor"])
@pytest.mark.parametrize("bootstrap", [True, False])
@pytest.mark.parametrize("max_samples", [None, 1.0, 0.5, 30])
@pytest.mark.parametrize("weighted", [False, True])
def test_same_rows_as_sklearn(Ensemble, bootstrap, max_samples, weighted, clf_data):
    # The docstring's promise: the same random_state draws the same rows and
    # columns as scikit-learn's bagging, with and without sample_weight.
    import sklearn.ensemble

    X, y = clf_data
    weight = np.random.RandomState(1).uniform(0.2, 2.0, len(y)) if weighted else None
    if weighted and not bootstrap and max_samples is not None:
        max_samples = 30  # the weights sum past n_samples: too many rows
    params = dict(
        n_estimators=4,
        max_samples=max_samples,
        max_features=0.6,
        bootstrap=bootstrap,
        random_state=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ours = getattr(sklopt_ensemble, Ensemble)(**params).fit(X, y, weight)
        theirs = getattr(sklearn.ensemble, Ensemble)(**params).fit(X, y, weight)
    for a, b in zip(ours.estimators_samples_, theirs.estimators_samples_):
        assert_array_equal(a, b)
    for a, b in zip(ours.estimators_features_, theirs.estimators_features_):
        assert_array_equal(a, b)


@pytest.mark.parametrize("Ensemble", ["BaggingClassifier", "BaggingRegressor"])
def test_max_samples_none_and_one_with_sample_weight(Ensemble, clf_data):
    # The documented meanings: with sample_weight, the float default 1.0 is
    # a fraction of the weights' sum; None (scikit-learn 1.9's default) is
    # n_samples rows whatever the weights; without weights both are n rows.
    X, y = clf_data
    n = len(y)
    weight = np.full(n, 0.5)
    Bagging = getattr(sklopt_ensemble, Ensemble)
    one = Bagging(n_estimators=3, random_state=0).fit(X, y, sample_weight=weight)
    none = Bagging(n_estimators=3, max_samples=None, random_state=0)
    none.fit(X, y, sample_weight=weight)
    assert {len(rows) for rows in one.estimators_samples_} == {int(weight.sum())}
    assert {len(rows) for rows in none.estimators_samples_} == {n}
    unweighted = [
        Bagging(n_estimators=3, max_samples=m, random_state=0).fit(X, y)
        for m in (1.0, None)
    ]
    for a, b in zip(*(u.estimators_samples_ for u in unweighted)):
        assert len(a) == n
        assert_array_equal(a, b)


def test_weighted_members_never_lose_a_class():
    # A draw of one class: members that take sample_weight are fitted on all
    # rows, the undrawn ones with weight 0, as in scikit-learn.
    X, y = np.array([[1, 2], [3, 4]]), np.array([1, 0])
    clf = BaggingClassifier(LogisticRegression(), max_features=0.3, random_state=1)
    clf.fit(X, y)
    assert all(len(m.classes_) == 2 for m in clf.estimators_)
    assert clf.predict_proba(X).shape == (2, 2)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    y = np.r_[np.zeros(57, int), np.ones(3, int)]
    clf = BaggingClassifier(
        LogisticRegression(), n_estimators=8, max_samples=10, random_state=0
    ).fit(X, y)
    for member, rows in zip(clf.estimators_, clf.estimators_samples_):
        assert_array_equal(member.classes_, [0, 1])
        counts = np.bincount(rows, minlength=60).astype(float)
        if counts[y == 1].sum() == 0:
            reference = LogisticRegression().fit(X, y, sample_weight=counts)
        else:
            drawn = counts > 0
            reference = LogisticRegression().fit(
                X[drawn], y[drawn], sample_weight=counts[drawn]
            )
        assert_allclose(member.coef_, reference.coef_, rtol=1e-6, atol=1e-8)


def test_unweighted_members_get_repeated_rows(clf_data):
    X, y = clf_data
    clf = BaggingClassifier(
        KNeighborsClassifier(), n_estimators=3, max_samples=50, random_state=0
    ).fit(X, y)
    for member, rows in zip(clf.estimators_, clf.estimators_samples_):
        assert member.n_samples_fit_ == 50
        assert_array_equal(member._fit_X, X[rows])


def test_sample_weight_draws_for_unweighted_members(reg_data):
    X, y = reg_data
    sample_weight = np.ones(y.shape[0])
    sample_weight[:60] = 0.0
    reg = BaggingRegressor(KNeighborsRegressor(), n_estimators=5, random_state=0)
    reg.fit(X, y, sample_weight=sample_weight)
    # max_samples=1.0 is a fraction of the weights' sum (scikit-learn 1.9)
    for rows in reg.estimators_samples_:
        assert rows.min() >= 60 and rows.shape == (60,)


@pytest.mark.parametrize(
    "Ensemble, Tree",
    [
        (BaggingClassifier, DecisionTreeClassifier),
        (BaggingRegressor, DecisionTreeRegressor),
    ],
)
def test_n_jobs_and_nested_seeds(Ensemble, Tree, clf_data):
    X, y = clf_data
    base = make_pipeline(StandardScaler(), Tree(max_features=2))
    one = Ensemble(base, n_estimators=6, random_state=0).fit(X, y)
    with joblib.parallel_config(backend="threading"):
        two = Ensemble(base, n_estimators=6, n_jobs=2, random_state=0).fit(X, y)
        assert_allclose(one.predict(X), two.predict(X), rtol=1e-12)
    key = f"{Tree.__name__.lower()}__random_state"
    states = [member.get_params()[key] for member in one.estimators_]
    assert len(set(states)) == 6
    assert states == [member.get_params()[key] for member in two.estimators_]
    assert base.get_params()[key] is None  # the caller's estimator is untouched
    assert not hasattr(base.steps[-1][1], "tree_")


@pytest.mark.slow
def test_n_jobs_with_processes(clf_data):
    X, y = clf_data
    one = BaggingClassifier(n_estimators=6, random_state=0).fit(X, y)
    two = BaggingClassifier(n_estimators=6, n_jobs=2, random_state=0).fit(X, y)
    assert_allclose(one.predict_proba(X), two.predict_proba(X), rtol=1e-12)


def test_warm_start_adds_members(clf_data):
    X, y = clf_data
    full = BaggingClassifier(n_estimators=8, random_state=0).fit(X, y)
    warm = BaggingClassifier(n_estimators=5, warm_start=True, random_state=0)
    warm.fit(X, y).set_params(n_estimators=8).fit(X, y)
    assert len(warm.estimators_) == 8
    assert_allclose(warm.predict_proba(X), full.predict_proba(X), rtol=1e-12)
    with pytest.warns(UserWarning, match="without increasing n_estimators"):
        warm.fit(X, y)
    with pytest.raises(ValueError, match="n_estimators=4 must be larger or equal"):
        warm.set_params(n_estimators=4).fit(X, y)
    with pytest.raises(ValueError, match="drawing settings changed"):
        warm.set_params(n_estimators=10).fit(X[:100], y[:100])


def test_float32_members_without_sample_weight(float32_regressor, reg_data):
    X, y = reg_data
    reg = BaggingRegressor(float32_regressor(), n_estimators=4, random_state=0)
    reg.fit(X, y, sample_weight=np.ones(y.shape[0]))
    assert reg.predict_members(X).dtype == np.float64
    seeds = {m.random_state for m in reg.estimators_}
    assert len(seeds) == 4
    assert reg.score(X, y) > 0.9


@pytest.mark.parametrize("batched", ["auto", False])
def test_batched_auto_and_false_train_one_by_one(batched, clf_data):
    X, y = clf_data
    ref = BaggingClassifier(n_estimators=3, random_state=0).fit(X, y)
    clf = BaggingClassifier(n_estimators=3, batched=batched, random_state=0)
    assert_allclose(clf.fit(X, y).predict_proba(X), ref.predict_proba(X))


def test_batched_true_raises(clf_data):
    X, y = clf_data
    clf = BaggingClassifier(n_estimators=3, batched=True)
    with pytest.raises(NotBatchableError, match="offers no batched training"):
        clf.fit(X, y)


def test_all_members_go_through_one_fit_call(monkeypatch, clf_data):
    import sklopt.ensemble._bagging_base as bagging

    calls = []
    original = bagging.fit_members

    def spy(estimator, X, y, members, **kwargs):
        members = list(members)
        calls.append((len(members), kwargs["n_members"], kwargs["n_jobs"]))
        return original(estimator, X, y, members, **kwargs)

    monkeypatch.setattr(bagging, "fit_members", spy)
    X, y = clf_data
    BaggingClassifier(n_estimators=4, n_jobs=1, random_state=0).fit(X, y)
    assert calls == [(4, 4, 1)]


@pytest.mark.parametrize(
    "params, match",
    [
        ({"estimator": "tree"}, "'estimator' parameter"),
        ({"n_estimators": 0}, "'n_estimators' parameter"),
        ({"max_samples": 1.5}, "'max_samples' parameter"),
        ({"max_samples": 0.0}, "'max_samples' parameter"),
        ({"max_features": -1}, "'max_features' parameter"),
        ({"batched": "yes"}, "'batched' parameter"),
    ],
)
def test_invalid_parameters(params, match, clf_data):
    X, y = clf_data
    with pytest.raises(InvalidParameterError, match=match):
        BaggingClassifier(**params).fit(X, y)


def test_data_dependent_errors(clf_data):
    X, y = clf_data
    with pytest.raises(ValueError, match="max_samples=200 must be <= n_samples=120"):
        BaggingClassifier(max_samples=200, bootstrap=False).fit(X, y)
    with pytest.raises(ValueError, match="max_features=7 is larger"):
        BaggingClassifier(max_features=7).fit(X, y)
    with pytest.raises(ValueError, match="oob_score=True needs bootstrap=True"):
        BaggingClassifier(oob_score=True, bootstrap=False).fit(X, y)
    with pytest.raises(ValueError, match="at least two classes"):
        BaggingClassifier().fit(X, np.zeros_like(y))
    with pytest.raises(ValueError, match="must be a classifier"):
        BaggingClassifier(Ridge()).fit(X, y)
    with pytest.raises(ValueError, match="must be a regressor"):
        BaggingRegressor(LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        BaggingClassifier().fit(X, y, sample_weight=-np.ones(y.shape[0]))
    with pytest.raises(ValueError, match="sample_weight has 3 entries"):
        BaggingClassifier().fit(X, y, sample_weight=[1, 2, 3])


def test_refit_without_oob_drops_oob_attributes(reg_data):
    X, y = reg_data
    reg = BaggingRegressor(Ridge(), n_estimators=30, oob_score=True, random_state=0)
    reg.fit(X, y)
    assert hasattr(reg, "oob_prediction_") and hasattr(reg, "oob_score_")
    reg.set_params(oob_score=False).fit(X, y)
    assert not hasattr(reg, "oob_prediction_") and not hasattr(reg, "oob_score_")


def test_values_that_are_not_numbers_raise_whatever_rows_are_drawn():
    """A dict in an object X raises the base's TypeError even when no member
    draws its row; strings stay for a base that encodes them."""
    from sklearn.preprocessing import OneHotEncoder

    from sklopt.ensemble import AdaBoostRegressor, GradientBoostingRegressor

    rng = np.random.RandomState(0)
    X = rng.uniform(size=(60, 3)).astype(object)
    y = rng.uniform(size=60)
    X[0, 0] = {"foo": "bar"}
    # one member on two rows: row 0 is almost surely not drawn
    for model in (
        BaggingRegressor(n_estimators=1, max_samples=2, random_state=0),
        GradientBoostingRegressor(n_estimators=2, subsample=0.05, random_state=0),
        AdaBoostRegressor(n_estimators=2, random_state=0),
    ):
        with pytest.raises(TypeError, match="argument must be a string or a real"):
            model.fit(X, y)
    letters = np.array([["a", "b"], ["b", "a"], ["a", "a"], ["b", "b"]] * 5, object)
    labels = np.array([0, 1, 0, 1] * 5)
    pipe = make_pipeline(OneHotEncoder(), DecisionTreeClassifier(random_state=0))
    bag = BaggingClassifier(pipe, n_estimators=3, random_state=0)
    assert bag.fit(letters, labels).score(letters, labels) == 1.0


@pytest.mark.parametrize("Ensemble", [BaggingClassifier, BaggingRegressor])
def test_sample_weight_routed_through_pipeline_and_grid_search(Ensemble, clf_data):
    # Metadata routing: set_fit_request(sample_weight=True) lets Pipeline and
    # GridSearchCV hand sample_weight to the ensemble, which draws rows with
    # it (as when passed directly).
    import sklearn
    from sklearn.model_selection import GridSearchCV

    X, y = clf_data
    weight = np.random.RandomState(0).uniform(0.2, 2.0, len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        bag = Ensemble(n_estimators=3, random_state=0).set_fit_request(
            sample_weight=True
        )
        scaler = StandardScaler().set_fit_request(sample_weight=False)
        pipe = make_pipeline(scaler, bag).fit(X, y, sample_weight=weight)
        direct = clone(bag).fit(StandardScaler().fit_transform(X), y, weight)
        for a, b in zip(pipe[-1].estimators_samples_, direct.estimators_samples_):
            assert_array_equal(a, b)
        search = GridSearchCV(
            clone(bag).set_score_request(sample_weight=False),
            {"max_features": [0.5, 1.0]},
            cv=2,
        ).fit(X, y, sample_weight=weight)
    assert search.best_estimator_.n_estimators == 3
    for a, b in zip(
        search.best_estimator_.estimators_samples_,
        clone(search.best_estimator_).fit(X, y, weight).estimators_samples_,
    ):
        assert_array_equal(a, b)


def test_threading_backend_leaves_the_warning_state_as_it_was(clf_data, recwarn):
    """Each member's fit records its warnings inside the worker thread of a
    thread-based backend; the caller's filters and ``showwarning`` are the
    same after the fit (the warnings module is process-wide)."""
    import warnings

    from sklearn.linear_model import LogisticRegression

    X, y = clf_data
    base = LogisticRegression(max_iter=1)  # a ConvergenceWarning per member
    shown, filters = warnings.showwarning, warnings.filters[:]
    with joblib.parallel_config(backend="threading"):
        BaggingClassifier(base, n_estimators=16, n_jobs=2, random_state=0).fit(X, y)
    assert warnings.showwarning is shown
    assert warnings.filters == filters
    assert any(issubclass(w.category, ConvergenceWarning) for w in recwarn)
