"""sklopt.neural estimators as ensemble members (float32 outputs, own seeds)."""

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_friedman1

pytest.importorskip("torch")

from sklopt.ensemble import (  # noqa: E402
    AdaBoostClassifier,
    BaggingClassifier,
    BaggingRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
)
from sklopt.neural import MLPClassifier, MLPRegressor  # noqa: E402


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), np.array(["setosa", "versicolor", "virginica"])[
        y
    ]


def test_gradient_boosting_with_mlp_regressor():
    X, y = make_friedman1(200, noise=0.5, random_state=0)
    base = MLPRegressor((16,), max_epochs=30, lr=0.01, device="cpu")
    gb = GradientBoostingRegressor(
        base, n_estimators=5, learning_rate=0.5, random_state=0
    ).fit(X, y)
    staged = np.array([((y - p) ** 2).mean() for p in gb.staged_predict(X)])
    assert len(gb.estimators_) == 5 and isinstance(gb.estimators_[0, 0], MLPRegressor)
    assert staged[-1] < staged[0]  # each stage fits the residuals further
    np.testing.assert_allclose(gb.predict(X), list(gb.staged_predict(X))[-1], rtol=1e-6)
    gb2 = GradientBoostingRegressor(
        base, n_estimators=5, learning_rate=0.5, random_state=0
    ).fit(X, y)
    np.testing.assert_array_equal(gb.predict(X), gb2.predict(X))


def test_gradient_boosting_classifier_with_mlp(iris):
    X, y = iris
    base = MLPRegressor((8,), max_epochs=20, lr=0.01, device="cpu")
    gb = GradientBoostingClassifier(base, n_estimators=3, random_state=0).fit(X, y)
    assert gb.score(X, y) > 0.8
    assert set(gb.predict(X)) <= set(y)


def test_bagging_of_mlps_members_differ_and_reproduce(iris):
    X, y = iris
    base = MLPClassifier((8,), max_epochs=20, device="cpu")
    bag = BaggingClassifier(base, n_estimators=3, random_state=0).fit(X, y)
    members = bag.predict_proba_members(X)
    assert members.shape == (3, len(X), 3)
    assert not np.allclose(members[0], members[1])  # own seeds and samples
    np.testing.assert_allclose(bag.predict_proba(X), members.mean(axis=0), rtol=1e-6)
    seeds = [m.random_state for m in bag.estimators_]
    assert len(set(seeds)) == 3
    again = BaggingClassifier(base, n_estimators=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(bag.predict_proba(X), again.predict_proba(X))


def test_bagging_regressor_of_mlps():
    X, y = make_friedman1(150, noise=0.5, random_state=1)
    bag = BaggingRegressor(
        MLPRegressor((16,), max_epochs=20, device="cpu"),
        n_estimators=3,
        oob_score=True,
        random_state=0,
    ).fit(X, y)
    assert bag.predict_members(X).shape == (3, 150)
    assert np.isfinite(bag.oob_score_)


def test_adaboost_with_weighted_mlp(iris):
    X, y = iris
    ada = AdaBoostClassifier(
        MLPClassifier((4,), lr=0.05, max_epochs=30, device="cpu"),
        n_estimators=3,
        random_state=0,
    ).fit(X, y)
    assert 1 <= len(ada.estimators_) <= 3
    assert ada.score(X, y) > 0.7
    assert len(ada.estimator_weights_) == len(ada.estimators_)


@pytest.mark.parametrize("batched", [False, True])
def test_bagged_networks_train_on_their_bootstrap_sample(batched, iris):
    # Textbook bagging: a network member is fitted on its bootstrap sample,
    # rows repeated (n rows per epoch), not on the distinct rows weighted by
    # their counts (about 37 % fewer gradient steps per epoch).
    X, y = iris
    base = MLPClassifier((8,), max_epochs=5, batch_size=16, device="cpu")
    bag = BaggingClassifier(base, n_estimators=3, batched=batched, random_state=0)
    bag.fit(X, y)
    for member, rows in zip(bag.estimators_, bag.estimators_samples_):
        alone = MLPClassifier((8,), max_epochs=5, batch_size=16, device="cpu")
        alone.set_params(random_state=member.random_state).fit(X[rows], y[rows])
        np.testing.assert_allclose(
            member.predict_proba(X), alone.predict_proba(X), rtol=1e-4, atol=2e-5
        )


def _digits_accuracies(n_rows, n_estimators):
    """Test accuracy of one net, sklopt's bagging and scikit-learn's bagging
    of the same net on (a subset of) standardised digits."""
    import sklearn.ensemble
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X[:n_rows], y[:n_rows], test_size=0.25, random_state=0, stratify=y[:n_rows]
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    net = MLPClassifier((64,), max_epochs=30, dropout=0.2, random_state=0)
    single = net.fit(X_train, y_train).score(X_test, y_test)
    ours = BaggingClassifier(net, n_estimators=n_estimators, random_state=0)
    theirs = sklearn.ensemble.BaggingClassifier(
        net, n_estimators=n_estimators, random_state=0
    )
    ours = ours.fit(X_train, y_train).score(X_test, y_test)
    theirs = theirs.fit(X_train, y_train).score(X_test, y_test)
    return single, ours, theirs


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_bagged_networks_as_accurate_as_sklearn_bagging_subset():
    single, ours, theirs = _digits_accuracies(n_rows=500, n_estimators=4)
    assert ours >= theirs - 0.02  # 125 test rows: 0.02 is 2.5 rows
    assert ours >= single - 0.02


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_bagged_networks_as_accurate_as_sklearn_bagging():
    # The user guide's figures (docs/user_guide/ensembles.rst): 16 nets on
    # digits; sklopt trains members on their bootstrap samples (batched),
    # scikit-learn on all rows with draw counts as weights.
    single, ours, theirs = _digits_accuracies(n_rows=1797, n_estimators=16)
    assert ours >= theirs
    assert ours >= single
