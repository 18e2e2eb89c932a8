"""The members' torch optimizer over a stacked model."""

import torch

from sklopt.neural._batched._layers import _along, _member_value, _per_member
from sklopt.neural._batched._vector import _VectorOptimizer
from sklopt.neural._rules import _optimizer_arguments

#: Torch optimizers whose ``weight_decay`` adds ``weight_decay * W`` to the
#: gradient before the update (their L2 form): the stacked step applies each
#: member's decay itself, in one vectorised operation per weight, so that
#: members differing only in weight decay share one parameter group.
_GRADIENT_DECAY = (
    torch.optim.SGD,
    torch.optim.Adagrad,
    torch.optim.Adadelta,
    torch.optim.RMSprop,
)


def _decay_rule(optimizer_class, kwargs):
    """How the stacked step applies the weight decay of ``optimizer_class``:
    ``'gradient'`` (L2: ``g + wd * W``), ``'decoupled'`` (AdamW: ``W <- W (1
    - lr wd)`` before the update), or None (left to the optimizer: a class
    whose rule is not known)."""
    if optimizer_class in _GRADIENT_DECAY:
        return "gradient"
    if optimizer_class is torch.optim.Adam:
        return "decoupled" if kwargs.get("decoupled_weight_decay") else "gradient"
    if optimizer_class is torch.optim.AdamW:
        return "decoupled"
    return None


def _runs(keys):
    """Contiguous runs ``(start, stop)`` of equal ``keys``."""
    runs, start = [], 0
    for k in range(1, len(keys) + 1):
        if k == len(keys) or keys[k] != keys[start]:
            runs.append((start, k))
            start = k
    return runs


class _StackedOptimizer:
    """The members' torch optimizer over a stacked model.

    Parameters
    ----------
    specs : list of _FitSpec
        One per member, in stack order: each gives its optimizer constants
        (learning rate, momentum, betas, rho, eps, weight decay) as its own
        fit uses them; the optimizer name is the same for all.
    stack : _Stack
    keys : list
        One key per member (its number of batches per epoch): members with
        equal keys take their optimizer steps together, so adjacent members
        with the same key, constants and learning rate form one run (one
        optimizer parameter per weight).
    """

    def __init__(self, specs, stack, keys):
        settings, lrs, decays = [], [], []
        for spec in specs:
            optimizer_class, kwargs, weight_decay = _optimizer_arguments(
                spec.optimizer, spec.optimizer_constants
            )
            lrs.append(kwargs.pop("lr", None))
            kwargs.pop("weight_decay", None)  # set per parameter group
            decays.append(weight_decay)
            settings.append((weight_decay, tuple(sorted(kwargs.items()))))
        self.optimizer_class = optimizer_class
        #: how the step applies the weight decay itself (None: the optimizer
        #: does, one parameter group per distinct decay)
        self.decay_rule = _decay_rule(optimizer_class, kwargs) if any(decays) else None
        if self.decay_rule is not None:
            settings = [(0.0, constants) for _, constants in settings]
        self.member_decays = decays
        #: per-member decay constants of members ``start:``, by ``start``
        self._decay_cache = {}
        #: distinct (weight decay, other constants) of the members
        self.settings = list(dict.fromkeys(settings))
        self.setting_ids = [self.settings.index(s) for s in settings]
        self.kwargs = {**dict(self.settings[0][1]), "weight_decay": 0.0}
        self.stack = stack
        self.fused = None
        self.stepped = False
        self.keys = list(keys)
        self.member_lrs = lrs
        self._build(states=None)

    def _name_groups(self, weight_decay):
        """Parameter names and weight decay of each group (as
        :func:`~sklopt.neural._optim._param_groups` splits them)."""
        names = self.stack.names
        if not weight_decay:
            return [(names, 0.0)]
        decayed = self.stack.decayed
        others = [name for name in names if name not in set(decayed)]
        groups = [(decayed, weight_decay)]
        if others:
            groups.append((others, 0.0))
        return groups

    def _partition(self, lrs):
        """The runs of members and, per (constants, learning rate), the runs
        that share them (in order of first appearance)."""
        runs = _runs(list(zip(self.keys, self.setting_ids, lrs)))
        shared = {}
        for r, (a, _) in enumerate(runs):
            shared.setdefault((self.setting_ids[a], lrs[a]), []).append(r)
        return runs, [tuple(members) for members in shared.values()]

    def _build(self, states):
        """Build the torch optimizer over the current runs; ``states`` (from
        :meth:`_stacked_states`) gives each member's previous state."""
        stack = self.stack
        lrs = self.member_lrs
        self.runs, self.lr_runs = self._partition(lrs)
        self.views = [
            {name: value[a:b] for name, value in stack.params.items()}
            for a, b in self.runs
        ]
        groups = []
        #: the optimizer's parameter groups of each entry of lr_runs
        self.group_slices = []
        for runs in self.lr_runs:
            first = self.runs[runs[0]][0]
            weight_decay, constants = self.settings[self.setting_ids[first]]
            begin = len(groups)
            for names, decay in self._name_groups(weight_decay):
                group = {
                    "params": [self.views[r][name] for r in runs for name in names]
                }
                group.update(constants)
                group["weight_decay"] = decay
                if lrs[first] is not None:
                    group["lr"] = lrs[first]
                groups.append(group)
            self.group_slices.append(slice(begin, len(groups)))
        self.optimizer = self._make_optimizer(groups)
        if None in self.member_lrs:  # the optimizer class's default
            self.member_lrs = [
                self.optimizer.param_groups[0]["lr"] if lr is None else lr
                for lr in self.member_lrs
            ]
        if states is not None:
            self._load_member_rows(states)

    def _make_optimizer(self, groups):
        """The fused implementation where torch has one for this optimizer
        and device, else the multi-tensor one."""
        if self.fused is not False:
            try:
                optimizer = self.optimizer_class(groups, fused=True, **self.kwargs)
            except (RuntimeError, TypeError, ValueError):
                self.fused = False
            else:
                self.fused = True
                return optimizer
        return self.optimizer_class(groups, foreach=True, **self.kwargs)

    def _run_of(self, position):
        for r, (a, b) in enumerate(self.runs):
            if a <= position < b:
                return r, position - a
        raise IndexError(position)

    def _member_rows(self, positions):
        """The optimizer state of the members at ``positions``:
        ``{name: {key: [row or scalar per member]}}``."""
        out = {}
        for position in positions:
            r, row = self._run_of(position)
            for name, view in self.views[r].items():
                state = self.optimizer.state.get(view)
                if not state:
                    continue
                entry = out.setdefault(name, {})
                for key, value in state.items():
                    is_row = torch.is_tensor(value) and value.dim() > 0
                    entry.setdefault(key, []).append(value[row] if is_row else value)
        return out

    def _stacked_states(self):
        """The optimizer state of all members, ``{name: {key: value}}`` with
        a ``(K, ...)`` tensor for per-weight state and a list of per-member
        values for the step count."""
        out = {}
        for (a, b), views in zip(self.runs, self.views):
            for name, view in views.items():
                state = self.optimizer.state.get(view)
                if not state:
                    continue
                entry = out.setdefault(name, {})
                for key, value in state.items():
                    parts = entry.setdefault(key, [])
                    if torch.is_tensor(value) and value.dim() > 0:
                        parts.append(value)
                    else:
                        parts.extend([value] * (b - a))
        return {
            name: {
                key: torch.cat(parts)
                if torch.is_tensor(parts[0]) and parts[0].dim()
                else parts
                for key, parts in entry.items()
            }
            for name, entry in out.items()
        }

    def _load_member_rows(self, states):
        """Load states shaped as :meth:`_stacked_states` gives them."""
        for (a, b), views in zip(self.runs, self.views):
            for name, entry in states.items():
                state = {}
                for key, values in entry.items():
                    if torch.is_tensor(values):
                        state[key] = values[a:b].clone()
                    else:  # the step count, shared by the run
                        first = values[a]
                        state[key] = first.clone() if torch.is_tensor(first) else first
                self.optimizer.state[views[name]] = state

    def lrs(self):
        """The current learning rate of each member."""
        return list(self.member_lrs)

    def set_lrs(self, lrs):
        """Set each member's learning rate (splitting or merging runs when
        members' rates come to differ or agree)."""
        lrs = list(lrs)
        if lrs == self.member_lrs:
            return
        self._decay_cache = {}
        if self._partition(lrs) != (self.runs, self.lr_runs):
            states = self._stacked_states()
            self.member_lrs = lrs
            self._build(states)
            return
        self.member_lrs = lrs
        for runs, groups in zip(self.lr_runs, self.group_slices):
            for group in self.optimizer.param_groups[groups]:
                group["lr"] = lrs[self.runs[runs[0]][0]]

    def _decay(self, grads, start):
        """Each member's weight decay of its decayed weights, applied by the
        step (see :data:`_GRADIENT_DECAY`): one operation per weight for all
        members ``start:``, with the same float32 arithmetic as the
        optimizer's own ``grad + wd * W`` or ``W * (1 - lr * wd)``."""
        decays = self.member_decays[start:]
        if not any(decays):
            return
        params = self.stack.params
        cached = self._decay_cache.get(start)
        if cached is None:
            if self.decay_rule == "decoupled":
                lrs = self.member_lrs[start:]
                values = [1.0 - lr * wd for lr, wd in zip(lrs, decays)]
            else:
                values = decays
            # one host-to-device copy per stack composition, not per step
            device = next(iter(params.values())).device
            cached = self._decay_cache[start] = _per_member(values, device)
        if self.decay_rule == "decoupled":
            factor = cached
            for name in self.stack.decayed:
                value = params[name][start:]
                if torch.is_tensor(factor):
                    value.mul_(_along(factor, value))
                else:
                    value.mul_(factor)
            return
        decay = cached
        for name in self.stack.decayed:
            value = params[name][start:]
            if torch.is_tensor(decay):
                grads[name].addcmul_(value, _along(decay, value))
            else:
                grads[name].add_(value, alpha=decay)

    def step(self, grads, start):
        """Update members ``start:`` with their gradients
        (``{name: (K - start, *shape)}``); the members before ``start`` (whole
        runs: they have no batch in this step) keep their weights and state."""
        if self.decay_rule is not None:
            with torch.no_grad():
                self._decay(grads, start)
        self._set_grads(grads, start)
        try:
            self.optimizer.step()
        except RuntimeError as exc:
            # A fused kernel that this torch version lacks for this device is
            # only detected at the first step; use the multi-tensor one.
            if not self.fused or self.stepped or "fused" not in str(exc):
                raise
            self.fused = False
            self._build(states=None)
            self._set_grads(grads, start)
            self.optimizer.step()
        self.stepped = True
        for views in self.views:
            for view in views.values():
                view.grad = None

    def _set_grads(self, grads, start):
        for (a, b), views in zip(self.runs, self.views):
            for name, view in views.items():
                if a >= start:
                    grad = grads[name][a - start : b - start]
                    # The fused kernels read gradients in the parameters' layout.
                    view.grad = grad if grad.is_contiguous() else grad.contiguous()
                else:
                    view.grad = None

    def member_state(self, position):
        """Optimizer state of one member, ``{parameter name: {key: value}}``
        in the module's layout (the per-parameter state of the torch
        optimizer of a separate fit)."""
        out = {}
        for name, entry in self._member_rows([position]).items():
            transposed = name in self.stack.transposed
            state = {}
            for key, (value,) in entry.items():
                if torch.is_tensor(value) and value.dim() > 0:
                    state[key] = _member_value(value, transposed)
                elif torch.is_tensor(value):
                    # the step count: a float32 CPU scalar, as the member's own
                    # (non-fused) optimizer keeps it
                    state[key] = value.detach().to("cpu", torch.float32).clone()
                else:
                    state[key] = value
            out[name] = state
        return out

    def select(self, keep):
        """Follow :meth:`_StackedMLP.select` (call it first)."""
        states = self._stacked_states()
        index = None
        for entry in states.values():
            for key, values in entry.items():
                if torch.is_tensor(values):
                    if index is None:
                        index = torch.as_tensor(keep, device=values.device)
                    entry[key] = values.index_select(0, index)
                else:
                    entry[key] = [values[k] for k in keep]
        self.keys = [self.keys[k] for k in keep]
        self.setting_ids = [self.setting_ids[k] for k in keep]
        self.member_lrs = [self.member_lrs[k] for k in keep]
        self.member_decays = [self.member_decays[k] for k in keep]
        self._decay_cache = {}
        self._build(states)


#: Device types on which members whose optimizer constants differ share one
#: vectorised update (:class:`_VectorOptimizer`) instead of torch's fused
#: optimizer with one parameter group per setting. Empty: on the CPU the
#: fused groups measured faster (Adam, 120 members in 24 settings: 9 to 12
#: ms against 27 to 31 ms per step, one thread; benchmarks/README.md); on
#: GPUs not measured yet.
VECTOR_DEVICES = ()


def _make_optimizer(specs, stack, keys):
    """The members' optimizer: torch's (fused where it has one), one
    parameter group per distinct setting, or on :data:`VECTOR_DEVICES` one
    vectorised update with per-member constants when the members' settings
    differ."""
    device = next(iter(stack.params.values())).device
    settings = {
        (spec.lr, repr(sorted(spec.optimizer_constants.items()))) for spec in specs
    }
    if len(settings) == 1 or device.type not in VECTOR_DEVICES:
        return _StackedOptimizer(specs, stack, keys)
    return _VectorOptimizer(specs, stack)
