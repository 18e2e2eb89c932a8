"""Training data as tensors sliced into batches (no ``DataLoader``), moved
to the device once when it holds at most :data:`DEVICE_RESIDENT_BYTES`."""

import torch

from sklopt.neural._rules import _n_batches
from sklopt.utils._validation import check_sample_weight

#: Data sets up to this size (bytes) are moved to the device once per fit.
DEVICE_RESIDENT_BYTES = 1 << 30


class _TensorData:
    """The tensors of one data split: inputs, targets, optional weights.

    Parameters
    ----------
    X : Tensor of shape (n, ...)
        Inputs in the module's input shape (float32).
    y : Tensor of shape (n,) or (n, k)
        Encoded labels (int64) or regression targets (float32, 2-D).
    weight : Tensor of shape (n,) or None
        Sample weights normalised to mean 1, or None for uniform weights.
    """

    def __init__(self, X, y, weight=None):
        self.X, self.y, self.weight = X, y, weight

    def __len__(self):
        return len(self.X)

    def tensors(self):
        return (self.X, self.y, self.weight)

    def nbytes(self):
        return sum(
            t.element_size() * t.nelement() for t in self.tensors() if t is not None
        )

    def to(self, device):
        """Return the data on ``device`` (the same object when already there)."""
        if self.X.device == torch.device(device):
            return self
        moved = (None if t is None else t.to(device) for t in self.tensors())
        return _TensorData(*moved)

    def place(self, device):
        """Move to ``device`` once if small enough (see the module docstring)."""
        if torch.device(device).type == "cpu" or self.nbytes() <= DEVICE_RESIDENT_BYTES:
            return self.to(device)
        return self


class _FitData:
    """What the net's training loop consumes: training data, optional
    validation data and the number of epochs of this call."""

    def __init__(self, train, valid=None, epochs=1):
        self.train, self.valid, self.epochs = train, valid, epochs


class _BatchIterator:
    """Yield ``(X, y, weight)`` batches by slicing tensors.

    Parameters
    ----------
    data : _TensorData
    batch_size : int
    device : str
        Batches are moved there (a no-op when the data already is).
    generator : torch.Generator or None
        CPU generator for the per-epoch permutation; None keeps the order.
    drop_single : bool
        Skip a last batch of one sample (batch normalization cannot train on
        it).
    """

    def __init__(
        self, data, batch_size, *, device="cpu", generator=None, drop_single=False
    ):
        self.data = data
        self.batch_size = max(1, min(int(batch_size), len(data)))
        self.device = torch.device(device)
        self.generator = generator
        self.drop_single = drop_single

    def __len__(self):
        return _n_batches(len(self.data), self.batch_size, self.drop_single)

    def __iter__(self):
        tensors = self.data.tensors()
        n = len(self.data)
        if self.generator is not None and n > 1:
            perm = torch.randperm(n, generator=self.generator)
            perm = perm.to(tensors[0].device)
            tensors = tuple(None if t is None else t[perm] for t in tensors)
        move = tensors[0].device != self.device
        size = self.batch_size
        for start in range(0, size * len(self), size):
            batch = tuple(
                None if t is None else t[start : start + size] for t in tensors
            )
            if move:
                batch = tuple(
                    None if t is None else t.to(self.device, non_blocking=True)
                    for t in batch
                )
            yield batch


def _validate_sample_weight(sample_weight, n_samples):
    """None, or the checked weights (see
    :func:`sklopt.utils._validation.check_sample_weight`)."""
    if sample_weight is None:
        return None
    return check_sample_weight(sample_weight, n_samples)
