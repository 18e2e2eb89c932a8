"""Per-batch losses and validation scores with sample weights.

Sample weights are normalised once per fit to mean 1 over the training rows
(:func:`_normalize_weights`); the batch loss is then ``mean_i(w_i * l_i)``.
With uniform weights this is the unweighted mean loss, it is an unbiased
estimate of the full weighted loss ``sum(w_i l_i) / sum(w_i)`` for random
mini-batches, and for full-batch training integer weights ``k`` are exactly
equivalent to repeating rows ``k`` times.
"""

import numpy as np
import torch
from torch.nn import functional as F


def _normalize_weights(sample_weight):
    """Scale weights to mean 1; None when they are all equal (the faster
    unweighted code path gives the same loss).

    Parameters
    ----------
    sample_weight : ndarray of shape (n,) or None

    Returns
    -------
    weight : ndarray of shape (n,), float32, or None
    """
    if sample_weight is None or len(sample_weight) == 0:
        return None
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if np.all(sample_weight == sample_weight[0]):
        return None
    return (sample_weight / sample_weight.mean()).astype(np.float32)


def _classification_loss(logits, target, weight=None):
    """Cross-entropy on logits; ``target`` holds class indices (LongTensor of
    shape (n,)) or class probabilities (soft targets, shape (n, K))."""
    if weight is None:
        return F.cross_entropy(logits, target)
    return (F.cross_entropy(logits, target, reduction="none") * weight).mean()


def _multilabel_per_sample(logits, target):
    """Binary cross-entropy of each label's logit against 0/1 (or soft)
    indicators, summed over the labels (last axis), as scikit-learn's MLP
    sums it; shape ``target.shape[:-1]``."""
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)


def _multilabel_loss(logits, target, weight=None):
    """Multilabel loss: :func:`_multilabel_per_sample` averaged over the
    (weighted) samples."""
    per_sample = _multilabel_per_sample(logits, target)
    if weight is None:
        return per_sample.mean()
    return (per_sample * weight).mean()


def _regression_loss(output, target, weight=None):
    """Mean squared error, averaged over outputs then (weighted) samples."""
    if weight is None:
        return F.mse_loss(output, target)
    per_sample = (output - target).square().mean(dim=1)
    return (per_sample * weight).mean()


def _loss_function(classification, multilabel=False):
    """The training loss of a task, ``loss(output, target, weight=None)``:
    binary cross-entropy for multilabel targets, cross-entropy for classes,
    mean squared error for regression."""
    if multilabel:
        return _multilabel_loss
    if classification:
        return _classification_loss
    return _regression_loss


def _accuracy(logits, y, weight=None):
    correct = (logits.argmax(dim=1) == y).to(torch.float32)
    if weight is None:
        return correct.mean()
    return (correct * weight).sum() / weight.sum()


def _multilabel_accuracy(logits, y, weight=None):
    """Subset accuracy (all labels right, as scikit-learn's ``score``); a
    label is predicted where its logit is positive (probability > 0.5)."""
    correct = ((logits > 0) == (y > 0.5)).all(dim=-1).to(torch.float32)
    if weight is None:
        return correct.mean()
    return (correct * weight).sum() / weight.sum()


def _r2(output, y, weight=None):
    """R^2 averaged uniformly over outputs (sklearn's ``r2_score``)."""
    if weight is None:
        weight = torch.ones(len(y), device=y.device, dtype=y.dtype)
    w = weight[:, None]
    mean = (w * y).sum(0) / w.sum()
    numerator = (w * (y - output).square()).sum(0)
    denominator = (w * (y - mean).square()).sum(0)
    ok = denominator > 0
    score = torch.where(ok, 1 - numerator / denominator.clamp_min(1e-30), 0.0)
    score = torch.where(~ok & (numerator == 0), 1.0, score)
    return score.mean()
