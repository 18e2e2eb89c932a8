"""Tests of the shared ensemble machinery and of every ensemble with
non-tree base estimators."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from sklopt.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    BaggingClassifier,
    BaggingRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
)
from sklopt.ensemble._base import _random_state_keys, _set_random_states
from sklopt.utils._random import MAX_SEED
from sklopt.utils._validation import InvalidParameterError


def test_set_random_states_follows_sklearn_scheme():
    # Sorted keys, one randint(MAX_SEED) per key from RandomState(seed).
    pipe = make_pipeline(StandardScaler(), DecisionTreeClassifier(), SVC())
    assert _random_state_keys(pipe) == [
        "decisiontreeclassifier__random_state",
        "svc__random_state",
    ]
    _set_random_states(pipe, 5)
    expected = np.random.RandomState(5).randint(MAX_SEED, size=2)
    assert pipe.get_params()["decisiontreeclassifier__random_state"] == expected[0]
    assert pipe.get_params()["svc__random_state"] == expected[1]
    assert _set_random_states(StandardScaler(), 5).get_params() == {
        "copy": True,
        "with_mean": True,
        "with_std": True,
    }


CLASSIFIER_BASES = [
    LogisticRegression(max_iter=200),
    SVC(),
    KNeighborsClassifier(),
    make_pipeline(StandardScaler(), LogisticRegression()),
]
REGRESSOR_BASES = [
    Ridge(),
    KNeighborsRegressor(),
    make_pipeline(StandardScaler(), Ridge()),
]


@pytest.mark.parametrize("base", CLASSIFIER_BASES, ids=lambda b: type(b).__name__)
@pytest.mark.parametrize("Ensemble", [BaggingClassifier, AdaBoostClassifier])
def test_classifiers_with_any_base(Ensemble, base, clf_data):
    X, y = clf_data
    labels = np.array(["ant", "bee", "cat"])[y]
    model = Ensemble(clone(base), n_estimators=4, random_state=0).fit(X, labels)
    assert model.predict(X).dtype == labels.dtype
    assert model.score(X, labels) > 0.6
    assert model.predict_proba(X).shape == (120, 3)


@pytest.mark.parametrize("base", REGRESSOR_BASES, ids=lambda b: type(b).__name__)
@pytest.mark.parametrize(
    "Ensemble", [BaggingRegressor, AdaBoostRegressor, GradientBoostingRegressor]
)
def test_regressors_with_any_base(Ensemble, base, reg_data):
    X, y = reg_data
    params = {"n_estimators": 4, "random_state": 0}
    if Ensemble is GradientBoostingRegressor:
        params["learning_rate"] = 0.5
    model = Ensemble(clone(base), **params).fit(X, y)
    assert model.score(X, y) > 0.6
    again = Ensemble(clone(base), **params).fit(X, y)
    assert_array_equal(model.predict(X), again.predict(X))


@pytest.mark.parametrize("base", REGRESSOR_BASES, ids=lambda b: type(b).__name__)
def test_gradient_boosting_classifier_with_any_regressor(base, clf_data):
    X, y = clf_data
    model = GradientBoostingClassifier(clone(base), n_estimators=5, random_state=0)
    assert model.fit(X, y).score(X, y) > 0.6


@pytest.mark.parametrize(
    "Ensemble", [BaggingClassifier, AdaBoostClassifier, GradientBoostingClassifier]
)
def test_verbose_shows_a_progress_bar(Ensemble, clf_data, capsys):
    X, y = clf_data
    Ensemble(n_estimators=3, random_state=0).fit(X, y)
    assert capsys.readouterr().err == ""
    Ensemble(n_estimators=3, verbose=1, random_state=0).fit(X, y)
    assert "3/3" in capsys.readouterr().err


@pytest.mark.parametrize(
    "Ensemble, base",
    [
        (AdaBoostClassifier, DecisionTreeClassifier(max_depth=-1)),
        (GradientBoostingClassifier, Ridge(alpha=-1.0)),
        (BaggingClassifier, DecisionTreeClassifier(max_depth=-1)),
    ],
)
def test_invalid_base_parameters_are_reported(Ensemble, base, clf_data):
    # Boosting validates members in the first round only: that must catch it.
    X, y = clf_data
    with pytest.raises(InvalidParameterError, match="parameter of"):
        Ensemble(base, n_estimators=3).fit(X, y)


class _FitPredictOnly:
    """Has fit and predict but is no scikit-learn estimator."""

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))


@pytest.mark.parametrize(
    "Ensemble",
    [BaggingRegressor, AdaBoostRegressor, GradientBoostingRegressor],
)
def test_non_estimators_are_rejected(Ensemble, reg_data):
    X, y = reg_data
    with pytest.raises(TypeError, match="must be an estimator instance; got the"):
        Ensemble(Ridge).fit(X, y)
    with pytest.raises(TypeError, match="'estimator' parameter .* compatible"):
        Ensemble(_FitPredictOnly()).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'estimator' parameter"):
        Ensemble(object()).fit(X, y)


def _frame_with_nan():
    import pandas as pd

    rng = np.random.RandomState(0)
    X = pd.DataFrame(
        {
            "size": rng.normal(size=80),
            "weight": rng.normal(size=80),
            "color": rng.choice(["red", "blue"], size=80),
        }
    )
    y = (X["size"] + (X["color"] == "red") > 0.5).astype(int).to_numpy()
    X.loc[::7, "size"] = np.nan
    return X, y


def _frame_pipeline(final):
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    columns = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), ["size", "weight"]),
        (OneHotEncoder(), ["color"]),
    )
    return make_pipeline(columns, final)


@pytest.mark.parametrize("Ensemble", [BaggingClassifier, AdaBoostClassifier])
def test_members_get_what_the_user_gave(Ensemble):
    # NaN goes to the pipeline's imputer and the DataFrame keeps its column
    # names, which the ColumnTransformer selects by.
    X, y = _frame_with_nan()
    model = Ensemble(
        _frame_pipeline(LogisticRegression()), n_estimators=3, random_state=0
    )
    model.fit(X, y)
    assert model.score(X, y) > 0.8
    assert model.predict_proba(X.iloc[:5]).shape == (5, 2)
    assert list(model.feature_names_in_) == ["size", "weight", "color"]


def test_adaboost_members_select_dataframe_columns_by_name():
    # AdaBoost hands its members the user's DataFrame rows, in fit (resampled
    # rows) and in every prediction path, so that a ColumnTransformer
    # selecting columns by name works inside.
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    X, y = _frame_with_nan()
    columns = ColumnTransformer(
        [
            ("numbers", SimpleImputer(), ["size", "weight"]),
            ("colors", OneHotEncoder(), ["color"]),
        ]
    )
    model = AdaBoostClassifier(
        make_pipeline(columns, DecisionTreeClassifier(max_depth=1)),
        n_estimators=5,
        random_state=0,
    ).fit(X, y)
    assert list(model.feature_names_in_) == ["size", "weight", "color"]
    # The members saw the DataFrame: their own feature names are its columns.
    assert all(
        list(member.feature_names_in_) == ["size", "weight", "color"]
        for member in model.estimators_
    )
    # Its predictions are those of the members, computed on the DataFrame.
    votes = np.zeros((len(X), 2))
    for member, weight in zip(model.estimators_, model.estimator_weights_):
        votes[np.arange(len(X)), member.predict(X)] += weight
    assert_array_equal(model.predict(X), model.classes_[votes.argmax(axis=1)])
    assert model.score(X, y) > 0.8
    assert model.predict_proba(X.iloc[:5]).shape == (5, 2)
    assert len(list(model.staged_predict(X))) == len(model.estimators_)
    assert model.predict_members(X).shape == (len(model.estimators_), len(X))


@pytest.mark.parametrize("Ensemble", [BaggingClassifier, AdaBoostClassifier])
def test_infinity_in_a_dataframe_column_is_an_error(Ensemble):
    # The shared rule: infinity in numeric input is an error even where the
    # base (an imputing pipeline) accepts NaN; string columns are the base's.
    X, y = _frame_with_nan()
    X.loc[3, "weight"] = np.inf
    model = Ensemble(_frame_pipeline(LogisticRegression()), n_estimators=3)
    with pytest.raises(ValueError, match="X contains infinity"):
        model.fit(X, y)


@pytest.mark.parametrize("Ensemble", [BaggingClassifier, AdaBoostClassifier])
def test_pipeline_with_imputer_on_nan_array(Ensemble):
    # The shared validation leaves NaN to the base estimator.
    from sklearn.impute import SimpleImputer

    X, y = _frame_with_nan()
    X = X[["size", "weight"]].to_numpy()
    model = Ensemble(
        make_pipeline(SimpleImputer(), LogisticRegression()),
        n_estimators=3,
        random_state=0,
    ).fit(X, y)
    assert np.isfinite(model.predict_proba(X)).all()
    # A base that cannot take NaN says so itself.
    with pytest.raises(ValueError, match="NaN"):
        Ensemble(LogisticRegression(), n_estimators=3).fit(X, y)
