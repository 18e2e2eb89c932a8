"""Plans of a batched fit: which members can be stacked, each member's fit
specification, seed, split and rows, the stacks they are trained in, and
the fitted members built from the results."""

import copy
import dataclasses
import functools

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils import _safe_indexing

from sklopt.exceptions import DivergenceError, NotBatchableError
from sklopt.neural._batched._trainer import _BatchedTrainer
from sklopt.neural._data import _validate_sample_weight
from sklopt.neural._device import _derive_seed, _RandomStreams, _resolve_device
from sklopt.neural._losses import _normalize_weights
from sklopt.neural._modules import _Dropout
from sklopt.neural._rules import _n_batches, _warn_not_converged, _warn_restored
from sklopt.neural._spec import _FitResult
from sklopt.utils._batching import same_value

#: Working memory (bytes) of one stack; larger groups of members are trained
#: as several stacks, one after the other.
STACK_BYTES = 1 << 31

#: On the CPU, the bytes of stacked weights, gradients and optimizer state
#: (16 bytes per parameter and member) that one stack holds at most: larger
#: stacks outgrow the cache and cost more per member (measured in
#: benchmarks/README.md). Stacks on other devices are limited by
#: :data:`STACK_BYTES` only.
STACK_CACHE_BYTES = 32 << 20

#: Members of a stack below which the CPU cap does not split further (the
#: per-step overhead would dominate).
STACK_MIN_MEMBERS = 32


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
    (per-member norm), sample weights and class weights (of each member's
    rows), multilabel y, sparse X (rows densified per stacked batch), any
    device.

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
    """One member's fit specification, data, random streams and training
    state."""

    index: int
    estimator: object
    spec: object
    streams: object
    train_rows: np.ndarray
    train_weight: np.ndarray | None
    valid_rows: np.ndarray | None = None
    valid_weight: np.ndarray | None = None
    n_batches: int = 0
    history: list = dataclasses.field(default_factory=list)
    rule: object = None
    has_best: bool = False
    stop_reason: str | None = None
    diverged_at: tuple | None = None
    scheduler: object = None
    scheduler_optimizer: object = None
    valid_y: object = None
    valid_w: object = None
    result: dict | None = None
    error: Exception | None = None

    @property
    def recipe(self):
        return self.spec.recipe


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
            k for k in params if k not in free and not same_value(params[k], other[k])
        ]
        if differ:
            raise NotBatchableError(
                "batched training needs members that differ only in "
                f"{sorted(free)}; these parameters differ: {differ}."
            )


def _fit_members_batched(
    template, X, y, members, rows, sample_weights=None, *, verbose=0, errors="raise"
):
    """Fit ``members`` (unfitted copies of ``template``, differing at most in
    :func:`_stacking_params`) on ``X[rows[i]]``, ``y[rows[i]]`` with
    ``sample_weights[i]``, all at once where possible.

    Members whose rows miss a class of ``y`` (classifiers) are fitted one by
    one, as their output layer differs. Returns the fitted members, in
    order; with ``errors='collect'`` a member whose training diverged is
    returned as its :class:`~sklopt.exceptions.DivergenceError`. A
    KeyboardInterrupt stops all members, which keep the weights reached, and
    is re-raised.
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
    # A copy of the template validates the data once, as every member's own
    # fit would, and holds the fitted metadata (classes, shapes) that the
    # members' specifications carry.
    probe = clone(template)
    probe._check_hyperparameters()
    Xf, target, _ = probe._validate_training_data(X, y, None)
    device = _resolve_device(template.device)
    results = list(members)
    plans = []
    for i, (member, member_rows) in enumerate(zip(members, rows)):
        member_rows = np.asarray(member_rows, dtype=np.intp)
        if template._classification and not probe._multilabel():
            present = np.unique(target.numpy()[member_rows])
            if len(present) != len(probe.classes_):
                results[i] = _fit_apart(
                    member, X, y, member_rows, sample_weights[i], errors
                )
                continue
        plans.append(
            _plan_member(
                probe, i, member, Xf, target, member_rows, sample_weights[i], device
            )
        )
    module_spec = _stack_module_spec(plans)
    interrupted = False
    for chunk in _chunks(module_spec, plans, Xf, device):
        trainer = _BatchedTrainer(
            module_spec, chunk, Xf, target, device, verbose, errors
        )
        interrupted = trainer.train() or interrupted
        if interrupted:
            break
    for plan in plans:
        if plan.error is not None:
            results[plan.index] = plan.error
        elif plan.result is not None:
            _build_member(module_spec, plan)
    if interrupted:
        # The members keep the weights reached; the caller decides.
        raise KeyboardInterrupt
    _warn_outcomes([p for p in plans if p.error is None])
    return results


def _fit_apart(member, X, y, rows, weight, errors):
    """A member fitted alone (its rows miss a class)."""
    kwargs = {} if weight is None else {"sample_weight": weight}
    try:
        return member.fit(_safe_indexing(X, rows), _safe_indexing(y, rows), **kwargs)
    except DivergenceError as exc:
        if errors == "raise":
            raise
        return exc


def _stack_module_spec(plans):
    """``(module_class, kwargs)`` of the stack's layers: the members' own
    architecture, with dropout layers where any member has dropout (a
    member without dropout keeps all its units)."""
    if not plans:
        return None
    spec = plans[0].spec
    kwargs = spec.module_kwargs
    if "dropout" in kwargs:
        kwargs = {**kwargs, "dropout": max(p.spec.dropout for p in plans)}
    return spec.module_class, kwargs


def _member_view(probe, member):
    """``probe`` (which holds the fitted metadata) with ``member``'s own
    values of the per-member hyperparameters."""
    view = copy.copy(probe)
    view.set_params(**{k: getattr(member, k) for k in _stacking_params(member)})
    return view


def _plan_member(probe, index, member, Xf, target, rows, weight, device):
    """Specification, seed, split and weights of one member, as its own
    ``fit`` would compute them."""
    member._check_hyperparameters()
    streams = _RandomStreams(_derive_seed(member.random_state), device)
    weight = _validate_sample_weight(weight, len(rows))
    # the class weights of the member's own rows, as its fit computes them
    weight = probe._training_weight(target[torch.from_numpy(rows)], weight)
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
    view = _member_view(probe, member)
    spec = view._fit_spec(Xf[train_rows], device, member.early_stopping)
    plan = _Member(
        index=index,
        estimator=member,
        spec=spec,
        streams=streams,
        train_rows=train_rows,
        train_weight=_normalize_weights(weight),
        valid_rows=valid_rows,
        valid_weight=valid_weight,
    )
    recipe = spec.recipe
    plan.n_batches = _n_batches(len(train_rows), recipe.batch_size, recipe.drop_single)
    return plan


def _chunks(module_spec, plans, Xf, device="cpu"):
    """Split the members into stacks that fit in :data:`STACK_BYTES` and,
    on the CPU, :data:`STACK_CACHE_BYTES`; the stacks of a split have equal
    sizes (up to one member)."""
    if not plans:
        return []
    module_class, kwargs = module_spec
    module = module_class(**kwargs)
    n_params = sum(p.numel() for p in module.parameters())
    batch = max(plan.recipe.batch_size for plan in plans)
    # parameters, gradient, optimizer state, best weights; activations
    per_member = 4 * (6 * n_params + 6 * batch * _row_activations(module, Xf.shape[1:]))
    size = max(1, STACK_BYTES // per_member)
    if torch.device(device).type == "cpu":
        cache = max(STACK_MIN_MEMBERS, STACK_CACHE_BYTES // (16 * n_params))
        size = min(size, cache)
    n_stacks = -(-len(plans) // size)
    bounds = np.linspace(0, len(plans), n_stacks + 1).round().astype(int)
    return [plans[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _row_activations(module, row_shape):
    """Elements of one row's input (of shape ``row_shape``) and layer
    outputs in a forward pass of ``module`` (the activations a training step
    keeps per row)."""
    x = torch.zeros(1, *row_shape)
    total = x.numel()
    module.eval()  # batch normalization of a single row
    with torch.no_grad():
        for layer in module.layers:
            if not isinstance(layer, _Dropout):  # the identity for the sizes
                x = layer(x)
            total += x.numel()
    return total


def _member_names(module_spec, spec):
    """Stack parameter and buffer name -> the member's own name (the stack
    may hold dropout layers the member's module lacks, which shifts the
    layer indices; parameters and buffers keep their order)."""
    module_class, kwargs = module_spec
    if kwargs == spec.module_kwargs:
        return None
    stack_items = tuple(sorted(kwargs.items()))
    member_items = tuple(sorted(spec.module_kwargs.items()))
    try:
        return dict(_renaming(module_class, stack_items, member_items))
    except TypeError:  # an unhashable module argument: not cached
        return dict(_renaming.__wrapped__(module_class, stack_items, member_items))


@functools.lru_cache(maxsize=64)
def _renaming(module_class, stack_items, member_items):
    """``(stack name, member name)`` pairs of the modules built with the
    keyword arguments ``stack_items`` and ``member_items`` (on the meta
    device: no weights are made)."""
    with torch.device("meta"):
        stack_keys = list(module_class(**dict(stack_items)).state_dict())
        member_keys = list(module_class(**dict(member_items)).state_dict())
    return tuple(zip(stack_keys, member_keys, strict=True))


def _build_member(module_spec, plan):
    """Make the member estimator a fitted one from its training result."""
    result = plan.result
    state, optimizer_state = result["state_dict"], result["optimizer_state"]
    names = _member_names(module_spec, plan.spec)
    if names is not None:
        state = {names[k]: v for k, v in state.items()}
        optimizer_state = {names[k]: v for k, v in optimizer_state.items()}
    plan.estimator._apply_result(
        _FitResult(
            state_dict=state,
            history=plan.history,
            streams=plan.streams,
            stop_reason=plan.stop_reason,
            best_epoch=plan.rule.best_epoch if plan.spec.early_stopping else None,
            optimizer_state=optimizer_state or None,
            lr=result["lr"],
        ),
        plan.spec,
    )


def _warn_outcomes(plans):
    """The warnings separate fits would give, once for all members."""
    if not plans:
        return
    spec = plans[0].spec
    diverged = [p for p in plans if p.stop_reason == "diverged"]
    if diverged:
        _warn_restored(
            spec,
            {p.diverged_at[0] for p in diverged},
            n_members=len(diverged),
            n_total=len(plans),
        )
    unconverged = [p for p in plans if p.stop_reason == "max_epochs"]
    if unconverged:
        _warn_not_converged(spec, n_members=len(unconverged), n_total=len(plans))
