"""The studies behind the ``sklopt`` subcommands; each returns tables and curves.

They only compose the public API (neural estimators, sklearn's model
selection); the command line adds data loading and the report.
"""

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from sklopt.cli._data import is_classification


def _neural_pipeline(classification, params):
    from sklopt.neural import MLPClassifier, MLPRegressor

    net = MLPClassifier() if classification else MLPRegressor()
    return make_pipeline(StandardScaler(), net.set_params(**params))


def _cv(classification, n_splits, random_state):
    splitter = StratifiedKFold if classification else KFold
    return splitter(n_splits=n_splits, shuffle=True, random_state=random_state)


def compare_optimizers(
    X,
    y,
    *,
    optimizers,
    params=None,
    n_splits=5,
    n_jobs=None,
    random_state=0,
    progress=True,
):
    """Cross-validate one MLP per optimizer; return ``(table, histories)``.

    ``table`` has one row per optimizer (mean/std test score, train score,
    epochs, fit time); ``histories`` maps each optimizer to the ``history_``
    DataFrame of its first-fold fit, for the training curves.
    """
    classification = is_classification(y)
    base = _neural_pipeline(
        classification, {"random_state": random_state, **(params or {})}
    )
    cv = _cv(classification, n_splits, random_state)
    metric = "accuracy" if classification else "R^2"
    rows, histories = [], {}
    for name in tqdm(optimizers, desc="optimizers", disable=not progress, unit="opt"):
        pipe = clone(base).set_params(**{f"{base.steps[-1][0]}__optimizer": name})
        result = cross_validate(
            pipe,
            X,
            y,
            cv=cv,
            n_jobs=n_jobs,
            return_train_score=True,
            return_estimator=True,
        )
        nets = [fitted.steps[-1][1] for fitted in result["estimator"]]
        histories[name] = nets[0].history_
        rows.append(
            {
                "optimizer": name,
                f"test {metric}": np.mean(result["test_score"]),
                "std": np.std(result["test_score"]),
                f"train {metric}": np.mean(result["train_score"]),
                "epochs": np.mean([net.n_iter_ for net in nets]),
                "fit time (s)": np.mean(result["fit_time"]),
            }
        )
    table = pd.DataFrame(rows).sort_values(f"test {metric}", ascending=False)
    return table.reset_index(drop=True), histories
