"""K networks of one architecture held as one stacked model.

:class:`_StackedMLP` keeps the parameters of K members of the same
:class:`~sklopt.neural._modules.MLPModule` architecture as tensors with the
members on the first axis. Each linear layer is one ``torch.baddbmm``: as
``x @ W^T`` with the weights stored transposed, ``(K, in_features,
out_features)``, or, for narrow layers (fewer than :data:`NARROW` outputs,
such as output layers), as ``(W @ x^T)^T`` with the weights in the module's
layout (batched GEMMs with a few output columns are several times slower on
the CPU); either way the weight gradients come out contiguous. The
forward pass runs all members at once on a stacked batch of shape
``(K, B, n_features)``: batch normalization with per-member statistics and
running buffers, layer and group normalization with per-member scale and
shift, dropout with per-member masks. :class:`_StackedCNN` does the same for
:class:`~sklopt.neural._modules.CNNModule` members: their images side by side
along the channel axis, each convolution one grouped convolution
(``groups=K``), then the stacked linear head.

:class:`_StackedOptimizer` is a torch optimizer of the estimator's class and
constants over slices of those tensors. The members are grouped into
contiguous runs that share their step count and learning rate (members with
the same number of batches per epoch); each run's slice of a weight is one
optimizer parameter, with its own state (moment estimates, step count): a
run without gradients in a step (its members have no batch left in the
epoch) is neither updated nor changes its state. The runs with the same
learning rate share one parameter group pair (decayed weights, the rest) as
in a separate fit, so that one optimizer step is one multi-tensor update per
group, whatever the number of runs. The fused implementation is used where
torch has one (Adam, AdamW, SGD, Adagrad; one kernel for all members), else
the multi-tensor one.
"""

import torch
from torch import nn
from torch.nn import functional as F

from sklopt.neural._modules import ACTIVATIONS, CNNModule, MLPModule, _Dropout
from sklopt.neural._optim import _decayed_parameters, _resolve_optimizer

_ACTIVATION_TYPES = tuple(set(ACTIVATIONS.values()))

#: Linear layers with fewer outputs are computed in the transposed orientation.
NARROW = 32


def _layer_plan(module):
    """The forward pass of ``module`` as a list of stacked operations, or a
    string saying why it cannot be stacked."""
    if not isinstance(module, MLPModule):
        return f"{type(module).__name__} is not an MLP module"
    plan, width = [], None
    for index, layer in enumerate(module.layers):
        prefix = f"layers.{index}."
        if isinstance(layer, nn.Linear):
            # Narrow layers are computed as W @ x^T: batched GEMMs with a
            # handful of output columns are several times slower.
            narrow = layer.out_features < NARROW
            plan.append(("linear", prefix, narrow))
            width = layer.out_features
        elif isinstance(layer, nn.BatchNorm1d):
            plan.append(("batch_norm", prefix, layer.eps, layer.momentum))
        elif isinstance(layer, nn.LayerNorm):
            plan.append(
                ("layer_norm", prefix, tuple(layer.normalized_shape), layer.eps)
            )
        elif isinstance(layer, nn.GroupNorm):
            plan.append(("group_norm", prefix, layer.num_groups, layer.eps))
        elif isinstance(layer, _Dropout):
            plan.append(("dropout", layer.p, (width,)))
        elif isinstance(layer, _ACTIVATION_TYPES):
            plan.append(("activation", layer))
        else:
            return f"the layer {type(layer).__name__} has no stacked version"
    return plan


class _NarrowLinear(torch.autograd.Function):
    """Stacked linear layer with few outputs: ``W @ x^T + b``, of shape
    (K, out, B) (the transpose of the layer's output).

    The backward pass computes the input gradient as ``dY @ W`` (contiguous,
    as the preceding activation's backward wants it) and the weight gradient
    as ``dY^T @ x`` (in the weights' layout).
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return torch.baddbmm(bias.unsqueeze(2), weight, x.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad):  # grad: (K, out, B)
        x, weight = ctx.saved_tensors
        need_x, need_weight, need_bias = ctx.needs_input_grad
        grad_x = torch.bmm(grad.transpose(1, 2), weight) if need_x else None
        grad_weight = torch.bmm(grad, x) if need_weight else None
        grad_bias = grad.sum(2) if need_bias else None
        return grad_x, grad_weight, grad_bias


def _linear(x, params, op):
    """Stacked linear layer on ``x`` of shape (K, B, in)."""
    weight, bias = params[op[1] + "weight"], params[op[1] + "bias"]
    if op[2]:  # narrow: weight stored (K, out, in)
        return _NarrowLinear.apply(x, weight, bias).transpose(1, 2)
    # weight stored transposed, (K, in, out)
    return torch.baddbmm(bias.unsqueeze(1), x, weight)


def _member_value(value, transposed):
    """A member's tensor in the module's layout (linear weights transposed
    back)."""
    return value.t().contiguous() if transposed else value.detach().clone()


class _Stack:
    """The parameters and buffers of K members of one architecture.

    ``params[name]`` is ``(K, *shape)`` (linear weights of wide layers
    ``(K, in, out)``, see :attr:`transposed`), ``buffers[name]`` likewise.
    Subclasses give the stacked forward pass of their layer plan.

    Parameters
    ----------
    modules : list of torch.nn.Module
        The initialised members (same architecture), in stack order.
    device : str
    """

    def __init__(self, modules, device):
        template = modules[0]
        plan = self._layer_plan(template)
        if isinstance(plan, str):
            raise ValueError(plan)
        self.plan = plan
        named = dict(template.named_parameters())
        names_by_id = {id(p): name for name, p in named.items()}
        #: the weights that weight decay, L1 and weight noise act on, in order
        self.decayed = [names_by_id[id(p)] for p in _decayed_parameters(template)]
        self.names = list(named)
        self.transposed = {
            op[1] + "weight" for op in plan if op[0] == "linear" and not op[2]
        }
        self.state_keys = list(template.state_dict())
        self.buffer_names = [name for name, _ in template.named_buffers()]
        with torch.no_grad():
            self.params = {}
            for name in self.names:
                values = [m.get_parameter(name) for m in modules]
                if name in self.transposed:
                    values = [v.t() for v in values]
                self.params[name] = torch.stack(values).to(device).contiguous()
            self.buffers = {
                name: torch.stack([m.get_buffer(name) for m in modules]).to(device)
                for name in self.buffer_names
            }
        #: per-row shape of each dropout layer's input, in forward order
        self.dropout_shapes = [op[2] for op in plan if op[0] == "dropout"]

    @staticmethod
    def _layer_plan(module):  # pragma: no cover - abstract
        raise NotImplementedError

    def member_state_dict(self, position, params=None, buffers=None):
        """The ``state_dict`` of the member at ``position``, in the template's
        key order and layout (from ``params``/``buffers``, default: the
        stack's own)."""
        params = self.params if params is None else params
        buffers = self.buffers if buffers is None else buffers
        out = {}
        for key in self.state_keys:
            if key in params:
                out[key] = _member_value(params[key][position], key in self.transposed)
            else:
                out[key] = buffers[key][position].detach().clone()
        return out

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


class _StackedMLP(_Stack):
    """K members of one :class:`~sklopt.neural._modules.MLPModule`
    architecture; the forward pass runs on a stacked batch of shape
    ``(K, B, n_features)``."""

    _layer_plan = staticmethod(_layer_plan)

    def forward(self, params, x, *, start=0, training=False, batch=None):
        """Stacked forward pass.

        Parameters
        ----------
        params : dict of name -> Tensor
            Members ``start:start + K'`` of :attr:`params` (possibly
            perturbed, possibly requiring grad).
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
        fresh = False  # whether x is a temporary that may be overwritten
        for op in self.plan:
            kind = op[0]
            if kind == "linear":
                x = _linear(x, params, op)
                fresh = True
            elif kind == "activation":
                # baddbmm does not keep its output for the backward pass, and
                # ReLU's backward only needs its own output.
                if fresh and isinstance(op[1], nn.ReLU):
                    x = torch.relu_(x)
                else:
                    x = op[1](x)
                fresh = False
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
                fresh = False
            else:
                x = _per_row_norm(x, params, op)
                fresh = False
        return x


def _cnn_layer_plan(module):
    """The forward pass of a :class:`~sklopt.neural._modules.CNNModule` as a
    list of stacked operations, or a string saying why it cannot be
    stacked. Dropout entries carry the per-row shape of their input."""
    if not isinstance(module, CNNModule):
        return f"{type(module).__name__} is not a CNN module"
    plan = []
    x = torch.zeros(1, *module.image_shape)
    with torch.no_grad():
        for index, layer in enumerate(module.layers):
            prefix = f"layers.{index}."
            if isinstance(layer, nn.Conv2d):
                op = ("conv", prefix, layer.stride, layer.padding, layer.dilation)
            elif isinstance(layer, nn.GroupNorm):
                op = ("group_norm", prefix, layer.num_groups, layer.eps)
            elif isinstance(layer, nn.BatchNorm2d):
                op = ("batch_norm", prefix, layer.eps, layer.momentum)
            elif isinstance(layer, nn.InstanceNorm2d) and layer.affine:
                op = ("instance_norm", prefix, layer.eps)
            elif isinstance(layer, (nn.MaxPool2d, nn.AdaptiveAvgPool2d)):
                op = ("pool", layer)
            elif isinstance(layer, _ACTIVATION_TYPES):
                op = ("activation", layer)
            elif isinstance(layer, _Dropout):
                plan.append(("dropout", layer.p, tuple(x.shape[1:])))
                continue  # the identity for the shapes
            elif isinstance(layer, nn.Flatten):
                op = ("flatten",)
            elif isinstance(layer, nn.Linear):
                op = ("linear", prefix, layer.out_features < NARROW)
            else:
                return f"the layer {type(layer).__name__} has no stacked version"
            plan.append(op)
            if op[0] != "batch_norm":  # shape-preserving; no running-stat update
                x = layer(x)
    return plan


class _StackedCNN(_Stack):
    """K members of one :class:`~sklopt.neural._modules.CNNModule`
    architecture.

    The convolutional part runs on the members' images laid out side by
    side along the channel axis, ``(B, K * C, H, W)``: each convolution is
    one grouped convolution (``groups=K``, member k's filters see only its
    own channels), group and instance normalization normalise per member and
    row with the members' groups side by side, and pooling and activations
    act per channel. The flattened features are turned back into a stacked
    batch ``(K, B, n_features)`` for the linear head.
    """

    _layer_plan = staticmethod(_cnn_layer_plan)

    def forward(self, params, x, *, start=0, training=False, batch=None):
        """Stacked forward pass; ``x`` of shape (K', B, C, H, W), the other
        parameters as :meth:`_StackedMLP.forward`."""
        n_members, n_rows = x.shape[:2]
        x = x.transpose(0, 1).reshape(n_rows, -1, *x.shape[3:])
        n_dropout = 0
        flat = False
        for op in self.plan:
            kind = op[0]
            if kind == "conv":
                weight, bias = params[op[1] + "weight"], params[op[1] + "bias"]
                x = F.conv2d(
                    x,
                    weight.reshape(-1, *weight.shape[2:]),
                    bias.reshape(-1),
                    op[2],
                    op[3],
                    op[4],
                    groups=n_members,
                )
            elif kind == "group_norm":
                weight, bias = params[op[1] + "weight"], params[op[1] + "bias"]
                x = F.group_norm(
                    x, n_members * op[2], weight.reshape(-1), bias.reshape(-1), op[3]
                )
            elif kind == "instance_norm":
                weight, bias = params[op[1] + "weight"], params[op[1] + "bias"]
                x = F.instance_norm(
                    x, weight=weight.reshape(-1), bias=bias.reshape(-1), eps=op[2]
                )
            elif kind == "batch_norm":
                buffers = {
                    key: self.buffers[op[1] + key][start : start + n_members]
                    for key in ("running_mean", "running_var", "num_batches_tracked")
                }
                x = _batch_norm_2d(x, params, op, buffers, training, batch)
            elif kind in ("pool", "activation"):
                x = op[1](x)
            elif kind == "dropout":
                if training and op[1] > 0:
                    mask = batch.dropout[n_dropout]  # (K', B, *shape)
                    if not flat:
                        mask = mask.transpose(0, 1).reshape(x.shape)
                    x = x * mask
                n_dropout += 1
            elif kind == "flatten":
                x = x.reshape(n_rows, n_members, -1).transpose(0, 1).contiguous()
                flat = True
            else:  # linear
                x = _linear(x, params, op)
        return x


def _batch_norm_2d(x, params, op, buffers, training, batch):
    """BatchNorm2d of the members' channels side by side, ``x`` of shape
    (B, K * C, H, W): statistics per member and channel over its (real) rows
    and pixels, per-member running statistics."""
    _, prefix, eps, momentum = op
    weight, bias = params[prefix + "weight"], params[prefix + "bias"]
    n_members, n_channels = weight.shape
    if not training:
        mean = buffers["running_mean"].reshape(-1)
        var = buffers["running_var"].reshape(-1)
    else:
        pixels = x.shape[2] * x.shape[3]
        if batch.mask is None:
            mean = x.mean((0, 2, 3))
            var = (x - mean.view(1, -1, 1, 1)).square().mean((0, 2, 3))
            n = x.shape[0] * pixels
            correction = n / max(n - 1, 1)
        else:
            # (B, K * C) mask of each member's real rows
            mask = batch.mask.t().repeat_interleave(n_channels, 1)[:, :, None, None]
            n = (batch.counts_t * pixels).repeat_interleave(n_channels)
            mean = (x * mask).sum((0, 2, 3)) / n
            var = ((x - mean.view(1, -1, 1, 1)).square() * mask).sum((0, 2, 3)) / n
            correction = n / (n - 1).clamp_min(1)
        shape = (n_members, n_channels)
        _update_running_stats(
            buffers, momentum, mean.view(shape), (var * correction).view(shape)
        )
    scale = torch.rsqrt(var + eps) * weight.reshape(-1)
    shift = bias.reshape(-1)
    return (x - mean.view(1, -1, 1, 1)) * scale.view(1, -1, 1, 1) + shift.view(
        1, -1, 1, 1
    )


def _stack_class(module):
    """The stacked model class for members like ``module``."""
    return _StackedCNN if isinstance(module, CNNModule) else _StackedMLP


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
    _update_running_stats(
        buffers, momentum, mean.squeeze(1), (var * correction).squeeze(1)
    )
    return (x - mean) * torch.rsqrt(var + eps) * weight + bias


def _update_running_stats(buffers, momentum, mean, unbiased_var):
    """Batch normalization's running statistics, in place, per member
    (``mean`` and ``unbiased_var`` shaped as the buffers)."""
    with torch.no_grad():
        buffers["running_mean"].mul_(1 - momentum).add_(momentum * mean)
        buffers["running_var"].mul_(1 - momentum).add_(momentum * unbiased_var)
        buffers["num_batches_tracked"].add_(1)


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
    estimators : list of sklopt neural estimators
        One per member, in stack order: each gives its optimizer constants
        (learning rate, momentum, betas, rho, eps, weight decay) as its own
        fit would; the optimizer name is the same for all.
    stack : _Stack
    keys : list
        One key per member (its number of batches per epoch): members with
        equal keys take their optimizer steps together, so adjacent members
        with the same key, constants and learning rate form one run (one
        optimizer parameter per weight).
    """

    def __init__(self, estimators, stack, keys):
        settings, lrs = [], []
        for estimator in estimators:
            optimizer_class, kwargs = _resolve_optimizer(
                estimator.optimizer, **estimator._optimizer_constants()
            )
            lrs.append(kwargs.pop("lr", None))
            weight_decay = kwargs.pop("weight_decay", 0.0) or 0.0
            settings.append((weight_decay, tuple(sorted(kwargs.items()))))
        self.optimizer_class = optimizer_class
        #: distinct (weight decay, other constants) of the members
        self.settings = list(dict.fromkeys(settings))
        self.setting_ids = [self.settings.index(s) for s in settings]
        # As the single fit: no decay is said explicitly (AdamW's own
        # default is 0.01).
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
        if self._partition(lrs) != (self.runs, self.lr_runs):
            states = self._stacked_states()
            self.member_lrs = lrs
            self._build(states)
            return
        self.member_lrs = lrs
        for runs, groups in zip(self.lr_runs, self.group_slices):
            for group in self.optimizer.param_groups[groups]:
                group["lr"] = lrs[self.runs[runs[0]][0]]

    def step(self, grads, start):
        """Update members ``start:`` with their gradients
        (``{name: (K - start, *shape)}``); the members before ``start`` (whole
        runs: they have no batch in this step) keep their weights and state."""
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
        self._build(states)
