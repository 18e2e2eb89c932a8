"""One vectorised optimizer update for stacked members whose optimizer
constants (learning rate, weight decay, momentum, betas, rho, eps) differ.

Each constant is a per-member tensor broadcast over the member dimension,
so a step is one update per parameter tensor whatever the number of
distinct settings; the formulas are torch's (``torch.optim.SGD``,
``Adagrad``, ``Adadelta``, ``RMSprop``, ``Adam``, ``AdamW`` with their
default flags), element by element, so each member's weights follow its own
fit's to float32 rounding.
"""

import torch

from sklopt.neural._batched._layers import _along, _member_value
from sklopt.neural._rules import _optimizer_arguments

#: optimizer name -> per-parameter state keys of torch's optimizer (the
#: step count first where torch keeps one)
_STATE_KEYS = {
    "sgd": (),
    "momentum": ("momentum_buffer",),
    "nesterov": ("momentum_buffer",),
    "adagrad": ("step", "sum"),
    "adadelta": ("step", "square_avg", "acc_delta"),
    "rmsprop": ("step", "square_avg", "momentum_buffer"),
    "adam": ("step", "exp_avg", "exp_avg_sq"),
    "adamw": ("step", "exp_avg", "exp_avg_sq"),
}


class _VectorOptimizer:
    """The members' optimizer over a stacked model, with per-member
    constants as tensors (the interface of
    :class:`~sklopt.neural._batched._optimizer._StackedOptimizer`).

    Parameters
    ----------
    specs : list of _FitSpec
        One per member, in stack order; the optimizer name is the same for
        all.
    stack : _Stack
    """

    def __init__(self, specs, stack):
        self.name = specs[0].optimizer
        self.stack = stack
        device = next(iter(stack.params.values())).device
        self.device = device
        columns = {}
        for spec in specs:
            _, kwargs, weight_decay = _optimizer_arguments(
                spec.optimizer, spec.optimizer_constants
            )
            beta1, beta2 = kwargs.get("betas", (0.0, 0.0))
            values = {
                "lr": kwargs["lr"],
                "weight_decay": weight_decay,
                "momentum": kwargs.get("momentum", 0.0),
                "beta1": beta1,
                "beta2": beta2,
                "rho": kwargs.get("alpha", kwargs.get("rho", 0.0)),
                "eps": kwargs.get("eps", 0.0),
            }
            for key, value in values.items():
                columns.setdefault(key, []).append(float(value))
        self.member_lrs = columns.pop("lr")
        self.momenta = columns["momentum"]
        #: float64 constants (bias corrections, learning rates) and their
        #: float32 copies for the element-wise updates
        self.c64 = {
            key: torch.tensor(value, dtype=torch.float64, device=device)
            for key, value in columns.items()
        }
        self._set_constants()
        self.lr64 = torch.tensor(self.member_lrs, dtype=torch.float64, device=device)
        self.steps = torch.zeros(len(specs), dtype=torch.float64, device=device)
        #: the members that took at least one step (their state exists)
        self.stepped = [False] * len(specs)
        self.state = {
            name: {
                key: torch.zeros_like(value)
                for key in _STATE_KEYS[self.name]
                if key != "step"
            }
            for name, value in stack.params.items()
        }
        self.decayed = set(stack.decayed)
        self.decays = any(columns["weight_decay"])

    def _set_constants(self):
        self.c32 = {key: value.float() for key, value in self.c64.items()}
        self.one_minus = {
            key: (1 - self.c64[key]).float() for key in ("beta1", "beta2", "rho")
        }

    # ---- learning rates ------------------------------------------------------
    def lrs(self):
        """The current learning rate of each member."""
        return list(self.member_lrs)

    def set_lrs(self, lrs):
        """Set each member's learning rate."""
        lrs = [float(lr) for lr in lrs]
        if lrs == self.member_lrs:
            return
        self.member_lrs = lrs
        self.lr64 = torch.tensor(lrs, dtype=torch.float64, device=self.device)

    # ---- the update ----------------------------------------------------------
    def step(self, grads, start):
        """Update members ``start:`` with their gradients
        (``{name: (K - start, *shape)}``); the members before ``start`` keep
        their weights and state."""
        if not self.stepped[start]:
            for k in range(start, len(self.stepped)):
                self.stepped[k] = True
        self.steps[start:] += 1
        c = {key: value[start:] for key, value in self.c32.items()}
        one_minus = {key: value[start:] for key, value in self.one_minus.items()}
        lr64 = self.lr64[start:]
        lr = lr64.float()
        scales = self._scales(start, lr64)
        for name, grad in grads.items():
            # (members, n) views: the per-member constants broadcast along
            # one contiguous row of each member
            param = self.stack.params[name][start:].view(len(grad), -1)
            grad = grad.reshape(len(grad), -1)
            state = {
                key: value[start:].view(len(grad), -1)
                for key, value in self.state[name].items()
            }
            if self.name == "adamw" and name in self.decayed and self.decays:
                param.mul_(_along(scales["decay"], param))
            elif name in self.decayed and self.decays:
                grad = torch.addcmul(grad, param, _along(c["weight_decay"], param))
            update = getattr(self, "_" + self.name.replace("nesterov", "momentum"))
            update(param, grad, state, c, one_minus, lr, scales)

    def _scales(self, start, lr64):
        """Per-member float32 factors computed in float64 (as torch computes
        its Python-float step sizes)."""
        if self.name not in ("adam", "adamw"):
            return {}
        steps = self.steps[start:]
        beta1, beta2 = self.c64["beta1"][start:], self.c64["beta2"][start:]
        correction1 = 1 - beta1**steps
        correction2 = 1 - beta2**steps
        scales = {
            "step_size": (lr64 / correction1).float(),
            "correction2_sqrt": correction2.sqrt().float(),
        }
        if self.name == "adamw":
            scales["decay"] = (1 - lr64 * self.c64["weight_decay"][start:]).float()
        return scales

    def _sgd(self, param, grad, state, c, one_minus, lr, scales):
        param.addcmul_(grad, _along(lr, param), value=-1)

    def _momentum(self, param, grad, state, c, one_minus, lr, scales):
        buffer = state["momentum_buffer"]
        momentum = _along(c["momentum"], param)
        # a zero buffer: momentum * 0 + grad is torch's first buffer (grad)
        buffer.mul_(momentum).add_(grad)
        if self.name == "nesterov":
            grad = torch.addcmul(grad, buffer, momentum)
        else:
            grad = buffer
        param.addcmul_(grad, _along(lr, param), value=-1)

    def _adagrad(self, param, grad, state, c, one_minus, lr, scales):
        total = state["sum"]
        total.addcmul_(grad, grad)
        std = total.sqrt().add_(_along(c["eps"], param))
        param.sub_(_along(lr, param) * (grad / std))

    def _adadelta(self, param, grad, state, c, one_minus, lr, scales):
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        rho, eps = _along(c["rho"], param), _along(c["eps"], param)
        square_avg.mul_(rho).add_(_along(one_minus["rho"], param) * grad * grad)
        std = square_avg.add(eps).sqrt_()
        delta = acc_delta.add(eps).sqrt_().div_(std).mul_(grad)
        acc_delta.mul_(rho).add_(_along(one_minus["rho"], param) * delta * delta)
        param.sub_(_along(lr, param) * delta)

    def _rmsprop(self, param, grad, state, c, one_minus, lr, scales):
        square_avg = state["square_avg"]
        alpha = _along(c["rho"], param)
        square_avg.mul_(alpha).add_(_along(one_minus["rho"], param) * grad * grad)
        avg = square_avg.sqrt().add_(_along(c["eps"], param))
        if any(self.momenta):
            buffer = state["momentum_buffer"]
            buffer.mul_(_along(c["momentum"], param)).add_(grad / avg)
            param.sub_(_along(lr, param) * buffer)
        else:
            param.sub_(_along(lr, param) * (grad / avg))

    def _adam(self, param, grad, state, c, one_minus, lr, scales):
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, _along(one_minus["beta1"], param))
        exp_avg_sq.mul_(_along(c["beta2"], param)).addcmul_(
            grad, grad * _along(one_minus["beta2"], param)
        )
        denom = exp_avg_sq.sqrt().div_(_along(scales["correction2_sqrt"], param))
        denom.add_(_along(c["eps"], param))
        param.addcmul_(exp_avg.div(denom), _along(scales["step_size"], param), value=-1)

    _adamw = _adam

    # ---- state of the members ------------------------------------------------
    def member_state(self, position):
        """Optimizer state of one member, ``{parameter name: {key: value}}``
        in the module's layout (the per-parameter state of the torch
        optimizer of a separate fit)."""
        if not self.stepped[position]:
            return {}
        keys = _STATE_KEYS[self.name]
        if self.name == "rmsprop" and not self.momenta[position]:
            keys = ("step", "square_avg")
        out = {}
        for name, entry in self.state.items():
            transposed = name in self.stack.transposed
            state = {}
            for key in keys:
                if key == "step":
                    # a float32 CPU scalar, as the member's own optimizer keeps it
                    state[key] = self.steps[position].to("cpu", torch.float32)
                else:
                    state[key] = _member_value(entry[key][position], transposed)
            if state:
                out[name] = state
        return out

    def select(self, keep):
        """Follow :meth:`_StackedMLP.select` (call it first)."""
        index = torch.as_tensor(keep, device=self.device)
        for entry in self.state.values():
            for key, value in entry.items():
                entry[key] = value.index_select(0, index)
        self.c64 = {
            key: value.index_select(0, index) for key, value in self.c64.items()
        }
        self._set_constants()
        self.steps = self.steps.index_select(0, index)
        self.stepped = [self.stepped[k] for k in keep]
        self.momenta = [self.momenta[k] for k in keep]
        self.member_lrs = [self.member_lrs[k] for k in keep]
        self.lr64 = torch.tensor(
            self.member_lrs, dtype=torch.float64, device=self.device
        )
