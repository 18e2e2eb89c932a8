"""Batched training: K members of one neural estimator trained as one model.

Bagging members and bootstrap replicas of a network differ only in their
training rows, sample weights and seed. Every optimizer of
:data:`~sklopt.neural.OPTIMIZERS` updates each weight independently, so the
K members can be trained as one stacked model
(:class:`~sklopt.neural._stacked._StackedMLP`,
:class:`~sklopt.neural._stacked._StackedCNN`) whose step costs about as much
as one member's step on a batch K times larger, instead of K steps with
their per-step overhead.

Exactness
---------
Each member consumes its random streams exactly as a separate ``fit`` with
the same ``random_state`` would (see :mod:`sklopt.neural._base`): the same
initial weights (built on the CPU from the ``init`` stream), the same
early-stopping split, one ``torch.randperm`` per epoch from its ``shuffle``
stream, and per batch the same augmentation, input noise, weight noise,
dropout masks and mixup draws, in the same order. The loss of each member is
normalised over its own real rows, with its own normalised sample weights;
gradients of the summed loss are the members' own gradients. The optimizer
is the same torch optimizer with the same parameter groups, per member.
Members own different numbers of rows (bagging fits the distinct rows drawn,
weighted by their counts), hence different numbers of batches per epoch:
members are ordered by that number and a step only involves the members that
still have a batch; a partially filled stacked batch is padded and masked
(losses and batch-normalization statistics ignore the padding). Stopping
rules run per member, and a stopped member is taken out of the stack with its
weights, buffers and optimizer state frozen. On the CPU the batched result
equals the separate fits to float32 rounding (matrix products are the same
kernels; reductions over padded batches, normalization layers and gradient
clipping may round differently).

Overhead
--------
On a GPU the small stacked steps are bound by per-step host work (operator
dispatch, kernel launches), not arithmetic, so a step does no host work that
can move elsewhere: :class:`~sklopt.neural._batched_epoch._EpochBatches`
prepares the batches of a whole epoch at once (permutations, row, weight and
mask tables, mixup draws), the step only takes views of them, the weights
that are differentiated are reused from step to step, the members' batch
losses stay on the device until the end of the epoch, and nothing in a step
reads from the device (no synchronisation), so the host queues steps ahead of
the device. Dropout masks and input noise are drawn in place, member by
member, as the members' own streams require.

Supported settings are listed in :func:`_unsupported_reason`; the user guide
page ``docs/user_guide/batched.rst`` documents them with the measurements.
"""

import copy
import dataclasses
import time
import warnings

import numpy as np
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import _safe_indexing
from torch.nn import functional as F

from sklopt.exceptions import (
    DivergenceError,
    NotBatchableError,
    TrainingInterruptedWarning,
)
from sklopt.neural._base import _validate_sample_weight
from sklopt.neural._batched_epoch import _EpochBatches
from sklopt.neural._data import DEVICE_RESIDENT_BYTES
from sklopt.neural._device import _derive_seed, _RandomStreams, _resolve_device
from sklopt.neural._losses import _normalize_weights
from sklopt.neural._mixing import _smooth_targets
from sklopt.neural._modules import _Dropout
from sklopt.neural._net import PREDICT_CHUNK
from sklopt.neural._optim import _lr_scheduler
from sklopt.neural._stacked import _stack_class, _StackedOptimizer
from sklopt.utils._fit_guard import interrupts_propagate

#: Working memory (bytes) of one stack; larger groups of members are trained
#: as several stacks, one after the other.
STACK_BYTES = 1 << 31

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


def _unsupported_reason(estimator):
    """Why the members of ``estimator`` cannot be trained as one batched
    model, or None when they can.

    Batched: ``MLPClassifier``, ``MLPRegressor`` and ``CNNClassifier`` with
    every optimizer name, any learning rate, ``lr_schedule`` ('step',
    'cosine', 'plateau' per member), early stopping and the training-loss
    plateau rule (per member), weight decay, L1, dropout, every
    normalization (per-member statistics), input and weight noise, label
    smoothing, mixup, CutMix, augmentation (names and callables: called once
    per member and batch, as in separate fits), gradient clipping
    (per-member norm), sample weights, any device.

    Not batched: an optimizer given as a torch optimizer class (its update
    rule is not known to act on each weight independently).
    """
    if not isinstance(estimator.optimizer, str):
        return (
            f"optimizer={estimator._optimizer_name()} is a torch optimizer class; "
            "batched training needs an optimizer name (its update acts on each "
            "weight independently)"
        )
    return None


def _auto_reason(estimator):
    """Why ``batched='auto'`` trains the members of ``estimator`` one by one
    although they could be batched (None when it batches them).

    Convolutional members are batched on accelerators only: one grouped
    convolution for K members was measured 9-12x faster than K separate
    passes on an H100 GPU but 0.5-1.3x on a 2-core CPU
    (``benchmarks/bench_batched.py --cnn``).
    """
    if not getattr(estimator, "_image_input", False):
        return None
    try:
        device = _resolve_device(estimator.device)
    except ValueError:
        return None  # the members' own fit reports the device error
    if torch.device(device).type != "cpu":
        return None
    return (
        f"{type(estimator).__name__} members are batched on a GPU only: on the "
        "CPU a grouped convolution was measured at most 1.3x faster than "
        "separate passes (docs/user_guide/batched.rst); batched=True trains "
        "them together anyway"
    )


@dataclasses.dataclass(eq=False)
class _Member:
    """One member's data, random streams and training state."""

    index: int
    estimator: object
    streams: object
    recipe: object
    train_rows: np.ndarray
    train_weight: np.ndarray | None
    valid_rows: np.ndarray | None = None
    valid_weight: np.ndarray | None = None
    n_batches: int = 0
    history: list = dataclasses.field(default_factory=list)
    misses: int = 0
    best_loss: float = np.inf
    best_epoch: int = 0
    has_best: bool = False
    stop_reason: str | None = None
    diverged_at: tuple | None = None
    scheduler: object = None
    scheduler_optimizer: object = None
    valid_y: object = None
    valid_w: object = None
    result: dict | None = None
    error: Exception | None = None


def _monitor(estimator):
    """The loss the stop rule and the plateau schedule watch."""
    return "valid_loss" if estimator.early_stopping else "train_loss"


def _n_batches(n_rows, batch_size, drop_single):
    """Batches per epoch (as :class:`~sklopt.neural._data._BatchIterator`)."""
    size = max(1, min(int(batch_size), n_rows))
    count = -(-n_rows // size)
    if drop_single and count > 1 and n_rows % size == 1:
        count -= 1
    return count


#: Hyperparameters in which the members of one stack may differ: each
#: member trains with its own values, as its separate fit would.
STACKING_PARAMS = frozenset(
    {
        "betas",
        "clip_grad_norm",
        "cutmix_alpha",
        "dropout",
        "early_stopping",
        "eps",
        "input_noise",
        "l1",
        "label_smoothing",
        "lr",
        "lr_schedule",
        "mixup_alpha",
        "momentum",
        "patience",
        "random_state",
        "rho",
        "tol",
        "validation_fraction",
        "weight_decay",
        "weight_noise",
    }
)


def _stacking_params(estimator):
    """The parameters of ``estimator`` in :data:`STACKING_PARAMS`."""
    return frozenset(estimator.get_params(deep=False)) & STACKING_PARAMS


def _check_members(template, members):
    """Members must be unfitted copies of ``template`` differing at most in
    :func:`_stacking_params`."""
    free = _stacking_params(template)
    params = template.get_params(deep=False)
    for member in members:
        other = member.get_params(deep=False)
        if type(member) is not type(template) or set(other) != set(params):
            raise NotBatchableError(
                "batched training needs members that are copies of one estimator; "
                f"got {type(member).__name__} next to {type(template).__name__}."
            )
        differ = [
            k for k in params if k not in free and not _same_value(params[k], other[k])
        ]
        if differ:
            raise NotBatchableError(
                "batched training needs members that differ only in "
                f"{sorted(free)}; these parameters differ: {differ}."
            )


def _same_value(a, b):
    """Equal parameter values; ``clone`` deep-copies non-estimator objects
    (a stateful augmentation callable, say), so copies with equal
    attributes count as the same value."""
    if a is b:
        return True
    try:
        if bool(a == b):
            return True
    except (TypeError, ValueError):
        return False
    if type(a) is not type(b) or not hasattr(a, "__dict__"):
        return False
    return _same_value(vars(a), vars(b))


def _fit_members_batched(
    template, X, y, members, rows, sample_weights=None, *, verbose=0, errors="raise"
):
    """Fit ``members`` (unfitted copies of ``template``, differing at most in
    :func:`_stacking_params`) on ``X[rows[i]]``, ``y[rows[i]]`` with
    ``sample_weights[i]``, all at once where possible.

    Members whose rows miss a class of ``y`` (classifiers) are fitted one by
    one, as their output layer differs. Returns the fitted members, in
    order; with ``errors='collect'`` a member whose training diverged is
    returned as its :class:`~sklopt.exceptions.DivergenceError`.
    """
    if errors not in ("raise", "collect"):
        raise ValueError(f"errors must be 'raise' or 'collect'; got {errors!r}.")
    # The members' own parameter checks, as their separate fits would run.
    template._validate_params()
    reason = _unsupported_reason(template)
    if reason is not None:
        raise NotBatchableError(reason)
    _check_members(template, members)
    for member in members:
        member._validate_params()
    if sample_weights is None:
        sample_weights = [None] * len(members)
    probe = clone(template)
    probe._check_hyperparameters()
    Xf, target, _ = probe._validate_training_data(X, y, None)
    device = _resolve_device(template.device)
    batched, separate = [], []
    for i, (member, member_rows) in enumerate(zip(members, rows)):
        member_rows = np.asarray(member_rows, dtype=np.intp)
        if template._classification:
            present = np.unique(target.numpy()[member_rows])
            if len(present) != len(probe.classes_):
                separate.append(i)
                continue
        batched.append((i, member, member_rows))
    results = list(members)
    for i in separate:
        weight = sample_weights[i]
        kwargs = {} if weight is None else {"sample_weight": weight}
        try:
            members[i].fit(
                _safe_indexing(X, np.asarray(rows[i])),
                _safe_indexing(y, np.asarray(rows[i])),
                **kwargs,
            )
        except DivergenceError as exc:
            if errors == "raise":
                raise
            results[i] = exc
    plans = [
        _plan_member(
            probe, i, member, Xf, target, member_rows, sample_weights[i], device
        )
        for i, member, member_rows in batched
    ]
    module_spec = _stack_module_spec(probe, plans)
    trainer = None
    for chunk in _chunks(module_spec, plans, Xf):
        trainer = _BatchedTrainer(
            probe, module_spec, chunk, Xf, target, device, verbose, errors
        )
        trainer.train()
    for plan in plans:
        if plan.error is not None:
            results[plan.index] = plan.error
        else:
            _build_member(probe, module_spec, plan, device)
    if trainer is not None:
        _warn_outcomes(template, [p for p in plans if p.error is None])
    return results


def _stack_module_spec(probe, plans):
    """``(module_class, kwargs)`` of the stack's layers: the members' own
    architecture, with dropout layers where any member has dropout (a
    member without dropout keeps all its units)."""
    module_class, kwargs = probe._module_spec()
    if "dropout" in kwargs and plans:
        kwargs = {**kwargs, "dropout": max(float(p.estimator.dropout) for p in plans)}
    return module_class, kwargs


def _member_view(probe, member):
    """``probe`` (which holds the fitted metadata) with ``member``'s own
    values of the per-member hyperparameters."""
    view = copy.copy(probe)
    view.set_params(**{k: getattr(member, k) for k in _stacking_params(member)})
    return view


def _plan_member(probe, index, member, Xf, target, rows, weight, device):
    """Seed, split, weights and recipe of one member, as its own ``fit``
    would compute them."""
    member._check_hyperparameters()
    streams = _RandomStreams(_derive_seed(member.random_state), device)
    weight = _validate_sample_weight(weight, len(rows))
    valid_rows = valid_weight = None
    if member.early_stopping:
        train_idx, valid_idx = member._split_indices(
            target[torch.from_numpy(rows)], streams
        )
        valid_rows = rows[valid_idx]
        valid_weight = None if weight is None else _normalize_weights(weight[valid_idx])
        train_rows = rows[train_idx]
        weight = None if weight is None else weight[train_idx]
    else:
        train_rows = rows
    train_X = Xf[train_rows]
    view = _member_view(probe, member)
    recipe = view._make_recipe(train_X, device)
    view._check_data_dependent(train_X)
    plan = _Member(
        index=index,
        estimator=member,
        streams=streams,
        recipe=recipe,
        train_rows=train_rows,
        train_weight=_normalize_weights(weight),
        valid_rows=valid_rows,
        valid_weight=valid_weight,
    )
    plan.n_batches = _n_batches(len(train_rows), recipe.batch_size, recipe.drop_single)
    return plan


def _chunks(module_spec, plans, Xf):
    """Split the members into stacks that fit in :data:`STACK_BYTES`."""
    if not plans:
        return []
    module_class, kwargs = module_spec
    module = module_class(**kwargs)
    n_params = sum(p.numel() for p in module.parameters())
    batch = max(plan.recipe.batch_size for plan in plans)
    # parameters, gradient, optimizer state, best weights; activations
    per_member = 4 * (6 * n_params + 6 * batch * _row_activations(module, Xf[0]))
    size = max(1, STACK_BYTES // per_member)
    return [plans[i : i + size] for i in range(0, len(plans), size)]


def _row_activations(module, row):
    """Elements of one row's input and layer outputs in a forward pass of
    ``module`` (the activations a training step keeps per row)."""
    x = torch.zeros(1, *row.shape)
    total = x.numel()
    module.eval()  # batch normalization of a single row
    with torch.no_grad():
        for layer in module.layers:
            if not isinstance(layer, _Dropout):  # the identity for the sizes
                x = layer(x)
            total += x.numel()
    return total


class _BatchedTrainer:
    """The epoch loop of one stack of members."""

    def __init__(
        self, probe, module_spec, members, Xf, target, device, verbose, errors
    ):
        self.probe = probe
        self.device = device
        if torch.device(device).type == "cpu":
            _warm_cpu_allocator()
        self.verbose = verbose
        self.errors = errors
        self.classification = probe._classification
        # Fewer batches first: the members that still have a batch at step j
        # are a suffix of the stack; members with equal optimizer constants
        # next to each other (fewer optimizer parameters).
        self.members = sorted(
            members,
            key=lambda m: (
                m.n_batches,
                repr(sorted(m.estimator._optimizer_constants().items())),
            ),
        )
        self.template = self.members[0].estimator
        module_class, kwargs = module_spec
        modules = [
            m.streams.init_module(lambda: module_class(**kwargs)) for m in self.members
        ]
        self.stack = _stack_class(modules[0])(modules, device)
        self._leaf_cache = {}
        self._settings_cache = {}
        self._ones = torch.ones(len(self.members), device=device)
        self.optimizer = _StackedOptimizer(
            [m.estimator for m in self.members],
            self.stack,
            [m.n_batches for m in self.members],
        )
        self._init_schedulers()
        X_all = torch.from_numpy(np.ascontiguousarray(Xf))
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
        self.early_stopping = any(m.estimator.early_stopping for m in self.members)
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
        """One torch scheduler per member with a schedule, on a one-parameter
        optimizer, built as the estimator's ``LRScheduler`` callback builds
        it."""
        self.scheduled = False
        for m, lr in zip(self.members, self.optimizer.lrs()):
            estimator = m.estimator
            if estimator.lr_schedule is None:
                continue
            callback = _lr_scheduler(
                estimator.lr_schedule,
                max_epochs=estimator.max_epochs,
                patience=estimator.patience,
                tol=estimator.tol,
                monitor=_monitor(estimator),
            )
            policy = callback._get_policy_cls()
            kwargs = callback.kwargs
            if policy is not torch.optim.lr_scheduler.ReduceLROnPlateau:
                kwargs = {**kwargs, "last_epoch": -1}
            dummy = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
            dummy.param_groups[0].setdefault("initial_lr", lr)
            m.scheduler_optimizer = dummy
            m.scheduler = policy(dummy, **kwargs)
            self.scheduled = True
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
        estimator = self.template
        bar = self._progress_bar()
        try:
            for epoch in range(1, estimator.max_epochs + 1):
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
            for m in self.members:
                m.stop_reason = "interrupted"
        finally:
            if bar is not None:
                bar.close()
        for m in self.members:
            m.stop_reason = m.stop_reason or "max_epochs"
        self._finish(list(range(len(self.members))))

    def _progress_bar(self):
        if not (self.verbose or self.template.verbose):
            return None
        from tqdm.auto import tqdm

        name = type(self.template).__name__
        return tqdm(
            total=self.template.max_epochs,
            desc=f"{name} x{len(self.members)} (batched)",
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
        batch.dropout = self._dropout_masks(
            members, x.shape[1], batch.counts, settings
        )
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
        fill = torch.zeros_like if torch.is_tensor(settings.weight_noise) else (
            torch.empty_like
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

    def _dropout_masks(self, members, width, counts, settings):
        """Scaled keep-masks of every dropout layer, per member from its
        ``dropout`` stream in forward order; padding rows, and members
        without dropout, keep everything."""
        if not any(settings.dropout) or not self.stack.dropout_shapes:
            return None
        masks = []
        for shape in self.stack.dropout_shapes:
            mask = torch.ones(len(members), width, *shape, device=self.device)
            for k, m in enumerate(members):
                p = settings.dropout[k]
                if not p:
                    continue
                keep = 1.0 - p
                # drawn in place into the member's real rows (contiguous)
                drawn = mask[k, : counts[k]]
                drawn.bernoulli_(keep, generator=m.streams.dropout).mul_(1.0 / keep)
            masks.append(mask)
        return masks

    # ---- losses and gradient clipping --------------------------------------
    def _member_losses(self, output, target, weight, batch):
        """Each member's batch loss: the mean over its real rows of the
        (weighted) per-sample loss, as a separate fit computes it."""
        if self.classification:
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
                self._step_scheduler(m)
            if self._stop_rule(m, epoch) and m.estimator.early_stopping:
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
        step = max(1, (PREDICT_CHUNK * 8) // max(1, len(self.members)))
        with torch.no_grad():
            for lo in range(0, width, step):
                rows = self.valid_rows[:, lo : lo + step]
                x = _take(self.X, rows.reshape(-1), rows.shape).to(self.device)
                outputs.append(self.stack.forward(self.stack.params, x, training=False))
        output = outputs[0] if len(outputs) == 1 else torch.cat(outputs, 1)
        checked = [
            k
            for k, m in enumerate(self.members)
            if k not in skip and m.estimator.early_stopping
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

    def _step_scheduler(self, m):
        with warnings.catch_warnings():
            # The scheduler's own optimizer only carries the learning rate.
            warnings.filterwarnings(
                "ignore", message=r"Detected call of `lr_scheduler.step\(\)`"
            )
            if isinstance(m.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                m.scheduler.step(m.history[-1][_monitor(m.estimator)])
            else:
                m.scheduler.step()

    def _stop_rule(self, m, epoch):
        """scikit-learn's tol/patience rule (:class:`_StopOnPlateau`) on the
        validation loss (early stopping) or the training loss; returns whether
        the loss improved on the best so far."""
        estimator = m.estimator
        current = m.history[-1][_monitor(estimator)]
        if current > m.best_loss - estimator.tol:
            m.misses += 1
        else:
            m.misses = 0
        improved = current < m.best_loss
        if improved:
            m.best_loss = current
            m.best_epoch = epoch
        if m.misses >= estimator.patience:
            m.stop_reason = "early_stopping" if estimator.early_stopping else "plateau"
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
            if m.estimator.early_stopping and m.has_best:
                m.stop_reason = "diverged"
                m.diverged_at = (epoch, m.history[-1]["train_loss"])
                continue
            estimator = m.estimator
            lr = estimator._effective_lr()
            loss = m.history[-1]["train_loss"]
            loss = loss if not np.isfinite(loss) else float("nan")
            m.error = DivergenceError(
                f"Training of {type(estimator).__name__} (member {m.index} of a "
                f"batched ensemble) diverged at epoch {epoch}: the training loss "
                f"became {loss}. The learning rate is too large for this problem: "
                f"lr={lr} with optimizer={estimator._optimizer_name()}. Use a "
                f"smaller lr (for example lr={lr / 10:g}), set clip_grad_norm, or "
                "set early_stopping=True to keep the best finite weights."
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
                m.estimator.early_stopping
                and m.has_best
                and (
                    m.stop_reason == "diverged"
                    or m.best_epoch != m.history[-1]["epoch"]
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
        g.mul_(coef.view(-1, *([1] * (g.dim() - 1))))


def _along(values, like):
    """Per-member ``values`` (K',) shaped to broadcast over ``like``."""
    return values.view(-1, *([1] * (like.dim() - 1)))


def _per_member(values, device, missing=0.0):
    """A value shared by all members (None when it is off: 0 or None), or a
    float32 tensor of one value per member (``missing`` for None)."""
    if all(v == values[0] for v in values):
        return values[0] or None
    values = [missing if v is None else float(v) for v in values]
    return torch.tensor(values, dtype=torch.float32, device=device)


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
        self.label_smoothing = _per_member([r.label_smoothing for r in recipes], device)
        if torch.is_tensor(self.label_smoothing):
            # (1 - eps) and eps / K in float64, as Python scalars of a
            # separate fit
            smoothing = [float(r.label_smoothing) for r in recipes]
            self._keep = torch.tensor([1.0 - e for e in smoothing], device=device)
            self._add = torch.tensor(
                [e / self.n_classes for e in smoothing], device=device
            )
        self.input_noise = _per_member([r.input_noise for r in recipes], device)
        self.weight_noise = _per_member([r.weight_noise for r in recipes], device)
        self.l1 = _per_member([r.l1 for r in recipes], device)
        self.clip_grad_norm = _per_member(
            [r.clip_grad_norm for r in recipes], device, missing=float("inf")
        )
        self.dropout = [float(m.estimator.dropout) for m in members]

    def smooth(self, target):
        """Soft targets of integer labels ``target`` (K', B), with each
        member's label smoothing."""
        if not torch.is_tensor(self.label_smoothing):
            return _smooth_targets(target, self.n_classes, self.label_smoothing or 0.0)
        onehot = F.one_hot(target, self.n_classes).to(torch.float32)
        return onehot * _along(self._keep, onehot) + _along(self._add, onehot)


def _member_names(module_spec, member):
    """Stack parameter and buffer name -> the member's own name (the stack
    may hold dropout layers the member's module lacks, which shifts the
    layer indices; parameters and buffers keep their order)."""
    module_class, kwargs = module_spec
    own = {**kwargs, "dropout": float(member.dropout)} if "dropout" in kwargs else {}
    if not own or own == kwargs:
        return None
    with torch.device("meta"):
        stack_keys = list(module_class(**kwargs).state_dict())
        member_keys = list(module_class(**own).state_dict())
    return dict(zip(stack_keys, member_keys, strict=True))


def _build_member(probe, module_spec, plan, device):
    """Make the member estimator a fitted one from its training result."""
    member = plan.estimator
    result = plan.result
    names = _member_names(module_spec, member)
    if names is not None:
        result = {
            **result,
            "state_dict": {names[k]: v for k, v in result["state_dict"].items()},
            "optimizer_state": {
                names[k]: v for k, v in result["optimizer_state"].items()
            },
        }
    member._build_fitted(
        result["state_dict"],
        n_features_in=probe.n_features_in_,
        classes=getattr(probe, "classes_", None),
        n_outputs=getattr(probe, "n_outputs_", None),
        image_shape=getattr(probe, "image_shape_", None),
        history=plan.history,
        feature_names_in=getattr(probe, "feature_names_in_", None),
        device=device,
        streams=plan.streams,
        best_epoch=plan.best_epoch if member.early_stopping else None,
        optimizer_state=result["optimizer_state"] or None,
        lr=result["lr"],
    )
    if hasattr(probe, "_y_ndim"):
        member._y_ndim = probe._y_ndim
    member.net_.stop_reason_ = plan.stop_reason


def _warn_outcomes(template, plans):
    """The warnings separate fits would give, once for all members."""
    name = type(template).__name__
    diverged = [p for p in plans if p.stop_reason == "diverged"]
    if diverged:
        epochs = sorted({p.diverged_at[0] for p in diverged})
        warnings.warn(
            f"{name}: training of {len(diverged)} of {len(plans)} batched members "
            f"diverged (at epochs {epochs}); the weights of their best epochs were "
            f"restored. A smaller lr (now {template._effective_lr()}) avoids this.",
            ConvergenceWarning,
            stacklevel=4,
        )
    interrupted = [p for p in plans if p.stop_reason == "interrupted"]
    if interrupted and interrupts_propagate():
        # Inside an sklopt ensemble or bootstrap study (always, in practice):
        # the caller decides what to keep, as for a member fitted alone.
        raise KeyboardInterrupt
    if interrupted:
        warnings.warn(
            f"Batched training of {name} members was interrupted "
            "(KeyboardInterrupt); they keep the weights trained so far (the best "
            "epoch's with early stopping).",
            TrainingInterruptedWarning,
            stacklevel=4,
        )
    unconverged = [p for p in plans if p.stop_reason == "max_epochs"]
    if unconverged:
        warnings.warn(
            f"{name}: maximum number of epochs (max_epochs={template.max_epochs}) "
            f"reached and the optimization hasn't converged yet ({len(unconverged)} "
            f"of {len(plans)} batched members).",
            ConvergenceWarning,
            stacklevel=4,
        )
