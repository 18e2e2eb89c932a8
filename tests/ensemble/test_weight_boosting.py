"""Tests of AdaBoostClassifier (SAMME) and AdaBoostRegressor (AdaBoost.R2)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import ensemble as sk
from sklearn.datasets import load_breast_cancer, load_digits, make_friedman1
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.tree import DecisionTreeClassifier

from sklopt.ensemble import AdaBoostClassifier, AdaBoostRegressor
from sklopt.exceptions import EarlyTerminationWarning
from sklopt.utils._validation import InvalidParameterError


@pytest.mark.parametrize(
    "data, depth",
    [("digits", 1), ("digits", 2), ("breast_cancer", 1)],
)
def test_samme_matches_sklearn(data, depth):
    load = {"digits": load_digits, "breast_cancer": load_breast_cancer}[data]
    X, y = load(return_X_y=True)
    X, y = X[:500], y[:500]
    base = DecisionTreeClassifier(max_depth=depth, random_state=0)
    ours = AdaBoostClassifier(base, n_estimators=15, random_state=7).fit(X, y)
    theirs = sk.AdaBoostClassifier(base, n_estimators=15, random_state=7).fit(X, y)
    n = len(ours.estimators_)
    assert n == len(theirs.estimators_) == 15
    assert_allclose(ours.estimator_weights_, theirs.estimator_weights_, atol=1e-8)
    assert_allclose(ours.estimator_errors_, theirs.estimator_errors_, atol=1e-8)
    assert_allclose(ours.decision_function(X), theirs.decision_function(X), atol=1e-8)
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-8)
    assert_array_equal(ours.predict(X), theirs.predict(X))
    for mine, their in zip(
        ours.staged_predict_proba(X), theirs.staged_predict_proba(X)
    ):
        assert_allclose(mine, their, atol=1e-8)


def test_samme_formulas_in_numpy(clf_data):
    # Rebuild the boosting weights from the fitted members with the SAMME
    # formulas of REFERENCE.md.
    X, y = clf_data
    lr, K = 0.7, 3
    clf = AdaBoostClassifier(n_estimators=6, learning_rate=lr, random_state=0)
    clf.fit(X, y)
    w = np.full(y.shape[0], 1 / y.shape[0])
    votes = np.zeros((y.shape[0], K))
    for member, alpha in zip(clf.estimators_, clf.estimator_weights_):
        wrong = member.predict(X) != y
        err = np.sum(w * wrong) / np.sum(w)
        assert alpha == pytest.approx(
            lr * (np.log((1 - err) / err) + np.log(K - 1)), rel=1e-10
        )
        w = w * np.exp(alpha * wrong)
        w /= w.sum()
        pred = member.predict(X)
        votes += np.where(pred[:, None] == np.arange(K), alpha, -alpha / (K - 1))
    decision = votes / clf.estimator_weights_.sum()
    assert_allclose(clf.decision_function(X), decision, rtol=1e-10, atol=1e-12)
    expected = np.exp(decision / (K - 1))
    assert_allclose(
        clf.predict_proba(X), expected / expected.sum(1, keepdims=True), rtol=1e-10
    )


def test_staged_predictions_end_at_the_final_model(clf_data):
    X, y = clf_data
    clf = AdaBoostClassifier(n_estimators=8, random_state=0).fit(X, y)
    staged = list(clf.staged_predict(X))
    assert len(staged) == len(clf.estimators_) == 8
    assert_array_equal(staged[-1], clf.predict(X))
    scores = list(clf.staged_score(X, y))
    assert scores[-1] == pytest.approx(clf.score(X, y))
    assert scores[-1] > scores[0]


def test_resampling_for_estimators_without_sample_weight(float32_classifier, clf_data):
    X, y = clf_data
    ys = np.array(["x", "y", "z"])[y]
    knn = AdaBoostClassifier(KNeighborsClassifier(), n_estimators=5, random_state=0)
    assert knn.fit(X, ys).resample_
    assert set(knn.predict(X)) <= {"x", "y", "z"}
    net = AdaBoostClassifier(float32_classifier(), n_estimators=5, random_state=0)
    net.fit(X, ys)
    assert net.resample_ and len({m.random_state for m in net.estimators_}) == 5
    assert net.score(X, ys) > 0.5
    again = AdaBoostClassifier(float32_classifier(), n_estimators=5, random_state=0)
    assert_allclose(again.fit(X, ys).estimator_weights_, net.estimator_weights_)


def test_resample_true_and_false(clf_data):
    X, y = clf_data
    tree = AdaBoostClassifier(n_estimators=5, resample=True, random_state=0)
    assert tree.fit(X, y).resample_
    with pytest.raises(ValueError, match="resample=False boosts by re-weighting"):
        AdaBoostClassifier(KNeighborsClassifier(), resample=False).fit(X, y)


def test_perfect_member_stops_with_warning():
    X = np.arange(20.0).reshape(-1, 1)
    y = (X[:, 0] > 9).astype(int)
    with pytest.warns(EarlyTerminationWarning, match="perfect") as record:
        clf = AdaBoostClassifier(n_estimators=10, random_state=0).fit(X, y)
    assert record[0].filename == __file__
    assert len(clf.estimators_) == 1
    assert_array_equal(clf.estimator_weights_, [1.0])
    assert_array_equal(clf.predict(X), y)


def test_no_better_than_chance_stops_or_raises():
    X = np.random.RandomState(0).normal(size=(40, 3))
    # After one round, the prior classifier's weighted error is exactly 1/2.
    y = np.array([0] * 30 + [1] * 10)
    with pytest.warns(EarlyTerminationWarning, match="worse than random"):
        clf = AdaBoostClassifier(DummyClassifier(), n_estimators=5).fit(X, y)
    assert len(clf.estimators_) == 1
    assert clf.estimator_errors_[0] == pytest.approx(0.25)
    balanced = np.array([0, 1] * 20)
    with pytest.raises(ValueError, match="worse than random"):
        AdaBoostClassifier(DummyClassifier(), n_estimators=5).fit(X, balanced)


@pytest.mark.parametrize("loss", ["linear", "square", "exponential"])
def test_r2_matches_sklearn(loss):
    X, y = make_friedman1(n_samples=200, noise=1.0, random_state=0)
    ours = AdaBoostRegressor(loss=loss, n_estimators=15, random_state=3).fit(X, y)
    theirs = sk.AdaBoostRegressor(loss=loss, n_estimators=15, random_state=3)
    theirs.fit(X, y)
    n = len(ours.estimators_)
    assert_allclose(ours.estimator_weights_, theirs.estimator_weights_[:n], atol=1e-8)
    assert_allclose(ours.predict(X), theirs.predict(X), atol=1e-8)


def test_r2_weighted_median_in_numpy(reg_data):
    X, y = reg_data
    reg = AdaBoostRegressor(Ridge(), n_estimators=5, random_state=0).fit(X, y)
    predictions = np.array([m.predict(X) for m in reg.estimators_])
    weights = reg.estimator_weights_
    expected = []
    for column in predictions.T:
        order = np.argsort(column)
        cdf = np.cumsum(weights[order])
        expected.append(column[order][np.searchsorted(cdf, 0.5 * cdf[-1])])
    assert_allclose(reg.predict(X), expected, rtol=1e-12)
    staged = list(reg.staged_predict(X))
    assert len(staged) == len(reg.estimators_)
    assert_allclose(staged[-1], reg.predict(X), rtol=1e-12)
    assert_allclose(staged[0], predictions[0], rtol=1e-12)


def test_r2_any_regressor(float32_regressor, reg_data):
    X, y = reg_data
    for base in (KNeighborsRegressor(), float32_regressor()):
        reg = AdaBoostRegressor(base, n_estimators=5, random_state=0).fit(X, y)
        assert reg.score(X, y) > 0.5
        assert len(reg.estimator_weights_) == len(reg.estimators_)


def test_boosting_lowers_training_error_of_stumps(clf_data):
    X, y = clf_data
    stump = DecisionTreeClassifier(max_depth=1).fit(X, y)
    clf = AdaBoostClassifier(n_estimators=50, random_state=0).fit(X, y)
    assert clf.score(X, y) > stump.score(X, y) + 0.1


@pytest.mark.parametrize(
    "Model, params, match",
    [
        (AdaBoostClassifier, {"estimator": 3}, "'estimator' parameter"),
        (AdaBoostClassifier, {"n_estimators": 0}, "'n_estimators' parameter"),
        (AdaBoostClassifier, {"learning_rate": 0.0}, "'learning_rate' parameter"),
        (AdaBoostClassifier, {"resample": "yes"}, "'resample' parameter"),
        (AdaBoostRegressor, {"learning_rate": -1.0}, "'learning_rate' parameter"),
        (AdaBoostRegressor, {"loss": "huber"}, "'loss' parameter"),
    ],
)
def test_invalid_parameters(Model, params, match, clf_data):
    X, y = clf_data
    with pytest.raises(InvalidParameterError, match=match):
        Model(**params).fit(X, y)


def test_data_dependent_errors(clf_data):
    X, y = clf_data
    with pytest.raises(ValueError, match="at least two classes"):
        AdaBoostClassifier().fit(X, np.ones_like(y))
    with pytest.raises(ValueError, match="must be a classifier"):
        AdaBoostClassifier(Ridge()).fit(X, y)
    with pytest.raises(ValueError, match="must be a regressor"):
        AdaBoostRegressor(LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        AdaBoostClassifier(LogisticRegression()).fit(np.full_like(X, np.nan), y)


def test_weight_overflow_gives_one_warning_of_sklopt():
    # learning_rate=23 makes the boosted weights overflow at the second round:
    # sklopt warns once, with scikit-learn's wording; numpy's RuntimeWarning
    # does not escape.
    import warnings

    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = AdaBoostClassifier(n_estimators=30, learning_rate=23.0).fit(X, y)
    assert [type(w.message) for w in caught] == [EarlyTerminationWarning]
    assert "Sample weights have reached infinite values" in str(caught[0].message)
    assert len(clf.estimators_) == len(clf.estimator_weights_) < 30


@pytest.mark.parametrize("Model", [AdaBoostClassifier, AdaBoostRegressor])
def test_feature_importances_weighted_like_sklearn(Model, clf_data, reg_data):
    X, y = clf_data if Model is AdaBoostClassifier else reg_data
    ours = Model(n_estimators=10, random_state=0).fit(X, y)
    # The members' importances averaged with the member weights (numpy).
    expected = np.average(
        [m.feature_importances_ for m in ours.estimators_],
        axis=0,
        weights=ours.estimator_weights_,
    )
    assert_allclose(ours.feature_importances_, expected, rtol=1e-12)
    assert ours.feature_importances_.sum() == pytest.approx(1.0)
    if Model is AdaBoostClassifier:
        theirs = sk.AdaBoostClassifier(n_estimators=10, random_state=0).fit(X, y)
        assert_allclose(
            ours.feature_importances_, theirs.feature_importances_, atol=1e-8
        )
    with pytest.raises(AttributeError, match="feature_importances_"):
        _ = (
            Model(
                Ridge() if Model is AdaBoostRegressor else LogisticRegression(),
                n_estimators=2,
            )
            .fit(X, y)
            .feature_importances_
        )


def test_predict_members_of_adaboost(clf_data, reg_data):
    X, y = clf_data
    clf = AdaBoostClassifier(n_estimators=8, random_state=0).fit(X, y)
    labels = clf.predict_members(X)
    proba = clf.predict_proba_members(X)
    assert labels.shape == (len(clf.estimators_), X.shape[0])
    assert proba.shape == (len(clf.estimators_), X.shape[0], 3)
    assert_array_equal(labels[3], clf.estimators_[3].predict(X))
    # SAMME from the members' labels (numpy): the decision function.
    K, alpha = clf.n_classes_, clf.estimator_weights_
    votes = np.where(labels[..., None] == clf.classes_, 1.0, -1.0 / (K - 1))
    decision = np.einsum("m,mnk->nk", alpha, votes) / alpha.sum()
    assert_allclose(decision, clf.decision_function(X), rtol=1e-12)
    assert_allclose(proba.sum(axis=2), 1.0)
    # Members without predict_proba (Perceptron): one-hot votes.
    from sklearn.linear_model import Perceptron

    votes = AdaBoostClassifier(Perceptron(), n_estimators=2, random_state=0)
    one_hot = votes.fit(X, y).predict_proba_members(X)
    assert set(np.unique(one_hot)) == {0.0, 1.0}
    assert_array_equal(votes.classes_[one_hot.argmax(axis=2)], votes.predict_members(X))

    X, y = reg_data
    reg = AdaBoostRegressor(n_estimators=7, random_state=0).fit(X, y)
    members = reg.predict_members(X)
    assert members.shape == (len(reg.estimators_), X.shape[0])
    # Weighted median over members (numpy) is the prediction.
    order = np.argsort(members, axis=0)
    cdf = np.cumsum(reg.estimator_weights_[order], axis=0)
    at = np.argmax(cdf >= 0.5 * cdf[-1], axis=0)
    median = members[order[at, np.arange(X.shape[0])], np.arange(X.shape[0])]
    assert_allclose(median, reg.predict(X))


@pytest.mark.parametrize("name", ["AdaBoostRegressor", "GradientBoostingRegressor"])
def test_bias_variance_scorers_refuse_boosting_members(name, reg_data):
    # Boosting members are stages fitted in sequence, not replicas: their
    # spread is no variance, so the scorers refuse them instead of scoring.
    import sklopt.ensemble as ens
    from sklopt.model_selection import bias_variance_scorers

    X, y = reg_data
    model = getattr(ens, name)(n_estimators=3).fit(X, y)
    scorer = bias_variance_scorers()["neg_variance"]
    with pytest.raises(TypeError, match="not replicas|no variance"):
        scorer(model, X, y)
