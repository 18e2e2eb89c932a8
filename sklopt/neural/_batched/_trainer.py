"""The epoch loop of one stack of members."""

import time

import numpy as np
import torch
from torch.nn import functional as F

from sklopt.exceptions import (
    DivergenceError,
)
from sklopt.neural._batched._epoch import _EpochBatches
from sklopt.neural._batched._layers import _along, _per_member, _stack_class
from sklopt.neural._batched._optimizer import _make_optimizer
from sklopt.neural._data import DEVICE_RESIDENT_BYTES, _as_rows, _chunk_rows
from sklopt.neural._losses import _multilabel_per_sample
from sklopt.neural._net import PREDICT_CHUNK
from sklopt.neural._rules import (
    _divergence_message,
    _member_scheduler,
    _monitor,
    _PlateauRule,
    _step_scheduler,
)

_ALLOCATOR_WARM = False


def _warm_cpu_allocator():
    """Let glibc's malloc keep the stack's per-step tensors in its heap.

    A step allocates and frees tensors of a few MiB; glibc maps each one fresh
    (and page-faults it in) until it has seen a large block freed: freeing
    one ~32 MiB block raises its adaptive mmap and trim thresholds (to 32 and
    64 MiB), as any program using such a buffer would. Measured: the page
    faults of batched training vanish and its CPU time drops by about 10 %.
    """
    global _ALLOCATOR_WARM
    if not _ALLOCATOR_WARM:
        block = torch.empty((31 << 20) // 4)
        block.fill_(0.0)
        del block
        _ALLOCATOR_WARM = True


class _BatchedTrainer:
    """The epoch loop of one stack of members."""

    def __init__(self, module_spec, members, Xf, target, device, verbose, errors):
        self.device = device
        if torch.device(device).type == "cpu":
            _warm_cpu_allocator()
        self.verbose = verbose
        self.errors = errors
        self.classification = members[0].spec.classification
        self.multilabel = members[0].recipe.multilabel
        # Fewer batches first: the members that still have a batch at step j
        # are a suffix of the stack; members with equal optimizer constants
        # next to each other (fewer optimizer parameters).
        self.members = sorted(
            members,
            key=lambda m: (
                m.n_batches,
                repr(sorted(m.spec.optimizer_constants.items())),
            ),
        )
        #: the structural settings, shared by the members
        self.spec = self.members[0].spec
        for m in self.members:
            m.rule = _PlateauRule(m.spec.patience, m.spec.tol)
        module_class, kwargs = module_spec
        modules = [
            m.streams.init_module(lambda: module_class(**kwargs)) for m in self.members
        ]
        self.stack = _stack_class(modules[0])(modules, device)
        self._leaf_cache = {}
        self._settings_cache = {}
        self._ones = torch.ones(len(self.members), device=device)
        self.optimizer = _make_optimizer(
            [m.spec for m in self.members],
            self.stack,
            [m.n_batches for m in self.members],
        )
        self._init_schedulers()
        # sparse inputs stay on the CPU, densified batch by batch
        X_all = _as_rows(Xf)
        on_device = torch.device(device).type == "cpu" or (
            X_all.element_size() * X_all.nelement() <= DEVICE_RESIDENT_BYTES
        )
        self.X = X_all.to(device) if on_device else X_all
        self.target = target.to(self.X.device)
        self._init_pools()
        self.best = None

    # ---- set-up -------------------------------------------------------------
    def _init_pools(self):
        self.weighted = any(m.train_weight is not None for m in self.members)
        self._fill_pools()
        #: whether any member holds validation rows out (early stopping)
        self.early_stopping = any(m.spec.early_stopping for m in self.members)
        if self.early_stopping:
            self._init_validation()

    def _init_validation(self):
        """Padded validation rows of each member (fixed for the whole fit;
        one placeholder row for members without early stopping)."""
        valid = [
            m.valid_rows if m.valid_rows is not None else m.train_rows[:1]
            for m in self.members
        ]
        sizes = [len(v) for v in valid]
        width = max(sizes)
        rows = np.zeros((len(self.members), width), np.int64)
        for k, v in enumerate(valid):
            rows[k, : sizes[k]] = v
            rows[k, sizes[k] :] = v[0]
        self.valid_rows = torch.from_numpy(rows).to(self.X.device)
        self.valid_sizes = sizes
        for m in self.members:
            if m.valid_rows is None:
                continue
            m.valid_y = self.target[torch.from_numpy(m.valid_rows).to(self.X.device)]
            m.valid_y = m.valid_y.to(self.device)
            m.valid_w = (
                None
                if m.valid_weight is None
                else torch.from_numpy(m.valid_weight).to(self.device)
            )

    def _init_schedulers(self):
        """One torch scheduler per member with a schedule
        (:func:`~sklopt.neural._rules._member_scheduler`)."""
        self.scheduled = False
        for m, lr in zip(self.members, self.optimizer.lrs()):
            m.scheduler_optimizer, m.scheduler = _member_scheduler(m.spec, lr)
            self.scheduled = self.scheduled or m.scheduler is not None
        if self.scheduled:
            self.optimizer.set_lrs(self._scheduled_lrs())

    def _scheduled_lrs(self):
        """Each member's learning rate after its schedule's last step."""
        return [
            lr if m.scheduler is None else m.scheduler_optimizer.param_groups[0]["lr"]
            for m, lr in zip(self.members, self.optimizer.lrs())
        ]

    # ---- the epoch loop -----------------------------------------------------
    def train(self):
        """Train the members; return whether a KeyboardInterrupt stopped
        them (they keep the weights reached)."""
        bar = self._progress_bar()
        interrupted = False
        try:
            for epoch in range(1, self.spec.max_epochs + 1):
                if not self.members:
                    break
                begin = time.perf_counter()
                lrs = self.optimizer.lrs()
                for m, lr in zip(self.members, lrs):
                    m.history.append({"epoch": epoch, "lr": lr})
                losses, counts = self._train_epoch()
                self._end_epoch(epoch, losses, counts, begin)
                if bar is not None:
                    bar.update(1)
        except KeyboardInterrupt:
            interrupted = True
            for m in self.members:
                m.stop_reason = "interrupted"
        finally:
            if bar is not None:
                bar.close()
        for m in self.members:
            m.stop_reason = m.stop_reason or "max_epochs"
        self._finish(list(range(len(self.members))))
        return interrupted

    def _progress_bar(self):
        if not (self.verbose or self.spec.verbose):
            return None
        from tqdm.auto import tqdm

        return tqdm(
            total=self.spec.max_epochs,
            desc=f"{self.spec.name} x{len(self.members)} (batched)",
            unit="epoch",
        )

    def _train_epoch(self):
        """One epoch of stacked steps; returns each member's summed
        (count-weighted) batch losses and its number of training rows."""
        epoch = _EpochBatches(self)
        # The batch losses stay on the device until the end of the epoch.
        losses = [self._step(epoch.batch(j)) for j in range(epoch.n_steps)]
        losses = torch.cat(losses).cpu().numpy()
        totals = np.zeros(len(self.members))
        end = 0
        with np.errstate(all="ignore"):
            for j, start in enumerate(epoch.starts.tolist()):
                # float64 running sums, step by step, as a separate fit adds
                # its batch losses
                begin, end = end, end + len(totals) - start
                counts = epoch.counts[j, start:]
                totals[start:] += losses[begin:end].astype(np.float64) * counts
        return totals, epoch.counts.sum(0)

    def _leaves(self, start):
        """Detached views of the weights of members ``start:`` that the
        step differentiates (reused from step to step: the optimizer updates
        the weights in place)."""
        leaves = self._leaf_cache.get(start)
        if leaves is None:
            leaves = {
                name: value[start:].detach().requires_grad_(True)
                for name, value in self.stack.params.items()
            }
            self._leaf_cache[start] = leaves
        return leaves

    def _settings(self, start):
        """The :class:`_StepSettings` of members ``start:`` (cached)."""
        settings = self._settings_cache.get(start)
        if settings is None:
            settings = _StepSettings(self.members[start:], self.device)
            self._settings_cache[start] = settings
        return settings

    def _step(self, batch):
        """One optimizer step of members ``batch.start:`` on their batches;
        returns their (detached) batch losses."""
        start = batch.start
        members = self.members[start:]
        settings = self._settings(start)
        x = self._perturb_inputs(members, batch.x, batch.counts, settings)
        target, weight = batch.y, batch.weight
        if settings.soft_targets:
            target = settings.smooth(target)
        if settings.mixing:
            x, target, weight = _mix(x, target, weight, batch.mix)
        stack = self.stack
        leaves = self._leaves(start)
        params = leaves
        weight_noise = settings.weight_noise
        if weight_noise is not None:
            params = dict(leaves)
            for name, noise in self._weight_noise(members, leaves, settings).items():
                if torch.is_tensor(weight_noise):
                    params[name] = leaves[name] + noise * _along(weight_noise, noise)
                else:
                    params[name] = torch.add(leaves[name], noise, alpha=weight_noise)
        batch.dropout = self._dropout_masks(members, batch, settings)
        output = stack.forward(params, x, start=start, training=True, batch=batch)
        losses = self._member_losses(output, target, weight, batch)
        names = list(leaves)
        # the gradient of the sum of the members' losses, without the sum
        ones = self._ones[: len(losses)]
        gradients = torch.autograd.grad(losses, [leaves[n] for n in names], ones)
        grads = dict(zip(names, gradients))
        with torch.no_grad():
            l1 = settings.l1
            if l1 is not None:
                for name in stack.decayed:
                    sign = torch.sign(leaves[name])
                    if torch.is_tensor(l1):
                        grads[name].add_(sign * _along(l1, sign))
                    else:
                        grads[name].add_(sign, alpha=l1)
            if settings.clip_grad_norm is not None:
                _clip(grads, settings.clip_grad_norm)
            self.optimizer.step(grads, start)
        return losses.detach()

    # ---- per-member randomness ---------------------------------------------
    def _perturb_inputs(self, members, x, counts, settings):
        """Augmentation then input noise, per member (its own streams)."""
        if members[0].recipe.augment is not None:
            x = x.clone()
            for k, m in enumerate(members):
                xk = m.recipe.augment(x[k, : counts[k]], m.streams.augment)
                if m.recipe.input_noise:
                    noise = torch.randn(
                        xk.shape, generator=m.streams.noise, device=xk.device
                    )
                    xk = xk + noise * m.recipe.input_noise
                x[k, : counts[k]] = xk
            return x
        std = settings.input_noise
        if std is not None:
            noise = torch.zeros_like(x, memory_format=torch.contiguous_format)
            for k, m in enumerate(members):
                if m.recipe.input_noise:
                    # drawn in place: the same values as ``torch.randn`` of
                    # the member's real rows
                    noise[k, : counts[k]].normal_(generator=m.streams.noise)
            x = x + noise * (_along(std, x) if torch.is_tensor(std) else std)
        return x

    def _weight_noise(self, members, leaves, settings):
        """Noise on the decayed weights, drawn per member from its ``noise``
        stream (after its input noise), parameter by parameter (zero for
        members without weight noise)."""
        stack = self.stack
        fill = (
            torch.zeros_like
            if torch.is_tensor(settings.weight_noise)
            else (torch.empty_like)
        )
        noise = {name: fill(leaves[name]) for name in stack.decayed}
        for k, m in enumerate(members):
            if not m.recipe.weight_noise:
                continue
            for name, value in noise.items():
                transposed = name in stack.transposed
                shape = value.shape[1:]
                drawn = torch.randn(
                    shape[::-1] if transposed else shape,
                    generator=m.streams.noise,
                    device=value.device,
                    dtype=value.dtype,
                )
                value[k] = drawn.t() if transposed else drawn
        return noise

    def _dropout_masks(self, members, batch, settings):
        """Scaled keep-masks of every dropout layer: per member, uniforms
        drawn from its ``dropout`` stream in forward order into its real rows
        (as :class:`~sklopt.neural._modules._Dropout` draws them), compared
        with its keep probability in one operation for all members; padding
        rows, and members without dropout, keep everything."""
        if not any(settings.dropout) or not self.stack.dropout_shapes:
            return None
        width, counts = batch.x.shape[1], batch.counts
        keep, scale = settings.dropout_keep, settings.dropout_scale
        masks = []
        for shape in self.stack.dropout_shapes:
            # zeros: below every keep probability (members without dropout
            # keep 1 with scale 1)
            uniform = torch.zeros(len(members), width, *shape, device=self.device)
            for k, m in enumerate(members):
                if settings.dropout[k]:
                    # drawn in place into the member's real rows (contiguous)
                    uniform[k, : counts[k]].uniform_(generator=m.streams.dropout)
            # in place: 1.0 where kept, 0.0 where dropped, then scaled
            mask = uniform.lt_(_along(keep, uniform)).mul_(_along(scale, uniform))
            if batch.mask is not None:
                rows = batch.mask.view(*batch.mask.shape, *[1] * len(shape))
                mask = torch.where(rows > 0, mask, 1.0)
            masks.append(mask)
        return masks

    # ---- losses and gradient clipping --------------------------------------
    def _member_losses(self, output, target, weight, batch):
        """Each member's batch loss: the mean over its real rows of the
        (weighted) per-sample loss, as a separate fit computes it."""
        if self.multilabel:
            per_row = _multilabel_per_sample(output, target)
        elif self.classification:
            # log-softmax over the classes laid out along axis 1 (rows along
            # the last axis): vectorised over rows, unlike a last-axis
            # log-softmax over a few classes.
            log_proba = F.log_softmax(output.transpose(1, 2).contiguous(), dim=1)
            if target.dim() == output.dim():  # soft targets
                per_row = -(log_proba * target.transpose(1, 2)).sum(1)
            else:
                per_row = -log_proba.gather(1, target.unsqueeze(1)).squeeze(1)
        elif weight is None and batch.mask is None:
            return F.mse_loss(output, target, reduction="none").mean((1, 2))
        else:
            per_row = (output - target).square().mean(dim=2)
        if weight is not None:
            per_row = per_row * weight
        if batch.mask is None:
            return per_row.mean(1)
        return (per_row * batch.mask).sum(1) / batch.counts_t

    # ---- end of an epoch: losses, validation, schedules, stopping ----------
    def _end_epoch(self, epoch, totals, counts, begin):
        train_loss = (totals / np.maximum(counts, 1)).tolist()
        finite = self.stack.finite()
        diverged = []
        for k, m in enumerate(self.members):
            m.history[-1]["train_loss"] = train_loss[k]
            m.history[-1]["train_batch_count"] = m.n_batches
            if not (np.isfinite(train_loss[k]) and finite[k]):
                diverged.append(k)
        if diverged:
            self._handle_divergence(epoch, diverged)
        if self.early_stopping:
            self._validate(skip=set(diverged))
        duration = time.perf_counter() - begin
        stopped = list(diverged)
        improved = []
        for k, m in enumerate(self.members):
            if k in diverged:
                continue
            m.history[-1]["dur"] = duration
            if m.scheduler is not None:
                _step_scheduler(m.scheduler, m.history[-1], m.spec)
            if self._stop_rule(m, epoch) and m.spec.early_stopping:
                improved.append(k)
            if m.stop_reason is not None:
                stopped.append(k)
        if self.scheduled:
            self.optimizer.set_lrs(self._scheduled_lrs())
        if self.early_stopping and improved:
            self._save_best(improved)
        if stopped:
            self._finish(sorted(stopped))

    def _validate(self, skip):
        """Validation loss and score of every member on its held-out rows."""
        outputs = []
        width = self.valid_rows.shape[1]
        rows = _chunk_rows(self.X, PREDICT_CHUNK * 8)
        step = max(1, rows // max(1, len(self.members)))
        with torch.no_grad():
            for lo in range(0, width, step):
                rows = self.valid_rows[:, lo : lo + step]
                x = _take(self.X, rows.reshape(-1), rows.shape).to(self.device)
                outputs.append(self.stack.forward(self.stack.params, x, training=False))
        output = outputs[0] if len(outputs) == 1 else torch.cat(outputs, 1)
        checked = [
            k
            for k, m in enumerate(self.members)
            if k not in skip and m.spec.early_stopping
        ]
        if not checked:
            return
        values = []
        for k in checked:
            m = self.members[k]
            out = output[k, : self.valid_sizes[k]]
            values.append(m.recipe.loss(out, m.valid_y, m.valid_w))
            values.append(m.recipe.score(out, m.valid_y, m.valid_w))
        # one read from the device for all members
        values = torch.stack(values).tolist()
        for i, k in enumerate(checked):
            history = self.members[k].history[-1]
            history["valid_loss"], history["valid_score"] = values[2 * i : 2 * i + 2]

    def _stop_rule(self, m, epoch):
        """The member's :class:`~sklopt.neural._rules._PlateauRule` on its
        monitored loss; returns whether the loss improved on the best."""
        spec = m.spec
        improved = m.rule.update(m.history[-1][_monitor(spec.early_stopping)], epoch)
        if m.rule.stopped:
            m.stop_reason = "early_stopping" if spec.early_stopping else "plateau"
        return improved

    def _save_best(self, improved):
        """Copy the weights and buffers of improved members (early stopping
        restores them at the end)."""
        stack = self.stack
        if self.best is None:
            self.best = (
                {k: v.clone() for k, v in stack.params.items()},
                {k: v.clone() for k, v in stack.buffers.items()},
            )
        index = torch.as_tensor(improved, device=self.device)
        for saved, current in zip(self.best, (stack.params, stack.buffers)):
            for name, value in current.items():
                saved[name].index_copy_(0, index, value.index_select(0, index))
        for k in improved:
            self.members[k].has_best = True

    def _handle_divergence(self, epoch, diverged):
        """Members whose loss or weights are not finite: with early stopping
        and a best epoch, keep the best weights (a warning follows); else
        stop with the error a separate fit raises."""
        for k in diverged:
            m = self.members[k]
            if m.spec.early_stopping and m.has_best:
                m.stop_reason = "diverged"
                m.diverged_at = (epoch, m.history[-1]["train_loss"])
                continue
            m.error = DivergenceError(
                _divergence_message(
                    m.spec, epoch, m.history[-1]["train_loss"], member=m.index
                )
            )
            if self.errors == "raise":
                raise m.error
            m.stop_reason = "failed"

    def _finish(self, positions):
        """Freeze the members at ``positions``: record their final weights
        (the best ones with early stopping), buffers and optimizer state, and
        take them out of the stack."""
        if not positions:
            return
        stack = self.stack
        for k in positions:
            m = self.members[k]
            if m.error is not None:
                continue
            use_best = (
                m.spec.early_stopping
                and m.has_best
                and (
                    m.stop_reason == "diverged"
                    or m.rule.best_epoch != m.history[-1]["epoch"]
                )
            )
            if use_best:
                state = stack.member_state_dict(k, *self.best)
            else:
                state = stack.member_state_dict(k)
            m.result = {
                "state_dict": state,
                "optimizer_state": (
                    {}
                    if m.stop_reason == "diverged"
                    else self.optimizer.member_state(k)
                ),
                "lr": self.optimizer.lrs()[k],
            }
        keep = [k for k in range(len(self.members)) if k not in set(positions)]
        self.members = [self.members[k] for k in keep]
        if not keep:
            return
        stack.select(keep)
        self._leaf_cache = {}
        self._settings_cache = {}
        self.optimizer.select(keep)
        if self.best is not None:
            self.best = tuple(
                {
                    name: value.index_select(
                        0, torch.as_tensor(keep, device=value.device)
                    )
                    for name, value in saved.items()
                }
                for saved in self.best
            )
        if self.early_stopping:
            self.valid_rows = self.valid_rows[
                torch.as_tensor(keep, device=self.valid_rows.device)
            ]
            self.valid_sizes = [self.valid_sizes[k] for k in keep]
        self._fill_pools()

    def _fill_pools(self):
        """Pool the training rows (global row indices) and normalised weights
        of the members in the stack, with each member's offset (host
        arrays)."""
        sizes = [len(m.train_rows) for m in self.members]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        rows = np.concatenate([m.train_rows for m in self.members]).astype(np.int64)
        self.pool_rows = rows
        self.pool_weight = None
        if self.weighted:
            weight = np.concatenate(
                [
                    np.ones(len(m.train_rows), np.float32)
                    if m.train_weight is None
                    else m.train_weight
                    for m in self.members
                ]
            )
            self.pool_weight = weight


def _mix(x, target, weight, mix):
    """Mixup or CutMix with each member's own draws (made for the epoch by
    :class:`~sklopt.neural._batched_epoch._EpochBatches`): targets and
    weights mixed by each member's lambda, images by its per-pixel weights
    when CutMix is on (a box pasted from the partner, or mixup's lambda)."""
    lam, rest, partner, keep, take = mix
    index = torch.arange(len(x), device=x.device).unsqueeze(1)

    def mixed(a):
        shape = (-1,) + (1,) * (a.dim() - 1)
        return a * lam.view(shape) + a[index, partner] * rest.view(shape)

    if keep is None:
        x = mixed(x)
    else:  # (K', B, C, H, W) images, (K', H, W) pixel weights
        x = x * keep[:, None, None] + x[index, partner] * take[:, None, None]
    target = mixed(target)
    if weight is not None:
        weight = mixed(weight)
    return x, target, weight


def _take(values, rows, shape):
    """``values[rows]`` reshaped to ``shape + values.shape[1:]``."""
    return values.index_select(0, rows).view(*shape, *values.shape[1:])


def _clip(grads, max_norm):
    """Per-member gradient clipping: ``clip_grad_norm_`` over each member's
    parameters (global L2 norm of its gradients); ``max_norm`` is a float or
    one value per member (inf: no clipping)."""
    norms = torch.stack(
        [torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads.values()], 1
    )
    total = torch.linalg.vector_norm(norms, dim=1)
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    if torch.is_tensor(max_norm):
        coef = torch.where(torch.isinf(max_norm), torch.ones_like(coef), coef)
    for g in grads.values():
        g.mul_(_along(coef, g))


class _StepSettings:
    """The training constants of the members of a stacked step.

    Each is a float when the members share it (None: off), else a tensor
    with one value per member: a step then applies every member's own value
    (label smoothing, input and weight noise, L1, gradient clipping;
    dropout is a list of probabilities).
    """

    def __init__(self, members, device):
        recipes = [m.recipe for m in members]
        self.soft_targets = any(r.soft_targets for r in recipes)
        self.mixing = any(r.mixing for r in recipes)
        self.n_classes = recipes[0].n_classes
        self.multilabel = recipes[0].multilabel
        self._recipe = recipes[0]
        self.label_smoothing = _per_member([r.label_smoothing for r in recipes], device)
        if torch.is_tensor(self.label_smoothing):
            # (1 - eps) and eps / K in float64, as Python scalars of a
            # separate fit (K = 2 for each label of multilabel targets)
            smoothing = [float(r.label_smoothing) for r in recipes]
            n_classes = 2 if self.multilabel else self.n_classes
            self._keep = torch.tensor([1.0 - e for e in smoothing], device=device)
            self._add = torch.tensor([e / n_classes for e in smoothing], device=device)
        self.input_noise = _per_member([r.input_noise for r in recipes], device)
        self.weight_noise = _per_member([r.weight_noise for r in recipes], device)
        self.l1 = _per_member([r.l1 for r in recipes], device)
        self.clip_grad_norm = _per_member(
            [r.clip_grad_norm for r in recipes], device, missing=float("inf")
        )
        self.dropout = [m.spec.dropout for m in members]
        if any(self.dropout):
            keep = [1.0 - (p or 0.0) for p in self.dropout]
            self.dropout_keep = torch.tensor(keep, device=device)
            self.dropout_scale = torch.tensor([1.0 / k for k in keep], device=device)

    def smooth(self, target):
        """Soft targets of integer labels ``target`` (K', B) or of label
        indicators (K', B, L), with each member's label smoothing."""
        if not torch.is_tensor(self.label_smoothing):
            # shared by the members: the recipe's own rule
            return self._recipe.soft(target)
        if self.multilabel:
            onehot = target
        else:
            onehot = F.one_hot(target, self.n_classes).to(torch.float32)
        return onehot * _along(self._keep, onehot) + _along(self._add, onehot)
