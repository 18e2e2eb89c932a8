"""The torch modules behind the estimators: an MLP and a small CNN.

Dropout layers draw their masks from a ``torch.Generator`` set by the
training loop (the ``dropout`` stream of
:class:`~sklopt.neural._device._RandomStreams`), so that training never uses
torch's global random state.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
}

MLP_NORMALIZATIONS = ("batch", "layer", "group")
CNN_NORMALIZATIONS = ("batch", "layer", "group", "instance")


class _Dropout(nn.Module):
    """Inverted dropout whose masks come from ``self.generator``.

    In training mode each unit is kept with probability ``1 - p`` and scaled
    by ``1 / (1 - p)``; in evaluation mode it is the identity. Without a
    generator (the module used outside sklopt's training loop) it falls back
    to :func:`torch.nn.functional.dropout`.
    """

    def __init__(self, p):
        super().__init__()
        self.p = float(p)
        self.generator = None

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if self.generator is None:
            return F.dropout(x, self.p, training=True)
        keep = 1.0 - self.p
        # uniforms compared with the keep probability: twice as fast on the
        # CPU as ``bernoulli_`` (one 32-bit draw a unit instead of a double)
        uniform = torch.empty(x.shape, dtype=x.dtype, device=x.device)
        uniform.uniform_(generator=self.generator)
        # in place: 1.0 where kept, 0.0 where dropped, then scaled
        return x * uniform.lt_(keep).mul_(1.0 / keep)

    def extra_repr(self):
        return f"p={self.p}"


def _num_groups(n_channels):
    """Groups for group normalization: the largest divisor of ``n_channels``
    that is at most ``min(32, n_channels // 2)`` (at least 1)."""
    limit = max(1, min(32, n_channels // 2))
    return max(d for d in range(1, limit + 1) if n_channels % d == 0)


def _norm_layer(normalization, n_features, *, image):
    if normalization is None:
        return None
    if normalization == "batch":
        return nn.BatchNorm2d(n_features) if image else nn.BatchNorm1d(n_features)
    if normalization == "layer":
        # Over all of (C, H, W) for images: a single group.
        return nn.GroupNorm(1, n_features) if image else nn.LayerNorm(n_features)
    if normalization == "group":
        return nn.GroupNorm(_num_groups(n_features), n_features)
    if normalization == "instance" and image:
        return nn.InstanceNorm2d(n_features, affine=True)
    valid = CNN_NORMALIZATIONS if image else MLP_NORMALIZATIONS
    raise ValueError(
        f"normalization must be None or one of {valid}; got {normalization!r}."
    )


def _block(layer, normalization, n_features, activation, *, image):
    parts = [layer]
    norm = _norm_layer(normalization, n_features, image=image)
    if norm is not None:
        parts.append(norm)
    parts.append(ACTIVATIONS[activation]())
    return parts


class MLPModule(nn.Module):
    """Fully connected network: ``[Linear -> norm -> activation -> dropout]``
    per hidden layer, then a linear output layer (logits or values).

    Parameters
    ----------
    n_inputs, n_outputs : int
    hidden_layer_sizes : tuple of int
        Widths of the hidden layers; ``()`` gives a linear model.
    activation : str
        A key of :data:`ACTIVATIONS`.
    dropout : float
        Dropout probability after each hidden layer (0: no dropout layer).
    normalization : {None, 'batch', 'layer', 'group'}
    """

    def __init__(
        self,
        n_inputs,
        n_outputs,
        hidden_layer_sizes=(100,),
        activation="relu",
        dropout=0.0,
        normalization=None,
    ):
        super().__init__()
        layers = []
        width = n_inputs
        for size in hidden_layer_sizes:
            layers += _block(
                nn.Linear(width, size), normalization, size, activation, image=False
            )
            if dropout > 0:
                layers.append(_Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X)


class CNNModule(nn.Module):
    """Small convolutional network for images of shape ``(C, H, W)``.

    Each entry of ``channels`` gives a block ``Conv2d(3x3, padding 1) -> norm
    -> activation -> MaxPool(2) -> dropout`` (pooling only along axes of
    length >= 2). The head average-pools the feature maps down to at most
    4 x 4, flattens them and applies a linear layer (after dropout).

    Parameters
    ----------
    image_shape : tuple of int
        ``(C, H, W)``.
    n_outputs : int
    channels : tuple of int
        Output channels of the convolutional blocks.
    activation : str
    dropout : float
    normalization : {None, 'batch', 'layer', 'group', 'instance'}
    """

    def __init__(
        self,
        image_shape,
        n_outputs,
        channels=(32, 64),
        activation="relu",
        dropout=0.0,
        normalization=None,
    ):
        super().__init__()
        #: ``(C, H, W)`` of the input images
        self.image_shape = tuple(image_shape)
        n_channels, height, width = image_shape
        layers = []
        for out_channels in channels:
            conv = nn.Conv2d(n_channels, out_channels, kernel_size=3, padding=1)
            layers += _block(conv, normalization, out_channels, activation, image=True)
            pool = (2 if height >= 2 else 1, 2 if width >= 2 else 1)
            if pool != (1, 1):
                layers.append(nn.MaxPool2d(pool))
                height, width = height // pool[0], width // pool[1]
            if dropout > 0:
                layers.append(_Dropout(dropout))
            n_channels = out_channels
        if height > 4 or width > 4:
            height, width = min(height, 4), min(width, 4)
            layers.append(nn.AdaptiveAvgPool2d((height, width)))
        layers.append(nn.Flatten())
        if dropout > 0 and channels:
            layers.append(_Dropout(dropout))
        layers.append(nn.Linear(n_channels * height * width, n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X)


def _set_dropout_generator(module, generator):
    """Point every :class:`_Dropout` layer of ``module`` at ``generator``
    (None detaches them)."""
    for sub in module.modules():
        if isinstance(sub, _Dropout):
            sub.generator = generator


def _has_batch_norm(module):
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def _image_side(n_features):
    """Side of a square single-channel image with ``n_features`` pixels, or
    None when ``n_features`` is not a perfect square."""
    side = math.isqrt(n_features)
    return side if side * side == n_features else None
