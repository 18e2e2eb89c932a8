"""Training data as tensors sliced into batches (no ``DataLoader``), moved
to the device once when it holds at most :data:`DEVICE_RESIDENT_BYTES`.

Sparse input (scipy CSR/CSC) stays sparse on the CPU as :class:`_SparseRows`:
both engines take rows from it as they take them from a tensor, and only the
rows taken (a batch, a chunk of predictions) are densified."""

import numpy as np
import scipy.sparse as sp
import torch

from sklopt.neural._rules import _n_batches
from sklopt.utils._validation import check_sample_weight

#: Data sets up to this size (bytes) are moved to the device once per fit.
DEVICE_RESIDENT_BYTES = 1 << 30

#: Most bytes of dense rows made at once from sparse input to predict or
#: validate (fewer rows than :data:`~sklopt.neural._net.PREDICT_CHUNK` for
#: wide rows).
SPARSE_CHUNK_BYTES = 1 << 24


class _SparseRows:
    """Sparse inputs standing in for the float32 input tensor of shape
    ``(n, n_features)``: the matrix stays sparse (CSR, on the CPU) and
    indexing it gives the dense rows asked for, as a float32 tensor.

    Parameters
    ----------
    matrix : scipy sparse matrix of shape (n, n_features)
        float32 values (converted to CSR when in another format).
    """

    dtype = torch.float32
    device = torch.device("cpu")

    def __init__(self, matrix):
        self.matrix = sp.csr_matrix(matrix, dtype=np.float32)

    def __len__(self):
        return self.matrix.shape[0]

    @property
    def shape(self):
        return torch.Size(self.matrix.shape)

    def element_size(self):
        return 4

    def nelement(self):
        """Elements of the dense rows (as the tensor it stands for)."""
        return self.matrix.shape[0] * self.matrix.shape[1]

    def nbytes(self):
        """Bytes stored (values, column indices, row pointers)."""
        m = self.matrix
        return m.data.nbytes + m.indices.nbytes + m.indptr.nbytes

    def to(self, device, **kwargs):
        """The same rows: sparse input stays on the CPU; its dense rows are
        moved where they are used."""
        return self

    def __getitem__(self, index):
        """Dense float32 rows (an int gives one row of shape
        ``(n_features,)``)."""
        if torch.is_tensor(index):
            index = index.cpu().numpy()
        if isinstance(index, int | np.integer):
            return torch.from_numpy(self.matrix[[int(index)]].toarray()[0])
        return torch.from_numpy(self.matrix[index].toarray())

    def index_select(self, dim, index):
        """Dense rows at ``index`` (``dim`` must be 0), as
        :meth:`torch.Tensor.index_select`."""
        if dim != 0:
            raise ValueError("sparse inputs are indexed by rows (dim=0) only")
        return self[index]

    def subset(self, index):
        """The rows at ``index``, still sparse."""
        if torch.is_tensor(index):
            index = index.cpu().numpy()
        return _SparseRows(self.matrix[index])

    def std(self, dim=0, unbiased=False):
        """Per-feature standard deviation (float32 tensor), as
        ``tensor.std(0, unbiased=False)``."""
        from sklearn.utils.sparsefuncs import mean_variance_axis

        _, var = mean_variance_axis(self.matrix.astype(np.float64), axis=0)
        return torch.from_numpy(np.sqrt(var).astype(np.float32))


def _as_rows(X):
    """Inputs as both engines take them: a float32 tensor (from an array or
    tensor) or :class:`_SparseRows` (from a scipy sparse matrix)."""
    if isinstance(X, _SparseRows) or torch.is_tensor(X):
        return X
    if sp.issparse(X):
        return _SparseRows(X)
    return torch.from_numpy(np.ascontiguousarray(X))


def _subset(t, index):
    """Rows ``index`` of a tensor or of :class:`_SparseRows` (kept sparse)."""
    return t.subset(index) if isinstance(t, _SparseRows) else t[index]


def _chunk_rows(X, rows):
    """Rows per forward pass over inputs ``X``: ``rows``, fewer for sparse
    inputs whose dense rows would exceed :data:`SPARSE_CHUNK_BYTES`."""
    if not isinstance(X, _SparseRows):
        return rows
    row_bytes = max(1, X.shape[1] * X.element_size())
    return max(1, min(rows, SPARSE_CHUNK_BYTES // row_bytes))


class _TensorData:
    """The tensors of one data split: inputs, targets, optional weights.

    Parameters
    ----------
    X : Tensor of shape (n, ...) or _SparseRows
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
        total = 0
        for t in self.tensors():
            if isinstance(t, _SparseRows):
                total += t.nbytes()
            elif t is not None:
                total += t.element_size() * t.nelement()
        return total

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
            tensors = tuple(None if t is None else _subset(t, perm) for t in tensors)
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
