"""K networks of one architecture held as one stacked model.

:class:`_StackedMLP` keeps the parameters of K members of the same
:class:`~sklopt.neural._modules.MLPModule` architecture as tensors with the
members on the first axis (``(K, *shape)``). Its forward pass runs all
members at once on a stacked batch of shape (K, B, n_features):
``torch.baddbmm`` per linear layer (the same matrix kernels as the members'
own ``F.linear``), batch normalization with per-member statistics and running
buffers, layer and group normalization with per-member scale and shift,
dropout with per-member masks.

:class:`_StackedOptimizer` is a torch optimizer of the estimator's class and
constants whose parameters are the per-member views of those tensors, in the
parameter groups of a separate fit: every member keeps its own state and step
count, and a member without a gradient in a step (no batch left in the epoch)
is neither updated nor changes its state. The fused implementation is used
where torch has one (Adam, AdamW, SGD, Adagrad), else the multi-tensor one.
"""

import torch
from torch import nn
from torch.nn import functional as F

from sklopt.neural._modules import ACTIVATIONS, MLPModule, _Dropout
from sklopt.neural._optim import _decayed_parameters, _resolve_optimizer

_ACTIVATION_TYPES = tuple(set(ACTIVATIONS.values()))


def _layer_plan(module):
    """The forward pass of ``module`` as a list of stacked operations, or a
    string saying why it cannot be stacked."""
    if not isinstance(module, MLPModule):
        return f"{type(module).__name__} is not an MLP module"
    plan, width = [], None
    for index, layer in enumerate(module.layers):
        prefix = f"layers.{index}."
        if isinstance(layer, nn.Linear):
            plan.append(("linear", prefix))
            width = layer.out_features
        elif isinstance(layer, nn.BatchNorm1d):
            plan.append(("batch_norm", prefix, layer.eps, layer.momentum))
        elif isinstance(layer, nn.LayerNorm):
            plan.append(("layer_norm", prefix, tuple(layer.normalized_shape), layer.eps))
        elif isinstance(layer, nn.GroupNorm):
            plan.append(("group_norm", prefix, layer.num_groups, layer.eps))
        elif isinstance(layer, _Dropout):
            plan.append(("dropout", layer.p, width))
        elif isinstance(layer, _ACTIVATION_TYPES):
            plan.append(("activation", layer))
        else:
            return f"the layer {type(layer).__name__} has no stacked version"
    return plan


class _StackedMLP:
    """The parameters and buffers of K members of one MLP architecture.

    Each parameter and buffer is one tensor with the members on the first
    axis (``(K, *shape)``, contiguous).

    Parameters
    ----------
    modules : list of MLPModule
        The initialised members (same architecture), in stack order.
    device : str
    """

    def __init__(self, modules, device):
        template = modules[0]
        plan = _layer_plan(template)
        if isinstance(plan, str):
            raise ValueError(plan)
        self.plan = plan
        named = dict(template.named_parameters())
        names_by_id = {id(p): name for name, p in named.items()}
        #: the weights that weight decay, L1 and weight noise act on, in order
        self.decayed = [names_by_id[id(p)] for p in _decayed_parameters(template)]
        self.names = list(named)
        self.state_keys = list(template.state_dict())
        self.buffer_names = [name for name, _ in template.named_buffers()]
        with torch.no_grad():
            self.params = {
                name: torch.stack([m.get_parameter(name) for m in modules])
                .to(device)
                .contiguous()
                for name in self.names
            }
            self.buffers = {
                name: torch.stack([m.get_buffer(name) for m in modules]).to(device)
                for name in self.buffer_names
            }
        self.dropout_widths = [op[2] for op in plan if op[0] == "dropout"]

    def __len__(self):
        return len(next(iter(self.params.values())))

    def select(self, keep):
        """Keep only the members at positions ``keep`` (a list of ints)."""
        device = next(iter(self.params.values())).device
        index = torch.as_tensor(keep, device=device)
        self.params = {k: v.index_select(0, index) for k, v in self.params.items()}
        self.buffers = {k: v.index_select(0, index) for k, v in self.buffers.items()}

    def finite(self):
        """Whether each member's parameters are all finite (bool array)."""
        ok = None
        for value in self.params.values():
            member_ok = torch.isfinite(value).flatten(1).all(1)
            ok = member_ok if ok is None else ok & member_ok
        return ok.cpu().numpy()

    def forward(self, params, x, *, start=0, training=False, batch=None):
        """Stacked forward pass.

        Parameters
        ----------
        params : dict of name -> Tensor of shape (K', *shape)
            Members ``start:start + K'`` of the parameters (possibly perturbed,
            possibly requiring grad).
        x : Tensor of shape (K', B, n_features)
        start : int
            First member of ``params`` in the stack (for the buffers).
        training : bool
            Training mode: batch statistics (and running-buffer updates) in
            batch normalization, dropout masks from ``batch``.
        batch : _StackedBatch or None
            Row counts, padding mask and dropout masks of a training batch.
        """
        stop = start + len(x)
        n_dropout = 0
        for op in self.plan:
            kind = op[0]
            if kind == "linear":
                weight, bias = params[op[1] + "weight"], params[op[1] + "bias"]
                x = torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))
            elif kind == "activation":
                x = op[1](x)
            elif kind == "dropout":
                if training and op[1] > 0:
                    x = x * batch.dropout[n_dropout]
                n_dropout += 1
            elif kind == "batch_norm":
                buffers = {
                    key: self.buffers[op[1] + key][start:stop]
                    for key in ("running_mean", "running_var", "num_batches_tracked")
                }
                x = _batch_norm(x, params, op, buffers, training, batch)
            else:
                x = _per_row_norm(x, params, op)
        return x

    def member_state_dict(self, position, params=None, buffers=None):
        """The ``state_dict`` of the member at ``position``, in the template's
        key order (from ``params``/``buffers``, default: the stack's own)."""
        params = self.params if params is None else params
        buffers = self.buffers if buffers is None else buffers
        return {
            key: (params[key] if key in params else buffers[key])[position]
            .detach()
            .clone()
            for key in self.state_keys
        }


def _batch_norm(x, params, op, buffers, training, batch):
    """BatchNorm1d over each member's rows (real rows only when the stacked
    batch is padded), with per-member running statistics."""
    _, prefix, eps, momentum = op
    weight = params[prefix + "weight"].unsqueeze(1)
    bias = params[prefix + "bias"].unsqueeze(1)
    if not training:
        mean = buffers["running_mean"].unsqueeze(1)
        var = buffers["running_var"].unsqueeze(1)
        return (x - mean) * torch.rsqrt(var + eps) * weight + bias
    if batch.mask is None:
        n = x.shape[1]
        mean = x.mean(1, keepdim=True)
        var = (x - mean).square().mean(1, keepdim=True)
        correction = n / max(n - 1, 1)
    else:
        mask = batch.mask.unsqueeze(-1)
        n = batch.counts_t.view(-1, 1, 1)
        mean = (x * mask).sum(1, keepdim=True) / n
        var = ((x - mean).square() * mask).sum(1, keepdim=True) / n
        correction = n / (n - 1).clamp_min(1)
    with torch.no_grad():
        buffers["running_mean"].mul_(1 - momentum).add_(momentum * mean.squeeze(1))
        buffers["running_var"].mul_(1 - momentum).add_(
            momentum * (var * correction).squeeze(1)
        )
        buffers["num_batches_tracked"].add_(1)
    return (x - mean) * torch.rsqrt(var + eps) * weight + bias


def _per_row_norm(x, params, op):
    """Layer or group normalization (statistics within each row) with
    per-member scale and shift."""
    kind, prefix = op[0], op[1]
    weight = params[prefix + "weight"].unsqueeze(1)
    bias = params[prefix + "bias"].unsqueeze(1)
    if kind == "layer_norm":
        x = F.layer_norm(x, op[2], eps=op[3])
    else:
        shape = x.shape
        x = F.group_norm(x.reshape(-1, shape[-1]), op[2], eps=op[3]).view(shape)
    return x * weight + bias


class _StackedOptimizer:
    """The estimator's torch optimizer over the members of a stacked model.

    Its parameters are the per-member views ``stack.params[name][k]``, in the
    parameter groups of a separate fit (decayed weights, then the rest), so
    every member has its own state and step count; a member whose gradient is
    None in a step is neither updated nor changes its state.

    Parameters
    ----------
    estimator : sklopt neural estimator
        Gives the optimizer class and constants (as its own fit would).
    stack : _StackedMLP
    per_member_lr : bool
        One set of parameter groups per member, so that the members' learning
        rates can differ (``lr_schedule='plateau'``); else one set for all.
    """

    def __init__(self, estimator, stack, per_member_lr=False):
        optimizer_class, kwargs = _resolve_optimizer(
            estimator.optimizer, **estimator._optimizer_constants()
        )
        self.weight_decay = kwargs.pop("weight_decay", 0.0)
        if kwargs.get("lr") is None:
            kwargs.pop("lr", None)
        self.optimizer_class, self.kwargs = optimizer_class, kwargs
        self.per_member_lr = per_member_lr
        self.stack = stack
        self.fused = None
        self._build(states=None, lrs=None)

    def _name_groups(self):
        """Parameter names and weight decay of each group (as
        :func:`~sklopt.neural._optim._param_groups` splits them)."""
        names = self.stack.names
        if not self.weight_decay:
            return [(names, None)]
        decayed = self.stack.decayed
        others = [name for name in names if name not in set(decayed)]
        groups = [(decayed, self.weight_decay)]
        if others:
            groups.append((others, 0.0))
        return groups

    def _build(self, states, lrs):
        stack = self.stack
        # Per-member views, one list per parameter name.
        self.views = {name: list(value.unbind(0)) for name, value in stack.params.items()}
        n_members = len(stack)
        name_groups = self._name_groups()
        member_sets = (
            [[k] for k in range(n_members)]
            if self.per_member_lr
            else [list(range(n_members))]
        )
        groups = []
        for members in member_sets:
            for names, decay in name_groups:
                group = {
                    "params": [self.views[name][k] for k in members for name in names]
                }
                if decay is not None:
                    group["weight_decay"] = decay
                if lrs is not None:
                    group["lr"] = lrs[members[0]]
                groups.append(group)
        self.groups_per_set = len(name_groups)
        self.optimizer = self._make_optimizer(groups)
        if states is not None:
            for k, member_states in enumerate(states):
                for name, state in member_states.items():
                    self.optimizer.state[self.views[name][k]] = state

    def _make_optimizer(self, groups):
        """The fused implementation where torch has one for this optimizer
        and device (one kernel for all members), else the multi-tensor one."""
        if self.fused is not False:
            try:
                optimizer = self.optimizer_class(groups, fused=True, **self.kwargs)
            except (RuntimeError, TypeError, ValueError):
                self.fused = False
            else:
                self.fused = True
                return optimizer
        return self.optimizer_class(groups, foreach=True, **self.kwargs)

    def lrs(self):
        """The current learning rate of each member."""
        groups = self.optimizer.param_groups
        if self.per_member_lr:
            return [groups[k * self.groups_per_set]["lr"] for k in range(len(self.stack))]
        return [groups[0]["lr"]] * len(self.stack)

    def set_lrs(self, lrs):
        for index, group in enumerate(self.optimizer.param_groups):
            group["lr"] = lrs[index // self.groups_per_set] if self.per_member_lr else lrs[0]

    def step(self, grads, start):
        """Update members ``start:`` with their gradients (``{name: (K', *shape)}``);
        the members before ``start`` keep their weights and state."""
        for name, grad in grads.items():
            if self.fused:
                # The fused kernels read gradients in the parameters' layout.
                grad = grad.contiguous()
            for view, member_grad in zip(self.views[name][start:], grad.unbind(0)):
                view.grad = member_grad
        self.optimizer.step()
        for name in grads:
            for view in self.views[name][start:]:
                view.grad = None

    def member_state(self, position):
        """Optimizer state of one member, ``{parameter name: {key: tensor}}``
        (the per-parameter state of the torch optimizer of a separate fit)."""
        out = {}
        for name, views in self.views.items():
            state = self.optimizer.state.get(views[position])
            if state:
                out[name] = {
                    key: value.detach().clone() if torch.is_tensor(value) else value
                    for key, value in state.items()
                }
        return out

    def select(self, keep):
        """Follow :meth:`_StackedMLP.select` (call it first)."""
        states = [
            {
                name: self.optimizer.state[views[k]]
                for name, views in self.views.items()
                if views[k] in self.optimizer.state
            }
            for k in keep
        ]
        lrs = self.lrs()
        self._build(states, [lrs[k] for k in keep])
