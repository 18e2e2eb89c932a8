"""BootstrapReplicas."""

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import make_classification, make_friedman1
from sklearn.linear_model import LinearRegression, RidgeClassifier
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    cross_validate,
    learning_curve,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.estimator_checks import check_estimator

from sklopt.model_selection import (
    BootstrapReplicas,
    bias_variance_decomposition,
    bias_variance_scorers,
)


@pytest.fixture(scope="module")
def regression():
    return make_friedman1(n_samples=150, noise=1.0, random_state=0)


@pytest.fixture(scope="module")
def classification():
    return make_classification(
        n_samples=150, n_features=6, n_informative=4, n_classes=3, random_state=0
    )


def test_regressor_replicas_are_the_bootstrap_rounds(regression):
    X, y = regression
    base = DecisionTreeRegressor(max_depth=3, random_state=0)
    model = BootstrapReplicas(base, n_rounds=6, random_state=2).fit(X, y)
    assert is_regressor(model) and not is_classifier(model)
    rng = np.random.RandomState(2)
    want = []
    for _ in range(6):
        rows = rng.randint(0, len(y), len(y))
        want.append(clone(base).fit(X[rows], y[rows]).predict(X[:20]))
    np.testing.assert_allclose(model.predict_members(X[:20]), want, rtol=1e-12)
    np.testing.assert_allclose(model.predict(X[:20]), np.mean(want, axis=0), rtol=1e-12)
    assert model.score(X, y) == pytest.approx(r2_score(y, model.predict(X)))
    assert not hasattr(model, "predict_proba_members")
    assert len(model.estimators_) == 6 and not hasattr(base, "tree_")


def test_classifier_soft_vote_and_members(classification):
    X, y = classification
    model = BootstrapReplicas(
        DecisionTreeClassifier(max_depth=3, random_state=0), n_rounds=5, random_state=0
    )
    model.fit(X, y)
    assert is_classifier(model)
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    members = model.predict_proba_members(X)
    assert members.shape == (5, len(y), 3)
    np.testing.assert_allclose(members.sum(axis=2), 1.0)
    np.testing.assert_allclose(model.predict_proba(X), members.mean(axis=0))
    np.testing.assert_array_equal(
        model.predict(X), model.classes_[members.mean(axis=0).argmax(axis=1)]
    )
    assert model.predict_members(X).shape == (5, len(y))
    assert model.score(X, y) == pytest.approx(accuracy_score(y, model.predict(X)))


def test_probabilities_aligned_when_a_replica_misses_a_class():
    X = np.arange(30.0).reshape(-1, 1)
    y = np.array(["a"] * 27 + ["b"] * 2 + ["c"])
    model = BootstrapReplicas(
        DecisionTreeClassifier(random_state=0), n_rounds=8, random_state=0
    ).fit(X, y)
    missing = [m for m in model.estimators_ if len(m.classes_) < 3]
    assert missing  # some bootstrap samples lack 'c'
    proba = model.predict_proba_members(X)
    for member, p in zip(model.estimators_, proba):
        cols = np.searchsorted(model.classes_, member.classes_)
        np.testing.assert_allclose(p[:, cols], member.predict_proba(X))
        np.testing.assert_allclose(np.delete(p, cols, axis=1), 0.0)


def test_majority_vote_without_predict_proba(classification):
    X, y = classification
    model = BootstrapReplicas(RidgeClassifier(), n_rounds=5, random_state=0).fit(X, y)
    assert not hasattr(model, "predict_proba")
    members = model.predict_members(X)
    counts = np.stack([(members == k).sum(axis=0) for k in model.classes_])
    np.testing.assert_array_equal(
        model.predict(X), model.classes_[counts.argmax(axis=0)]
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_common_checks_with_a_base_without_predict_proba():
    check_estimator(BootstrapReplicas(RidgeClassifier(), n_rounds=2, random_state=0))


def test_fit_params_reach_the_replicas(regression):
    X, y = regression
    w = np.linspace(0.1, 3.0, len(y))
    model = BootstrapReplicas(LinearRegression(), n_rounds=3, random_state=0).fit(
        X, y, sample_weight=w
    )
    rng = np.random.RandomState(0)
    for member in model.estimators_:
        rows = rng.randint(0, len(y), len(y))
        ref = LinearRegression().fit(X[rows], y[rows], sample_weight=w[rows])
        np.testing.assert_allclose(member.coef_, ref.coef_, rtol=1e-10)


def test_n_jobs_invariance_and_pipeline_base(regression):
    X, y = regression
    base = make_pipeline(
        StandardScaler(), DecisionTreeRegressor(max_depth=3, random_state=0)
    )
    a = BootstrapReplicas(base, n_rounds=40, random_state=0, n_jobs=1).fit(X, y)
    b = BootstrapReplicas(base, n_rounds=40, random_state=0, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(a.predict_members(X), b.predict_members(X))


def test_scorers_on_a_test_fold_equal_the_decomposition(regression, classification):
    for (X, y), base, loss in [
        (regression, DecisionTreeRegressor(max_depth=3, random_state=0), "squared"),
        (classification, DecisionTreeClassifier(max_depth=3, random_state=0), "0-1"),
        (classification, DecisionTreeClassifier(max_depth=3, random_state=0), "log"),
    ]:
        model = BootstrapReplicas(base, n_rounds=10, random_state=4).fit(
            X[:100], y[:100]
        )
        r = bias_variance_decomposition(
            base,
            X[:100],
            y[:100],
            X[100:],
            y[100:],
            loss=loss,
            n_rounds=10,
            random_state=4,
        )
        scores = {
            name: s(model, X[100:], y[100:])
            for name, s in bias_variance_scorers(loss).items()
        }
        bias_name = "bias2" if loss == "squared" else "bias"
        assert scores["neg_loss"] == pytest.approx(-r.loss, rel=1e-12)
        assert scores[f"neg_{bias_name}"] == pytest.approx(
            -getattr(r, bias_name), rel=1e-12
        )
        assert scores["neg_variance"] == pytest.approx(
            -r.variance, rel=1e-12, abs=1e-15
        )


def test_cross_validate_and_grid_search_show_the_trade_off(regression):
    X, y = regression
    replicas = BootstrapReplicas(
        DecisionTreeRegressor(random_state=0), n_rounds=10, random_state=0
    )
    cv = cross_validate(replicas, X, y, cv=3, scoring=bias_variance_scorers())
    for key in ("test_neg_loss", "test_neg_bias2", "test_neg_variance"):
        assert cv[key].shape == (3,)
    np.testing.assert_allclose(
        cv["test_neg_loss"], cv["test_neg_bias2"] + cv["test_neg_variance"], rtol=1e-12
    )
    search = GridSearchCV(
        replicas,
        {"estimator__max_depth": [1, 3, 10]},
        scoring=bias_variance_scorers(),
        refit="neg_loss",
        cv=3,
    ).fit(X, y)
    res = search.cv_results_
    assert np.all(np.diff(res["mean_test_neg_bias2"]) > 0)  # bias^2 falls with depth
    assert np.all(np.diff(res["mean_test_neg_variance"]) < 0)  # variance rises
    assert search.best_index_ == np.argmax(res["mean_test_neg_loss"])
    assert (
        search.best_estimator_.estimator.max_depth
        == res["params"][search.best_index_]["estimator__max_depth"]
    )


def test_bad_parameters(regression):
    X, y = regression
    with pytest.raises(ValueError, match="'n_rounds' parameter of BootstrapReplicas"):
        BootstrapReplicas(LinearRegression(), n_rounds=0).fit(X, y)
    with pytest.raises(ValueError, match="'estimator' parameter"):
        BootstrapReplicas("tree").fit(X, y)


def test_randomized_search_and_learning_curve_with_a_scorer(regression):
    X, y = regression
    replicas = BootstrapReplicas(
        DecisionTreeRegressor(random_state=0), n_rounds=5, random_state=0
    )
    search = RandomizedSearchCV(
        replicas,
        {"estimator__max_depth": [1, 2, 3, 5]},
        n_iter=3,
        cv=3,
        scoring=bias_variance_scorers(),
        refit="neg_loss",
        random_state=0,
    ).fit(X, y)
    assert search.cv_results_["mean_test_neg_variance"].shape == (3,)
    sizes, _, test_variance = learning_curve(
        replicas,
        X,
        y,
        cv=3,
        train_sizes=[0.3, 1.0],
        scoring=bias_variance_scorers()["neg_variance"],
    )
    assert test_variance.shape == (2, 3) and np.all(test_variance <= 0)


@pytest.mark.slow
def test_dask_backend_gives_the_same_results(regression):
    joblib = pytest.importorskip("joblib")
    distributed = pytest.importorskip("distributed")
    X, y = regression
    base = DecisionTreeRegressor(max_depth=3, random_state=0)
    local = BootstrapReplicas(base, n_rounds=12, random_state=0).fit(X, y)
    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ):
        with joblib.parallel_backend("dask"):
            remote = BootstrapReplicas(
                base, n_rounds=12, random_state=0, n_jobs=-1
            ).fit(X, y)
            r_remote = bias_variance_decomposition(
                base,
                X[:100],
                y[:100],
                X[100:],
                y[100:],
                n_rounds=12,
                random_state=0,
                n_jobs=-1,
            )
    np.testing.assert_array_equal(local.predict_members(X), remote.predict_members(X))
    r_local = bias_variance_decomposition(
        base, X[:100], y[:100], X[100:], y[100:], n_rounds=12, random_state=0
    )
    assert r_local.to_dict() == r_remote.to_dict()


def test_replicas_and_scorers_on_a_dataframe_pipeline():
    # A DataFrame keeps its columns (a ColumnTransformer selects by name) and
    # NaN goes to the pipeline's imputer.
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_validate
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from sklopt.model_selection import BootstrapReplicas, bias_variance_scorers

    rng = np.random.RandomState(0)
    X = pd.DataFrame(
        {"size": rng.normal(size=90), "color": rng.choice(["red", "blue"], 90)}
    )
    y = (X["size"] + (X["color"] == "red") > 0.5).astype(int).to_numpy()
    X.loc[::9, "size"] = np.nan
    pipe = make_pipeline(
        make_column_transformer(
            (SimpleImputer(), ["size"]), (OneHotEncoder(), ["color"])
        ),
        LogisticRegression(),
    )
    replicas = BootstrapReplicas(pipe, n_rounds=4, random_state=0).fit(X, y)
    assert replicas.predict_members(X).shape == (4, 90)
    scores = cross_validate(
        BootstrapReplicas(pipe, n_rounds=4, random_state=0),
        X,
        y,
        cv=3,
        scoring=bias_variance_scorers(loss="0-1"),
        error_score="raise",
    )
    assert np.isfinite(scores["test_neg_loss"]).all()


def test_interrupted_replicas_keep_the_complete_ones():
    import warnings

    from sklearn.tree import DecisionTreeRegressor

    from sklopt.exceptions import TrainingInterruptedWarning
    from sklopt.model_selection import BootstrapReplicas

    class Interrupting(DecisionTreeRegressor):
        fits = 0

        def fit(self, X, y, sample_weight=None, check_input=True):
            type(self).fits += 1
            if type(self).fits == 3:
                raise KeyboardInterrupt
            return super().fit(X, y, sample_weight, check_input)

    X = np.random.RandomState(0).normal(size=(30, 2))
    replicas = BootstrapReplicas(Interrupting(), n_rounds=5, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(KeyboardInterrupt):
            replicas.fit(X, X[:, 0])
    assert any(w.category is TrainingInterruptedWarning for w in caught)
    assert len(replicas.estimators_) == 2
    assert replicas.predict_members(X).shape == (2, 30)
