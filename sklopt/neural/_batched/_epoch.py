"""The stacked batches of one epoch, prepared at once (host tables, one
copy to the device)."""

import numpy as np
import torch

from sklopt.neural._mixing import _cutmix_box, _draw_mixup

#: Bytes of input rows and targets gathered at once (a block of steps) on an
#: accelerator; on the CPU each step gathers its own.
EPOCH_BYTES = 1 << 23


def _block_steps(device, step_bytes):
    """Steps whose inputs and targets are gathered at once: on the CPU one
    (a step's rows stay in cache), on an accelerator as many as fit in
    :data:`EPOCH_BYTES` (one gather instead of one per step)."""
    if torch.device(device).type == "cpu":
        return 1
    return max(1, EPOCH_BYTES // step_bytes)


class _StackedBatch:
    """One stacked training step: the members ``start:`` of the stack and
    their (padded) batches.

    Attributes
    ----------
    start : int
        First member of the stack that takes part.
    x, y : Tensor of shape (K', width, ...)
        Inputs and targets (on the training device).
    weight : Tensor of shape (K', width) or None
        Normalised sample weights.
    counts : ndarray of shape (K',)
        Real rows of each member (host).
    counts_t : Tensor of shape (K',) or None
        The same, as floats on the device, where the batch is padded.
    mask : Tensor of shape (K', width) or None
        1 on real rows, 0 on padding; None when no member's batch is padded.
    mix : tuple (lam, rest, partner, keep, take) or None
        Mixing's per-member ``lambda`` and ``1 - lambda`` of the targets
        (K',), pairing (K', width), and with CutMix the per-pixel weights of
        the images and their partners (K', H, W), else None.
    dropout : list of Tensor or None
        Scaled keep-masks of the dropout layers (set by the trainer).
    """

    def __init__(self, start, x, y, weight, counts, counts_t, mask, mix=None):
        self.start = start
        self.x, self.y, self.weight = x, y, weight
        self.counts, self.counts_t, self.mask = counts, counts_t, mask
        self.mix = mix
        self.dropout = None


def _member_batches(member, offset, n_steps, batch):
    """Pool positions ``(n_steps, batch)`` and row counts ``(n_steps,)`` of
    one member's batches in this epoch, from one ``torch.randperm`` of its
    ``shuffle`` stream (as :class:`~sklopt.neural._data._BatchIterator`
    shuffles and cuts). Padding points at the member's first pool row."""
    n = len(member.train_rows)
    if n > 1:
        perm = torch.randperm(n, generator=member.streams.shuffle).numpy()
    else:
        perm = np.arange(n)
    size = min(member.recipe.batch_size, n)
    used = min(n, size * member.n_batches)
    padded = np.full(member.n_batches * size, -1, np.int64)
    padded[:used] = perm[:used]
    padded = padded.reshape(member.n_batches, size)
    positions = np.full((n_steps, batch), offset, np.int64)
    counts = np.zeros(n_steps, np.int64)
    counts[: member.n_batches] = (padded >= 0).sum(1)
    positions[: member.n_batches, :size] = np.where(padded >= 0, padded, 0) + offset
    return positions, counts


class _EpochBatches:
    """The stacked batches of one epoch of the members in the stack.

    Parameters
    ----------
    trainer : _BatchedTrainer
        Its members (sorted by their number of batches), pools of training
        rows and weights, data and device.
    """

    def __init__(self, trainer):
        members = trainer.members
        n_members = len(members)
        batch = max(m.recipe.batch_size for m in members)
        n_steps = max(m.n_batches for m in members)
        positions = np.empty((n_steps, n_members, batch), np.int64)
        counts = np.empty((n_steps, n_members), np.int64)
        for k, m in enumerate(members):
            positions[:, k], counts[:, k] = _member_batches(
                m, trainer.offsets[k], n_steps, batch
            )
        n_batches = np.array([m.n_batches for m in members])
        #: first member taking part in each step (members are sorted)
        self.starts = np.searchsorted(n_batches, np.arange(n_steps), side="right")
        self.widths, self.padded = [], []
        for j, start in enumerate(self.starts.tolist()):
            step_counts = counts[j, start:]
            self.widths.append(int(step_counts.max()))
            self.padded.append(bool((step_counts != step_counts[0]).any()))
        self.n_steps, self.width, self.counts = n_steps, batch, counts
        self.trainer = trainer
        device = trainer.device
        dtype = trainer.X.dtype
        rows = trainer.pool_rows[positions]
        self.rows = torch.from_numpy(rows).to(trainer.X.device)
        self.counts_t = torch.from_numpy(counts.astype(np.float32)).to(device, dtype)
        self.weight = None
        if trainer.pool_weight is not None:
            weight = trainer.pool_weight[positions]
            self.weight = torch.from_numpy(weight).to(device)
        # padding masks of the padded steps only (a few per epoch: where
        # some members are at their last, partial batch)
        padded = [j for j, p in enumerate(self.padded) if p]
        self.mask_index = dict(zip(padded, range(len(padded))))
        self.mask = None
        if padded:
            mask = np.arange(batch) < counts[padded, :, None]
            self.mask = torch.from_numpy(mask).to(device, dtype)
        mixing = any(m.recipe.mixing for m in members)
        self.mix = self._draw_mixup(members) if mixing else None
        row_bytes = trainer.X[0].nelement() * trainer.X.element_size()
        row_bytes += trainer.target[0].nelement() * trainer.target.element_size()
        self.block_steps = _block_steps(device, n_members * batch * row_bytes)
        self.block = None

    def _draw_mixup(self, members):
        """Each member's mixing draws for every batch of the epoch, from its
        ``mixing`` stream in batch order, as
        :func:`~sklopt.neural._mixing._mix_batch` draws them: the CutMix or
        mixup coin (when both are on), lambda, the pairing, and CutMix's box.

        Returns ``(lam, rest, partner, keep, take)``: the per-member weights
        of the targets (``lam``, ``1 - lam``; CutMix: the area-adjusted
        lambda), the pairing, and with CutMix the per-pixel weights of the
        image and of its partner, ``(n_steps, K, H, W)`` (mixup members:
        ``lam`` and ``1 - lam`` everywhere; CutMix members: 0/1 outside and
        inside the box), else None. Padding rows and members without a batch
        are paired with themselves.
        """
        counts = self.counts
        lams = np.ones(counts.shape)
        partner = np.broadcast_to(np.arange(self.width), (*counts.shape, self.width))
        partner = partner.copy()
        keep = take = None
        if any(m.recipe.cutmix_alpha > 0 for m in members):
            height, width = self.trainer.X.shape[-2:]
            keep = np.ones((*counts.shape, height, width), np.float32)
            take = np.zeros((*counts.shape, height, width), np.float32)
        for k, m in enumerate(members):
            recipe = m.recipe
            if not recipe.mixing:
                continue  # paired with itself, lambda 1
            rng = m.streams.mixing
            for j in range(m.n_batches):
                count = int(counts[j, k])
                use_cutmix = recipe.cutmix_alpha > 0
                if use_cutmix and recipe.mixup_alpha > 0:
                    use_cutmix = rng.random() < 0.5
                alpha = recipe.cutmix_alpha if use_cutmix else recipe.mixup_alpha
                lam, partner[j, k, :count] = _draw_mixup(count, alpha, rng)
                if use_cutmix:
                    top, bottom, left, right = _cutmix_box(height, width, lam, rng)
                    lam = 1.0 - (bottom - top) * (right - left) / (height * width)
                    keep[j, k, top:bottom, left:right] = 0.0
                    take[j, k, top:bottom, left:right] = 1.0
                elif keep is not None:
                    keep[j, k] = lam
                    take[j, k] = 1.0 - lam
                lams[j, k] = lam
        device = self.trainer.device

        def table(values):
            return None if values is None else torch.from_numpy(values).to(device)

        return (
            table(lams.astype(np.float32)),
            table((1.0 - lams).astype(np.float32)),
            table(partner),
            table(keep),
            table(take),
        )

    def _gather(self, first):
        """Inputs and targets of the block of steps starting at ``first``."""
        trainer = self.trainer
        self.block = None  # released before the next block is gathered
        rows = self.rows[first : first + self.block_steps]
        flat = rows.reshape(-1)
        x = trainer.X.index_select(0, flat)
        y = trainer.target.index_select(0, flat)
        x = x.view(*rows.shape, *trainer.X.shape[1:])
        y = y.view(*rows.shape, *trainer.target.shape[1:])
        device = trainer.device
        self.block = (first, x.to(device, non_blocking=True), y.to(device))

    def batch(self, j):
        """The stacked batch of step ``j`` (views into the epoch's tables)."""
        if self.block is None or not 0 <= j - self.block[0] < self.block_steps:
            self._gather(j)
        first, x, y = self.block
        start, width = int(self.starts[j]), self.widths[j]
        narrow = width < self.width

        def take(table, step):
            value = table[step]
            if start:
                value = value[start:]
            if narrow:
                # contiguous, as the layers and reductions of a full step see
                # their operands
                value = value[:, :width].contiguous()
            return value

        mask = counts_t = mix = None
        if self.padded[j]:
            mask = take(self.mask, self.mask_index[j])
            counts_t = self.counts_t[j, start:]
        if self.mix is not None:
            lam, rest, partner, keep, paste = self.mix
            mix = (lam[j, start:], rest[j, start:], take(partner, j), None, None)
            if keep is not None:
                mix = (*mix[:3], keep[j, start:], paste[j, start:])
        return _StackedBatch(
            start,
            take(x, j - first),
            take(y, j - first),
            None if self.weight is None else take(self.weight, j),
            self.counts[j, start:],
            counts_t,
            mask,
            mix,
        )
