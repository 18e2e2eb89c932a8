"""Data augmentation of training batches.

An augmentation is a function ``(X_batch, generator) -> X_batch`` on torch
tensors: ``X_batch`` is the batch in the module's input shape (``(n, p)`` for
the MLPs, ``(n, C, H, W)`` for the CNN) on the training device, and
``generator`` is a ``torch.Generator`` on that device (the ``augment``
stream). User callables follow the same convention. Augmentations run on
training batches only, never at prediction or validation.
"""

import functools

import torch
from torch.nn import functional as F

#: Names that need image input (CNNClassifier).
IMAGE_AUGMENTATIONS = ("flip", "shift", "crop")
#: Names that work on any input.
TABULAR_AUGMENTATIONS = ("noise",)


def _flip(X, generator):
    """Mirror each image horizontally with probability 1/2."""
    flip = torch.rand(len(X), generator=generator, device=X.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), X.flip(-1), X)


def _shift(X, generator):
    """Translate each image by a random whole number of pixels, up to 1 (2 for
    images larger than 16 x 16) along each axis, filling with zeros."""
    n, _, height, width = X.shape
    max_shift = 1 if max(height, width) <= 16 else 2
    shifts = torch.randint(
        -max_shift, max_shift + 1, (2, n), generator=generator, device=X.device
    )
    padded = F.pad(X, (max_shift,) * 4)
    rows = torch.arange(height, device=X.device) + max_shift + shifts[0, :, None]
    cols = torch.arange(width, device=X.device) + max_shift + shifts[1, :, None]
    batch = torch.arange(n, device=X.device)[:, None, None]
    # (n, H, W, C) -> (n, C, H, W)
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


def _crop(X, generator, min_scale=0.8):
    """Crop a random box covering ``min_scale`` to 100% of each side and resize
    it back to the image size (bilinear)."""
    n = len(X)
    scale = min_scale + (1 - min_scale) * torch.rand(
        n, generator=generator, device=X.device
    )
    # The crop centre keeps the box inside the image: |t| <= 1 - scale.
    offset = (2 * torch.rand(2, n, generator=generator, device=X.device) - 1) * (
        1 - scale
    )
    theta = torch.zeros(n, 2, 3, device=X.device, dtype=X.dtype)
    theta[:, 0, 0] = scale
    theta[:, 1, 1] = scale
    theta[:, 0, 2] = offset[0]
    theta[:, 1, 2] = offset[1]
    grid = F.affine_grid(theta, list(X.shape), align_corners=False)
    return F.grid_sample(X, grid, mode="bilinear", align_corners=False)


def _gaussian_noise(X, generator, std):
    """Add Gaussian noise of standard deviation ``std`` (per feature)."""
    noise = torch.randn(X.shape, generator=generator, device=X.device, dtype=X.dtype)
    return X + noise * std


_BUILTINS = {"flip": _flip, "shift": _shift, "crop": _crop}


def _compose(functions, X, generator):
    for function in functions:
        X = function(X, generator)
    return X


def _make_augmenter(augmentation, *, image, noise_std, estimator_name):
    """Build the batch augmentation function from the ``augmentation`` param.

    Parameters
    ----------
    augmentation : None, str, callable or list of those
        Names are :data:`IMAGE_AUGMENTATIONS` (images only) and
        :data:`TABULAR_AUGMENTATIONS`; ``'noise'`` adds Gaussian noise with
        standard deviation ``0.1 * noise_std`` per feature.
    image : bool
        Whether the estimator takes images.
    noise_std : callable () -> Tensor
        Gives the per-feature standard deviation of the training inputs (in
        the module's input shape, without the batch axis), on the device;
        called only for ``'noise'``.
    estimator_name : str
        For error messages.

    Returns
    -------
    augment : callable ``(X, generator) -> X`` or None
    """
    if augmentation is None:
        return None
    items = augmentation if isinstance(augmentation, (list, tuple)) else [augmentation]
    valid = TABULAR_AUGMENTATIONS + (IMAGE_AUGMENTATIONS if image else ())
    functions = []
    for item in items:
        if callable(item):
            functions.append(item)
        elif isinstance(item, str) and item in valid:
            if item == "noise":
                functions.append(
                    functools.partial(_gaussian_noise, std=0.1 * noise_std())
                )
            else:
                functions.append(_BUILTINS[item])
        elif isinstance(item, str) and item in IMAGE_AUGMENTATIONS:
            raise ValueError(
                f"augmentation={item!r} needs image input; {estimator_name} takes "
                f"tabular features, where the valid names are {valid}. Use "
                "CNNClassifier for images."
            )
        else:
            raise ValueError(
                f"augmentation must be None, a callable (X_batch, generator) -> "
                f"X_batch, one of the names {valid}, or a list of those; got {item!r}."
            )
    if len(functions) == 1:
        return functions[0]
    return functools.partial(_compose, functions)
