"""Portable state of a fitted neural estimator: ``net_`` as numpy arrays in
pickles, rebuilt on loading (see ``docs/dev/architecture.rst``)."""

import copy

import numpy as np
import torch
from skorch.history import History

from sklopt.neural._device import _RandomStreams
from sklopt.neural._net import _make_net
from sklopt.neural._rules import _warn
from sklopt.neural._spec import _FitResult

#: Version of the state layout, stored with it.
STATE_VERSION = 1


def _to_numpy(value):
    """``value`` with every tensor (in dicts, lists, tuples) as a numpy array."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, dict):
        return {key: _to_numpy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_numpy(item) for item in value)
    return value


def _to_tensor(value):
    """Inverse of :func:`_to_numpy` (every numpy array becomes a tensor)."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value))
    if isinstance(value, dict):
        return {key: _to_tensor(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_tensor(item) for item in value)
    return value


def _optimizer_state(optimizer):
    """The optimizer's ``state_dict`` with per-parameter states as a list
    (index = parameter number) and tensors as numpy arrays."""
    state = optimizer.state_dict()
    n_params = sum(len(group["params"]) for group in state["param_groups"])
    return {
        "state": [_to_numpy(state["state"].get(i)) for i in range(n_params)],
        "param_groups": _to_numpy(state["param_groups"]),
    }


def _load_optimizer_state(optimizer, saved):
    per_param = {
        i: _to_tensor(value) for i, value in enumerate(saved["state"]) if value
    }
    optimizer.load_state_dict(
        {"state": per_param, "param_groups": copy.deepcopy(saved["param_groups"])}
    )


def _streams_state(streams):
    state = streams.__getstate__()
    state["torch_states"] = _to_numpy(state["torch_states"])
    return state


def _load_streams(saved):
    streams = _RandomStreams.__new__(_RandomStreams)
    state = dict(saved)
    state["torch_states"] = {
        name: torch.from_numpy(np.array(value, dtype=np.uint8))
        for name, value in saved["torch_states"].items()
    }
    streams.__setstate__(state)
    return streams


def _net_state(net):
    """The portable state of a fitted :class:`~sklopt.neural._net._SkloptNet`.

    Returns
    -------
    state : dict
        ``module`` (weights), ``optimizer``, ``history`` (list of dicts),
        ``streams`` (random generators), ``config`` (the hyperparameters the
        net was built from), ``stop_reason``, ``device`` and ``version``.
    """
    return {
        "version": STATE_VERSION,
        "module": _to_numpy(dict(net.module_.state_dict())),
        "optimizer": _optimizer_state(net.optimizer_),
        "history": _to_numpy([dict(row) for row in net.history]),
        "streams": _streams_state(net.streams_),
        "config": dict(net.sklopt_config_),
        "stop_reason": getattr(net, "stop_reason_", None),
        "device": str(net.device),
    }


def _available_device(device, owner):
    """``device`` if usable here, else the CPU (with a warning)."""
    target = torch.device(device)
    if target.type != "cuda":
        return device
    if torch.cuda.is_available():
        if target.index is not None and target.index >= torch.cuda.device_count():
            return "cuda"
        return device
    _warn(
        f"{owner} was fitted on {device!r}, which is not available on this "
        "machine; it is loaded on the CPU. Set device='cpu' to continue "
        "training it here.",
        UserWarning,
    )
    return "cpu"


def _restore_net(estimator, state):
    """Rebuild ``estimator.net_`` (and ``device_``, ``history_``) from
    :func:`_net_state`, on the saved device or on the CPU without CUDA."""
    device = _available_device(state["device"], type(estimator).__name__)
    config = state["config"]
    # The net is built from the hyperparameters it was fitted with, which
    # set_params may have changed since.
    builder = copy.copy(estimator)
    vars(builder).update(config)
    streams = _load_streams(state["streams"])
    spec = builder._net_spec(device, config["early_stopping"])
    net = _make_net(spec, streams, config)
    net.module_.load_state_dict(_to_tensor(state["module"]))
    _load_optimizer_state(net.optimizer_, state["optimizer"])
    net.history_ = History(copy.deepcopy(state["history"]))
    net.stop_reason_ = state["stop_reason"]
    estimator._apply_result(
        _FitResult(
            net=net,
            stop_reason=net.stop_reason_,
            best_epoch=getattr(estimator, "best_epoch_", None),
        )
    )
