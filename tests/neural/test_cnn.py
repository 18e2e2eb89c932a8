"""CNNClassifier: image shapes, CutMix, image augmentations."""

import numpy as np
import pytest
import torch

from sklopt.neural import CNNClassifier
from sklopt.neural._augment import _crop, _flip, _shift

FAST = {"device": "cpu", "random_state": 0}
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*maximum number of epochs:sklearn.exceptions.ConvergenceWarning"
)


@pytest.fixture(scope="module")
def small_digits(digits):
    X, y = digits
    return X[:300], y[:300]


def test_learns_digits(digits):
    X, y = digits
    clf = CNNClassifier((8, 16), lr=0.01, max_epochs=8, **FAST).fit(X[:1000], y[:1000])
    assert clf.score(X[1000:1400], y[1000:1400]) > 0.85


@pytest.mark.parametrize(
    "image_shape, expected",
    [
        (None, (1, 8, 8)),
        ((1, 8, 8), (1, 8, 8)),
        ((1, -1, 16), (1, 4, 16)),
        ((1, 1, -1), (1, 1, 64)),
    ],
)
def test_image_shapes_from_2d_input(image_shape, expected, small_digits):
    X, y = small_digits
    clf = CNNClassifier((4,), image_shape=image_shape, max_epochs=1, **FAST).fit(X, y)
    assert clf.image_shape_ == expected
    assert clf.n_features_in_ == 64
    assert clf.predict(X[:5]).shape == (5,)


def test_4d_input(small_digits):
    X, y = small_digits
    X4 = X.reshape(-1, 1, 8, 8)
    a = CNNClassifier((4,), max_epochs=2, **FAST).fit(X4, y)
    b = CNNClassifier((4,), max_epochs=2, **FAST).fit(X, y)
    assert a.image_shape_ == (1, 8, 8) and a.n_features_in_ == 64
    np.testing.assert_array_equal(a.predict_proba(X4), b.predict_proba(X))
    np.testing.assert_array_equal(a.predict_proba(X), a.predict_proba(X4))
    with pytest.raises(ValueError, match=r"images of shape \(1, 4, 16\)"):
        a.predict(X.reshape(-1, 1, 4, 16))


def test_multichannel_rectangular_images():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3, 6, 10)).astype(np.float32)
    y = (X[:, 0].mean(axis=(1, 2)) > 0).astype(int)
    clf = CNNClassifier((4, 4), max_epochs=2, **FAST).fit(X, y)
    assert clf.image_shape_ == (3, 6, 10)
    flat = X.reshape(60, -1)
    clf2 = CNNClassifier((4, 4), image_shape=(3, 6, 10), max_epochs=2, **FAST).fit(
        flat, y
    )
    np.testing.assert_array_equal(clf.predict_proba(X), clf2.predict_proba(flat))


@pytest.mark.parametrize(
    "params, X_shape, match",
    [
        ({}, (20, 10), "10 features, which is not a square number"),
        ({"image_shape": (1, 3, 3)}, (20, 10), "holds 9 pixel values"),
        ({"image_shape": (1, -1, 3)}, (20, 10), "does not divide"),
        ({"image_shape": (1, -1, -1)}, (20, 16), "at most one -1"),
        ({"image_shape": (4, 4)}, (20, 16), r"image_shape must be None or \(C, H, W\)"),
        ({"image_shape": (1, 2, 8)}, (20, 1, 4, 4), "does not match the shape"),
        ({"normalization": "layernorm"}, (20, 16), "'normalization' parameter"),
        (
            {"image_shape": (1, 1, 1), "normalization": "instance"},
            (20, 1),
            "more than one pixel",
        ),
        ({"augmentation": "rotate"}, (20, 16), "'augmentation' parameter"),
        ({"channels": (4, -1)}, (20, 16), "channels must hold positive"),
    ],
)
def test_bad_image_input_raises_clear_errors(params, X_shape, match):
    X = np.random.RandomState(0).normal(size=X_shape)
    y = np.arange(20) % 2
    with pytest.raises(ValueError, match=match):
        CNNClassifier(**{"channels": (2,), "max_epochs": 1, **FAST, **params}).fit(X, y)


def test_cutmix_changes_training_and_needs_no_extra_param(small_digits):
    X, y = small_digits
    plain = CNNClassifier((4,), max_epochs=2, **FAST).fit(X, y)
    mixed = CNNClassifier((4,), max_epochs=2, cutmix_alpha=1.0, **FAST).fit(X, y)
    both = CNNClassifier(
        (4,),
        max_epochs=2,
        cutmix_alpha=1.0,
        mixup_alpha=0.2,
        label_smoothing=0.1,
        **FAST,
    ).fit(X, y)
    assert not np.allclose(plain.predict_proba(X), mixed.predict_proba(X))
    assert not np.allclose(mixed.predict_proba(X), both.predict_proba(X))


@pytest.mark.parametrize(
    "augmentation", ["flip", "shift", "crop", "noise", ["flip", "shift"]]
)
def test_named_augmentations_train(augmentation, small_digits):
    X, y = small_digits
    plain = CNNClassifier((4,), max_epochs=2, **FAST).fit(X, y)
    aug = CNNClassifier((4,), max_epochs=2, augmentation=augmentation, **FAST).fit(X, y)
    assert not np.allclose(plain.predict_proba(X), aug.predict_proba(X))


def test_flip_mirrors_about_half_of_the_images():
    X = torch.rand(400, 2, 5, 7)
    out = _flip(X, torch.Generator().manual_seed(0))
    same = (out == X).flatten(1).all(1)
    mirrored = (out == X.flip(-1)).flatten(1).all(1)
    assert bool((same | mirrored).all())
    assert 0.4 < mirrored.float().mean().item() < 0.6


def test_shift_translates_each_image_by_at_most_one_pixel():
    X = torch.rand(50, 1, 6, 6) + 1  # no zeros: zeros come from the padding
    out = _shift(X, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(X, (1, 1, 1, 1))
    shifts = set()
    for i in range(50):
        matches = [
            (dy, dx)
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
            if torch.equal(out[i, 0], padded[i, 0, 1 + dy : 7 + dy, 1 + dx : 7 + dx])
        ]
        assert matches, "output is not a shift by at most one pixel"
        shifts.add(matches[0])
    assert len(shifts) > 5


def test_crop_zooms_into_the_image():
    # A horizontal ramp: cropping and resizing shrinks its range.
    X = torch.linspace(0, 1, 16).repeat(20, 1, 16, 1)
    out = _crop(X, torch.Generator().manual_seed(0))
    assert out.shape == X.shape
    span = out[:, 0, 8, -1] - out[:, 0, 8, 0]
    assert bool((span <= 1 + 1e-6).all()) and bool((span < 0.99).any())


def test_image_augmentation_runs_on_device_batches_only(small_digits):
    X, y = small_digits
    shapes = []

    def record(batch, generator):
        shapes.append(tuple(batch.shape))
        assert isinstance(generator, torch.Generator)
        return batch

    clf = CNNClassifier((4,), batch_size=100, max_epochs=1, augmentation=record, **FAST)
    clf.fit(X, y)
    clf.predict(X)
    assert shapes == [(100, 1, 8, 8)] * 3


def test_3d_input_is_one_channel(digits):
    # (n, H, W) was refused with scikit-learn's generic "dim <= 2" message.
    X, y = digits
    X_train, y_train, X_test, y_test = X[:1000], y[:1000], X[1000:1400], y[1000:1400]
    params = {"channels": (8, 16), "lr": 0.01, "max_epochs": 8, **FAST}
    flat = CNNClassifier(image_shape=(1, 8, 8), **params).fit(X_train, y_train)
    images = CNNClassifier(**params).fit(X_train.reshape(-1, 8, 8), y_train)
    assert images.image_shape_ == (1, 8, 8) and images.n_features_in_ == 64
    accuracy = images.score(X_test.reshape(-1, 8, 8), y_test)
    assert accuracy == flat.score(X_test, y_test)
    assert accuracy > 0.85
    np.testing.assert_array_equal(
        images.predict_proba(X_test[:20].reshape(-1, 8, 8)),
        images.predict_proba(X_test[:20]),
    )
    with pytest.raises(ValueError, match=r"images of shape \(1, 4, 16\)"):
        images.predict(X_test.reshape(-1, 4, 16))


@pytest.mark.parametrize(
    "image_shape, X_shape, meant",
    [
        ((8, 8, 1), (20, 64), r"image_shape=\(1, 8, 8\)"),
        ((4, 4, 3), (20, 48), r"image_shape=\(3, 4, 4\)"),
        ((4, -1, 1), (20, 16), r"image_shape=\(1, 4, 4\)"),
        (None, (20, 8, 8, 1), r"image_shape=\(1, 8, 8\)"),
    ],
)
def test_channels_last_shapes_are_refused(image_shape, X_shape, meant):
    # (8, 8, 1) was silently read as 8 channels of 8 x 1 images.
    X = np.random.RandomState(0).normal(size=X_shape)
    y = np.arange(20) % 2
    clf = CNNClassifier((2,), image_shape=image_shape, max_epochs=1, **FAST)
    with pytest.raises(ValueError, match=r"channels-last \(H, W, C\)") as exc:
        clf.fit(X, y)
    assert "channels-first (C, H, W)" in str(exc.value)
    assert exc.match(meant)


@pytest.mark.parametrize(
    "image_shape, n_features", [((16, 4, 4), 256), ((3, 8, 8), 192), ((1, 1, -1), 64)]
)
def test_channels_first_shapes_are_kept(image_shape, n_features):
    X = np.random.RandomState(0).normal(size=(20, n_features))
    y = np.arange(20) % 2
    clf = CNNClassifier((2,), image_shape=image_shape, max_epochs=1, **FAST).fit(X, y)
    assert clf.image_shape_[0] == image_shape[0]
    assert np.prod(clf.image_shape_) == n_features
