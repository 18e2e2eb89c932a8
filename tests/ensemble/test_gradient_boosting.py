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


# scikit-learn parity of the default tree and the fitting options: with
# estimator=None and the same random_state, sklopt draws the same validation
# split, subsamples and tree seeds as scikit-learn, so on continuous data
# the models agree to rounding. (numpy's exp differs from the C library's in
# the last bit for a few percent of values; where two splits tie exactly,
# such a bit can choose the other split: multinomial runs with many small
# nodes can differ in a tree or two. These cases have no such tie.)
@pytest.mark.parametrize(
    "params",
    [
        {"max_depth": 5, "min_samples_leaf": 5},
        {"max_depth": None, "max_leaf_nodes": 6, "min_samples_split": 10},
        {"max_features": 0.5, "subsample": 0.7},
        {"max_features": "sqrt", "min_weight_fraction_leaf": 0.05},
        {"min_impurity_decrease": 0.5, "ccp_alpha": 0.01},
        {"loss": "quantile", "alpha": 0.2, "subsample": 0.8},
        {"loss": "huber", "alpha": 0.7, "init": "zero"},
        {"init": Ridge(), "learning_rate": 0.3},
        {
            "n_iter_no_change": 2,
            "validation_fraction": 0.25,
            "learning_rate": 0.8,
            "min_samples_leaf": 5,
        },
    ],
)
def test_regressor_options_match_sklearn(params, friedman):
    X, y = friedman
    ours = GradientBoostingRegressor(n_estimators=40, random_state=3, **params)
    theirs = sk.GradientBoostingRegressor(n_estimators=40, random_state=3, **params)
    ours.fit(X, y)
    theirs.fit(X, y)
    rtol = 1e-8
    assert ours.n_estimators_ == theirs.n_estimators_
    if ours.n_iter_no_change is not None:
        assert ours.n_estimators_ < 40  # stopped early, at the same stage
    assert_allclose(ours.predict(X), theirs.predict(X), rtol=rtol, atol=1e-8)
    assert_allclose(ours.train_score_, theirs.train_score_, rtol=rtol, atol=1e-10)
    if ours.subsample < 1:
        assert_allclose(ours.oob_scores_, theirs.oob_scores_, rtol=1e-8)
        assert_allclose(ours.oob_improvement_, theirs.oob_improvement_, atol=1e-8)
        assert ours.oob_score_ == pytest.approx(theirs.oob_score_, rel=1e-8)
    assert_allclose(ours.feature_importances_, theirs.feature_importances_, atol=1e-8)
    assert_array_equal(ours.apply(X), theirs.apply(X))
    if "max_features" in params:
        assert ours.max_features_ == theirs.max_features_


@pytest.mark.parametrize(
    "loss, n_classes, params",
    [
        ("exponential", 2, {"subsample": 0.6, "max_features": 3}),
        ("log_loss", 2, {"subsample": 0.5, "max_depth": 2}),
        (
            "log_loss",
            2,
            {
                "n_iter_no_change": 3,
                "validation_fraction": 0.2,
                "min_samples_leaf": 5,
                "learning_rate": 1.0,
            },
        ),
        ("log_loss", 2, {"init": LogisticRegression()}),
    ],
)
def test_classifier_options_match_sklearn(loss, n_classes, params):
    X, y = make_classification(
        n_samples=300, n_informative=5, n_classes=n_classes, random_state=1
    )
    ours = GradientBoostingClassifier(
        loss=loss, n_estimators=25, random_state=2, **params
    ).fit(X, y)
    theirs = sk.GradientBoostingClassifier(
        loss=loss, n_estimators=25, random_state=2, **params
    ).fit(X, y)
    tol = 1e-8
    assert ours.n_estimators_ == theirs.n_estimators_
    if ours.n_iter_no_change is not None:
        assert ours.n_estimators_ < 25  # stopped early, at the same stage
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=tol)
    assert_allclose(ours.train_score_, theirs.train_score_, rtol=tol)
    if ours.subsample < 1:
        # scikit-learn's scale: binomial deviance, improvement from the
        # previous stage's out-of-bag loss.
        assert_allclose(ours.oob_improvement_, theirs.oob_improvement_, atol=tol)
    assert_array_equal(ours.apply(X), theirs.apply(X))
    assert_allclose(ours.feature_importances_, theirs.feature_importances_, atol=tol)


@pytest.mark.parametrize(
    "Model", [GradientBoostingRegressor, GradientBoostingClassifier]
)
def test_warm_start_continues_the_same_model(Model, friedman):
    X, y = friedman
    y = y if Model is GradientBoostingRegressor else y > np.median(y)
    params = {"subsample": 0.7, "max_features": 0.6, "random_state": 0}
    warm = Model(n_estimators=10, warm_start=True, **params).fit(X, y)
    first_init = warm.init_
    warm.set_params(n_estimators=25).fit(X, y)
    cold = Model(n_estimators=25, **params).fit(X, y)
    theirs = getattr(sk, Model.__name__)(n_estimators=10, warm_start=True, **params)
    theirs.fit(X, y).set_params(n_estimators=25).fit(X, y)
    assert warm.init_ is first_init and warm.estimators_.shape[0] == 25
    raw = warm.predict(X) if Model is GradientBoostingRegressor else None
    if raw is None:
        assert_allclose(warm.predict_proba(X), theirs.predict_proba(X), atol=1e-8)
        # scikit-learn continues the random stream: so does sklopt, which
        # then equals one fit of 25 stages.
        assert_allclose(warm.predict_proba(X), cold.predict_proba(X), atol=1e-8)
    else:
        assert_allclose(raw, theirs.predict(X), rtol=1e-8)
        assert_allclose(raw, cold.predict(X), rtol=1e-8)
    assert_allclose(warm.oob_improvement_, theirs.oob_improvement_, atol=1e-8)
    with pytest.raises(ValueError, match="n_estimators=5 must be larger or equal"):
        warm.set_params(n_estimators=5).fit(X, y)
    assert warm.estimators_.shape[0] == 25  # the failed fit changed nothing


def test_tree_parameters_with_an_explicit_estimator(friedman):
    X, y = friedman
    with pytest.raises(ValueError, match=r"\['max_depth', 'min_samples_leaf'\]"):
        GradientBoostingRegressor(Ridge(), max_depth=2, min_samples_leaf=3).fit(X, y)
    with pytest.warns(FutureWarning, match="`criterion` is deprecated"):
        GradientBoostingRegressor(criterion="friedman_mse", n_estimators=2).fit(X, y)
    gbr = GradientBoostingRegressor(Ridge(), n_estimators=2).fit(X, y)
    assert not hasattr(gbr, "max_features_")
    for name in ("feature_importances_", "apply"):
        with pytest.raises(AttributeError, match="decision-tree members|leaves"):
            getattr(gbr, name)(X) if name == "apply" else getattr(gbr, name)


def test_early_stopping_split_missing_a_class_is_a_clear_error():
    # Two rows of class 0 in ten; holding out 80 % leaves the training part
    # without them: a ValueError, not an IndexError.
    X, y = np.arange(10.0).reshape(-1, 1), np.array([0, 0] + [1] * 8)
    clf = GradientBoostingClassifier(
        n_iter_no_change=5, validation_fraction=0.8, random_state=0
    )
    with pytest.raises(ValueError, match="training data after the early stopping"):
        clf.fit(X, y)
    clf.set_params(validation_fraction=0.4).fit(X, y)
    assert clf.n_classes_ == 2


def test_monitor_stops_boosting(friedman):
    X, y = friedman
    seen = []

    def monitor(i, est, local):
        seen.append(len(est.estimators_))
        return i == 4

    gbr = GradientBoostingRegressor(n_estimators=20).fit(X, y, monitor=monitor)
    assert gbr.n_estimators_ == 5 and seen == [1, 2, 3, 4, 5]


def test_init_without_sample_weight_and_zero_init(friedman):
    X, y = friedman
    with pytest.raises(ValueError, match="does not support sample weights"):
        GradientBoostingRegressor(init=KNeighborsRegressor()).fit(
            X, y, sample_weight=np.ones_like(y)
        )
    zero = GradientBoostingRegressor(init="zero", n_estimators=1, learning_rate=1.0)
    zero.fit(X, y)
    assert zero.init_ == "zero"
    # One stage from 0: the tree's leaf means of y.
    tree = zero.estimators_[0, 0]
    assert_allclose(zero.predict(X), tree.predict(X), rtol=1e-12)


@pytest.mark.parametrize("n_classes", [0, 2, 3])
def test_predict_members_are_the_stage_contributions(n_classes, friedman):
    X, y = friedman
    if n_classes:
        y = np.digitize(y, np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1]))
        model = GradientBoostingClassifier(n_estimators=6, learning_rate=0.3)
    else:
        model = GradientBoostingRegressor(Ridge(), n_estimators=6, learning_rate=0.3)
    model.fit(X, y)
    members = model.predict_members(X[:50])
    shape = (6, 50) if n_classes in (0, 2) else (6, 50, 3)
    assert members.shape == shape
    raw = model.decision_function(X[:50]) if n_classes else model.predict(X[:50])
    init = model._init_raw(X[:50])
    init = init[:, 0] if members.ndim == 2 else init
    assert_allclose(init + 0.3 * members.sum(axis=0), raw, rtol=1e-10, atol=1e-12)
    if n_classes == 0:  # a Ridge member times its line-searched step
        step = model._stage_values[2][0]
        assert_allclose(members[2], step * model.estimators_[2, 0].predict(X[:50]))


@pytest.mark.parametrize(
    "name",
    [
        "GradientBoostingRegressor",
        "GradientBoostingClassifier",
        "AdaBoostRegressor",
        "AdaBoostClassifier",
    ],
)
def test_sample_weight_routed_through_pipeline_and_grid_search(name, friedman):
    # Metadata routing: set_fit_request(sample_weight=True) sends the weights
    # through Pipeline and GridSearchCV to every fit of the boosting model
    # (and set_score_request to its score); checked against fits and scores
    # on the same folds done by hand.
    import sklearn
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import sklopt.ensemble as ens

    X, y = friedman
    Model = getattr(ens, name)
    if name.endswith("Classifier"):
        y = (y > np.median(y)).astype(int)
    w = np.random.RandomState(0).uniform(0.1, 3.0, size=len(y))
    cv = KFold(3, shuffle=True, random_state=0)

    def pipe(lr, routed):
        model = Model(n_estimators=5, learning_rate=lr, random_state=0)
        scaler = StandardScaler()
        if routed:
            model.set_fit_request(sample_weight=True).set_score_request(
                sample_weight=True
            )
            scaler.set_fit_request(sample_weight=False)
        return make_pipeline(scaler, model)

    step = name.lower()
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            pipe(0.1, True), {f"{step}__learning_rate": [0.1, 0.5]}, cv=cv
        ).fit(X, y, sample_weight=w)
    for i, lr in enumerate([0.1, 0.5]):
        scores = []
        for train, test in cv.split(X):
            fitted = pipe(lr, False).fit(
                X[train], y[train], **{f"{step}__sample_weight": w[train]}
            )
            scores.append(fitted.score(X[test], y[test], sample_weight=w[test]))
        assert search.cv_results_["mean_test_score"][i] == pytest.approx(
            np.mean(scores), rel=1e-12
        )
    # The weights matter: unweighted fits score differently.
    unweighted = GridSearchCV(pipe(0.1, False), {}, cv=cv).fit(X, y)
    assert unweighted.cv_results_["mean_test_score"][0] != pytest.approx(
        search.cv_results_["mean_test_score"][0], rel=1e-9
    )
