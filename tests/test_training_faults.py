"""Training faults in every estimator family: divergence, KeyboardInterrupt,
failed fits, and bit-identical reproducibility (also with ``n_jobs=2``).

Interrupts are simulated by an augmentation callable (neural members) or a
base estimator (trees) that raises KeyboardInterrupt at its n-th call; the
counter lives on the class, so that it is shared by the clones an ensemble
makes.
"""

import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from sklopt.ensemble import (
    AdaBoostClassifier,
    BaggingClassifier,
    BaggingRegressor,
    GradientBoostingRegressor,
)
from sklopt.exceptions import DivergenceError, TrainingInterruptedWarning
from sklopt.model_selection import (
    BootstrapReplicas,
    bias_variance_decomposition,
    bootstrap_632_score,
)
from sklopt.neural import CNNClassifier, MLPClassifier, MLPRegressor
from sklopt.utils import all_estimators
from sklopt.utils._testing import construct_instances

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*maximum number of epochs:sklearn.exceptions.ConvergenceWarning"
)

FAST = {"device": "cpu", "random_state": 0}


@pytest.fixture(scope="module")
def iris_std():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def _target(estimator, X, y):
    return X[:, 0] * 3 if not is_classifier(estimator) else y


# --- divergence ------------------------------------------------------------------

# Plain SGD with lr=1e3 on standardised iris drives every seed's weights to
# NaN within a few epochs (checked for 10 seeds of each family).
_DIVERGING = {"optimizer": "sgd", "lr": 1e3, "max_epochs": 30}


def _diverging(kind, **params):
    if kind == "MLPClassifier":
        return MLPClassifier((16,), **_DIVERGING, **FAST, **params)
    if kind == "MLPRegressor":
        return MLPRegressor((16,), **_DIVERGING, **FAST, **params)
    return CNNClassifier((4,), image_shape=(1, 1, -1), **_DIVERGING, **FAST, **params)


NEURAL = ["MLPClassifier", "MLPRegressor", "CNNClassifier"]


@pytest.mark.parametrize("kind", NEURAL)
def test_divergence_names_lr_and_leaves_the_estimator_unfitted(iris_std, kind):
    X, y = iris_std
    estimator = _diverging(kind)
    with pytest.raises(DivergenceError, match=r"lr=1000\.0 with optimizer='sgd'"):
        estimator.fit(X, _target(estimator, X, y))
    with pytest.raises(NotFittedError):
        estimator.predict(X)


@pytest.mark.parametrize("kind", NEURAL)
def test_divergence_with_early_stopping_restores_finite_weights(iris_std, kind):
    X, y = iris_std
    estimator = _diverging(kind, early_stopping=True, validation_fraction=0.2)
    with pytest.warns(ConvergenceWarning, match=r"diverged .* best epoch"):
        estimator.fit(X, _target(estimator, X, y))
    weights = [p.detach() for p in estimator.net_.module_.parameters()]
    assert all(np.isfinite(w.numpy()).all() for w in weights)
    assert np.isfinite(estimator.predict(X).astype(float)).all()
    assert 1 <= estimator.best_epoch_ < len(estimator.history_)


def _ensembles_of(member):
    regressor = not is_classifier(member)
    return [
        BaggingRegressor(member, n_estimators=3, random_state=0)
        if regressor
        else BaggingClassifier(member, n_estimators=3, random_state=0),
        GradientBoostingRegressor(member, n_estimators=3, random_state=0)
        if regressor
        else AdaBoostClassifier(member, n_estimators=3, random_state=0),
        BootstrapReplicas(member, n_rounds=3, random_state=0),
    ]


@pytest.mark.parametrize("kind", ["MLPClassifier", "MLPRegressor"])
def test_a_diverging_member_stops_the_ensemble_with_a_clear_error(iris_std, kind):
    X, y = iris_std
    member = _diverging(kind)
    for ensemble in _ensembles_of(member):
        with pytest.raises(DivergenceError, match=r"lr=1000\.0"):
            ensemble.fit(X, _target(member, X, y))
        # Never a half-built ensemble that predicts.
        with pytest.raises(NotFittedError):
            ensemble.predict(X)


def test_a_diverging_member_in_bootstrap_studies(iris_std):
    X, y = iris_std
    member = _diverging("MLPClassifier")
    with pytest.raises(DivergenceError, match="lr=1000.0"):
        bias_variance_decomposition(
            member, X, y, X, y, loss="0-1", n_rounds=2, random_state=0
        )
    with pytest.raises(DivergenceError, match="lr=1000.0"):
        bootstrap_632_score(member, X, y, n_splits=2, random_state=0)


def test_grid_search_scores_a_diverging_candidate_as_failed(iris_std):
    X, y = iris_std
    grid = GridSearchCV(
        MLPClassifier((16,), optimizer="sgd", max_epochs=30, **FAST),
        {"lr": [1e-2, 1e3]},
        cv=2,
        error_score=np.nan,
    )
    with pytest.warns(FitFailedWarning, match="DivergenceError"):
        grid.fit(X, y)
    scores = grid.cv_results_["mean_test_score"]
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
    assert grid.best_params_ == {"lr": 1e-2}
    with pytest.raises(DivergenceError):
        clone(grid).set_params(error_score="raise").fit(X, y)


def test_members_with_early_stopping_restore_their_best_weights(iris_std):
    X, y = iris_std
    member = _diverging("MLPClassifier", early_stopping=True, validation_fraction=0.2)
    bagging = BaggingClassifier(member, n_estimators=2, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        bagging.fit(X, y)
    assert np.isfinite(bagging.predict_proba(X)).all()


def test_failed_warm_start_keeps_the_previous_members(iris_std):
    X, y = iris_std
    bagging = BaggingClassifier(
        MLPClassifier((4,), max_epochs=3, **FAST), n_estimators=2, warm_start=True
    ).fit(X, y)
    before = bagging.predict_proba(X)
    bagging.set_params(n_estimators=4, estimator=_diverging("MLPClassifier"))
    with pytest.raises(DivergenceError):
        bagging.fit(X, y)
    assert len(bagging.estimators_) == len(bagging.estimators_features_) == 2
    np.testing.assert_array_equal(bagging.predict_proba(X), before)


# --- KeyboardInterrupt -------------------------------------------------------------


class _InterruptAt:
    """Augmentation raising KeyboardInterrupt at its ``at``-th call overall."""

    calls = 0
    at = 0

    def __call__(self, X, generator):
        type(self).calls += 1
        if type(self).calls == type(self).at:
            raise KeyboardInterrupt
        return X

    @classmethod
    def reset(cls, at):
        cls.calls, cls.at = 0, at


class _InterruptingTree(DecisionTreeRegressor):
    """A tree whose ``at``-th fit overall raises KeyboardInterrupt."""

    fits = 0
    at = 0

    def fit(self, X, y, sample_weight=None, check_input=True):
        type(self).fits += 1
        if type(self).fits == type(self).at:
            raise KeyboardInterrupt
        return super().fit(X, y, sample_weight=sample_weight, check_input=check_input)


def _interrupted_mlp(epochs=2):
    # full batch: one augmentation call per epoch
    return MLPClassifier(
        (4,), max_epochs=epochs, batch_size="full", augmentation=_InterruptAt(), **FAST
    )


@pytest.mark.parametrize("kind", NEURAL)
def test_interrupted_neural_fit_keeps_the_weights_so_far(iris_std, kind):
    X, y = iris_std
    estimator = _diverging(kind).set_params(
        lr=0.01, batch_size="full", max_epochs=5, augmentation=_InterruptAt()
    )
    _InterruptAt.reset(at=3)
    with pytest.raises(KeyboardInterrupt):
        estimator.fit(X, _target(estimator, X, y))
    # the weights and history reached are kept, and the interrupt goes on
    assert estimator.n_iter_ == 2
    assert len(estimator.history_) == 3
    assert np.isfinite(estimator.predict(X).astype(float)).all()


def test_interrupted_neural_fit_stops_a_grid_search(iris_std):
    from sklearn.model_selection import GridSearchCV

    X, y = iris_std
    _InterruptAt.reset(at=3)
    search = GridSearchCV(
        _interrupted_mlp(epochs=4), {"lr": [1e-3, 1e-2]}, cv=2, n_jobs=1
    )
    with pytest.raises(KeyboardInterrupt):
        search.fit(X, y)
    assert _InterruptAt.calls == 3  # no further candidate or fold was trained
    assert not hasattr(search, "cv_results_")


def test_interrupted_batched_bagging_keeps_nothing(iris_std):
    # All members train at once, so none is complete: the fit stops and the
    # ensemble is left unfitted.
    X, y = iris_std
    _InterruptAt.reset(at=2)
    bagging = BaggingClassifier(_interrupted_mlp(), n_estimators=4, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        bagging.fit(X, y)
    with pytest.raises(NotFittedError):
        bagging.predict(X)


def test_interrupted_bagging_keeps_the_complete_members(iris_std):
    X, y = iris_std
    _InterruptAt.reset(at=5)  # the 3rd member's first epoch
    bagging = BaggingClassifier(
        _interrupted_mlp(), n_estimators=4, random_state=0, batched=False
    )
    # The complete members stay in the ensemble; the interrupt is re-raised.
    with pytest.warns(TrainingInterruptedWarning, match="after 2 of n_estimators=4"):
        with pytest.raises(KeyboardInterrupt):
            bagging.fit(X, y)
    assert len(bagging.estimators_) == len(bagging._seeds) == 2
    members = bagging.predict_proba_members(X)
    np.testing.assert_allclose(bagging.predict_proba(X), members.mean(0), rtol=1e-12)
    # warm start adds the missing members: the same ensemble as without the
    # interrupt, bit for bit
    _InterruptAt.reset(at=0)
    bagging.set_params(warm_start=True).fit(X, y)
    full = clone(bagging).set_params(warm_start=False).fit(X, y)
    np.testing.assert_array_equal(bagging.predict_proba(X), full.predict_proba(X))


def test_interrupted_bagging_of_trees(iris_std):
    X, y = iris_std
    _InterruptingTree.fits, _InterruptingTree.at = 0, 4
    bagging = BaggingRegressor(_InterruptingTree(), n_estimators=6, random_state=0)
    with pytest.warns(TrainingInterruptedWarning, match="after 3 of"):
        with pytest.raises(KeyboardInterrupt):
            bagging.fit(X, X[:, 0])
    assert len(bagging.estimators_) == 3
    assert bagging.predict(X).shape == (len(X),)


def test_interrupt_before_the_first_member_leaves_the_ensemble_unfitted(iris_std):
    X, y = iris_std
    for ensemble in (
        BaggingClassifier(_interrupted_mlp(), n_estimators=3, random_state=0),
        AdaBoostClassifier(_interrupted_mlp(), n_estimators=3, random_state=0),
    ):
        _InterruptAt.reset(at=1)
        with pytest.raises(KeyboardInterrupt):
            ensemble.fit(X, y)
        assert _InterruptAt.calls == 1  # the member did not go on training
        with pytest.raises(NotFittedError):
            ensemble.predict(X)


def test_interrupted_boosting_keeps_the_complete_rounds(iris_std):
    X, y = iris_std
    _InterruptAt.reset(at=5)  # in the 3rd round
    ada = AdaBoostClassifier(_interrupted_mlp(), n_estimators=5, random_state=0)
    with pytest.warns(TrainingInterruptedWarning, match="after 2 of n_estimators=5"):
        ada.fit(X, y)
    assert len(ada.estimators_) == len(ada.estimator_weights_) == 2
    assert ada.predict(X).shape == (len(X),)

    _InterruptingTree.fits, _InterruptingTree.at = 0, 4
    gb = GradientBoostingRegressor(_InterruptingTree(), n_estimators=6, random_state=0)
    with pytest.warns(TrainingInterruptedWarning, match="after 3 of n_estimators=6"):
        gb.fit(X, X[:, 0])
    assert gb.n_estimators_ == 3 and len(gb.train_score_) == 3
    staged = list(gb.staged_predict(X))
    assert len(staged) == 3
    np.testing.assert_allclose(staged[-1], gb.predict(X), rtol=1e-12)


def test_interrupt_stops_replicas_and_bootstrap_studies_at_once(iris_std):
    X, y = iris_std
    replicas = BootstrapReplicas(_interrupted_mlp(), n_rounds=4, random_state=0)
    studies = [
        replicas.fit,
        lambda X, y: bias_variance_decomposition(
            _interrupted_mlp(), X, y, X, y, loss="0-1", n_rounds=4, random_state=0
        ),
        lambda X, y: bootstrap_632_score(
            _interrupted_mlp(), X, y, n_splits=4, random_state=0
        ),
    ]
    for study in studies:
        _InterruptAt.reset(at=3)
        with pytest.raises(KeyboardInterrupt):
            study(X, y)
        assert _InterruptAt.calls == 3  # no later replica was trained
    # Batched replicas: none is complete.
    with pytest.raises(NotFittedError):
        replicas.predict(X)


# --- reproducibility ----------------------------------------------------------------


def _outputs(estimator, X):
    outputs = [estimator.predict(X)]
    for method in ("predict_proba", "predict_members"):
        if hasattr(estimator, method):
            outputs.append(getattr(estimator, method)(X))
    return outputs


def _assert_bit_identical(first, second):
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name, estimator_class", all_estimators())
def test_same_random_state_gives_bit_identical_results(iris_std, name, estimator_class):
    X, y = iris_std
    for estimator in construct_instances(estimator_class):
        if "random_state" in estimator.get_params(deep=False):
            estimator.set_params(random_state=0)
        target = y if is_classifier(estimator) else X[:, 0] * 3
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            first = _outputs(clone(estimator).fit(X, target), X)
            second = _outputs(clone(estimator).fit(X, target), X)
        _assert_bit_identical(first, second)


def _parallel_cases(member):
    target_kind = "clf" if is_classifier(member) else "reg"
    bagging = (BaggingClassifier if target_kind == "clf" else BaggingRegressor)(
        member, n_estimators=4, max_samples=0.8, random_state=0
    )
    replicas = BootstrapReplicas(member, n_rounds=4, random_state=0)
    loss = "0-1" if target_kind == "clf" else "squared"
    return {
        "bagging": lambda X, y, n_jobs: _outputs(
            clone(bagging).set_params(n_jobs=n_jobs).fit(X, y), X
        ),
        "replicas": lambda X, y, n_jobs: _outputs(
            clone(replicas).set_params(n_jobs=n_jobs).fit(X, y), X
        ),
        "bias_variance": lambda X, y, n_jobs: [
            bias_variance_decomposition(
                member, X, y, X, y, loss=loss, n_rounds=4, random_state=0, n_jobs=n_jobs
            ).per_sample.loss
        ],
        "bootstrap_632": lambda X, y, n_jobs: [
            bootstrap_632_score(member, X, y, n_splits=4, random_state=0, n_jobs=n_jobs)
        ],
    }


@pytest.mark.parametrize(
    "study", ["bagging", "replicas", "bias_variance", "bootstrap_632"]
)
def test_n_jobs_2_gives_bit_identical_results_with_trees(iris_std, study):
    X, y = iris_std
    for member, target in (
        (DecisionTreeClassifier(max_depth=3, random_state=0), y),
        (DecisionTreeRegressor(max_depth=3, random_state=0), X[:, 0]),
    ):
        run = _parallel_cases(member)[study]
        _assert_bit_identical(run(X, target, None), run(X, target, 2))


@pytest.mark.slow
@pytest.mark.parametrize(
    "study", ["bagging", "replicas", "bias_variance", "bootstrap_632"]
)
def test_n_jobs_2_gives_bit_identical_results_with_neural_members(iris_std, study):
    X, y = iris_std
    for member, target in (
        (MLPClassifier((8,), max_epochs=5, dropout=0.1, **FAST), y),
        (MLPRegressor((8,), max_epochs=5, mixup_alpha=0.2, **FAST), X[:, 0]),
    ):
        run = _parallel_cases(member)[study]
        _assert_bit_identical(run(X, target, None), run(X, target, 2))


def test_n_jobs_2_bagging_of_mlps_is_bit_identical(iris_std):
    """The default-run representative of the slow test above."""
    X, y = iris_std
    run = _parallel_cases(MLPClassifier((8,), max_epochs=3, **FAST))["bagging"]
    _assert_bit_identical(run(X, y, None), run(X, y, 2))


def test_weight_initialisation_takes_turns_between_threads():
    """torch's global CPU generator is seeded for each initialisation: fits in
    threads must not interleave there (it made the threading backend give
    other weights now and then)."""
    from sklopt.neural._device import _INIT_LOCK, _RandomStreams

    assert _RandomStreams(0).init_module(_INIT_LOCK.locked)
    assert not _INIT_LOCK.locked()


def test_threading_backend_gives_bit_identical_results(iris_std):
    X, y = iris_std
    bagging = BaggingClassifier(
        MLPClassifier((64,), max_epochs=2, **FAST), n_estimators=6, random_state=0
    )
    expected = _outputs(clone(bagging).fit(X, y), X)
    with joblib.parallel_backend("threading", n_jobs=2):
        got = _outputs(clone(bagging).set_params(n_jobs=2).fit(X, y), X)
    _assert_bit_identical(expected, got)
