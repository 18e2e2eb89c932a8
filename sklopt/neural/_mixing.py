"""Soft targets: label smoothing, mixup and CutMix.

Per training batch the targets are built in this order (API.md): integer
labels -> one-hot -> label smoothing -> mixup or CutMix mixing. Each function
takes its random source explicitly (a :class:`numpy.random.Generator`, the
``mixing`` stream), so that a batched trainer can give every member its own
draws.
"""

import numpy as np
import torch
from torch.nn import functional as F


def _smooth_targets(y, n_classes, label_smoothing=0.0):
    """Soft targets ``(1 - eps) * onehot(y) + eps / K``.

    Parameters
    ----------
    y : LongTensor of shape (n,)
        Encoded labels in ``[0, n_classes)``.
    n_classes : int
    label_smoothing : float in [0, 1)

    Returns
    -------
    targets : FloatTensor of shape (n, n_classes)
    """
    targets = F.one_hot(y, n_classes).to(torch.float32)
    if label_smoothing:
        targets = targets * (1.0 - label_smoothing) + label_smoothing / n_classes
    return targets


def _smooth_indicators(y, label_smoothing=0.0):
    """Soft multilabel targets ``(1 - eps) * y + eps / 2``: each label is a
    two-class problem smoothed as :func:`_smooth_targets` smooths one.

    Parameters
    ----------
    y : FloatTensor of shape (..., n_labels)
        0/1 label indicators.
    label_smoothing : float in [0, 1)

    Returns
    -------
    targets : FloatTensor of the shape of ``y``
    """
    if not label_smoothing:
        return y
    return y * (1.0 - label_smoothing) + label_smoothing / 2


def _draw_mixup(n, alpha, rng):
    """Draw mixup's ``lambda ~ Beta(alpha, alpha)`` and the pairing
    permutation of a batch of ``n`` samples (in that order)."""
    lam = float(rng.beta(alpha, alpha))
    perm = rng.permutation(n)
    return lam, perm


def _cutmix_box(height, width, lam, rng):
    """Draw CutMix's box (Yun et al., 2019).

    The box has side ratio ``sqrt(1 - lam)``; its centre is drawn uniformly
    over the pixels (row first), and it is clipped to the image.

    Returns
    -------
    box : tuple (top, bottom, left, right)
        Slice bounds along H and W.
    """
    ratio = np.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * ratio), int(width * ratio)
    cy, cx = int(rng.integers(height)), int(rng.integers(width))
    top, bottom = np.clip([cy - cut_h // 2, cy + cut_h // 2], 0, height)
    left, right = np.clip([cx - cut_w // 2, cx + cut_w // 2], 0, width)
    return int(top), int(bottom), int(left), int(right)


def _mix(a, b, lam):
    return a * lam + b * (1.0 - lam)


def _mixup(X, targets, weight, lam, perm):
    """Mix a batch with its permutation: ``x = lam x_i + (1 - lam) x_perm(i)``,
    targets and sample weights likewise.

    Parameters
    ----------
    X : Tensor of shape (n, ...)
    targets : FloatTensor of shape (n, k)
    weight : Tensor of shape (n,) or None
    lam : float
    perm : LongTensor of shape (n,)

    Returns
    -------
    X, targets, weight : mixed tensors (weight stays None when None)
    """
    X = _mix(X, X[perm], lam)
    targets = _mix(targets, targets[perm], lam)
    if weight is not None:
        weight = _mix(weight, weight[perm], lam)
    return X, targets, weight


def _cutmix(X, targets, weight, box, perm):
    """Paste ``box`` of the permuted images into the batch; mix targets and
    weights by the box's share of the image, ``lam = 1 - box area / (H W)``.

    Parameters
    ----------
    X : Tensor of shape (n, C, H, W)
    targets : FloatTensor of shape (n, k)
    weight : Tensor of shape (n,) or None
    box : tuple (top, bottom, left, right)
    perm : LongTensor of shape (n,)

    Returns
    -------
    X, targets, weight, lam : the mixed tensors and the area-adjusted lambda
    """
    top, bottom, left, right = box
    height, width = X.shape[-2:]
    lam = 1.0 - (bottom - top) * (right - left) / (height * width)
    X = X.clone()
    X[:, :, top:bottom, left:right] = X[perm, :, top:bottom, left:right]
    targets = _mix(targets, targets[perm], lam)
    if weight is not None:
        weight = _mix(weight, weight[perm], lam)
    return X, targets, weight, lam


def _mix_batch(X, targets, weight, *, mixup_alpha, cutmix_alpha, rng):
    """Apply mixup or CutMix to one batch.

    With both alphas > 0, each batch uses CutMix with probability 1/2 (one
    ``rng.random()`` draw first), else mixup.

    Parameters
    ----------
    X : Tensor of shape (n, ...) (images (n, C, H, W) for CutMix)
    targets : FloatTensor of shape (n, k)
    weight : Tensor of shape (n,) or None
    mixup_alpha, cutmix_alpha : float
        Beta parameters; 0 turns the method off.
    rng : numpy.random.Generator

    Returns
    -------
    X, targets, weight : mixed tensors
    """
    use_cutmix = cutmix_alpha > 0
    if use_cutmix and mixup_alpha > 0:
        use_cutmix = rng.random() < 0.5
    alpha = cutmix_alpha if use_cutmix else mixup_alpha
    lam, perm = _draw_mixup(len(X), alpha, rng)
    perm = torch.from_numpy(perm).to(X.device)
    if use_cutmix:
        box = _cutmix_box(X.shape[-2], X.shape[-1], lam, rng)
        X, targets, weight, _ = _cutmix(X, targets, weight, box, perm)
        return X, targets, weight
    return _mixup(X, targets, weight, lam, perm)
