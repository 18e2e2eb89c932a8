"""Each regularizer is a working hyperparameter with a visible effect."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

from sklopt.neural import CNNClassifier, MLPClassifier, MLPRegressor, flat_loss_function
from sklopt.neural._optim import _decayed_parameters, _param_groups
from sklopt.neural._regularizers import _perturb_weights, _restore_weights

FAST = {"device": "cpu", "random_state": 0}
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*maximum number of epochs:sklearn.exceptions.ConvergenceWarning"
)


def decayed_norm(est, order=2):
    return float(
        sum(
            p.detach().abs().pow(order).sum()
            for p in _decayed_parameters(est.net_.module_)
        )
    )


@pytest.fixture(scope="module")
def noisy():
    # 30% flipped labels, few samples, a wide net and a large lr: over-fits.
    return make_classification(
        n_samples=200, n_features=10, n_informative=3, flip_y=0.3, random_state=0
    )


# ---- early stopping -----------------------------------------------------------
def test_early_stopping_stops_and_restores_best_epoch(noisy):
    X, y = noisy
    clf = MLPClassifier(
        (128, 128),
        lr=0.01,
        max_epochs=200,
        early_stopping=True,
        validation_fraction=0.25,
        patience=5,
        **FAST,
    ).fit(X, y)
    history = clf.history_
    assert clf.n_iter_ < 200
    best = int(history["valid_loss"].idxmin())
    assert clf.best_epoch_ == history["epoch"][best]
    assert clf.n_iter_ == clf.best_epoch_ + 5  # patience epochs after the best
    assert (
        history["valid_loss"].notna().all()
        and history["valid_score"].between(0, 1).all()
    )
    # The returned weights are those of best_epoch_: recompute its valid loss.
    _, X_valid, _, y_valid = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=clf.net_.streams_.seeds["split"]
    )
    fun, theta = flat_loss_function(clf, X_valid, y_valid)
    np.testing.assert_allclose(fun(theta)[0], history["valid_loss"][best], rtol=1e-5)
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[best]


def _row_counter():
    rows = []

    def count(X, generator):
        rows.append(len(X))
        return X

    return count, rows


def test_validation_data_is_held_out_only_with_early_stopping(noisy):
    X, y = noisy
    count, rows = _row_counter()
    params = dict(batch_size="full", max_epochs=1, augmentation=count, **FAST)
    MLPClassifier((4,), early_stopping=True, validation_fraction=0.2, **params).fit(
        X, y
    )
    MLPClassifier((4,), early_stopping=False, **params).fit(X, y)
    assert rows == [160, 200]


# ---- parameter norm penalties -------------------------------------------------
def test_weight_decay_shrinks_weights_but_not_biases(noisy):
    X, y = noisy
    plain = MLPClassifier((32,), lr=0.01, max_epochs=40, tol=0, **FAST).fit(X, y)
    decayed = MLPClassifier(
        (32,), lr=0.01, max_epochs=40, tol=0, weight_decay=0.1, **FAST
    ).fit(X, y)
    assert decayed_norm(decayed) < 0.7 * decayed_norm(plain)
    groups = _param_groups(decayed.net_.module_, 0.1)
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]
    assert all(p.ndim == 2 for p in groups[0]["params"])  # weights only
    assert all(p.ndim == 1 for p in groups[1]["params"])  # biases


def test_l1_drives_weights_towards_zero(noisy):
    X, y = noisy
    params = dict(lr=0.01, max_epochs=60, tol=0, **FAST)
    plain = MLPClassifier((32,), **params).fit(X, y)
    sparse = MLPClassifier((32,), l1=0.01, **params).fit(X, y)
    assert decayed_norm(sparse, 1) < 0.5 * decayed_norm(plain, 1)

    def small_share(est):
        w = torch.cat(
            [p.detach().ravel() for p in _decayed_parameters(est.net_.module_)]
        )
        return float((w.abs() < 1e-2).float().mean())

    assert small_share(sparse) > small_share(plain) + 0.2


# ---- dropout ------------------------------------------------------------------
def test_dropout_active_in_training_off_at_prediction(noisy):
    X, y = noisy
    clf = MLPClassifier((64,), dropout=0.5, max_epochs=5, **FAST).fit(X, y)
    module = clf.net_.module_
    assert (
        sum(
            isinstance(m, torch.nn.Module) and "Dropout" in type(m).__name__
            for m in module.modules()
        )
        == 1
    )
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))
    Xt = torch.tensor(X, dtype=torch.float32)
    module.train()
    with torch.no_grad():
        assert not torch.equal(module(Xt), module(Xt))
    module.eval()
    with torch.no_grad():
        eval_out = torch.softmax(module(Xt), 1).double().numpy()
    np.testing.assert_allclose(clf.predict_proba(X), eval_out, rtol=1e-6)
    plain = MLPClassifier((64,), max_epochs=5, **FAST).fit(X, y)
    assert not np.allclose(plain.predict_proba(X), clf.predict_proba(X))


def test_dropout_masks_keep_expected_share():
    from sklopt.neural._modules import _Dropout

    layer = _Dropout(0.3).train()
    layer.generator = torch.Generator().manual_seed(0)
    out = layer(torch.ones(200, 500))
    kept = out != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.01
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / 0.7))


# ---- noise --------------------------------------------------------------------
@pytest.mark.parametrize("param", ["input_noise", "weight_noise"])
def test_noise_changes_training_not_prediction(noisy, param):
    X, y = noisy
    plain = MLPClassifier((16,), max_epochs=3, **FAST).fit(X, y)
    noisy_fit = MLPClassifier((16,), max_epochs=3, **{param: 0.5}, **FAST).fit(X, y)
    assert not np.allclose(plain.predict_proba(X), noisy_fit.predict_proba(X))
    np.testing.assert_array_equal(
        noisy_fit.predict_proba(X), noisy_fit.predict_proba(X)
    )
    # prediction is the clean forward pass
    module = noisy_fit.net_.module_.eval()
    with torch.no_grad():
        clean = torch.softmax(module(torch.tensor(X, dtype=torch.float32)), 1)
    np.testing.assert_allclose(noisy_fit.predict_proba(X), clean.double(), rtol=1e-6)


def test_weight_noise_perturbation_is_undone_exactly():
    params = [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(4))]
    clean = [p.detach().clone() for p in params]
    saved = _perturb_weights(params, 0.1, torch.Generator().manual_seed(0))
    assert not torch.equal(params[0], clean[0])
    _restore_weights(params, saved)
    for p, c in zip(params, clean):
        assert torch.equal(p, c)


def test_augmentation_noise_scales_with_feature_std():
    from sklopt.neural._augment import _make_augmenter

    std = torch.tensor([1.0, 10.0])
    augment = _make_augmenter(
        "noise", image=False, noise_std=lambda: std, estimator_name="x"
    )
    X = torch.zeros(20000, 2)
    noise = augment(X, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(noise.std(0).numpy(), [0.1, 1.0], rtol=0.03)


# ---- augmentation -------------------------------------------------------------
def test_augmentation_applies_to_training_batches_only(noisy):
    X, y = noisy
    count, rows = _row_counter()
    clf = MLPClassifier((8,), batch_size=50, max_epochs=2, augmentation=count, **FAST)
    clf.fit(X, y)
    assert rows == [50] * 8
    clf.predict(X)
    clf.predict_proba(X)
    clf.score(X, y)
    assert len(rows) == 8


def test_regressor_accepts_augmentation_and_mixup(linear_regression):
    X, Y = linear_regression
    reg = MLPRegressor(
        (8,), max_epochs=3, augmentation="noise", mixup_alpha=0.2, **FAST
    ).fit(X, Y)
    plain = MLPRegressor((8,), max_epochs=3, **FAST).fit(X, Y)
    assert not np.allclose(reg.predict(X), plain.predict(X))


# ---- label smoothing / mixup at the estimator level ---------------------------
def test_label_smoothing_caps_confidence(iris):
    X, y = iris
    params = dict(lr=0.01, max_epochs=150, tol=0, **FAST)
    sharp = MLPClassifier((32,), **params).fit(X, y)
    smooth = MLPClassifier((32,), label_smoothing=0.3, **params).fit(X, y)
    # The smoothed target of the true class is 1 - 0.3 + 0.3 / 3 = 0.8.
    assert sharp.predict_proba(X).max(1).mean() > 0.9
    np.testing.assert_allclose(smooth.predict_proba(X).max(1).mean(), 0.8, atol=0.05)


def test_mixup_changes_training(iris):
    X, y = iris
    plain = MLPClassifier((8,), max_epochs=3, **FAST).fit(X, y)
    mixed = MLPClassifier((8,), max_epochs=3, mixup_alpha=0.4, **FAST).fit(X, y)
    assert not np.allclose(plain.predict_proba(X), mixed.predict_proba(X))


# ---- normalization ------------------------------------------------------------
@pytest.mark.parametrize(
    "Estimator, normalization, layer",
    [
        (MLPClassifier, "batch", torch.nn.BatchNorm1d),
        (MLPClassifier, "layer", torch.nn.LayerNorm),
        (MLPClassifier, "group", torch.nn.GroupNorm),
        (CNNClassifier, "batch", torch.nn.BatchNorm2d),
        (CNNClassifier, "layer", torch.nn.GroupNorm),
        (CNNClassifier, "group", torch.nn.GroupNorm),
        (CNNClassifier, "instance", torch.nn.InstanceNorm2d),
    ],
)
def test_each_normalization_adds_its_layer(Estimator, normalization, layer, digits):
    X, y = digits
    X, y = X[:120], y[:120]
    size = (
        {"hidden_layer_sizes": (16, 8)}
        if Estimator is MLPClassifier
        else {"channels": (4, 8)}
    )
    clf = Estimator(**size, normalization=normalization, max_epochs=2, **FAST).fit(X, y)
    layers = [m for m in clf.net_.module_.modules() if isinstance(m, layer)]
    assert len(layers) == 2
    if normalization == "layer" and Estimator is CNNClassifier:
        assert all(m.num_groups == 1 for m in layers)
    if normalization == "group":
        assert all(1 < m.num_groups < m.num_channels for m in layers)
    # evaluation mode: each row's prediction does not depend on the batch
    np.testing.assert_allclose(
        clf.predict_proba(X[:1]), clf.predict_proba(X)[:1], rtol=1e-5
    )


def test_batch_norm_uses_running_statistics_at_prediction(noisy):
    X, y = noisy
    clf = MLPClassifier((16,), normalization="batch", max_epochs=3, **FAST).fit(X, y)
    bn = next(
        m for m in clf.net_.module_.modules() if isinstance(m, torch.nn.BatchNorm1d)
    )
    assert bn.num_batches_tracked.item() == 3  # one full batch per epoch
    assert not torch.allclose(bn.running_mean, torch.zeros_like(bn.running_mean))


def test_batch_norm_skips_a_last_batch_of_one_sample(noisy):
    X, y = noisy
    clf = MLPClassifier(
        (8,), normalization="batch", batch_size=199, max_epochs=1, **FAST
    )
    clf.fit(X, y)  # 200 rows: a batch of 199, then one of 1 (skipped)
    bn = next(
        m for m in clf.net_.module_.modules() if isinstance(m, torch.nn.BatchNorm1d)
    )
    assert bn.num_batches_tracked.item() == 1


# ---- schedules and clipping ---------------------------------------------------
def test_lr_schedules(iris):
    X, y = iris
    params = dict(lr=0.1, max_epochs=9, tol=0, patience=50, **FAST)
    step = MLPClassifier((4,), lr_schedule="step", **params).fit(X, y).history_["lr"]
    np.testing.assert_allclose(step, [0.1] * 3 + [0.01] * 3 + [0.001] * 3, rtol=1e-9)
    cosine = (
        MLPClassifier((4,), lr_schedule="cosine", **params).fit(X, y).history_["lr"]
    )
    epochs = np.arange(9)
    np.testing.assert_allclose(
        cosine, 0.05 * (1 + np.cos(np.pi * epochs / 9)), rtol=1e-9
    )
    plateau = (
        MLPClassifier(
            (4,),
            lr_schedule="plateau",
            optimizer="sgd",
            lr=1e-6,
            max_epochs=9,
            patience=4,
            tol=1e-3,
            **FAST,
        )
        .fit(X, y)
        .history_["lr"]
    )
    # The loss does not move with lr=1e-6: lr drops by 0.1 after more than
    # patience // 2 = 2 epochs without improvement; training stops after 4.
    np.testing.assert_allclose(plateau, [1e-6] * 4 + [1e-7], rtol=1e-9)


def test_clip_grad_norm_bounds_the_step(iris):
    X, y = iris
    est = MLPClassifier((8,), optimizer="sgd", lr=1.0, batch_size="full", **FAST)
    est.partial_fit(X, y)
    start = [p.detach().clone() for p in est.net_.module_.parameters()]
    est.set_params(clip_grad_norm=0.01).partial_fit(X, y)
    step = torch.sqrt(
        sum(
            ((p.detach() - s) ** 2).sum()
            for p, s in zip(est.net_.module_.parameters(), start)
        )
    )
    np.testing.assert_allclose(step.item(), 0.01, rtol=1e-4)


def test_l1_gradient_is_the_gradient_of_the_l1_penalty():
    from sklopt.neural._regularizers import _add_l1_gradient, _l1_penalty

    params = [torch.nn.Parameter(torch.randn(4, 3)), torch.nn.Parameter(torch.randn(5))]
    _l1_penalty(params, 0.3).backward()
    expected = [p.grad.clone() for p in params]
    for p in params:
        p.grad = torch.zeros_like(p)
    _add_l1_gradient(params, 0.3)
    for p, g in zip(params, expected):
        torch.testing.assert_close(p.grad, g)
    np.testing.assert_allclose(
        _l1_penalty(params, 0.3).item(),
        0.3 * sum(p.abs().sum().item() for p in params),
        rtol=1e-6,
    )
