"""The loss of a fitted network as a function of its flat parameter vector."""

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch.func import functional_call

from sklopt.neural._base import _BaseNeural
from sklopt.neural._losses import (
    _classification_loss,
    _normalize_weights,
    _regression_loss,
)
from sklopt.utils._validation import validate_params


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


@validate_params(
    {
        "estimator": "no_validation",
        "X": ["array-like"],
        "y": ["array-like"],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def flat_loss_function(estimator, X, y, sample_weight=None):
    """The training loss of a fitted network as a function of its parameters.

    ``fun(theta)`` gives the loss and its gradient at the flat parameter
    vector ``theta``. The loss is the unregularised training objective on
    ``(X, y)``: mean cross-entropy on the labels (classifiers) or mean
    squared error (regressors), sample-weighted when ``sample_weight`` is
    given, with the module in evaluation mode (no dropout; normalization
    layers use their running statistics). Loss-landscape measures such as
    :func:`sklopt.metrics.sharpness` are built on it.

    Parameters
    ----------
    estimator : fitted MLPClassifier, MLPRegressor or CNNClassifier
        The network; it is not modified.
    X : array-like of shape (n_samples, n_features)
        Inputs (for CNNClassifier also images).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the per-sample losses.

    Returns
    -------
    fun : callable
        ``fun(theta) -> (loss, grad)`` with ``theta`` and ``grad`` float64
        arrays of shape (n_parameters,) and ``loss`` a float, the parameters
        in the order of ``estimator.net_.module_.parameters()``; usable as
        ``scipy.optimize.minimize(fun, theta0, jac=True)``.
    theta0 : ndarray of shape (n_parameters,)
        The fitted parameters.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklopt.neural import MLPClassifier, flat_loss_function
    >>> X, y = make_classification(n_samples=60, random_state=0)
    >>> clf = MLPClassifier((4,), max_epochs=5, device="cpu", random_state=0)
    >>> fun, theta0 = flat_loss_function(clf.fit(X, y), X, y)
    >>> loss, grad = fun(theta0)
    >>> grad.shape == theta0.shape
    True
    """
    if not isinstance(estimator, _BaseNeural):
        raise TypeError(
            "flat_loss_function needs a fitted sklopt neural estimator "
            "(MLPClassifier, MLPRegressor, CNNClassifier); got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator)
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
