"""Everything parallel runs on a dask.distributed cluster through joblib, with
the same results as locally.

The cluster is a ``LocalCluster`` of two single-threaded worker processes
bound to 127.0.0.1; ``joblib.parallel_backend("dask")`` sends GridSearchCV,
bagging, bootstrap replicas, bias-variance rounds and bootstrap scores to it.
Seeds are drawn before dispatch, and bagging reduces member outputs in member
order, so the results are bit-identical to the local ones.
"""

import logging
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from sklopt.ensemble import BaggingClassifier, BaggingRegressor
from sklopt.model_selection import (
    BootstrapReplicas,
    bias_variance_decomposition,
    bias_variance_scorers,
    bootstrap_632_score,
)

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning",
    # distributed's own start-up chatter (ports, large graphs)
    "ignore::UserWarning:distributed.*",
)


@pytest.fixture(scope="module")
def dask_client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def _on_dask(client, study):
    """Run ``study()`` under the dask joblib backend; return its result and the
    workers that ran its tasks."""
    with (
        distributed.get_task_stream(client) as tasks,
        joblib.parallel_backend("dask"),
    ):
        result = study()
    workers = {task["worker"] for task in tasks.data}
    return result, workers


def _assert_same(local, remote):
    assert local.keys() == remote.keys()
    for key in local:
        np.testing.assert_array_equal(local[key], remote[key], err_msg=key)


def _tree_studies(X, y):
    tree = DecisionTreeClassifier(max_depth=3, random_state=0)
    reg = DecisionTreeRegressor(max_depth=3, random_state=0)
    bagging = BaggingClassifier(tree, n_estimators=6, random_state=0)
    grid = GridSearchCV(
        BootstrapReplicas(reg, n_rounds=4, random_state=0),
        {"estimator__max_depth": [1, 3]},
        scoring=bias_variance_scorers(),
        refit="neg_loss",
        cv=3,
    )

    def run():
        fitted = clone(bagging).fit(X, y)
        return {
            "bagging_proba": fitted.predict_proba(X),
            "bagging_members": fitted.predict_members(X),
            "bagging_reg": clone(BaggingRegressor(reg, n_estimators=6, random_state=0))
            .fit(X, X[:, 0])
            .predict(X),
            "bias_variance": bias_variance_decomposition(
                tree,
                X[::2],
                y[::2],
                X[1::2],
                y[1::2],
                loss="0-1",
                n_rounds=8,
                random_state=0,
            ).per_sample.loss,
            "bootstrap_632": [
                bootstrap_632_score(tree, X, y, n_splits=8, random_state=0)
            ],
            "grid_loss": clone(grid).fit(X, X[:, 0]).cv_results_["mean_test_neg_loss"],
        }

    return run


def test_dask_backend_gives_the_local_results(dask_client, iris):
    X, y = iris
    study = _tree_studies(X, y)
    remote, workers = _on_dask(dask_client, study)
    assert workers == set(dask_client.scheduler_info()["workers"])
    _assert_same(study(), remote)


@pytest.mark.slow
def test_neural_studies_on_dask_equal_the_local_ones(dask_client, iris):
    from sklopt.neural import MLPClassifier

    X, y = iris
    mlp = MLPClassifier((8,), max_epochs=5, dropout=0.1, device="cpu", random_state=0)
    grid = GridSearchCV(
        mlp,
        {"optimizer": ["sgd", "adam"], "weight_decay": [0.0, 1e-3]},
        cv=2,
    )

    def study():
        bagging = BaggingClassifier(mlp, n_estimators=4, random_state=0).fit(X, y)
        searched = clone(grid).fit(X, y)
        return {
            "bagging": bagging.predict_proba(X),
            "replicas": BootstrapReplicas(mlp, n_rounds=3, random_state=0)
            .fit(X, y)
            .predict_proba(X),
            "bias_variance": bias_variance_decomposition(
                mlp,
                X[::2],
                y[::2],
                X[1::2],
                y[1::2],
                loss="log",
                n_rounds=3,
                random_state=0,
            ).per_sample.loss,
            "grid": searched.cv_results_["mean_test_score"],
            "grid_best": searched.predict_proba(X),
        }

    remote, workers = _on_dask(dask_client, study)
    assert workers == set(dask_client.scheduler_info()["workers"])
    _assert_same(study(), remote)
