"""Batched training of many copies of a network equals training them apart.

Every test trains K members once as one stacked model
(``estimator._fit_batched``) and once one by one with the same seeds, rows and
sample weights (``clone(...).fit``), and compares weights, predictions and
training records. Rows are bootstrap draws: with ``weighted=True`` the
distinct rows weighted by their counts (as bagging fits members that accept
sample weights: members own different numbers of rows, hence of batches per
epoch), else the drawn rows with repeats (as the bootstrap rounds of the
bias-variance tools).
"""

import pickle
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from sklopt.exceptions import (
    DivergenceError,
    NotBatchableError,
)
from sklopt.neural import OPTIMIZERS, CNNClassifier, MLPClassifier, MLPRegressor
from sklopt.neural._batched._trainer import _BatchedTrainer
from sklopt.neural._rules import _n_batches

# float32 training: the stacked matrix products and reductions may round
# differently from the separate ones (a few ulp per step).
WEIGHT_TOL = {"rtol": 1e-4, "atol": 2e-5}
OUTPUT_TOL = {"rtol": 1e-4, "atol": 2e-5}


@pytest.fixture(scope="module")
def clf_data():
    X, y = make_classification(
        n_samples=150, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return X, y


@pytest.fixture(scope="module")
def reg_data():
    X, y = make_regression(n_samples=150, n_features=5, noise=1.0, random_state=0)
    return X, y / y.std()


def _draws(n_samples, n_members, weighted, seed=0):
    rng = np.random.RandomState(seed)
    rows, weights = [], []
    for _ in range(n_members):
        drawn = rng.randint(0, n_samples, n_samples)
        if weighted:
            counts = np.bincount(drawn, minlength=n_samples)
            rows.append(np.flatnonzero(counts))
            weights.append(counts[rows[-1]].astype(float))
        else:
            rows.append(drawn)
            weights.append(None)
    return rows, weights


def _fit_both(estimator, X, y, *, n_members=4, weighted=True, quiet=True):
    """Members trained batched and apart, with their rows and weights."""
    rows, weights = _draws(len(X), n_members, weighted)
    seeds = list(range(n_members))
    members = [clone(estimator).set_params(random_state=s) for s in seeds]
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", ConvergenceWarning)
        batched = estimator._fit_batched(X, y, members, rows, weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        apart = []
        for seed, member_rows, weight in zip(seeds, rows, weights):
            fit_params = {} if weight is None else {"sample_weight": weight}
            member = clone(estimator).set_params(random_state=seed)
            apart.append(member.fit(X[member_rows], y[member_rows], **fit_params))
    return batched, apart


def _outputs(estimator, X):
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    return estimator.predict(X)


def _assert_same(batched, apart, X, weight_tol=WEIGHT_TOL, output_tol=OUTPUT_TOL):
    for one, other in zip(batched, apart, strict=True):
        ours = one.net_.module_.state_dict()
        theirs = other.net_.module_.state_dict()
        assert list(ours) == list(theirs)
        for name in ours:
            assert_allclose(
                ours[name].double().cpu().numpy(),
                theirs[name].double().cpu().numpy(),
                err_msg=name,
                **weight_tol,
            )
        assert_allclose(_outputs(one, X), _outputs(other, X), **output_tol)
        assert one.n_iter_ == other.n_iter_
        assert one.best_epoch_ == other.best_epoch_
        assert one.net_.stop_reason_ == other.net_.stop_reason_
        assert list(one.history_.columns) == list(other.history_.columns)
        assert_array_equal(one.history_["epoch"], other.history_["epoch"])
        assert_allclose(one.history_["lr"], other.history_["lr"], rtol=1e-12)
        for column in ("train_loss", "valid_loss", "valid_score"):
            assert_allclose(
                one.history_[column], other.history_[column], rtol=1e-4, atol=1e-6
            )


def _clf(**params):
    defaults = dict(hidden_layer_sizes=(8,), max_epochs=4, batch_size=16, device="cpu")
    return MLPClassifier(**{**defaults, **params})


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_matches_separate_fits(optimizer, clf_data):
    X, y = clf_data
    batched, apart = _fit_both(_clf(optimizer=optimizer), X, y)
    _assert_same(batched, apart, X)
    # the members really differ (own rows, weights, seeds)
    assert not np.allclose(_outputs(batched[0], X), _outputs(batched[1], X))


@pytest.mark.parametrize(
    "params",
    [
        {"dropout": 0.3},
        {"weight_decay": 0.05},
        {"optimizer": "adamw", "weight_decay": 0.05},
        {"optimizer": "momentum", "weight_decay": 0.05, "l1": 1e-3},
        {"input_noise": 0.2},
        {"weight_noise": 0.02},
        {"label_smoothing": 0.2},
        {"mixup_alpha": 0.4},
        {"clip_grad_norm": 0.05},
        {"augmentation": "noise"},
        {"normalization": "layer"},
        {"lr_schedule": "cosine"},
        {
            "dropout": 0.2,
            "input_noise": 0.1,
            "weight_noise": 0.01,
            "label_smoothing": 0.1,
            "mixup_alpha": 0.3,
            "lr_schedule": "step",
        },
    ],
    ids=lambda p: "-".join(p),
)
def test_regularizers_match_separate_fits(params, clf_data):
    X, y = clf_data
    batched, apart = _fit_both(_clf(**params), X, y)
    _assert_same(batched, apart, X)


@pytest.mark.parametrize("weighted", [True, False])
def test_regressor_matches_separate_fits(weighted, reg_data):
    X, y = reg_data
    est = MLPRegressor(
        (8,), max_epochs=4, batch_size=16, dropout=0.1, mixup_alpha=0.2, device="cpu"
    )
    batched, apart = _fit_both(est, X, y, weighted=weighted)
    _assert_same(batched, apart, X)


def test_multi_output_regressor(reg_data):
    X, y = reg_data
    Y = np.column_stack([y, -0.5 * y])
    batched, apart = _fit_both(
        MLPRegressor((8,), max_epochs=3, batch_size=32, device="cpu"), X, Y
    )
    _assert_same(batched, apart, X)
    assert batched[0].predict(X).shape == (len(X), 2)


def test_batch_norm_keeps_per_member_statistics(clf_data):
    X, y = clf_data
    # Full batches of each member's own size (a padded stacked batch): mini
    # batches ending in a few rows, or Adam (which normalises the rounding
    # noise of the bias before the normalization, whose gradient is zero),
    # would amplify float32 rounding differences.
    est = _clf(normalization="batch", optimizer="momentum", lr=0.05)
    est.set_params(batch_size="full", max_epochs=8)
    batched, apart = _fit_both(est, X, y)
    _assert_same(batched, apart, X)
    means = [m.net_.module_.state_dict()["layers.1.running_mean"] for m in batched]
    assert not torch.allclose(means[0], means[1])
    tracked = [int(m.net_.module_.layers[1].num_batches_tracked) for m in batched]
    expected = [a.net_.module_.layers[1].num_batches_tracked for a in apart]
    assert tracked == [int(t) for t in expected]


def test_batch_norm_with_adam_and_mini_batches(clf_data):
    """Adam and mini-batches amplify float32 rounding in the (null) bias
    direction before batch normalization; the predictions stay close."""
    X, y = clf_data
    batched, apart = _fit_both(
        _clf(normalization="batch", max_epochs=3), X, y, weighted=False
    )
    for one, other in zip(batched, apart):
        assert_allclose(_outputs(one, X), _outputs(other, X), atol=5e-3)
        assert one.n_iter_ == other.n_iter_


def test_early_stopping_per_member(clf_data):
    X, y = clf_data
    est = _clf(
        early_stopping=True,
        validation_fraction=0.2,
        patience=2,
        tol=0.0,
        max_epochs=40,
        lr=0.05,
        lr_schedule="plateau",
    )
    batched, apart = _fit_both(est, X, y, n_members=5)
    _assert_same(batched, apart, X)
    stops = {m.n_iter_ for m in batched}
    assert len(stops) > 1  # members stopped at different epochs
    assert all(m.n_iter_ < 40 for m in batched)
    assert all(m.best_epoch_ < m.n_iter_ for m in batched)
    # a plateau schedule lowers each member's rate at its own epochs
    lrs = [tuple(m.history_["lr"]) for m in batched]
    assert len(set(lrs)) > 1


def test_training_loss_plateau_stops_each_member(reg_data):
    X, y = reg_data
    est = MLPRegressor(
        (8,), max_epochs=60, batch_size=32, patience=2, tol=1e-2, device="cpu"
    )
    batched, apart = _fit_both(est, X, y)
    _assert_same(batched, apart, X)
    assert len({m.n_iter_ for m in batched}) > 1
    assert {m.net_.stop_reason_ for m in batched} == {"plateau", "max_epochs"}


def test_members_missing_a_class_are_fitted_apart(clf_data):
    X, y = clf_data
    rows, _ = _draws(len(X), 3, weighted=False)
    rows[1] = np.flatnonzero(y != 2)  # member 1 never sees class 2
    est = _clf()
    members = [clone(est).set_params(random_state=s) for s in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = est._fit_batched(X, y, members, rows)
        apart = [
            clone(est).set_params(random_state=s).fit(X[r], y[r])
            for s, r in zip(range(3), rows)
        ]
    assert_array_equal(fitted[1].classes_, [0, 1])
    _assert_same(fitted, apart, X)


def test_divergence_raises_like_a_separate_fit(clf_data):
    X, y = clf_data
    est = _clf(optimizer="sgd", lr=1e6, max_epochs=5)
    rows, _ = _draws(len(X), 3, weighted=False)
    members = [clone(est).set_params(random_state=s) for s in range(3)]
    with pytest.raises(DivergenceError, match=r"lr=1000000\.0 with optimizer='sgd'"):
        est._fit_batched(X, y * 1e3, members, rows)


def test_divergence_with_early_stopping_keeps_best_weights(clf_data):
    X, y = clf_data
    est = _clf(optimizer="momentum", lr=3.0, max_epochs=30, early_stopping=True)
    est.set_params(patience=30)
    with pytest.warns(ConvergenceWarning, match="3 of 3 batched members diverged"):
        batched, apart = _fit_both(est, X, y, n_members=3, quiet=False)
    # (the diverging epochs themselves amplify rounding; the kept best epoch
    # is an early one)
    for one, other in zip(batched, apart):
        for value in one.net_.module_.state_dict().values():
            assert torch.isfinite(value.double()).all()
        assert one.net_.stop_reason_ == "diverged"
        # the best epoch comes from steps with lr=3: sensitive to rounding
        assert_allclose(_outputs(one, X), _outputs(other, X), rtol=1e-3, atol=1e-3)
        assert one.best_epoch_ == other.best_epoch_


def test_members_continue_training_like_separate_fits(clf_data):
    """The optimizer state and random streams come with the members, so that
    partial_fit continues as after a separate fit."""
    X, y = clf_data
    est = _clf(dropout=0.2, input_noise=0.1, weight_decay=0.01)
    batched, apart = _fit_both(est, X, y, n_members=2)
    for one, other in zip(batched, apart):
        one.partial_fit(X, y)
        other.partial_fit(X, y)
    _assert_same(batched, apart, X)
    restored = pickle.loads(pickle.dumps(batched[0]))
    assert_allclose(_outputs(restored, X), _outputs(batched[0], X))


def test_missing_fused_kernel_falls_back_to_multi_tensor(monkeypatch, clf_data):
    """Some torch versions lack a fused kernel for a device (Adagrad on CUDA);
    that only shows at the first step."""
    original = torch.optim.Adagrad.step

    def step(self, *args, **kwargs):
        if any(group.get("fused") for group in self.param_groups):
            raise RuntimeError("`fused=True` requires ... supported devices: ['cpu']")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adagrad, "step", step)
    X, y = clf_data
    batched, apart = _fit_both(_clf(optimizer="adagrad"), X, y, n_members=2)
    _assert_same(batched, apart, X)


def test_progress_bar_and_interrupt(monkeypatch, clf_data, capsys):
    X, y = clf_data
    original = _BatchedTrainer._end_epoch

    def interrupt_at_third(self, epoch, *args):
        original(self, epoch, *args)
        if epoch == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(_BatchedTrainer, "_end_epoch", interrupt_at_third)
    est = _clf(max_epochs=10)
    members = [clone(est).set_params(random_state=s) for s in range(2)]
    rows, _ = _draws(len(X), 2, weighted=False)
    with pytest.raises(KeyboardInterrupt):
        est._fit_batched(X, y, members, rows, verbose=1)
    # the members keep the weights and history reached
    assert [m.n_iter_ for m in members] == [3, 3]
    assert all(len(m.history_) == 3 for m in members)
    assert all(np.isfinite(m.predict_proba(X)).all() for m in members)
    assert "(batched)" in capsys.readouterr().err


def test_unsupported_settings_have_reasons():
    assert MLPClassifier()._batched_unsupported_reason() is None
    assert MLPRegressor(dropout=0.5)._batched_unsupported_reason() is None
    for params in ({"normalization": "batch"}, {"cutmix_alpha": 1.0}):
        assert CNNClassifier(**params)._batched_unsupported_reason() is None
    reason = CNNClassifier(optimizer=torch.optim.SGD)._batched_unsupported_reason()
    assert "optimizer=SGD" in reason
    reason = MLPClassifier(optimizer=torch.optim.Adam)._batched_unsupported_reason()
    assert "optimizer=Adam" in reason


def test_auto_batches_convolutional_members_on_accelerators_only():
    """``batched='auto'`` keeps CNN members one by one on the CPU (grouped
    convolutions measured slower there), batches them on CUDA; MLPs always."""
    assert MLPClassifier(device="cpu")._batched_auto_reason() is None
    reason = CNNClassifier(device="cpu")._batched_auto_reason()
    assert "GPU only" in reason and "batched=True" in reason
    auto = CNNClassifier(device="auto")._batched_auto_reason()
    assert (auto is None) == torch.cuda.is_available()


@pytest.fixture(scope="module")
def image_data():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:120] / 16.0, y[:120] % 3


def _cnn(**params):
    defaults = dict(channels=(3, 4), max_epochs=3, batch_size=16, device="cpu")
    return CNNClassifier(**{**defaults, **params})


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"dropout": 0.3, "normalization": "group"},
        # The convolution biases before instance normalization have no effect
        # (their true gradient is 0); Adam turns the rounding noise of their
        # gradients into full steps, so this case uses SGD with momentum.
        {
            "normalization": "instance",
            "weight_noise": 0.02,
            "input_noise": 0.1,
            "optimizer": "momentum",
        },
        {"normalization": "layer", "mixup_alpha": 0.3, "label_smoothing": 0.1},
        {"augmentation": ["flip", "shift"], "optimizer": "momentum"},
        {"early_stopping": True, "patience": 1, "weight_decay": 0.01},
        {
            "early_stopping": True,
            "normalization": "batch",
            "optimizer": "momentum",
            "lr_schedule": "plateau",
        },
        # conv biases before batch normalization have no effect either
        {"normalization": "batch", "optimizer": "momentum", "dropout": 0.1},
        {"cutmix_alpha": 1.0, "label_smoothing": 0.1},
        {"cutmix_alpha": 0.5, "mixup_alpha": 0.4, "augmentation": "crop"},
        {"channels": (), "dropout": 0.2},
        {"channels": (40,), "optimizer": "rmsprop", "clip_grad_norm": 0.1},
    ],
    ids=lambda p: "-".join(p) or "plain",
)
@pytest.mark.parametrize("weighted", [True, False])
def test_cnn_members_match_separate_fits(params, weighted, image_data):
    X, y = image_data
    batched, apart = _fit_both(_cnn(**params), X, y, weighted=weighted)
    _assert_same(batched, apart, X)
    assert not np.allclose(_outputs(batched[0], X), _outputs(batched[1], X))


def test_cnn_batch_norm_keeps_per_member_statistics(image_data):
    """Per-member running statistics, also over padded steps (members with
    different numbers of rows), equal to the separate fits' buffers."""
    X, y = image_data
    est = _cnn(normalization="batch", optimizer="sgd", batch_size=24)
    batched, apart = _fit_both(est, X, y, weighted=True)
    _assert_same(batched, apart, X)
    means = [m.net_.module_.state_dict()["layers.1.running_mean"] for m in batched]
    assert not torch.allclose(means[0], means[1])


def test_cnn_members_on_colour_images():
    """Several input channels: each member's grouped filters see only its
    own channels."""
    rng = np.random.RandomState(0)
    X = rng.rand(90, 3, 5, 6).astype(np.float32)
    y = (X[:, 0].mean((1, 2)) > X[:, 2].mean((1, 2))).astype(int)
    batched, apart = _fit_both(_cnn(channels=(4,), dropout=0.1), X, y)
    _assert_same(batched, apart, X)


def test_members_must_be_copies(clf_data):
    X, y = clf_data
    est = _clf()
    members = [clone(est), clone(est).set_params(activation="tanh")]
    rows, _ = _draws(len(X), 2, weighted=False)
    with pytest.raises(NotBatchableError, match=r"differ: \['activation'\]"):
        est._fit_batched(X, y, members, rows)
    with pytest.raises(NotBatchableError, match="torch optimizer class"):
        est.set_params(optimizer=torch.optim.SGD)._fit_batched(X, y, members, rows)


def test_bad_member_data_raises_as_a_separate_fit(clf_data):
    X, y = clf_data
    est = _clf()
    members = [clone(est) for _ in range(2)]
    rows = [np.arange(50), np.arange(50, 100)]
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        est._fit_batched(X, y, members, rows, [np.ones(50), -np.ones(50)])
    X_bad = X.copy()
    X_bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est._fit_batched(X_bad, y, members, rows)


def test_dataframe_input_keeps_feature_names(clf_data):
    pd = pytest.importorskip("pandas")
    X, y = clf_data
    columns = [f"f{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns)
    est = _clf(max_epochs=2)
    rows, _ = _draws(len(X), 2, weighted=False)
    members = [clone(est).set_params(random_state=s) for s in range(2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = est._fit_batched(frame, y, members, rows)
        apart = [
            clone(est).set_params(random_state=s).fit(frame.iloc[r], y[r])
            for s, r in zip(range(2), rows)
        ]
    assert list(fitted[0].feature_names_in_) == columns
    _assert_same(fitted, apart, frame)


@pytest.mark.parametrize(
    "n_rows, batch_size, drop_single, expected",
    [(10, 4, False, 3), (9, 4, True, 2), (9, 4, False, 3), (1, 4, True, 1)],
)
def test_n_batches_matches_the_batch_iterator(
    n_rows, batch_size, drop_single, expected
):
    from sklopt.neural._data import _BatchIterator, _TensorData

    assert _n_batches(n_rows, batch_size, drop_single) == expected
    data = _TensorData(torch.zeros(n_rows, 1), torch.zeros(n_rows))
    iterator = _BatchIterator(data, batch_size, drop_single=drop_single)
    assert len(iterator) == expected


def _fit_batched_only(estimator, X, y, n_members=4):
    rows, weights = _draws(len(X), n_members, weighted=True)
    members = [clone(estimator).set_params(random_state=s) for s in range(n_members)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator._fit_batched(X, y, members, rows, weights)


# every per-step code path: padded steps, weights, per-member draws, batch
# statistics, gradient transforms, weight decay (two parameter groups)
_EVERY_PATH = dict(
    dropout=0.2,
    input_noise=0.1,
    weight_noise=0.01,
    label_smoothing=0.1,
    mixup_alpha=0.3,
    normalization="batch",
    clip_grad_norm=0.5,
    l1=1e-4,
    weight_decay=0.01,
    batch_size=16,
)


def test_epoch_tables_gathered_in_blocks_give_the_same_fit(monkeypatch, clf_data):
    """On an accelerator the inputs of several steps are gathered at once
    (on the CPU, step by step): the same batches, bit for bit."""
    from sklopt.neural._batched import _epoch as _batched_epoch

    X, y = clf_data
    est = _clf(**_EVERY_PATH)
    one = _fit_batched_only(est, X, y)
    monkeypatch.setattr(_batched_epoch, "_block_steps", lambda device, size: 3)
    blocks = _fit_batched_only(est, X, y)
    for a, b in zip(one, blocks, strict=True):
        for name, value in a.net_.module_.state_dict().items():
            assert_array_equal(value.numpy(), b.net_.module_.state_dict()[name].numpy())
        assert_array_equal(a.history_["train_loss"], b.history_["train_loss"])


def test_training_steps_never_read_from_the_device(monkeypatch, clf_data):
    """A step queues device work without waiting for it (no ``.item()``,
    ``.cpu()``, ``bool(tensor)``...): on a GPU, per-step synchronisation
    would bound the step time. The members' steps share one optimizer
    update per parameter group whatever their numbers of batches."""
    reads, in_step, groups, padded = [], [False], [], []
    for name in ("item", "tolist", "numpy", "cpu", "__bool__", "__float__"):
        original = getattr(torch.Tensor, name)

        def spy(self, *args, _name=name, _original=original, **kwargs):
            if in_step[0]:
                reads.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, spy)
    step = _BatchedTrainer._step

    def watched(self, batch):
        in_step[0] = True
        try:
            return step(self, batch)
        finally:
            in_step[0] = False
            optimizer = self.optimizer
            groups.append((len(optimizer.runs), len(optimizer.optimizer.param_groups)))
            padded.append(batch.mask is not None)

    monkeypatch.setattr(_BatchedTrainer, "_step", watched)
    X, y = clf_data
    _fit_batched_only(_clf(**_EVERY_PATH), X, y)
    assert groups and reads == []
    assert any(padded) and not all(padded)
    # members with different numbers of batches (several runs), one group:
    # the step applies the weight decay itself
    assert max(runs for runs, _ in groups) > 1
    assert {n for _, n in groups} == {1}


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize(
    "params",
    [
        {"dropout": 0.3},
        {"weight_decay": 0.05, "l1": 1e-3},
        {"input_noise": 0.2, "weight_noise": 0.02},
        {"label_smoothing": 0.2, "mixup_alpha": 0.4},
        {"early_stopping": True, "patience": 2},
        {"clip_grad_norm": 0.05, "lr_schedule": "plateau"},
    ],
    ids=lambda p: "-".join(p),
)
def test_full_matrix(optimizer, params, clf_data):
    X, y = clf_data
    batched, apart = _fit_both(_clf(optimizer=optimizer, max_epochs=6, **params), X, y)
    _assert_same(batched, apart, X)


@pytest.mark.slow
def test_long_run_members_with_own_regularizers_match_separate_fits():
    """40 epochs on digits with 20 % noisy labels (the CLI's regularizer
    study): members with different regularizers in one stack follow their
    separate fits epoch by epoch. Momentum SGD, whose steps do not amplify
    float32 rounding as Adam's division by a running root mean square
    does; measured: the largest relative difference of a training loss was
    5e-8 over the 40 epochs (Adam: up to 2e-4, as large as a stack of one
    member's, and the same accuracy to 5e-4)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X[:800] / 16.0
    rng = np.random.RandomState(0)
    y = y[:800].copy()
    flipped = rng.rand(len(y)) < 0.2
    y[flipped] = rng.randint(0, 10, flipped.sum())
    base = MLPClassifier(
        (32,),
        optimizer="momentum",
        lr=0.02,
        batch_size=64,
        max_epochs=40,
        device="cpu",
        random_state=0,
    )
    settings = [
        {},
        {"dropout": 0.3},
        {"weight_decay": 1e-3},
        {"l1": 1e-4},
        {"input_noise": 0.1, "weight_noise": 0.01},
        {"label_smoothing": 0.1},
        {"mixup_alpha": 0.2},
    ]
    members = [clone(base).set_params(**p) for p in settings]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        stacked = base._fit_batched(X, y, members, [np.arange(len(X))] * len(members))
        apart = [clone(m).fit(X, y) for m in members]
    for params, one, other in zip(settings, stacked, apart, strict=True):
        assert_allclose(
            one.history_["train_loss"],
            other.history_["train_loss"],
            rtol=1e-5,
            err_msg=str(params),
        )
        assert_allclose(
            one.predict_proba(X),
            other.predict_proba(X),
            rtol=1e-4,
            atol=1e-5,
            err_msg=str(params),
        )


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_cnn_full_matrix(optimizer, image_data):
    X, y = image_data
    params = {"dropout": 0.2, "normalization": "group", "weight_decay": 0.01}
    params.update(cutmix_alpha=1.0, early_stopping=True, patience=2)
    batched, apart = _fit_both(_cnn(optimizer=optimizer, max_epochs=4, **params), X, y)
    _assert_same(batched, apart, X)


@pytest.mark.gpu
def test_cuda_cnn_members_match_separate_cuda_fits(image_data):
    X, y = image_data
    est = _cnn(device="cuda", dropout=0.2, normalization="group")
    assert est._batched_auto_reason() is None
    batched, apart = _fit_both(est, X, y)
    _assert_same(
        batched,
        apart,
        X,
        weight_tol={"rtol": 1e-3, "atol": 1e-4},
        output_tol={"rtol": 1e-3, "atol": 1e-4},
    )


@pytest.mark.gpu
@pytest.mark.parametrize("params", [{}, {"dropout": 0.2, "mixup_alpha": 0.3}])
def test_cuda_matches_separate_cuda_fits(params, clf_data):
    X, y = clf_data
    batched, apart = _fit_both(_clf(device="cuda", **params), X, y)
    # CUDA kernels are not bit-reproducible; the draws are the same.
    _assert_same(
        batched,
        apart,
        X,
        weight_tol={"rtol": 1e-3, "atol": 1e-4},
        output_tol={"rtol": 1e-3, "atol": 1e-4},
    )
    assert batched[0].device_.startswith("cuda")
    assert next(batched[0].net_.module_.parameters()).is_cuda


# ---- members with their own hyperparameters (stacked search) ---------------


def _fit_both_params(estimator, X, y, member_params, *, weighted=True, errors=None):
    """Members that differ in ``member_params`` (one dict each), trained
    batched and apart on bootstrap rows."""
    n_members = len(member_params)
    free = estimator._stacking_params()
    estimator = clone(estimator).set_params(
        **{k: v for k, v in member_params[0].items() if k not in free}
    )
    rows, weights = _draws(len(X), n_members, weighted)
    members = [
        clone(estimator).set_params(random_state=k, **params)
        for k, params in enumerate(member_params)
    ]
    kwargs = {} if errors is None else {"errors": errors}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        batched = estimator._fit_batched(X, y, members, rows, weights, **kwargs)
        apart = []
        for member, member_rows, weight in zip(members, rows, weights):
            fit_params = {} if weight is None else {"sample_weight": weight}
            one = clone(member)
            try:
                one.fit(X[member_rows], y[member_rows], **fit_params)
            except DivergenceError as exc:
                one = exc
            apart.append(one)
    return batched, apart


PER_MEMBER = {
    "lr": [{"lr": 1e-3}, {"lr": 3e-3}, {"lr": 1e-2}, {"lr": 1e-3}],
    "optimizer_constants": [
        {"optimizer": "adam", "betas": (0.8, 0.99), "eps": 1e-6},
        {"optimizer": "adam", "weight_decay": 0.05},
        {"optimizer": "adam"},
        {"optimizer": "adam", "lr": 0.01, "betas": (0.5, 0.9)},
    ],
    "momentum": [
        {"optimizer": "momentum", "momentum": 0.5},
        {"optimizer": "momentum", "momentum": 0.95, "l1": 1e-3},
        {"optimizer": "momentum", "weight_decay": 0.01},
    ],
    "rmsprop": [{"optimizer": "rmsprop", "rho": 0.9}, {"optimizer": "rmsprop"}],
    "regularizers": [
        {"dropout": 0.3, "input_noise": 0.2},
        {"weight_noise": 0.02, "label_smoothing": 0.2},
        {"mixup_alpha": 0.4, "clip_grad_norm": 0.05},
        {},
    ],
    "schedules": [
        {"lr_schedule": "cosine"},
        {"lr_schedule": "step"},
        {"lr_schedule": None},
        {"lr_schedule": "plateau", "patience": 2, "tol": 0.0},
    ],
    "early_stopping": [
        {"early_stopping": True, "patience": 1},
        {"early_stopping": False},
        {"early_stopping": True, "validation_fraction": 0.3, "tol": 0.0},
        {"early_stopping": True, "lr_schedule": "plateau", "lr": 0.02},
    ],
}


@pytest.mark.parametrize("case", list(PER_MEMBER), ids=str)
def test_members_with_own_hyperparameters_match_separate_fits(case, clf_data):
    X, y = clf_data
    params = PER_MEMBER[case]
    batched, apart = _fit_both_params(_clf(max_epochs=5), X, y, params)
    _assert_same(batched, apart, X)


@pytest.mark.parametrize("weighted", [True, False])
def test_regressor_members_with_own_hyperparameters(weighted, reg_data):
    X, y = reg_data
    est = MLPRegressor((8,), max_epochs=4, batch_size=16, device="cpu")
    params = [
        {"dropout": 0.1, "mixup_alpha": 0.2, "lr": 3e-3},
        {"weight_decay": 0.01, "l1": 1e-3, "early_stopping": True},
        {"input_noise": 0.1, "weight_noise": 0.01, "clip_grad_norm": 0.1},
    ]
    batched, apart = _fit_both_params(est, X, y, params, weighted=weighted)
    _assert_same(batched, apart, X)


def test_cnn_members_with_own_hyperparameters(image_data):
    X, y = image_data
    params = [
        {"cutmix_alpha": 1.0, "dropout": 0.2},
        {"mixup_alpha": 0.4, "label_smoothing": 0.1, "lr": 3e-3},
        {"weight_decay": 0.01},
    ]
    est = _cnn(optimizer="momentum")
    batched, apart = _fit_both_params(est, X, y, params, weighted=False)
    _assert_same(batched, apart, X)


def test_stacking_params_name_the_per_member_hyperparameters():
    names = _clf()._stacking_params()
    assert {"lr", "weight_decay", "dropout", "random_state", "patience"} <= names
    assert not {"hidden_layer_sizes", "optimizer", "batch_size"} & names
    assert "cutmix_alpha" in _cnn()._stacking_params()
    # a regressor has no label_smoothing
    assert "label_smoothing" not in MLPRegressor()._stacking_params()
    assert names <= set(_clf().get_params())


def test_collect_returns_the_divergence_of_one_member(clf_data):
    X, y = clf_data
    params = [{"lr": 1e-3}, {"lr": 1e12, "optimizer": "sgd"}, {"lr": 3e-3}]
    est = _clf(optimizer="sgd")
    batched, apart = _fit_both_params(est, X, y, params, errors="collect")
    assert isinstance(batched[1], DivergenceError)
    assert isinstance(apart[1], DivergenceError)
    assert "diverged" in str(batched[1])
    _assert_same([batched[0], batched[2]], [apart[0], apart[2]], X)
    with pytest.raises(DivergenceError):
        _fit_both_params(est, X, y, params)


def test_members_with_own_hyperparameters_continue_like_separate_fits(clf_data):
    """A member without dropout, stacked with members that have dropout,
    keeps its own layer names, optimizer state and streams: partial_fit and
    pickling continue as after its separate fit."""
    X, y = clf_data
    params = [
        {"dropout": 0.0, "lr": 3e-3},
        {"dropout": 0.3, "weight_decay": 0.01},
        {"dropout": 0.0, "lr_schedule": "step"},
    ]
    batched, apart = _fit_both_params(_clf(), X, y, params)
    for one, other in zip(batched, apart):
        one.partial_fit(X, y)
        other.partial_fit(X, y)
    _assert_same(batched, apart, X)
    for member in batched:
        restored = pickle.loads(pickle.dumps(member))
        assert_allclose(_outputs(restored, X), _outputs(member, X), rtol=1e-12)


# ---- one vectorised update for members with their own optimizer constants --

_VECTOR_MEMBERS = {
    "sgd": [{"lr": 0.05}, {"lr": 0.01, "weight_decay": 0.01}],
    "momentum": [{"momentum": 0.5, "lr": 0.02}, {"weight_decay": 0.01}],
    "nesterov": [{"momentum": 0.8}, {"momentum": 0.95, "weight_decay": 0.01}],
    "adagrad": [{"lr": 0.05, "eps": 1e-6}, {"weight_decay": 0.01}],
    "adadelta": [{"rho": 0.8, "eps": 1e-5}, {"lr": 0.5, "weight_decay": 0.01}],
    "rmsprop": [{"rho": 0.9, "momentum": 0.5}, {"weight_decay": 0.01, "eps": 1e-6}],
    "adam": [{"betas": (0.8, 0.99), "eps": 1e-6}, {"lr": 3e-3, "weight_decay": 0.05}],
    "adamw": [{"betas": (0.5, 0.9), "lr": 3e-3}, {"weight_decay": 0.05}],
}


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_vectorised_optimizer_matches_separate_fits(optimizer, clf_data, monkeypatch):
    """Members whose optimizer constants differ share one vectorised update
    (per-member constants as tensors); weights, outputs and the optimizer
    state each member keeps follow torch's optimizer of its own fit."""
    from sklopt.neural._batched import _optimizer as optimizer_module

    made = []
    make = optimizer_module._make_optimizer

    def spy(*args):
        made.append(make(*args))
        return made[-1]

    monkeypatch.setattr("sklopt.neural._batched._trainer._make_optimizer", spy)
    monkeypatch.setattr(optimizer_module, "VECTOR_DEVICES", ("cpu",))
    X, y = clf_data
    params = [{"optimizer": optimizer, **p} for p in _VECTOR_MEMBERS[optimizer]]
    params.append({"optimizer": optimizer})
    batched, apart = _fit_both_params(_clf(max_epochs=4), X, y, params)
    assert made and all(isinstance(o, optimizer_module._VectorOptimizer) for o in made)
    _assert_same(batched, apart, X)
    for one, other in zip(batched, apart):
        ours = dict(one.net_.module_.named_parameters())
        theirs = dict(other.net_.module_.named_parameters())
        for name, param in theirs.items():
            expected = other.net_.optimizer_.state.get(param, {})
            got = one.net_.optimizer_.state.get(ours[name], {})
            assert set(got) == {k for k, v in expected.items() if v is not None}
            for key, value in got.items():
                assert_allclose(
                    value.double().numpy(),
                    expected[key].double().numpy(),
                    rtol=1e-4,
                    atol=2e-5,
                    err_msg=f"{name} {key}",
                )


def test_equal_constants_keep_torch_optimizer(clf_data, monkeypatch):
    """Members that share their optimizer constants train with torch's own
    (fused) optimizer, one parameter group per group of weights, also on
    devices of the vectorised update."""
    from sklopt.neural._batched import _optimizer as optimizer_module

    made = []
    make = optimizer_module._make_optimizer

    def spy(*args):
        made.append(make(*args))
        return made[-1]

    monkeypatch.setattr("sklopt.neural._batched._trainer._make_optimizer", spy)
    monkeypatch.setattr(optimizer_module, "VECTOR_DEVICES", ("cpu",))
    X, y = clf_data
    _fit_batched_only(_clf(optimizer="adam", lr=3e-3), X, y)
    assert made and all(isinstance(o, optimizer_module._StackedOptimizer) for o in made)


def test_cpu_stacks_are_cache_sized():
    """On the CPU a stack holds at most STACK_CACHE_BYTES of weights,
    gradients and optimizer state (16 bytes per parameter and member), and
    never fewer than STACK_MIN_MEMBERS members; the stacks of a split have
    equal sizes up to one member; other devices split by STACK_BYTES only."""
    from types import SimpleNamespace

    from sklopt.neural._batched import _plan
    from sklopt.neural._modules import MLPModule

    kwargs = dict(n_inputs=40, hidden_layer_sizes=(128, 128), n_outputs=2)
    module = MLPModule(**kwargs)
    n_params = sum(p.numel() for p in module.parameters())
    plans = [SimpleNamespace(recipe=SimpleNamespace(batch_size=128))] * 512
    Xf = np.zeros((10, 40), dtype=np.float32)
    chunks = _plan._chunks((MLPModule, kwargs), plans, Xf, "cpu")
    cap = max(_plan.STACK_MIN_MEMBERS, _plan.STACK_CACHE_BYTES // (16 * n_params))
    sizes = [len(c) for c in chunks]
    assert sum(sizes) == 512 and max(sizes) <= cap and max(sizes) - min(sizes) <= 1
    assert len(chunks) == -(-512 // cap)
    assert [len(c) for c in _plan._chunks((MLPModule, kwargs), plans, Xf, "meta")] == [
        512
    ]
