"""GridSearchCV / RandomizedSearchCV: scikit-learn's searches, with a
network's candidates x folds trained as stacked models.

Every numerical check compares against scikit-learn's own search on the
same estimator, grid and folds (an independent computation: each fit alone).
Stacked members equal separate fits to float32 rounding, so continuous
scores (log-loss) are compared at 1e-4 and accuracies at the 0.002 of the
parity requirement.
"""

import io
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import loguniform
from sklearn import model_selection as skms
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

pytest.importorskip("torch")

from sklopt.exceptions import DivergenceError, NotBatchableError  # noqa: E402
from sklopt.model_selection import GridSearchCV, RandomizedSearchCV  # noqa: E402
from sklopt.neural import MLPClassifier, MLPRegressor  # noqa: E402

SCORE_TOL = {"rtol": 0, "atol": 1e-4}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=90, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return StandardScaler().fit_transform(X), y


def _net(**params):
    params = {
        "hidden_layer_sizes": (8,),
        "optimizer": "sgd",
        "momentum": 0.9,
        "lr": 0.05,
        "batch_size": 16,
        "max_epochs": 4,
        "device": "cpu",
        "random_state": 0,
        **params,
    }
    return MLPClassifier(**params)


CV = StratifiedKFold(3, shuffle=True, random_state=0)


def _assert_same_results(ours, theirs, tol=SCORE_TOL, keys=("test_score",)):
    """Same cv_results_ keys, params and ranks; scores within ``tol``."""
    assert sorted(ours.cv_results_) == sorted(theirs.cv_results_)
    assert ours.cv_results_["params"] == theirs.cv_results_["params"]
    for key in ours.cv_results_:
        if key.startswith("param_"):
            assert_array_equal(ours.cv_results_[key], theirs.cv_results_[key])
        if any(key.endswith(k) for k in keys) and not key.startswith("rank_"):
            assert_allclose(ours.cv_results_[key], theirs.cv_results_[key], **tol)


@pytest.mark.parametrize(
    "estimator, grid",
    [
        (LogisticRegression(max_iter=200), {"C": [0.1, 1.0, 10.0]}),
        (make_pipeline(StandardScaler(), Ridge()), {"ridge__alpha": [0.1, 10.0]}),
    ],
)
def test_drop_in_for_other_estimators(estimator, grid, data):
    """Estimators without stacked training: exactly scikit-learn's results,
    one group fitted one by one that says why."""
    X, y = data
    ours = GridSearchCV(estimator, grid, cv=CV, return_train_score=True).fit(X, y)
    theirs = skms.GridSearchCV(estimator, grid, cv=CV, return_train_score=True)
    theirs.fit(X, y)
    _assert_same_results(ours, theirs, {"rtol": 1e-12}, ("_score",))
    for key in theirs.cv_results_:
        if key.startswith("rank_"):
            assert_array_equal(ours.cv_results_[key], theirs.cv_results_[key])
    assert ours.best_params_ == theirs.best_params_
    (group,) = ours.batched_groups_
    assert group["batched"] is False and "offers no batched training" in group["reason"]
    assert group["candidates"] == list(range(len(theirs.cv_results_["params"])))


def test_batched_false_is_scikit_learns_search(data):
    X, y = data
    grid = {"lr": [0.01, 0.1]}
    ours = GridSearchCV(_net(), grid, cv=CV, batched=False).fit(X, y)
    theirs = skms.GridSearchCV(_net(), grid, cv=CV).fit(X, y)
    _assert_same_results(ours, theirs, {"rtol": 0, "atol": 0})
    assert ours.batched_groups_ == [
        {"candidates": [0, 1], "n_fits": 6, "batched": False, "reason": "batched=False"}
    ]


def test_parity_with_scikit_learn_momentum_sgd(data):
    """The issue's parity test: momentum SGD, per-candidate mean_test_score
    within 0.002 of scikit-learn's search on the same grid and folds, and
    identical params, every fit stacked."""
    X, y = data
    grid = {
        "lr": [0.01, 0.05, 0.2],
        "weight_decay": [0.0, 1e-3],
        "random_state": [0, 1],
    }
    ours = GridSearchCV(_net(), grid, cv=CV, batched=True).fit(X, y)
    theirs = skms.GridSearchCV(_net(), grid, cv=CV).fit(X, y)
    _assert_same_results(ours, theirs, {"rtol": 0, "atol": 0.002})
    assert all(g["batched"] for g in ours.batched_groups_)
    assert sum(g["n_fits"] for g in ours.batched_groups_) == 36
    covered = sorted(c for g in ours.batched_groups_ for c in g["candidates"])
    assert covered == list(range(12))


def test_randomized_search_same_draws(data):
    X, y = data
    dist = {"lr": loguniform(1e-3, 1e-1), "weight_decay": loguniform(1e-5, 1e-2)}
    kwargs = dict(n_iter=4, cv=CV, random_state=0, scoring="neg_log_loss")
    ours = RandomizedSearchCV(_net(), dist, **kwargs).fit(X, y)
    theirs = skms.RandomizedSearchCV(_net(), dist, **kwargs).fit(X, y)
    _assert_same_results(ours, theirs)
    assert ours.best_params_ == theirs.best_params_


def test_refit_callable_and_best_estimator(data):
    X, y = data

    def lowest_lr(results):
        return int(np.argmin(results["param_lr"]))

    grid = {"lr": [0.1, 0.01, 0.05]}
    search = GridSearchCV(_net(), grid, cv=CV, refit=lowest_lr).fit(X, y)
    assert search.best_index_ == 1
    assert search.best_params_ == {"lr": 0.01}
    assert not hasattr(search, "best_score_")
    reference = _net(lr=0.01).fit(X, y)
    assert_allclose(
        search.predict_proba(X), reference.predict_proba(X), rtol=1e-5, atol=1e-6
    )


def test_multi_metric_with_train_scores(data):
    X, y = data
    scoring = {"acc": "accuracy", "nll": "neg_log_loss", "auc": "roc_auc_ovr"}
    grid = {"lr": [0.02, 0.1]}
    kwargs = dict(cv=CV, scoring=scoring, refit="nll", return_train_score=True)
    ours = GridSearchCV(_net(), grid, **kwargs).fit(X, y)
    theirs = skms.GridSearchCV(_net(), grid, **kwargs).fit(X, y)
    _assert_same_results(ours, theirs, keys=("_nll", "_auc"))
    _assert_same_results(ours, theirs, {"rtol": 0, "atol": 0.002}, keys=("_acc",))
    assert ours.multimetric_ and ours.best_params_ == theirs.best_params_
    assert set(ours.scorer_) == {"acc", "nll", "auc"}


def test_custom_scorer_sees_each_member(data):
    """A callable scorer (no make_scorer) is called with each fitted member."""
    X, y = data
    seen = []

    def scorer(estimator, X_test, y_test):
        seen.append(estimator.lr)
        return float(np.mean(estimator.predict(X_test) == y_test))

    grid = {"lr": [0.02, 0.1]}
    ours = GridSearchCV(_net(), grid, cv=CV, scoring=scorer).fit(X, y)
    theirs = skms.GridSearchCV(_net(), grid, cv=CV, scoring="accuracy").fit(X, y)
    assert sorted(seen) == [0.02] * 3 + [0.1] * 3
    _assert_same_results(ours, theirs, {"rtol": 0, "atol": 0.002})


def _diverging_grid():
    X, y = make_regression(n_samples=60, n_features=4, noise=1.0, random_state=0)
    net = MLPRegressor(
        (8,),
        optimizer="sgd",
        batch_size="full",
        max_epochs=10,
        device="cpu",
        random_state=0,
    )
    return net, {"lr": [1e-3, 1e3]}, X, y


def test_diverging_member_gets_error_score():
    net, grid, X, y = _diverging_grid()
    search = GridSearchCV(net, grid, cv=KFold(3), error_score=-123.0)
    with pytest.warns(FitFailedWarning, match="DivergenceError"):
        search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert scores[1] == -123.0 and np.isfinite(scores[0]) and scores[0] != -123.0
    assert search.best_params_ == {"lr": 1e-3}
    theirs = skms.GridSearchCV(net, grid, cv=KFold(3), error_score=-123.0)
    with pytest.warns(FitFailedWarning):
        theirs.fit(X, y)
    assert_allclose(scores, theirs.cv_results_["mean_test_score"], **SCORE_TOL)


def test_diverging_member_raises_with_error_score_raise():
    net, grid, X, y = _diverging_grid()
    with pytest.raises(DivergenceError, match="diverged"):
        GridSearchCV(net, grid, cv=KFold(3), error_score="raise").fit(X, y)


def test_batched_groups_split_on_structural_parameters(data, capsys):
    """Candidates that build other networks train in separate stacks; the
    groups list their candidates and fits."""
    X, y = data
    grid = {"hidden_layer_sizes": [(4,), (8,)], "random_state": [0, 1]}
    search = GridSearchCV(_net(), grid, cv=CV, verbose=1).fit(X, y)
    assert search.batched_groups_ == [
        {"candidates": [0, 1], "n_fits": 6, "batched": True, "reason": ""},
        {"candidates": [2, 3], "n_fits": 6, "batched": True, "reason": ""},
    ]
    out = capsys.readouterr().out
    assert "group 2 of 2 (2 candidates, 6 fits) trained as one stacked model" in out
    # fit_time: a stack's time shared evenly between its members
    assert_allclose(search.cv_results_["std_fit_time"], 0.0, atol=1e-12)


def test_pipeline_steps_fitted_once_per_fold_and_grouped(data):
    """The earlier steps' parameters split the groups; each member is scored
    as the Pipeline of its fold's fitted steps and itself."""
    X, y = data
    X = X * 10 + 3
    pipe = make_pipeline(StandardScaler(), _net())
    grid = {
        "standardscaler__with_mean": [True, False],
        "mlpclassifier__random_state": [0, 1],
    }
    kwargs = dict(cv=CV, scoring="neg_log_loss")
    ours = GridSearchCV(pipe, grid, **kwargs).fit(X, y)
    theirs = skms.GridSearchCV(pipe, grid, **kwargs).fit(X, y)
    _assert_same_results(ours, theirs)
    # ParameterGrid varies the last key (sorted) fastest: with_mean
    assert [g["candidates"] for g in ours.batched_groups_] == [[0, 2], [1, 3]]
    assert all(g["batched"] for g in ours.batched_groups_)


def test_sample_weight_reaches_the_stacked_members(data):
    X, y = data
    weight = np.random.RandomState(0).uniform(0.2, 2.0, len(y))
    grid = {"random_state": [0, 1]}
    kwargs = dict(cv=CV, scoring="neg_log_loss")
    ours = GridSearchCV(_net(), grid, **kwargs).fit(X, y, sample_weight=weight)
    theirs = skms.GridSearchCV(_net(), grid, **kwargs)
    theirs.fit(X, y, sample_weight=weight)
    _assert_same_results(ours, theirs)
    assert ours.batched_groups_[0]["batched"]


def _threads_scorer(estimator, X, y):
    import torch

    return {
        "nll": -float(np.mean(estimator.predict(X) != y)),
        "threads": float(torch.get_num_threads()),
    }


# loky starts two processes that import torch: tens of seconds on 2 cores
@pytest.mark.parametrize(
    "backend", [pytest.param("loky", marks=pytest.mark.slow), "threading"]
)
def test_n_jobs_two_same_results_and_capped_threads(backend, data):
    """Two joblib workers: the same results, each worker's torch threads
    capped so that workers x threads stay within the cores, and the
    process's own thread count restored afterwards."""
    import torch
    from joblib import cpu_count, parallel_backend

    X, y = data
    grid = {"hidden_layer_sizes": [(4,), (8,)], "lr": [0.02, 0.1]}
    kwargs = dict(cv=CV, scoring=_threads_scorer, refit="nll")
    one = GridSearchCV(_net(), grid, **kwargs).fit(X, y)
    before = torch.get_num_threads()
    torch.set_num_threads(cpu_count())
    try:
        with parallel_backend(backend):
            two = GridSearchCV(_net(), grid, n_jobs=2, **kwargs).fit(X, y)
        assert torch.get_num_threads() == cpu_count()
    finally:
        torch.set_num_threads(before)
    assert_allclose(
        two.cv_results_["mean_test_nll"], one.cv_results_["mean_test_nll"], atol=0.002
    )
    assert two.batched_groups_ == one.batched_groups_
    assert_array_equal(two.cv_results_["mean_test_threads"], max(1, cpu_count() // 2))


def test_one_group_is_split_across_workers(monkeypatch, data):
    """With more workers than stacked groups, a group's candidates are
    dealt to several stacks, one a worker: the results are those of one
    stack, and ``batched_groups_`` still lists the one group."""
    from joblib import parallel_backend

    from sklopt.model_selection import _search as search_module

    X, y = data
    grid = {"lr": [0.01, 0.02, 0.05, 0.1]}  # 12 fits: two parts of 6
    one = GridSearchCV(_net(), grid, cv=CV).fit(X, y)
    parts = []
    split = search_module._stack_tasks

    def spy(groups, n_splits, n_jobs):
        tasks = split(groups, n_splits, n_jobs)
        parts.extend(sorted(c.index for c in t.candidates) for t in tasks)
        return tasks

    monkeypatch.setattr(search_module, "MIN_PART_FITS", 6)
    monkeypatch.setattr(search_module, "_stack_tasks", spy)
    shown, filters = warnings.showwarning, warnings.filters[:]
    with parallel_backend("threading"), redirect_stdout(io.StringIO()) as out:
        two = GridSearchCV(_net(), grid, cv=CV, n_jobs=2, verbose=1).fit(X, y)
    # the worker threads' warning state does not outlive the search
    assert warnings.showwarning is shown and warnings.filters == filters
    assert parts == [[0, 2], [1, 3]]
    assert "trained as 2 stacked models, one per worker" in out.getvalue()
    assert two.batched_groups_ == one.batched_groups_
    assert two.batched_groups_[0]["candidates"] == [0, 1, 2, 3]
    assert_allclose(
        two.cv_results_["mean_test_score"],
        one.cv_results_["mean_test_score"],
        atol=0.002,
    )
    assert two.best_params_ == one.best_params_
    # below the part size a group stays whole
    parts.clear()
    monkeypatch.setattr(search_module, "MIN_PART_FITS", 7)
    with parallel_backend("threading"):
        GridSearchCV(_net(), grid, cv=CV, n_jobs=2).fit(X, y)
    assert parts == [[0, 1, 2, 3]]


def test_batched_true_raises_when_some_fit_cannot_be_stacked(data):
    import torch

    X, y = data
    with pytest.raises(NotBatchableError, match="LogisticRegression offers no"):
        GridSearchCV(LogisticRegression(), {"C": [1.0]}, batched=True).fit(X, y)
    grid = {"optimizer": ["sgd", torch.optim.SGD]}
    with pytest.raises(NotBatchableError, match="candidates \\[1\\]"):
        GridSearchCV(_net(), grid, cv=CV, batched=True).fit(X, y)
    # 'auto': the stackable candidate is stacked, the other one fitted alone
    search = GridSearchCV(_net(), grid, cv=CV).fit(X, y)
    assert [g["batched"] for g in search.batched_groups_] == [True, False]
    assert "torch optimizer class" in search.batched_groups_[1]["reason"]


@pytest.mark.parametrize("search_class", [GridSearchCV, skms.GridSearchCV])
def test_bad_input_as_scikit_learn(search_class, data):
    X, y = data
    with pytest.raises(ValueError, match="Invalid parameter 'not_a_param'"):
        search_class(_net(), {"not_a_param": [1]}, cv=CV).fit(X, y)
    with pytest.raises(ValueError, match="No fits were performed"):
        search_class(_net(), [], cv=CV).fit(X, y)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    # The fits whose training rows hold the NaN fail (error_score and a
    # FitFailedWarning), the third fails to score, the refit raises.
    search = search_class(_net(), {"lr": [0.1]}, cv=CV, refit=False)
    with pytest.warns(FitFailedWarning, match="2 fits failed"):
        search.fit(X_nan, y)
    assert np.isnan(search.cv_results_["mean_test_score"]).all()
    with pytest.raises(ValueError, match="Input X contains NaN"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            search_class(_net(), {"lr": [0.1]}, cv=CV).fit(X_nan, y)


def test_invalid_value_in_the_grid_gets_error_score_as_in_scikit_learn(data):
    """A candidate whose parameters the estimator rejects fails each of its
    fits (error_score, FitFailedWarning naming the parameter); the others
    are stacked and scored."""
    X, y = data
    grid = {"lr": [-1.0, 0.05], "random_state": [0, 1]}
    ours = GridSearchCV(_net(), grid, cv=CV)
    with pytest.warns(FitFailedWarning, match="'lr' parameter of MLPClassifier"):
        ours.fit(X, y)
    theirs = skms.GridSearchCV(_net(), grid, cv=CV)
    with pytest.warns(FitFailedWarning):
        theirs.fit(X, y)
    _assert_same_results(ours, theirs, {"rtol": 0, "atol": 0.002})
    scores = ours.cv_results_["mean_test_score"]
    assert np.isnan(scores[:2]).all() and np.isfinite(scores[2:]).all()
    assert [(g["candidates"], g["batched"]) for g in ours.batched_groups_] == [
        ([0], False),
        ([1], False),
        ([2, 3], True),
    ]
    assert "its parameters are invalid" in ours.batched_groups_[0]["reason"]


def test_invalid_batched_value(data):
    X, y = data
    with pytest.raises(ValueError, match="batched"):
        GridSearchCV(_net(), {"lr": [0.1]}, batched="yes").fit(X, y)


def test_failing_scorer_on_one_member_gets_error_score(data):
    X, y = data
    calls = []

    def flaky(estimator, X_test, y_test):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("scorer broke")
        return 1.0

    search = GridSearchCV(_net(), {"lr": [0.1]}, cv=CV, scoring=flaky)
    with pytest.warns(UserWarning, match="Scoring failed"):
        search.fit(X, y)
    splits = [search.cv_results_[f"split{i}_test_score"][0] for i in range(3)]
    assert np.isnan(splits[1]) and splits[0] == splits[2] == 1.0


def test_identical_warnings_shown_once_at_the_users_call(data):
    X, y = data
    grid = {"hidden_layer_sizes": [(4,), (8,), (5,)]}
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        GridSearchCV(_net(max_epochs=2), grid, cv=CV, refit=False).fit(X, y)
    convergence = [r for r in records if r.category is ConvergenceWarning]
    assert len(convergence) == 1
    assert convergence[0].filename == __file__
    assert "raised 3 times by the 9 fits" in str(convergence[0].message)
