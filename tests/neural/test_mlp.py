"""MLPClassifier / MLPRegressor: data handling, training control, sklearn
integration, reproducibility and bad input."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklopt.exceptions import DivergenceError
from sklopt.neural import MLPClassifier, MLPRegressor, flat_loss_function
from sklopt.neural._spec import HISTORY_COLUMNS, _FitResult

FAST = {"device": "cpu", "random_state": 0}
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*maximum number of epochs:sklearn.exceptions.ConvergenceWarning"
)


def weights(est):
    return [p.detach().clone() for p in est.net_.module_.parameters()]


def assert_same_weights(a, b):
    for p, q in zip(weights(a), weights(b)):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


@pytest.fixture(scope="module")
def fitted_iris(iris):
    X, y = iris
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = MLPClassifier((16,), lr=0.01, max_epochs=60, **FAST).fit(X, labels)
    return clf, X, labels


def test_string_labels_and_probabilities(fitted_iris):
    clf, X, labels = fitted_iris
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X, labels) > 0.9
    assert clf.n_features_in_ == 4
    assert clf.device_ == "cpu"


def test_history_frame(fitted_iris):
    clf = fitted_iris[0]
    history = clf.history_
    assert isinstance(history, pd.DataFrame)
    assert tuple(history.columns) == HISTORY_COLUMNS
    assert len(history) == clf.n_iter_
    np.testing.assert_array_equal(history["epoch"], np.arange(1, clf.n_iter_ + 1))
    assert history["valid_loss"].isna().all()  # no early stopping: nothing held out
    assert (history["lr"] == 0.01).all() and (history["dur"] > 0).all()
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    assert clf.best_epoch_ == clf.n_iter_


def test_pandas_input_keeps_feature_names(iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = MLPClassifier((8,), max_epochs=3, **FAST).fit(frame, pd.Series(y))
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        np.testing.assert_array_equal(clf.predict(frame), clf.predict(X))


def test_float32_and_float64_inputs_give_identical_fits(iris):
    X, y = iris
    a = MLPClassifier((8,), max_epochs=3, **FAST).fit(X.astype(np.float32), y)
    b = MLPClassifier((8,), max_epochs=3, **FAST).fit(X.astype(np.float64), y)
    assert_same_weights(a, b)


def test_multi_output_regression(linear_regression):
    X, Y = linear_regression
    reg = MLPRegressor((), lr=0.05, batch_size=16, max_epochs=100, tol=0, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, Y)
    assert reg.n_outputs_ == 2 and reg.predict(X).shape == (80, 2)
    assert reg.score(X, Y) > 0.99
    single = MLPRegressor((8,), max_epochs=2, **FAST).fit(X, Y[:, 0])
    assert single.predict(X).shape == (80,)


def test_plateau_stops_training_before_max_epochs(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = MLPClassifier((8,), max_epochs=500, tol=1e-2, patience=3, **FAST).fit(
            X, y
        )
    assert clf.n_iter_ < 500
    # sklearn's rule: the last `patience` epochs improved by less than tol on
    # the best loss before them.
    losses = clf.history_["train_loss"].to_numpy()
    best_before = np.minimum.accumulate(losses)[-4]
    assert np.all(losses[-3:] > best_before - 1e-2)


def test_max_epochs_without_convergence_warns(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="max_epochs=2"):
        MLPClassifier((8,), max_epochs=2, **FAST).fit(X, y)


def test_same_random_state_is_bit_identical_and_leaves_global_rngs(iris):
    X, y = iris
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002
    params = dict(dropout=0.2, input_noise=0.1, mixup_alpha=0.2, max_epochs=3)
    a = MLPClassifier((8,), **params, **FAST).fit(X, y)
    b = MLPClassifier((8,), **params, **FAST).fit(X, y)
    assert_same_weights(a, b)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert torch.equal(torch_state, torch.get_rng_state())
    assert np.array_equal(numpy_state[1], np.random.get_state()[1])  # noqa: NPY002
    c = MLPClassifier((8,), **params, device="cpu", random_state=1).fit(X, y)
    assert not torch.equal(weights(a)[0], weights(c)[0])


def test_random_state_none_draws_fresh_seeds(iris):
    X, y = iris
    a = MLPClassifier((8,), max_epochs=1, device="cpu").fit(X, y)
    b = MLPClassifier((8,), max_epochs=1, device="cpu").fit(X, y)
    assert not torch.equal(weights(a)[0], weights(b)[0])


def test_random_state_instance_advances(iris):
    X, y = iris
    rng = np.random.RandomState(0)
    clf = MLPClassifier((8,), max_epochs=1, device="cpu", random_state=rng)
    first = weights(clf.fit(X, y))[0]
    second = weights(clf.fit(X, y))[0]
    assert not torch.equal(first, second)


def test_warm_start_continues_like_one_long_fit(iris):
    X, y = iris
    params = dict(dropout=0.1, mixup_alpha=0.2, tol=0.0, patience=50, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        long = MLPClassifier((8,), max_epochs=6, **params).fit(X, y)
        warm = MLPClassifier((8,), max_epochs=3, warm_start=True, **params)
        warm.fit(X, y).fit(X, y)
    assert warm.n_iter_ == 6 and len(warm.history_) == 6
    assert_same_weights(long, warm)


def test_partial_fit_equals_fit_epoch_by_epoch(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = MLPClassifier((8,), max_epochs=3, **FAST).fit(X, y)
    part = MLPClassifier((8,), **FAST)
    for _ in range(3):
        part.partial_fit(X, y)
    assert part.n_iter_ == 3
    assert_same_weights(full, part)


def test_partial_fit_classes_and_unseen_labels(iris):
    X, y = iris
    clf = MLPClassifier((8,), **FAST)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    clf.partial_fit(X[y == 2], y[y == 2])
    assert clf.predict_proba(X).shape == (150, 3)
    with pytest.raises(
        ValueError, match=r"labels \[7\] that are not among the classes"
    ):
        clf.partial_fit(X[:3], [7, 7, 7])


def test_partial_fit_with_changed_hyperparameters_rebuilds_the_net(iris):
    X, y = iris
    clf = MLPClassifier((8,), lr=0.01, **FAST).partial_fit(X, y)
    net = clf.net_
    clf.partial_fit(X, y)
    assert clf.net_ is net  # unchanged configuration: same net
    clf.set_params(lr=0.001).partial_fit(X, y)
    assert clf.net_ is not net and clf.n_iter_ == 3
    assert clf.net_.optimizer_.param_groups[0]["lr"] == 0.001
    assert "exp_avg" in clf.net_.optimizer_.state[next(clf.net_.module_.parameters())]
    with pytest.raises(ValueError, match="architecture cannot change"):
        clf.set_params(hidden_layer_sizes=(4,)).partial_fit(X, y)


def test_uniform_sample_weights_equal_no_weights(iris):
    X, y = iris
    a = MLPClassifier((8,), max_epochs=3, **FAST).fit(X, y)
    b = MLPClassifier((8,), max_epochs=3, **FAST).fit(
        X, y, sample_weight=np.full(150, 3.0)
    )
    assert_same_weights(a, b)


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_integer_weights_equal_repeated_rows_for_full_batch(Estimator, iris):
    X, y = iris
    rng = np.random.RandomState(0)
    sw = rng.randint(0, 4, size=len(X))
    sw[[0, 60, 120]] = 1  # keep every class
    params = dict(optimizer="sgd", lr=0.1, batch_size="full", max_epochs=20, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = Estimator((8,), **params, **FAST).fit(X, y, sample_weight=sw)
        repeated = Estimator((8,), **params, **FAST).fit(
            np.repeat(X, sw, axis=0), np.repeat(y, sw)
        )
    for p, q in zip(weights(weighted), weights(repeated)):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_sample_weights_change_the_fit(iris):
    X, y = iris
    sw = np.where(y == 0, 10.0, 1.0)
    a = MLPClassifier((8,), max_epochs=3, **FAST).fit(X, y)
    b = MLPClassifier((8,), max_epochs=3, **FAST).fit(X, y, sample_weight=sw)
    assert not torch.equal(weights(a)[0], weights(b)[0])


def test_weighted_batch_loss_is_mean_of_weighted_losses():
    from sklopt.neural._losses import _classification_loss, _normalize_weights

    logits = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    w = np.array([1.0, 2.0, 0.0, 1.0, 3.0, 1.0])
    wn = torch.from_numpy(_normalize_weights(w))
    np.testing.assert_allclose(wn.numpy().mean(), 1.0, rtol=1e-6)
    per_sample = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    expected = (per_sample * torch.from_numpy(w)).sum() / w.sum()
    torch.testing.assert_close(
        _classification_loss(logits, y, wn), expected.float(), rtol=1e-6, atol=0
    )
    assert _normalize_weights(np.full(4, 2.5)) is None


def test_pipeline_and_grid_search(iris):
    X, y = iris
    pipe = make_pipeline(
        StandardScaler(), MLPClassifier((8,), lr=0.01, max_epochs=20, **FAST)
    )
    assert pipe.fit(X, y).score(X, y) > 0.8
    grid = GridSearchCV(
        MLPClassifier((8,), max_epochs=5, **FAST),
        param_grid={"optimizer": ["sgd", "adam"], "mixup_alpha": [0.0, 0.2]},
        cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_params_["optimizer"] in ("sgd", "adam")


def test_clone_and_pickle_round_trip(fitted_iris):
    clf, X, labels = fitted_iris
    assert not hasattr(clone(clf), "net_")
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    restored.partial_fit(X, labels)  # still trainable, random streams restored
    assert restored.n_iter_ == clf.n_iter_ + 1


def test_net_is_a_skorch_net_that_predicts(fitted_iris):
    from skorch import NeuralNet

    clf, X, _ = fitted_iris
    assert isinstance(clf.net_, NeuralNet)
    np.testing.assert_allclose(
        clf.net_.predict_proba(X.astype(np.float32)), clf.predict_proba(X), rtol=1e-5
    )
    with pytest.raises(TypeError, match="trained through its sklopt estimator"):
        clf.net_.partial_fit(X, np.zeros(len(X)))


def test_verbose_shows_a_progress_bar_and_silent_otherwise(iris, capsys):
    X, y = iris
    MLPClassifier((4,), max_epochs=2, **FAST).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    MLPClassifier((4,), max_epochs=2, verbose=1, **FAST).fit(X, y)
    err = capsys.readouterr().err
    assert "MLPClassifier" in err and "2/2" in err and "train_loss" in err


def test_divergence_raises_and_leaves_estimator_unfitted(iris):
    X, y = iris
    clf = MLPClassifier((16,), optimizer="sgd", lr=1e6, max_epochs=20, **FAST)
    with pytest.raises(DivergenceError, match=r"lr=1000000\.0 .* smaller lr"):
        clf.fit(X * 100, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    assert issubclass(DivergenceError, ValueError)


def test_divergence_with_early_stopping_restores_best_finite_weights(iris):
    X, y = iris
    clf = MLPClassifier((16,), optimizer="sgd", lr=1e6, early_stopping=True, **FAST)
    # A first finite epoch, then divergence: train one epoch with a small lr.
    clf.set_params(lr=1e-3, max_epochs=1, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    before = weights(clf)
    clf.set_params(lr=1e6, max_epochs=10)
    with pytest.warns(ConvergenceWarning, match="diverged .* best epoch"):
        clf.fit(X * 100, y)
    assert all(torch.isfinite(p).all() for p in weights(clf))
    assert np.isfinite(clf.predict_proba(X)).all()
    assert clf.best_epoch_ in (1, 2)
    if clf.best_epoch_ == 1:
        for p, q in zip(before, weights(clf)):
            torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_partial_fit_divergence_keeps_previous_weights(iris):
    X, y = iris
    clf = MLPClassifier((16,), optimizer="sgd", lr=1e-3, batch_size=10, **FAST)
    clf.partial_fit(X, y)
    before = weights(clf)
    clf.set_params(lr=1e6)
    with pytest.raises(DivergenceError, match="keeps its weights from before"):
        clf.partial_fit(X * 100, y)
    for p, q in zip(before, weights(clf)):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    clf.set_params(lr=1e-3).partial_fit(X, y)
    assert clf.n_iter_ == 2 and len(clf.history_) == 2  # the failed epoch is gone


def test_failed_refit_leaves_the_estimator_unfitted(iris):
    X, y = iris
    clf = MLPClassifier((4,), max_epochs=2, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="only one class"):
        clf.fit(X, np.zeros(150))
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_warm_start_switches_to_early_stopping(iris):
    X, y = iris
    clf = MLPClassifier((8,), early_stopping=True, **FAST).partial_fit(X, y)
    assert clf.history_["valid_loss"].isna().all()  # partial_fit holds nothing out
    clf.set_params(warm_start=True, max_epochs=3).fit(X, y)
    assert clf.history_["valid_loss"].iloc[1:].notna().all()
    assert clf.best_epoch_ >= 2


class _InterruptAt:
    """Augmentation that raises KeyboardInterrupt at its n-th call."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def __call__(self, X, generator):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return X


def test_keyboard_interrupt_keeps_a_usable_estimator(iris):
    X, y = iris
    interrupt = _InterruptAt(4)  # batch_size=50: 3 batches per epoch
    clf = MLPClassifier(
        (8,), batch_size=50, augmentation=interrupt, max_epochs=9, **FAST
    )
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert clf.n_iter_ == 1  # the second epoch was cut short
    assert len(clf.history_) == 2  # its record stays
    assert np.isfinite(clf.predict_proba(X)).all()
    assert interrupt.calls == 4  # and prediction does not augment


def test_apply_result_reproduces_an_estimator(iris):
    X, y = iris
    clf = MLPClassifier((8,), max_epochs=3, **FAST).fit(X, y)
    spec = clf._net_spec("cpu", early_stopping=False)
    result = _FitResult(state_dict=clf.net_.module_.state_dict(), history=clf.history_)
    rebuilt = clone(clf)._apply_result(result, spec)
    np.testing.assert_array_equal(rebuilt.predict_proba(X), clf.predict_proba(X))
    assert rebuilt.n_iter_ == 3
    pd.testing.assert_frame_equal(rebuilt.history_, clf.history_)


def test_flat_loss_function_matches_log_loss_and_finite_differences(iris):
    from sklearn.metrics import log_loss

    X, y = iris
    clf = MLPClassifier((4,), "tanh", max_epochs=5, **FAST).fit(X, y)
    fun, theta0 = flat_loss_function(clf, X, y)
    loss, grad = fun(theta0)
    np.testing.assert_allclose(loss, log_loss(y, clf.predict_proba(X)), rtol=1e-5)
    # float32 loss: central differences with a step of 1e-2 (error ~1e-4)
    numeric = [
        (fun(theta0 + e)[0] - fun(theta0 - e)[0]) / 2e-2
        for e in 1e-2 * np.eye(len(theta0))
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-2, atol=2e-4)
    assert fun(theta0 + 0.1)[0] != loss
    np.testing.assert_allclose(fun(theta0)[0], loss, rtol=0)  # estimator unchanged


def test_flat_loss_function_regression(linear_regression):

    X, Y = linear_regression
    reg = MLPRegressor((4,), max_epochs=3, **FAST).fit(X, Y)
    fun, theta0 = flat_loss_function(reg, X, Y)
    np.testing.assert_allclose(
        fun(theta0)[0], np.mean((reg.predict(X) - Y) ** 2), rtol=1e-5
    )


# ---- bad input ---------------------------------------------------------------
@pytest.mark.parametrize(
    "params, match",
    [
        ({"activation": "swish"}, "'activation' parameter .* must be a str among"),
        ({"normalization": "instance"}, "'normalization' parameter .* among"),
        ({"normalization": "weight"}, "'normalization' parameter"),
        ({"lr": -0.1}, "'lr' parameter"),
        ({"weight_decay": -1.0}, "'weight_decay' parameter"),
        ({"l1": -1.0}, "'l1' parameter"),
        ({"input_noise": -0.1}, "'input_noise' parameter"),
        ({"mixup_alpha": -1.0}, "'mixup_alpha' parameter"),
        ({"dropout": 1.0}, r"'dropout' parameter .* range \[0.0, 1.0\)"),
        ({"label_smoothing": 1.0}, "'label_smoothing' parameter"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"batch_size": "half"}, "'batch_size' parameter"),
        ({"lr_schedule": "linear"}, "'lr_schedule' parameter"),
        ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes must hold positive"),
        ({"cutmix_alpha": 1.0}, "cutmix_alpha=1.0 needs image input"),
        ({"augmentation": "flip"}, "augmentation='flip' needs image input"),
        ({"augmentation": "rotate"}, "'augmentation' parameter"),
        ({"augmentation": ["noise", 3]}, "augmentation must be None, a callable"),
        ({"device": "tpu"}, "device must be 'auto', 'cpu', 'cuda'"),
        ({"normalization": "batch", "batch_size": 1}, "at least 2 samples per batch"),
        ({"early_stopping": True, "validation_fraction": 0.01}, "validation_fraction"),
    ],
)
def test_bad_hyperparameters_raise_clear_errors(params, match, iris):
    X, y = iris
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**{"max_epochs": 1, "device": "cpu", **params}).fit(X, y)


def test_cuda_without_cuda_is_a_clear_error(iris):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available")
    X, y = iris
    with pytest.raises(ValueError, match="CUDA is not available"):
        MLPClassifier(device="cuda").fit(X, y)


def test_bad_data_raises_clear_errors(iris):
    X, y = iris
    clf = MLPClassifier((4,), max_epochs=1, **FAST)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.fit(X_nan, y)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        clf.fit(np.where(X > 2, np.inf, X), y)
    with pytest.raises(ValueError, match="too large for float32"):
        clf.fit(X * 1e300, y)
    with pytest.raises(ValueError, match="only one class"):
        clf.fit(X, np.zeros(150))
    with pytest.raises(ValueError, match="0 sample"):
        clf.fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, y + 0.5)
    with pytest.raises(ValueError, match="sample_weight has 3 entries"):
        clf.fit(X, y, sample_weight=[1, 2, 3])
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        clf.fit(X, y, sample_weight=-np.ones(150))
    clf.fit(X, y)
    with pytest.raises(
        ValueError, match="X has 3 features, but MLPClassifier is expecting 4"
    ):
        clf.predict(X[:, :3])
    with pytest.raises(NotFittedError):
        MLPRegressor().predict(X)


@pytest.mark.parametrize(
    "batch_size, sizes",
    [
        (1, [1] * 150),
        (64, [64, 64, 22]),
        ("full", [150]),
        ("auto", [150]),
        (500, [150]),
    ],
)
def test_batch_size_modes(batch_size, sizes, iris):
    X, y = iris
    rows = []
    MLPClassifier(
        (4,),
        batch_size=batch_size,
        max_epochs=1,
        augmentation=lambda X, g: rows.append(len(X)) or X,
        **FAST,
    ).fit(X, y)
    assert rows == sizes


def test_rows_are_reshuffled_every_epoch_reproducibly(iris):
    X, y = iris

    def record(seen):
        return lambda batch, g: seen.append(batch[:, 0].clone()) or batch

    first, again = [], []
    for seen in (first, again):
        MLPClassifier(
            (4,), batch_size=150, max_epochs=2, augmentation=record(seen), **FAST
        ).fit(X, y)
    assert not torch.equal(first[0], first[1])  # a new order each epoch
    assert torch.equal(torch.sort(first[0]).values, torch.sort(first[1]).values)
    assert all(torch.equal(a, b) for a, b in zip(first, again))  # seeded


def test_flat_loss_function_needs_a_fitted_network(iris):
    from sklearn.exceptions import NotFittedError
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    with pytest.raises(TypeError, match="sklopt neural estimator"):
        flat_loss_function(LogisticRegression().fit(X, y), X, y)
    with pytest.raises(NotFittedError):
        flat_loss_function(MLPClassifier(), X, y)


def test_warnings_point_at_the_users_call(iris):
    """ConvergenceWarning of a single fit, of a stacked fit and of a fit
    inside an ensemble names this file (the call), not sklearn's fit wrapper
    or sklopt's modules."""
    from sklearn.base import clone

    from sklopt.ensemble import BaggingClassifier

    X, y = iris
    clf = MLPClassifier((4,), max_epochs=1, **FAST)
    members = [clone(clf).set_params(random_state=k) for k in range(2)]
    bagging = BaggingClassifier(clf, n_estimators=2, random_state=0, batched=True)
    for fit in (
        lambda: clf.fit(X, y),
        lambda: clf._fit_batched(X, y, members, [np.arange(len(X))] * 2),
        lambda: bagging.fit(X, y),
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit()
        files = {w.filename for w in caught if w.category is ConvergenceWarning}
        assert files == {__file__}
