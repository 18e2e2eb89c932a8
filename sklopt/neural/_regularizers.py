"""Regularizers that act inside the training step: input noise, weight
noise, the L1 penalty and gradient clipping.

Weight decay (L2) is the optimizer's ``weight_decay`` (see
:mod:`sklopt.neural._optim`); early stopping, dropout, normalization,
augmentation and the soft targets live in their own modules. Every random
function takes an explicit ``torch.Generator``.
"""

import torch


def _add_input_noise(X, std, generator):
    """Return ``X + N(0, std^2)`` noise drawn from ``generator``."""
    noise = torch.randn(X.shape, generator=generator, device=X.device, dtype=X.dtype)
    return X + noise * std


@torch.no_grad()
def _perturb_weights(params, std, generator):
    """Add ``N(0, std^2)`` noise to ``params`` in place; return their clean
    copies for :func:`_restore_weights`."""
    saved = [p.detach().clone() for p in params]
    for p in params:
        p.add_(
            torch.randn(p.shape, generator=generator, device=p.device, dtype=p.dtype),
            alpha=std,
        )
    return saved


@torch.no_grad()
def _restore_weights(params, saved):
    """Copy the clean weights saved by :func:`_perturb_weights` back."""
    for p, clean in zip(params, saved):
        p.copy_(clean)


@torch.no_grad()
def _add_l1_gradient(params, l1):
    """Add the (sub)gradient ``l1 * sign(W)`` of the penalty ``l1 * sum |W|``
    to the gradients of ``params``."""
    for p in params:
        if p.grad is not None:
            p.grad.add_(torch.sign(p), alpha=l1)


def _l1_penalty(params, l1):
    """The penalty ``l1 * sum |W|`` over ``params`` (a scalar tensor)."""
    return l1 * sum(p.abs().sum() for p in params)


def _clip_gradients(params, max_norm):
    """Rescale the gradients so that their global L2 norm is at most
    ``max_norm`` (:func:`torch.nn.utils.clip_grad_norm_`)."""
    return torch.nn.utils.clip_grad_norm_(params, max_norm)
