"""Soft targets: label smoothing, mixup (lambda ~ Beta(alpha, alpha)) and
CutMix (box of side ratio sqrt(1 - lambda), labels mixed by clipped area),
in the order smoothing -> mixing."""

import numpy as np
import pytest
import torch
from scipy import stats

from sklopt.neural._device import _RandomStreams
from sklopt.neural._mixing import (
    _cutmix,
    _cutmix_box,
    _draw_mixup,
    _mix_batch,
    _smooth_targets,
)
from sklopt.neural._net import _prepare_batch, _TrainingRecipe


def test_label_smoothing_targets():
    targets = _smooth_targets(torch.tensor([0, 2]), 4, 0.2)
    expected = np.array([[0.85, 0.05, 0.05, 0.05], [0.05, 0.05, 0.85, 0.05]])
    np.testing.assert_allclose(targets.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(targets.sum(1).numpy(), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(
        _smooth_targets(torch.tensor([1]), 3).numpy(), [[0.0, 1.0, 0.0]]
    )


@pytest.mark.parametrize("alpha", [0.2, 1.0])
def test_mixup_lambda_follows_beta(alpha):
    rng = np.random.default_rng(0)
    lams = np.array([_draw_mixup(8, alpha, rng)[0] for _ in range(4000)])
    # Kolmogorov-Smirnov against Beta(alpha, alpha): with 4000 draws the
    # statistic of a correct sampler stays below 0.03 (p > 0.1).
    assert stats.kstest(lams, stats.beta(alpha, alpha).cdf).statistic < 0.03


def test_mixup_mixes_inputs_targets_and_weights():
    rng = np.random.default_rng(1)
    X = torch.arange(12, dtype=torch.float32).reshape(4, 3)
    T = _smooth_targets(torch.tensor([0, 1, 2, 0]), 3)
    w = torch.tensor([1.0, 2.0, 3.0, 4.0])
    Xm, Tm, wm = _mix_batch(X, T, w, mixup_alpha=0.4, cutmix_alpha=0.0, rng=rng)
    lam, perm = _draw_mixup(4, 0.4, np.random.default_rng(1))
    for out, src in [(Xm, X), (Tm, T), (wm, w)]:
        torch.testing.assert_close(out, lam * src + (1 - lam) * src[perm])
    np.testing.assert_allclose(Tm.sum(1).numpy(), 1.0, rtol=1e-6)


@pytest.mark.parametrize("lam", [0.3, 0.9])
def test_cutmix_box_has_side_ratio_sqrt_one_minus_lambda(lam):
    rng = np.random.default_rng(0)
    ratio = np.sqrt(1 - lam)
    seen_clipped = False
    for _ in range(200):
        top, bottom, left, right = _cutmix_box(20, 30, lam, rng)
        assert 0 <= top <= bottom <= 20 and 0 <= left <= right <= 30
        # unclipped sides are 2 * (int(side * ratio) // 2)
        full_h, full_w = 2 * (int(20 * ratio) // 2), 2 * (int(30 * ratio) // 2)
        assert bottom - top <= full_h and right - left <= full_w
        seen_clipped |= (bottom - top) < full_h
        if 0 < top and bottom < 20 and 0 < left and right < 30:
            assert (bottom - top, right - left) == (full_h, full_w)
    assert seen_clipped


def test_cutmix_pastes_box_and_mixes_labels_by_clipped_area():
    X = torch.arange(2 * 1 * 4 * 5, dtype=torch.float32).reshape(2, 1, 4, 5)
    T = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    perm = torch.tensor([1, 0])
    box = (0, 2, 3, 5)  # a 2 x 2 box clipped at the top-right corner
    Xc, Tc, wc, lam = _cutmix(X, T, None, box, perm)
    assert lam == pytest.approx(1 - 4 / 20)
    assert torch.equal(Xc[0, :, 0:2, 3:5], X[1, :, 0:2, 3:5])
    mask = torch.ones(4, 5, dtype=torch.bool)
    mask[0:2, 3:5] = False
    assert torch.equal(Xc[0, 0][mask], X[0, 0][mask])
    torch.testing.assert_close(Tc, torch.tensor([[0.8, 0.2], [0.2, 0.8]]))
    assert wc is None
    assert torch.equal(X[0, 0, 0, 3], torch.tensor(3.0))  # input not modified


def test_cutmix_and_mixup_together_switch_per_batch():
    rng = np.random.default_rng(0)
    X = torch.rand(6, 1, 8, 8)
    T = _smooth_targets(torch.arange(6) % 2, 2)
    kinds = set()
    for _ in range(40):
        Xm, _, _ = _mix_batch(X, T, None, mixup_alpha=1.0, cutmix_alpha=1.0, rng=rng)
        # CutMix leaves pixels equal to one of the two images; mixup blends.
        pure = bool(torch.isin(Xm[0], X).all())
        kinds.add(pure)
    assert kinds == {True, False}


def test_batch_targets_are_smoothed_then_mixed():
    recipe = _TrainingRecipe(
        classification=True,
        batch_size=4,
        n_classes=3,
        label_smoothing=0.3,
        mixup_alpha=0.5,
    )
    streams = _RandomStreams(7)
    y = torch.tensor([0, 1, 2, 1])
    X = torch.rand(4, 2)
    _, target, _ = _prepare_batch(X, y, None, recipe, streams)
    lam, perm = _draw_mixup(4, 0.5, _RandomStreams(7).mixing)
    smooth = _smooth_targets(y, 3, 0.3)
    torch.testing.assert_close(target, lam * smooth + (1 - lam) * smooth[perm])
    # Both steps are affine with weights summing to one, so they commute: the
    # API order (smoothing first) gives the same targets as the reverse one.
    hard = _smooth_targets(y, 3)
    mixed_first = lam * hard + (1 - lam) * hard[perm]
    torch.testing.assert_close(target, mixed_first * 0.7 + 0.1)


def test_hard_targets_stay_integer_labels_without_soft_targets():
    recipe = _TrainingRecipe(classification=True, batch_size=2, n_classes=3)
    y = torch.tensor([0, 2])
    _, target, _ = _prepare_batch(torch.rand(2, 2), y, None, recipe, _RandomStreams(0))
    assert target is y  # F.cross_entropy on class indices: the fast path
