"""Stacked layers: the parameters of K networks of one architecture as
tensors with the members on the first axis, and their forward passes."""

import torch
from torch import nn
from torch.nn import functional as F

from sklopt.neural._modules import ACTIVATIONS, CNNModule, MLPModule, _Dropout
from sklopt.neural._optim import _decayed_parameters

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


def _along(values, like):
    """Per-member ``values`` (K',) shaped to broadcast over ``like`` (K', ...)."""
    return values.view(-1, *([1] * (like.dim() - 1)))


def _per_member(values, device, missing=0.0):
    """A value shared by all members (None when it is off: 0 or None), or a
    float32 tensor of one value per member (``missing`` for None)."""
    if all(v == values[0] for v in values):
        return values[0] or None
    values = [missing if v is None else float(v) for v in values]
    return torch.tensor(values, dtype=torch.float32, device=device)


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
                if training and batch.dropout is not None:
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
                if training and batch.dropout is not None:
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
