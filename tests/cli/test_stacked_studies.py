"""The studies train their networks as stacked models and report what
one-by-one fits (scikit-learn's cross_validate, plain fits) report."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_validate

from sklopt.cli import _studies as studies
from sklopt.neural import MLPClassifier, MLPRegressor


@pytest.fixture
def count_fits(monkeypatch):
    """Record the stacks (their sizes) and the one-by-one network fits."""
    stacks, single = [], []
    for cls in (MLPClassifier, MLPRegressor):
        batched, fit = cls._fit_batched, cls.fit

        def counted_batched(self, X, y, members, *args, _orig=batched, **kwargs):
            stacks.append(len(members))
            return _orig(self, X, y, members, *args, **kwargs)

        def counted_fit(self, *args, _orig=fit, **kwargs):
            single.append(type(self).__name__)
            return _orig(self, *args, **kwargs)

        monkeypatch.setattr(cls, "_fit_batched", counted_batched)
        monkeypatch.setattr(cls, "fit", counted_fit)
    return stacks, single


def _one_by_one(classification, name, X, y, n_splits, params):
    """The optimizer's row through cross_validate, as before stacking."""
    model = studies._neural_pipeline(
        classification, studies._optimizer_params(name, params)
    )
    cv = studies._cv(classification, n_splits, params["random_state"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = cross_validate(
            model, X, y, cv=cv, return_train_score=True, return_estimator=True
        )
    nets = [studies._final_net(e) for e in result["estimator"]]
    return result, nets


@pytest.mark.parametrize("classification", [True, False])
def test_compare_optimizers_trains_each_optimizer_as_one_stack(
    classification, count_fits
):
    if classification:
        X, y = load_digits(return_X_y=True)
        X, y = X[:150], y[:150]
        metric = "accuracy"
    else:
        X, y = make_regression(120, 4, noise=5.0, random_state=0)
        metric = "R^2"
    optimizers = ["sgd", "adam", "adamw"]
    params = {"max_epochs": 8, "hidden_layer_sizes": (16,)}
    stacks, single = count_fits
    table, histories = studies.compare_optimizers(
        X,
        y,
        optimizers=optimizers,
        params=params,
        n_splits=3,
        progress=False,
        classification=classification,
    )
    # One stack of the three folds per optimizer; no network fitted alone.
    assert stacks == [3, 3, 3] and single == []
    table = table.set_index("optimizer")
    for name in optimizers:
        result, nets = _one_by_one(
            classification, name, X, y, 3, {"random_state": 0, **params}
        )
        row = table.loc[name]
        # float32 training: scores agree to rounding (a classifier's
        # accuracy to one test sample of 50).
        tol = 1 / 50 + 1e-9 if classification else 1e-4
        assert row[f"test {metric}"] == pytest.approx(
            result["test_score"].mean(), abs=tol
        )
        assert row[f"train {metric}"] == pytest.approx(
            result["train_score"].mean(), abs=tol
        )
        assert row["epochs"] == np.mean([net.n_iter_ for net in nets])
        assert row["lr"] == nets[0].net_.optimizer_.param_groups[0]["lr"]
        assert row["status"] == "ok"
        history = histories[name]
        np.testing.assert_allclose(
            history["train_loss"], nets[0].history_["train_loss"], rtol=1e-4
        )
