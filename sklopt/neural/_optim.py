"""Optimizer-name registry, parameter groups and learning-rate schedules.

:func:`_resolve_optimizer` is the single place that turns sklopt's optimizer
hyperparameters into a torch optimizer class and its keyword arguments; the
estimators, :class:`~sklopt.inspection.OptimizerPathDisplay` and the batched
ensemble trainer all go through it so that they share the same update rules.
"""

import inspect

import torch
from skorch.callbacks import LRScheduler

#: Valid optimizer names, in the order of the course material.
OPTIMIZERS = (
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "adadelta",
    "rmsprop",
    "adam",
    "adamw",
)

#: Valid ``lr_schedule`` names.
LR_SCHEDULES = ("step", "cosine", "plateau")

# name -> (torch class, default lr, default constants); None lr never occurs.
_REGISTRY = {
    "sgd": (torch.optim.SGD, 0.01, {}),
    "momentum": (torch.optim.SGD, 0.01, {"momentum": 0.9}),
    "nesterov": (torch.optim.SGD, 0.01, {"momentum": 0.9}),
    "adagrad": (torch.optim.Adagrad, 0.01, {"eps": 1e-10}),
    "adadelta": (torch.optim.Adadelta, 1.0, {"rho": 0.9, "eps": 1e-6}),
    "rmsprop": (
        torch.optim.RMSprop,
        0.001,
        {"rho": 0.99, "eps": 1e-8, "momentum": 0.0},
    ),
    "adam": (torch.optim.Adam, 0.001, {"betas": (0.9, 0.999), "eps": 1e-8}),
    "adamw": (torch.optim.AdamW, 0.001, {"betas": (0.9, 0.999), "eps": 1e-8}),
}


def _default_lr(optimizer):
    """The learning rate used for ``lr=None``.

    Parameters
    ----------
    optimizer : str or torch optimizer class

    Returns
    -------
    lr : float or None
        None for a torch class: the class's own default is used.
    """
    if isinstance(optimizer, str):
        return _REGISTRY[optimizer][1]
    return None


def _resolve_optimizer(
    optimizer,
    *,
    lr=None,
    momentum=None,
    betas=None,
    rho=None,
    eps=None,
    weight_decay=0.0,
):
    """Map sklopt's optimizer hyperparameters to a torch optimizer.

    ``None`` constants take each optimizer's usual value (the table in
    ``docs/user_guide/optimizers.rst``). Constants an optimizer does not have
    are ignored (``momentum`` for Adam, for example), so that a grid over
    optimizers can share one set of constants.

    Parameters
    ----------
    optimizer : str or subclass of torch.optim.Optimizer
        One of :data:`OPTIMIZERS` or a torch optimizer class. For a class,
        only the constants that are not None are passed (``rho`` as ``rho``),
        plus ``weight_decay`` when it is not zero.
    lr : float or None
        Learning rate; None is the optimizer's default (Adadelta: 1.0).
    momentum : float or None
        Momentum coefficient (``'momentum'``, ``'nesterov'``: default 0.9;
        ``'rmsprop'``: default 0).
    betas : tuple of two floats or None
        Adam/AdamW moment decay rates, default (0.9, 0.999).
    rho : float or None
        Decay rate of the squared-gradient average (``'rmsprop'``: torch's
        ``alpha``, default 0.99; ``'adadelta'``: default 0.9).
    eps : float or None
        Numerical constant (Adam/AdamW/RMSprop 1e-8, Adagrad 1e-10,
        Adadelta 1e-6).
    weight_decay : float
        L2 coefficient alpha (gradient alpha * W); for ``'adamw'`` the
        decoupled decay W <- W - lr * alpha * W.

    Returns
    -------
    optimizer_class : type
        A subclass of :class:`torch.optim.Optimizer`.
    kwargs : dict
        Keyword arguments for ``optimizer_class(params, **kwargs)``.
    """
    if not isinstance(optimizer, str):
        if not (
            inspect.isclass(optimizer) and issubclass(optimizer, torch.optim.Optimizer)
        ):
            raise ValueError(
                f"optimizer must be one of {OPTIMIZERS} or a subclass of "
                f"torch.optim.Optimizer; got {optimizer!r}."
            )
        given = {"lr": lr, "momentum": momentum, "betas": betas, "rho": rho, "eps": eps}
        kwargs = {key: value for key, value in given.items() if value is not None}
        if weight_decay:
            kwargs["weight_decay"] = weight_decay
        return optimizer, kwargs
    if optimizer not in _REGISTRY:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {optimizer!r}.")
    cls, default_lr, defaults = _REGISTRY[optimizer]
    kwargs = {"lr": default_lr if lr is None else lr, "weight_decay": weight_decay}
    if optimizer in ("momentum", "nesterov", "rmsprop"):
        kwargs["momentum"] = defaults["momentum"] if momentum is None else momentum
    if optimizer == "nesterov":
        if kwargs["momentum"] <= 0:
            raise ValueError(
                f"optimizer='nesterov' needs momentum > 0; got momentum={momentum}."
            )
        kwargs["nesterov"] = True
    if "betas" in defaults:
        kwargs["betas"] = defaults["betas"] if betas is None else tuple(betas)
    if "rho" in defaults:
        key = "alpha" if optimizer == "rmsprop" else "rho"
        kwargs[key] = defaults["rho"] if rho is None else rho
    if "eps" in defaults:
        kwargs["eps"] = defaults["eps"] if eps is None else eps
    return cls, kwargs


def _decayed_parameters(module):
    """The parameters that weight decay, L1 and weight noise act on.

    These are the weights of the linear and convolutional layers (sklearn's
    ``coefs_``); biases and normalization scales/shifts are left alone. A
    module may override the choice with a ``_decayed_parameters()`` method.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    params : list of torch.nn.Parameter
    """
    if hasattr(module, "_decayed_parameters"):
        return list(module._decayed_parameters())
    layer_types = (torch.nn.Linear, torch.nn.modules.conv._ConvNd)
    return [
        sub.weight
        for sub in module.modules()
        if isinstance(sub, layer_types) and sub.weight.requires_grad
    ]


def _param_groups(module, weight_decay=0.0):
    """Split ``module``'s parameters into a decayed and a non-decayed group.

    Parameters
    ----------
    module : torch.nn.Module
    weight_decay : float
        Coefficient of the decayed group; the other group gets 0. When it is
        0, one group without a ``weight_decay`` key is returned, so optimizer
        classes without that argument work.

    Returns
    -------
    groups : list of dict
        Parameter groups for a torch optimizer.
    """
    params = [p for p in module.parameters() if p.requires_grad]
    if not weight_decay:
        return [{"params": params}]
    decayed = _decayed_parameters(module)
    decayed_ids = {id(p) for p in decayed}
    others = [p for p in params if id(p) not in decayed_ids]
    groups = [{"params": decayed, "weight_decay": weight_decay}]
    if others:
        groups.append({"params": others, "weight_decay": 0.0})
    return groups


class _LRScheduler(LRScheduler):
    """skorch's LRScheduler that also resumes after warm starts.

    torch schedulers created with ``last_epoch >= 0`` need ``initial_lr`` in
    the parameter groups; a continued fit starts its schedule from the
    current learning rate.
    """

    def _get_scheduler(self, net, policy, **scheduler_kwargs):
        for group in net.optimizer_.param_groups:
            group.setdefault("initial_lr", group["lr"])
        return super()._get_scheduler(net, policy, **scheduler_kwargs)


def _lr_scheduler(name, *, max_epochs, patience, tol, monitor):
    """Build the skorch callback of an ``lr_schedule`` name.

    ``'step'`` multiplies the learning rate by 0.1 every ``max(1, max_epochs
    // 3)`` epochs; ``'cosine'`` anneals it to 0 over ``max_epochs`` epochs;
    ``'plateau'`` multiplies it by 0.1 after ``max(1, patience // 2)`` epochs
    without an improvement of ``monitor`` by more than ``tol``.

    Parameters
    ----------
    name : {'step', 'cosine', 'plateau'}
    max_epochs, patience : int
    tol : float
    monitor : str
        History key watched by ``'plateau'`` (``'valid_loss'`` or
        ``'train_loss'``).

    Returns
    -------
    callback : skorch.callbacks.LRScheduler
    """
    if name == "step":
        return _LRScheduler(
            torch.optim.lr_scheduler.StepLR,
            step_size=max(1, max_epochs // 3),
            gamma=0.1,
            event_name=None,
        )
    if name == "cosine":
        return _LRScheduler(
            torch.optim.lr_scheduler.CosineAnnealingLR,
            T_max=max_epochs,
            event_name=None,
        )
    return _LRScheduler(
        torch.optim.lr_scheduler.ReduceLROnPlateau,
        monitor=monitor,
        factor=0.1,
        patience=max(1, patience // 2),
        threshold=tol,
        threshold_mode="abs",
        event_name=None,
    )
