"""The loss of a fitted neural estimator as a function of its flat
parameter vector (for sharpness and other loss-landscape measures).

The loss is the unregularised training objective on the given data: mean
cross-entropy on the hard labels (classifiers) or mean squared error
(regressors), optionally sample-weighted, with the module in evaluation mode
(no dropout, normalization layers use their running statistics).
"""

import numpy as np
import torch
from torch.func import functional_call

from sklopt.neural._losses import (
    _classification_loss,
    _normalize_weights,
    _regression_loss,
)


def _flat_parameters(estimator):
    """The trainable parameters of ``estimator.net_.module_`` as one float64
    vector, in ``named_parameters()`` order.

    Parameters
    ----------
    estimator : fitted sklopt neural estimator

    Returns
    -------
    theta : ndarray of shape (n_parameters,)
    """
    module = estimator.net_.module_
    return np.concatenate(
        [p.detach().cpu().double().numpy().ravel() for p in module.parameters()]
    )


def _flat_loss_function(estimator, X, y, sample_weight=None):
    """Return the training loss on ``(X, y)`` as a function of the flat
    parameter vector, with its gradient.

    Parameters
    ----------
    estimator : fitted MLPClassifier, MLPRegressor or CNNClassifier
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    sample_weight : array-like of shape (n_samples,) or None

    Returns
    -------
    fun : callable
        ``fun(theta) -> (loss, grad)`` with ``theta`` and ``grad`` float64
        arrays of shape (n_parameters,) and ``loss`` a float; usable as
        ``scipy.optimize.minimize(fun, theta0, jac=True)``. The estimator is
        not modified.
    theta0 : ndarray of shape (n_parameters,)
        The fitted parameters.
    """
    X, target, weight = estimator._validate_training_data(
        X, y, sample_weight, reset=False
    )
    module = estimator.net_.module_
    device = next(module.parameters()).device
    X = torch.from_numpy(X).to(device)
    target = target.to(device)
    weight = _normalize_weights(weight)
    weight = None if weight is None else torch.from_numpy(weight).to(device)
    loss_fn = _classification_loss if estimator._classification else _regression_loss
    names = [name for name, _ in module.named_parameters()]
    shapes = [p.shape for _, p in module.named_parameters()]
    sizes = [int(np.prod(shape)) for shape in shapes]
    buffers = dict(module.named_buffers())

    def fun(theta):
        flat = torch.tensor(
            theta, dtype=torch.float32, device=device, requires_grad=True
        )
        params = {
            name: piece.view(shape)
            for name, piece, shape in zip(names, torch.split(flat, sizes), shapes)
        }
        was_training = module.training
        module.eval()
        try:
            loss = loss_fn(
                functional_call(module, {**params, **buffers}, (X,)), target, weight
            )
            (grad,) = torch.autograd.grad(loss, flat)
        finally:
            module.train(was_training)
        return loss.item(), grad.double().cpu().numpy()

    return fun, _flat_parameters(estimator)
