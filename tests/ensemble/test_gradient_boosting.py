"""Tests of GradientBoostingRegressor and GradientBoostingClassifier."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn import ensemble as sk
from sklearn.datasets import load_iris, make_classification, make_friedman1
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.svm import SVR
from sklearn.utils.estimator_checks import check_sample_weight_equivalence_on_dense_data

from sklopt.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklopt.utils._validation import InvalidParameterError


@pytest.fixture
def friedman():
    return make_friedman1(n_samples=300, noise=1.0, random_state=0)


@pytest.mark.parametrize("loss", ["squared_error", "huber"])
def test_regressor_matches_sklearn(loss, friedman):
    # Same trees (continuous features: no ties) and the same leaf updates.
    X, y = friedman
    ours = GradientBoostingRegressor(loss=loss, n_estimators=30, random_state=0)
    theirs = sk.GradientBoostingRegressor(loss=loss, n_estimators=30, random_state=0)
    ours.fit(X, y)
    theirs.fit(X, y)
    assert_allclose(ours.predict(X), theirs.predict(X), atol=1e-8)
    for mine, their in zip(ours.staged_predict(X[:20]), theirs.staged_predict(X[:20])):
        assert_allclose(mine, their, atol=1e-8)
    assert_allclose(ours.train_score_, theirs.train_score_, rtol=1e-8)


def test_absolute_error_is_close_to_sklearn(friedman):
    # Sign targets make exact split ties, broken differently: compare scores.
    X, y = friedman
    ours = GradientBoostingRegressor(loss="absolute_error", random_state=0).fit(X, y)
    theirs = sk.GradientBoostingRegressor(loss="absolute_error", random_state=0)
    assert ours.score(X, y) == pytest.approx(theirs.fit(X, y).score(X, y), abs=0.01)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_matches_sklearn(n_classes):
    X, y = make_classification(
        n_samples=200, n_informative=4, n_classes=n_classes, random_state=0
    )
    ours = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y)
    theirs = sk.GradientBoostingClassifier(n_estimators=20, random_state=0)
    theirs.fit(X, y)
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-8)

    def centred(decision):  # multinomial raw scores are defined up to a shift
        return (
            decision - decision.mean(axis=1, keepdims=True)
            if n_classes > 2
            else decision
        )

    assert_allclose(
        centred(ours.decision_function(X)),
        centred(theirs.decision_function(X)),
        atol=1e-8,
    )
    # On scikit-learn's scale: the binomial deviance (twice the mean
    # log-loss) for two classes, the mean multinomial log-loss for three.
    assert_allclose(ours.train_score_, theirs.train_score_, rtol=1e-8)
    raw = ours.decision_function(X)
    if n_classes == 2:
        deviance = 2 * np.mean(np.logaddexp(0, raw) - y * raw)
    else:
        deviance = np.mean(np.log(np.exp(raw).sum(axis=1)) - raw[np.arange(200), y])
    assert ours.train_score_[-1] == pytest.approx(deviance, rel=1e-10)
    assert ours.estimators_.shape == (20, 1 if n_classes == 2 else 3)


def test_leaf_values_are_loss_optimal_constants(friedman):
    # Terminal-region update for the absolute error: each leaf's value is the
    # (inverted-CDF) median of the residuals of its rows.
    X, y = friedman
    gbr = GradientBoostingRegressor(
        loss="absolute_error", n_estimators=2, learning_rate=0.5, random_state=0
    ).fit(X, y)
    raw = np.full(y.shape[0], np.median(y))
    assert gbr.init_.constant_.ravel()[0] == pytest.approx(np.median(y))
    for stage in range(2):
        tree = gbr.estimators_[stage, 0]
        leaves = tree.apply(X)
        # The tree's leaves hold the line-searched values, as scikit-learn's.
        values = tree.tree_.value[:, 0, 0]
        for leaf in np.unique(leaves):
            residual = (y - raw)[leaves == leaf]
            expected = np.quantile(residual, 0.5, method="inverted_cdf")
            assert values[leaf] == pytest.approx(expected, rel=1e-12)
        raw = raw + 0.5 * values[leaves]
    assert_allclose(gbr.predict(X), raw, rtol=1e-12)


def test_line_search_for_any_regressor_squared_error(friedman):
    X, y = friedman
    gbr = GradientBoostingRegressor(
        Ridge(alpha=10.0), n_estimators=1, learning_rate=0.5
    ).fit(X, y)
    residual = y - y.mean()
    h = Ridge(alpha=10.0).fit(X, residual).predict(X)
    gamma = residual @ h / (h @ h)
    assert gbr._stage_values[0][0] == pytest.approx(gamma, rel=1e-10)
    assert_allclose(gbr.predict(X), y.mean() + 0.5 * gamma * h, rtol=1e-10)


@pytest.mark.parametrize("loss", ["absolute_error", "huber"])
def test_line_search_minimises_the_loss(loss, friedman):
    X, y = friedman
    gbr = GradientBoostingRegressor(
        KNeighborsRegressor(), loss=loss, n_estimators=1, learning_rate=1.0
    ).fit(X, y)
    member = gbr.estimators_[0, 0]
    gamma = gbr._stage_values[0][0]
    start = np.full(y.shape[0], gbr.init_.constant_.ravel()[0])
    h = member.predict(X)

    def total_loss(step):
        raw = (start + step * h)[:, None]
        return gbr._loss(y, raw, np.ones_like(y))

    grid = gamma + np.linspace(-0.5, 0.5, 41)
    assert total_loss(gamma) <= min(total_loss(g) for g in grid) + 1e-9
    assert_allclose(gbr.predict(X), start + gamma * h, rtol=1e-12)


def test_log_loss_newton_step_for_any_regressor():
    X, y = make_classification(n_samples=150, random_state=0)
    clf = GradientBoostingClassifier(Ridge(), n_estimators=1, learning_rate=1.0)
    clf.fit(X, y)
    p = y.mean()
    raw = np.full(y.shape[0], np.log(p / (1 - p)))
    h = Ridge().fit(X, y - expit(raw)).predict(X)
    q = expit(raw)
    gamma = np.sum((y - q) * h) / np.sum(q * (1 - q) * h * h)
    assert clf._stage_values[0][0] == pytest.approx(gamma, rel=1e-10)
    assert_allclose(clf.decision_function(X), raw + gamma * h, rtol=1e-10)


def test_multiclass_probabilities_and_staged(float32_regressor):
    X, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = GradientBoostingClassifier(
        float32_regressor(), n_estimators=6, random_state=0
    ).fit(X, labels)
    assert clf.estimators_.shape == (6, 3)
    proba = clf.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    staged = list(clf.staged_predict_proba(X))
    assert len(staged) == 6
    assert_allclose(staged[-1], proba, rtol=1e-12)
    assert_array_equal(list(clf.staged_predict(X))[-1], clf.predict(X))
    assert set(clf.predict(X)) <= set(labels)
    assert clf.score(X, labels) > 0.8
    seeds = [m.random_state for m in clf.estimators_.ravel()]
    assert len(set(seeds)) == 18
    assert np.all(np.diff(clf.train_score_) < 0)


def test_attributes(friedman):
    X, y = friedman
    gbr = GradientBoostingRegressor(n_estimators=7, learning_rate=0.3).fit(X, y)
    assert_array_equal(gbr.estimator_weights_, np.full(7, 0.3))
    assert isinstance(gbr.init_, DummyRegressor)
    assert gbr.n_estimators_ == 7 and gbr.train_score_.shape == (7,)
    assert not hasattr(gbr, "oob_improvement_")
    clf = GradientBoostingClassifier(n_estimators=2).fit(X, y > y.mean())
    assert isinstance(clf.init_, DummyClassifier)


def test_subsample_fits_stages_on_subsets(friedman):
    X, y = friedman
    gbr = GradientBoostingRegressor(
        KNeighborsRegressor(), n_estimators=5, subsample=0.5, random_state=0
    ).fit(X, y)
    for member in gbr.estimators_[:, 0]:
        assert member.n_samples_fit_ == 150
    fitted = {tuple(m._fit_X[:, 0]) for m in gbr.estimators_[:, 0]}
    assert len(fitted) == 5
    assert gbr.oob_improvement_.shape == gbr.oob_scores_.shape == (5,)
    assert gbr.oob_score_ == gbr.oob_scores_[-1]
    again = GradientBoostingRegressor(
        KNeighborsRegressor(), n_estimators=5, subsample=0.5, random_state=0
    )
    assert_allclose(again.fit(X, y).predict(X), gbr.predict(X), rtol=1e-12)


def test_early_stopping(friedman):
    X, y = friedman
    gbr = GradientBoostingRegressor(
        n_estimators=500,
        learning_rate=0.5,
        n_iter_no_change=3,
        validation_fraction=0.2,
        random_state=0,
    ).fit(X, y)
    assert gbr.n_estimators_ < 500
    assert gbr.estimators_.shape == (gbr.n_estimators_, 1)
    assert gbr.train_score_.shape == gbr.estimator_weights_.shape
    assert len(list(gbr.staged_predict(X))) == gbr.n_estimators_
    assert gbr.estimators_[0, 0].tree_.n_node_samples[0] == 240  # 20% held out


def test_classifier_early_stopping_is_stratified():
    X, y = make_classification(n_samples=100, weights=[0.9], random_state=0)
    clf = GradientBoostingClassifier(
        n_estimators=200, n_iter_no_change=2, validation_fraction=0.5, random_state=0
    ).fit(X, y)
    assert clf.n_estimators_ < 200
    with pytest.raises(
        ValueError, match="least populated classes in y have only 1 member"
    ):
        GradientBoostingClassifier(n_iter_no_change=2).fit(
            X[:6], np.array([0, 0, 0, 0, 0, 1])
        )
    with pytest.raises(ValueError, match="cannot hold out validation_fraction=0.8"):
        GradientBoostingClassifier(n_iter_no_change=2, validation_fraction=0.8).fit(
            X[:6], np.array([0, 0, 1, 1, 2, 2])
        )


def test_sklearn_mlp_as_base_learner(friedman):
    X, y = friedman
    mlp = MLPRegressor(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gbr = GradientBoostingRegressor(mlp, n_estimators=3, random_state=0).fit(X, y)
    assert len({m.random_state for m in gbr.estimators_[:, 0]}) == 3
    assert np.all(np.diff(gbr.train_score_) < 0)


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber"])
def test_sample_weight_equals_repeating_rows(loss):
    # With a base learner that has no split ties (Ridge), integer weights are
    # exactly repeated rows; see _testing.py for trees.
    check_sample_weight_equivalence_on_dense_data(
        "GradientBoostingRegressor",
        GradientBoostingRegressor(Ridge(), loss=loss, n_estimators=5),
    )


def test_sample_weight_needs_a_weighted_base(friedman):
    X, y = friedman
    with pytest.raises(ValueError, match="does not accept sample_weight"):
        GradientBoostingRegressor(KNeighborsRegressor()).fit(
            X, y, sample_weight=np.ones_like(y)
        )
    # Without weights, any regressor works.
    GradientBoostingRegressor(KNeighborsRegressor(), n_estimators=2).fit(X, y)


def test_svr_base_and_staged_score(friedman):
    X, y = friedman
    gbr = GradientBoostingRegressor(SVR(), n_estimators=5, learning_rate=0.5).fit(X, y)
    scores = list(gbr.staged_score(X, y))
    assert len(scores) == 5 and scores[-1] > scores[0]


@pytest.mark.parametrize(
    "Model, params, match",
    [
        (GradientBoostingRegressor, {"estimator": "tree"}, "'estimator' parameter"),
        (GradientBoostingRegressor, {"n_estimators": 0}, "'n_estimators' parameter"),
        (GradientBoostingRegressor, {"learning_rate": 0}, "'learning_rate' parameter"),
        (GradientBoostingRegressor, {"subsample": 0.0}, "'subsample' parameter"),
        (GradientBoostingRegressor, {"subsample": 1.5}, "'subsample' parameter"),
        (GradientBoostingRegressor, {"loss": "log_loss"}, "'loss' parameter"),
        (GradientBoostingRegressor, {"alpha": 1.0}, "'alpha' parameter"),
        (
            GradientBoostingRegressor,
            {"validation_fraction": 1.0},
            "'validation_fraction' parameter",
        ),
        (
            GradientBoostingRegressor,
            {"n_iter_no_change": 0},
            "'n_iter_no_change' parameter",
        ),
        (GradientBoostingClassifier, {"loss": "quantile"}, "'loss' parameter"),
        (GradientBoostingRegressor, {"max_depth": 0}, "'max_depth' parameter"),
        (GradientBoostingRegressor, {"max_features": "auto"}, "'max_features'"),
        (GradientBoostingRegressor, {"init": "one"}, "'init' parameter"),
        (GradientBoostingClassifier, {"init": Ridge()}, "'init' parameter"),
    ],
)
def test_invalid_parameters(Model, params, match, friedman):
    X, y = friedman
    with pytest.raises(InvalidParameterError, match=match):
        Model(**params).fit(X, y > y.mean())


def test_data_dependent_errors(friedman):
    X, y = friedman
    with pytest.raises(ValueError, match="must be a regressor"):
        GradientBoostingClassifier(LogisticRegression()).fit(X, y > y.mean())
    with pytest.raises(ValueError, match="at least two classes"):
        GradientBoostingClassifier().fit(X, np.zeros(y.shape[0]))
    with pytest.raises(ValueError, match="Input X contains infinity"):
        GradientBoostingRegressor(Ridge()).fit(np.full_like(X, np.inf), y)
