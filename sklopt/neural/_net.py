"""The single-fit engine: a skorch net trained with a batch-level loop,
and the per-batch steps (see ``docs/dev/architecture.rst``)."""

import copy
import dataclasses
import math
from collections.abc import Callable

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, EpochTimer
from skorch.utils import noop

from sklopt.exceptions import DivergenceError
from sklopt.neural._data import _BatchIterator, _FitData
from sklopt.neural._device import _RandomStreams
from sklopt.neural._losses import (
    _accuracy,
    _classification_loss,
    _r2,
    _regression_loss,
)
from sklopt.neural._mixing import _mix_batch, _smooth_targets
from sklopt.neural._modules import _set_dropout_generator
from sklopt.neural._optim import (
    _decayed_parameters,
    _param_groups,
    _resolve_optimizer,
)
from sklopt.neural._regularizers import (
    _add_input_noise,
    _add_l1_gradient,
    _clip_gradients,
    _perturb_weights,
    _restore_weights,
)
from sklopt.neural._rules import (
    _divergence_message,
    _monitor,
    _optimizer_kwargs,
    _PlateauRule,
    _schedule_callback,
    _warn_restored,
)
from sklopt.neural._spec import _FitResult

#: Rows per forward pass at prediction and validation time.
PREDICT_CHUNK = 8192


class _Stopped(Exception):
    """Raised by the stopping callback to end training."""


class _Diverged(Exception):
    """Raised inside the training loop when the epoch's training loss is not
    finite; the estimator turns it into a DivergenceError or a warning."""

    def __init__(self, epoch, loss):
        super().__init__(f"training loss {loss} at epoch {epoch}")
        # a finite loss with non-finite weights: the last step diverged
        loss = loss if not math.isfinite(loss) else float("nan")
        self.epoch, self.loss = epoch, loss


@dataclasses.dataclass
class _TrainingRecipe:
    """Everything one training batch needs besides the module and optimizer.

    Built by the estimator at each ``fit``/``partial_fit`` call from its
    hyperparameters; it is not stored on the net.
    """

    classification: bool
    batch_size: int
    n_classes: int | None = None
    label_smoothing: float = 0.0
    mixup_alpha: float = 0.0
    cutmix_alpha: float = 0.0
    input_noise: float = 0.0
    weight_noise: float = 0.0
    l1: float = 0.0
    clip_grad_norm: float | None = None
    augment: Callable | None = None
    drop_single: bool = False

    @property
    def mixing(self):
        return self.mixup_alpha > 0 or self.cutmix_alpha > 0

    @property
    def soft_targets(self):
        return self.classification and (self.label_smoothing > 0 or self.mixing)

    def loss(self, output, target, weight=None):
        if self.classification:
            return _classification_loss(output, target, weight)
        return _regression_loss(output, target, weight)

    def score(self, output, y, weight=None):
        if self.classification:
            return _accuracy(output, y, weight)
        return _r2(output, y, weight)


def _prepare_batch(X, y, weight, recipe, streams):
    """Steps 1-4 of a training step: augmentation, input noise, targets,
    mixing. Returns ``(X, target, weight)``."""
    if recipe.augment is not None:
        X = recipe.augment(X, streams.augment)
    if recipe.input_noise:
        X = _add_input_noise(X, recipe.input_noise, streams.noise)
    target = y
    if recipe.soft_targets:
        target = _smooth_targets(y, recipe.n_classes, recipe.label_smoothing)
    if recipe.mixing:
        X, target, weight = _mix_batch(
            X,
            target,
            weight,
            mixup_alpha=recipe.mixup_alpha,
            cutmix_alpha=recipe.cutmix_alpha,
            rng=streams.mixing,
        )
    return X, target, weight


def _optimizer_step(
    module, optimizer, batch, recipe, *, noise_generator, decayed, params
):
    """Step 5 of a training step; returns the (detached) batch loss.

    Parameters
    ----------
    module : torch.nn.Module (in training mode)
    optimizer : torch.optim.Optimizer
    batch : tuple (X, target, weight)
    recipe : _TrainingRecipe
    noise_generator : torch.Generator
        For weight noise.
    decayed : list of Parameter
        The weights that weight noise and L1 act on.
    params : list of Parameter
        All trainable parameters (for gradient clipping).
    """
    X, target, weight = batch

    def closure():
        optimizer.zero_grad()
        saved = None
        try:
            if recipe.weight_noise:
                saved = _perturb_weights(decayed, recipe.weight_noise, noise_generator)
            loss = recipe.loss(module(X), target, weight)
            loss.backward()
        finally:
            if saved is not None:
                _restore_weights(decayed, saved)
        if recipe.l1:
            _add_l1_gradient(decayed, recipe.l1)
        if recipe.clip_grad_norm is not None:
            _clip_gradients(params, recipe.clip_grad_norm)
        return loss

    return optimizer.step(closure).detach()


class _EpochProgressBar(Callback):
    """A tqdm progress bar over epochs (``verbose > 0``)."""

    def __init__(self, desc="fit"):
        self.desc = desc

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        from tqdm.auto import tqdm

        total = getattr(X, "epochs", None)
        self.bar_ = tqdm(total=total, desc=self.desc, unit="epoch", leave=True)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        postfix = {k: f"{row[k]:.4g}" for k in ("train_loss", "valid_loss") if k in row}
        self.bar_.set_postfix(postfix, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()


class _StopOnPlateau(EarlyStopping):
    """skorch's EarlyStopping with scikit-learn's MLP stopping rule
    (:class:`~sklopt.neural._rules._PlateauRule`); with ``load_best`` it
    keeps the weights of the best epoch."""

    def __init__(
        self, monitor="train_loss", patience=10, threshold=1e-4, load_best=False
    ):
        super().__init__(
            monitor=monitor,
            patience=patience,
            threshold=threshold,
            threshold_mode="abs",
            lower_is_better=True,
            sink=noop,
            load_best=load_best,
        )

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.rule_ = _PlateauRule(self.patience, self.threshold)

    def on_epoch_end(self, net, **kwargs):
        epoch = net.history[-1, "epoch"]
        if self.rule_.update(net.history[-1, self.monitor], epoch):
            self.best_epoch_ = epoch
            if self.load_best:
                self.best_model_weights_ = copy.deepcopy(net.module_.state_dict())
        self.misses_ = self.rule_.misses
        if self.rule_.stopped:
            raise _Stopped


class _SkloptNet(NeuralNet):
    """skorch net trained by sklopt's batch-level loop.

    Train it through the sklopt estimator that owns it: its ``partial_fit``
    takes a :class:`~sklopt.neural._data._FitData`. Everything else of
    skorch's net (``predict_proba``, ``history``, ``save_params``,
    ``load_params``, pickling with map-location) works as usual.
    """

    @property
    def _default_callbacks(self):
        return [("epoch_timer", EpochTimer())]

    def initialize_optimizer(self, triggered_directly=None):
        """Build the optimizer over a decayed and a non-decayed parameter
        group (see :func:`~sklopt.neural._optim._param_groups`)."""
        _, kwargs = self.get_params_for_optimizer(
            "optimizer", self.get_all_learnable_params()
        )
        kwargs, weight_decay = _optimizer_kwargs(kwargs)
        groups = _param_groups(self.module_, weight_decay)
        try:
            self.optimizer_ = self.optimizer(groups, **kwargs)
        except (TypeError, ValueError) as exc:
            name = getattr(self.optimizer, "__name__", self.optimizer)
            raise ValueError(
                f"The optimizer {name} could not be built with the arguments "
                f"{kwargs}: {exc}"
            ) from exc
        return self

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        self.history.record("lr", self.optimizer_.param_groups[0]["lr"])

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train for ``X.epochs`` epochs on the tensors of ``X`` (a
        :class:`~sklopt.neural._data._FitData`), continuing from the current
        state."""
        if not isinstance(X, _FitData):
            raise TypeError(
                "net_ is trained through its sklopt estimator (fit/partial_fit); "
                "use net_ for prediction and inspection."
            )
        if not self.initialized_:
            self.initialize()
        self.notify("on_train_begin", X=X, y=y)
        try:
            self.fit_loop(X, **fit_params)
        except _Diverged:
            # The estimator restores weights itself; only close the bar.
            for _, callback in self.callbacks_:
                if isinstance(callback, _EpochProgressBar):
                    callback.on_train_end(self)
            raise
        self.notify("on_train_end", X=X, y=y)
        return self

    def fit_loop(self, X, y=None, epochs=None, *, recipe=None, **fit_params):
        """Run the epochs; set ``stop_reason_`` to ``'max_epochs'``,
        ``'early_stopping'``/``'plateau'`` (the name of the EarlyStopping
        callback that stopped) or ``'interrupted'`` (KeyboardInterrupt)."""
        data = X
        epochs = data.epochs if epochs is None else epochs
        train = data.train.place(self.device)
        valid = None if data.valid is None else data.valid.place(self.device)
        iterator = _BatchIterator(
            train,
            recipe.batch_size,
            device=self.device,
            generator=self.streams_.shuffle,
            drop_single=recipe.drop_single,
        )
        on_epoch_kwargs = {"dataset_train": train, "dataset_valid": valid}
        _set_dropout_generator(self.module_, self.streams_.dropout)
        self.stop_reason_ = "max_epochs"
        try:
            for _ in range(epochs):
                self.notify("on_epoch_begin", **on_epoch_kwargs)
                self.run_single_epoch(
                    iterator, True, "train", self.train_step, recipe=recipe
                )
                if valid is not None:
                    self._validate(valid, recipe)
                self.notify("on_epoch_end", **on_epoch_kwargs)
        except _Stopped:
            self.stop_reason_ = self._stopping_callback()
        except KeyboardInterrupt:
            self.stop_reason_ = "interrupted"
        finally:
            _set_dropout_generator(self.module_, None)
        return self

    def _stopping_callback(self):
        for name, callback in self.callbacks_:
            if isinstance(callback, _StopOnPlateau) and callback.rule_.stopped:
                return name
        return None

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """One training epoch; records the sample-averaged batch loss."""
        self._set_training(True)
        module = self.module_
        self._step_kwargs = {
            "noise_generator": self.streams_.noise,
            "decayed": _decayed_parameters(module),
            "params": [p for p in module.parameters() if p.requires_grad],
        }
        on_cpu = torch.device(self.device).type == "cpu"
        total, count, n_batches = 0.0, 0, 0
        try:
            for batch in iterator:
                loss = step_fn(batch, **fit_params)
                size = len(batch[0])
                total = total + (loss.item() if on_cpu else loss) * size
                count += size
                n_batches += 1
        finally:
            del self._step_kwargs
        mean = float(total) / max(count, 1)
        self.history.record(prefix + "_loss", mean)
        self.history.record(prefix + "_batch_count", n_batches)
        # The loss of a step is computed before its update, so also check the
        # weights the last step left.
        params = module.parameters()
        if not (math.isfinite(mean) and all(torch.isfinite(p).all() for p in params)):
            raise _Diverged(self.history[-1, "epoch"], mean)

    def train_step(self, batch, recipe=None, **fit_params):
        """One optimizer step on a batch ``(X, y, weight)``."""
        X, target, weight = _prepare_batch(*batch, recipe, self.streams_)
        return _optimizer_step(
            self.module_,
            self.optimizer_,
            (X, target, weight),
            recipe,
            **self._step_kwargs,
        )

    def _validate(self, valid, recipe):
        self._set_training(False)
        with torch.no_grad():
            output = self._forward_tensor(valid.X)
            y = valid.y.to(output.device)
            weight = None if valid.weight is None else valid.weight.to(output.device)
            self.history.record("valid_loss", recipe.loss(output, y, weight).item())
            self.history.record("valid_score", recipe.score(output, y, weight).item())

    def _forward_tensor(self, X):
        """Forward ``X`` (a tensor) in chunks on the net's device, in the
        module's current mode, without building a graph."""
        module = self.module_
        outputs = [
            module(X[start : start + PREDICT_CHUNK].to(self.device))
            for start in range(0, len(X), PREDICT_CHUNK)
        ]
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs)


# ---- the single-fit engine: build, continue and train a net for a spec -------
def _callbacks(spec):
    """The net's epoch callbacks: schedule, stop rule, progress bar."""
    callbacks = []
    scheduler = _schedule_callback(spec)
    if scheduler is not None:
        # Before the stopper, so that the schedule steps on the last epoch.
        callbacks.append(("lr_scheduler", scheduler))
    stopper = _StopOnPlateau(
        monitor=_monitor(spec.early_stopping),
        patience=spec.patience,
        threshold=spec.tol,
        load_best=spec.early_stopping,
    )
    name = "early_stopping" if spec.early_stopping else "plateau"
    callbacks.append((name, stopper))
    if spec.verbose:
        callbacks.append(("progress_bar", _EpochProgressBar(spec.name)))
    return callbacks


def _make_net(spec, streams, config):
    """A new skorch net for ``spec``, initialised from the ``init`` stream;
    ``config`` (the hyperparameters it is built from) is kept with it."""
    optimizer_class, optimizer_kwargs = _resolve_optimizer(
        spec.optimizer, **spec.optimizer_constants
    )
    lr = optimizer_kwargs.pop("lr", None)
    net = _SkloptNet(
        module=spec.module_class,
        criterion=(
            torch.nn.CrossEntropyLoss if spec.classification else torch.nn.MSELoss
        ),
        optimizer=optimizer_class,
        lr=lr,
        max_epochs=spec.max_epochs,
        batch_size=PREDICT_CHUNK,
        train_split=None,
        callbacks=_callbacks(spec),
        verbose=0,
        device=spec.device,
        **{f"module__{k}": v for k, v in spec.module_kwargs.items()},
        **{f"optimizer__{k}": v for k, v in optimizer_kwargs.items()},
    )
    streams.init_module(net.initialize)
    net.streams_ = streams
    net.sklopt_config_ = config
    return net


def _continue_net(old, spec, config):
    """The net to continue training: ``old`` when its configuration is
    unchanged, else a new one holding its weights, optimizer state (same
    optimizer and parameter groups), history and random streams."""
    device = spec.device
    if old.sklopt_config_ == config and str(old.device) == device:
        return old
    old_class, old_kwargs = type(old.module_), old.get_params_for("module")
    new_kwargs = spec.module_kwargs
    if old_class is not spec.module_class or old_kwargs != new_kwargs:
        changed = sorted(k for k in new_kwargs if new_kwargs[k] != old_kwargs.get(k))
        raise ValueError(
            "warm_start=True and partial_fit continue training the fitted "
            f"network, so its architecture cannot change; {changed} differ from "
            "the fitted network. Set warm_start=False to train a new one."
        )
    streams = old.streams_
    if streams.device != device:
        streams = _RandomStreams(streams.seed, device)
    net = _make_net(spec, streams, config)
    net.module_.load_state_dict(old.module_.state_dict())
    if type(old.optimizer_) is type(net.optimizer_):
        settings = [
            {k: v for k, v in g.items() if k != "params"}
            for g in net.optimizer_.param_groups
        ]
        try:
            net.optimizer_.load_state_dict(old.optimizer_.state_dict())
        except ValueError:  # different parameter groups: start afresh
            net.initialize_optimizer()
        else:
            for group, setting in zip(net.optimizer_.param_groups, settings):
                group.update(setting)
    net.history_ = old.history_
    return net


def _train_net(net, spec, data, continuing):
    """Train ``net`` on ``data`` (a :class:`~sklopt.neural._data._FitData`)
    as ``spec`` says; return the :class:`~sklopt.neural._spec._FitResult`.

    A diverged fit keeps the best epoch's weights with early stopping (a
    warning), else raises :class:`~sklopt.exceptions.DivergenceError` after
    putting back the weights from before a continued fit.
    """
    snapshot = None
    if continuing:
        snapshot = (
            copy.deepcopy(net.module_.state_dict()),
            copy.deepcopy(net.optimizer_.state_dict()),
            len(net.history),
        )
    try:
        net.partial_fit(data, recipe=spec.recipe)
    except _Diverged as exc:
        _recover_from_divergence(net, exc, spec, snapshot)
    return _FitResult(net=net, stop_reason=net.stop_reason_)


def _recover_from_divergence(net, exc, spec, snapshot):
    stopper = dict(net.callbacks_).get("early_stopping")
    best = None if stopper is None else stopper.best_model_weights_
    if spec.early_stopping and best is not None:
        net.module_.load_state_dict(best)
        net.initialize_optimizer()
        net.stop_reason_ = "diverged"
        _warn_restored(spec, [exc.epoch], best_epoch=stopper.best_epoch_, loss=exc.loss)
        return
    if snapshot is not None:
        module_state, optimizer_state, n_epochs = snapshot
        net.module_.load_state_dict(module_state)
        net.optimizer_.load_state_dict(optimizer_state)
        del net.history[n_epochs:]
    kept = (
        "The estimator keeps its weights from before this call."
        if snapshot is not None
        else "The estimator is left unfitted."
    )
    raise DivergenceError(
        _divergence_message(spec, exc.epoch, exc.loss) + " " + kept
    ) from None
