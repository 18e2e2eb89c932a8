"""mlxtend's own tests of BootstrapOutOfBag, bootstrap_point632_score and
bias_variance_decomp, run against sklopt where sklopt promises the same
thing, and the definitional difference of the .632 estimates made explicit
(docs/user_guide/differences.rst)."""

import warnings

import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier

from sklopt.model_selection import BootstrapSplit, bootstrap_632_score

mlxtend_data = pytest.importorskip("mlxtend.data")
mlxtend_evaluate = pytest.importorskip("mlxtend.evaluate")


@pytest.fixture(scope="module")
def iris():
    return mlxtend_data.iris_data()


def test_bootstrap_splits_are_mlxtends():
    # mlxtend's test_splits: the same rows for the same seed.
    ours = list(BootstrapSplit(n_splits=3, random_state=123).split(np.arange(5)))
    theirs = list(
        mlxtend_evaluate.BootstrapOutOfBag(n_splits=3, random_seed=123).split(
            np.arange(5)
        )
    )
    assert np.array_equal(ours[0][0], [2, 4, 2, 1, 3])
    assert np.array_equal(ours[0][1], [0])
    assert np.array_equal(ours[-1][0], [1, 1, 0, 0, 1])
    assert np.array_equal(ours[-1][1], [2, 3, 4])
    for (train, test), (their_train, their_test) in zip(ours, theirs):
        assert np.array_equal(train, their_train)
        assert np.array_equal(test, their_test)


@pytest.mark.parametrize(
    "n_splits",
    [40, pytest.param(200, marks=pytest.mark.slow)],  # 200: mlxtend's test_oob
)
def test_oob_score_is_mlxtends(iris, n_splits):
    X, y = iris
    tree = DecisionTreeClassifier(random_state=123)
    ours = bootstrap_632_score(
        tree, X, y, method="oob", n_splits=n_splits, random_state=123
    )
    theirs = mlxtend_evaluate.bootstrap_point632_score(
        tree, X, y, n_splits=n_splits, method="oob", random_seed=123
    )
    assert ours == pytest.approx(np.mean(theirs), abs=1e-12)
    if n_splits == 200:
        assert round(ours, 5) == 0.94667


@pytest.mark.parametrize("max_depth", [None, 1])
def test_632_differs_by_the_training_error_only(iris, max_depth):
    # mlxtend's test_632: mlxtend averages, over the splits, 0.632 x OOB
    # accuracy + 0.368 x accuracy on all rows of the model fitted on the
    # split's bootstrap sample; sklopt (Efron 1983) takes the training
    # accuracy of a model fitted on all rows. Recomputed here with numpy
    # from sklopt's own splits, mlxtend's number comes out; sklopt's is the
    # textbook formula of its parts. (40 splits: the first 40 of mlxtend's
    # 200 draws; the docs page reports the full runs.)
    X, y = iris
    tree = DecisionTreeClassifier(random_state=123, max_depth=max_depth)
    details = bootstrap_632_score(
        tree, X, y, method=".632", random_state=123, n_splits=40, return_details=True
    )
    per_split = []
    for train, test in BootstrapSplit(n_splits=40, random_state=123).split(X):
        fitted = DecisionTreeClassifier(random_state=123, max_depth=max_depth)
        fitted.fit(X[train], y[train])
        oob = np.mean(fitted.predict(X[test]) == y[test])
        per_split.append(0.632 * oob + 0.368 * np.mean(fitted.predict(X) == y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = mlxtend_evaluate.bootstrap_point632_score(
            tree, X, y, n_splits=40, method=".632", random_seed=123
        )
    assert np.mean(per_split) == pytest.approx(np.mean(theirs), abs=1e-12)
    assert details.score == pytest.approx(
        0.368 * details.train_score + 0.632 * details.oob_score, abs=1e-12
    )
    full = DecisionTreeClassifier(random_state=123, max_depth=max_depth).fit(X, y)
    assert details.train_score == pytest.approx(np.mean(full.predict(X) == y))
