"""Shared base of the neural estimators.

Design
------
The public estimators are plain scikit-learn estimators: ``__init__`` stores
the hyperparameters, ``fit`` validates them (``_parameter_constraints``) and
the data, builds a skorch net (:class:`~sklopt.neural._net._SkloptNet`,
stored as ``net_``) and trains it with a batch-level loop.

Randomness
----------
``fit`` draws one integer seed from ``random_state``
(:func:`~sklopt.neural._device._derive_seed`: an int always gives the same
seed, a ``RandomState`` advances by one draw, None uses fresh OS entropy;
numpy's global generator is never used). The seed is split by
``numpy.random.SeedSequence(seed).generate_state(7)`` into the streams
``init, split, shuffle, noise, dropout, augment, mixing``
(:class:`~sklopt.neural._device._RandomStreams` documents what each drives).
Weight initialisation runs on the CPU inside ``torch.random.fork_rng`` with
torch's CPU generator seeded by the ``init`` stream; every other draw uses a
local ``torch.Generator`` or ``numpy.random.Generator``. The streams continue
across ``partial_fit`` calls and warm-started fits, so two warm-started fits
of 5 epochs equal one fit of 10 (without a stopping rule or schedule that
looks at ``max_epochs``). The same ``random_state`` gives bit-identical
results on the CPU; GPU kernels are not promised to be deterministic.

Private hooks (used by other sklopt modules)
--------------------------------------------
``_validate_training_data(X, y, sample_weight, reset=True)``
    Validated float32 inputs (module input shape), encoded targets and
    checked weights, as ``fit`` sees them.
``_module_spec()``
    ``(module_class, module_kwargs)`` of the fitted architecture.
``_make_recipe(X_train, device='cpu')``
    The :class:`~sklopt.neural._net._TrainingRecipe` of the hyperparameters.
``_build_fitted(state_dict, *, n_features_in, classes=None, n_outputs=None,
image_shape=None, history=None, feature_names_in=None)``
    Turn an unfitted estimator into a fitted one from a module
    ``state_dict`` and fitted metadata (no training), e.g. for the members of
    a batched ensemble.
``_batched_unsupported_reason()`` / ``_fit_batched(X, y, members, rows,
sample_weights=None, verbose=0)``
    Train many copies of the estimator (differing only in ``random_state``)
    as one batched model, each exactly as its own ``fit`` on its rows would
    (:mod:`sklopt.neural._batched`); used by the bagging ensembles and the
    bootstrap rounds of :mod:`sklopt.model_selection`.
``_forward(X)`` / ``_predict_output(X)``
    Raw module outputs (logits or values) as numpy, after validation.
:func:`sklopt.neural._functional._flat_loss_function`
    The unregularised training loss on (X, y) as a function of the flat
    parameter vector (for sharpness).
"""

import copy
import warnings
from abc import ABCMeta, abstractmethod

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from sklopt.exceptions import DivergenceError, TrainingInterruptedWarning
from sklopt.neural._augment import (
    IMAGE_AUGMENTATIONS,
    TABULAR_AUGMENTATIONS,
    _make_augmenter,
)
from sklopt.neural._data import _FitData, _TensorData
from sklopt.neural._device import _derive_seed, _RandomStreams, _resolve_device
from sklopt.neural._losses import _normalize_weights
from sklopt.neural._modules import ACTIVATIONS, MLP_NORMALIZATIONS
from sklopt.neural._net import (
    PREDICT_CHUNK,
    _Diverged,
    _EpochProgressBar,
    _SkloptNet,
    _StopOnPlateau,
    _TrainingRecipe,
)
from sklopt.neural._optim import (
    LR_SCHEDULES,
    OPTIMIZERS,
    _default_lr,
    _lr_scheduler,
    _resolve_optimizer,
)
from sklopt.neural._persistence import _net_state, _restore_net
from sklopt.utils._fit_guard import interrupts_propagate
from sklopt.utils._validation import (
    Integral,
    Interval,
    Real,
    StrOptions,
    check_sample_weight,
    validate_data,
)

#: Columns of ``history_``.
HISTORY_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_score", "lr", "dur")

# Hyperparameters that only shape the per-batch recipe: changing them between
# partial_fit calls or warm-started fits keeps the same skorch net.
_RECIPE_PARAMS = frozenset(
    {
        "augmentation",
        "batch_size",
        "clip_grad_norm",
        "cutmix_alpha",
        "input_noise",
        "l1",
        "label_smoothing",
        "mixup_alpha",
        "random_state",
        "validation_fraction",
        "warm_start",
        "weight_noise",
    }
)


def _validate_sample_weight(sample_weight, n_samples):
    """None, or the checked weights (see
    :func:`sklopt.utils._validation.check_sample_weight`)."""
    if sample_weight is None:
        return None
    return check_sample_weight(sample_weight, n_samples)


def _to_float32(X):
    """Cast validated float input to a writeable C-contiguous float32 array,
    checking that no value overflows float32."""
    with np.errstate(over="ignore"):  # overflow is reported below
        X32 = np.require(X, dtype=np.float32, requirements=["C", "W"])
    if X32.size and not np.isfinite(X32).all():
        raise ValueError(
            "X holds values too large for float32 (|x| > 3.4e38), which the "
            "network uses; rescale the features (for example StandardScaler)."
        )
    return X32


def _history_frame(history):
    """The skorch history as a DataFrame with :data:`HISTORY_COLUMNS`."""
    rows = [{key: row.get(key, np.nan) for key in HISTORY_COLUMNS} for row in history]
    frame = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    if len(frame):
        frame["epoch"] = frame["epoch"].astype(int)
    return frame


class _BaseNeural(BaseEstimator, metaclass=ABCMeta):
    """Shared code of MLPClassifier, MLPRegressor and CNNClassifier."""

    _parameter_constraints: dict = {
        "activation": [StrOptions(set(ACTIVATIONS))],
        "optimizer": [StrOptions(set(OPTIMIZERS)), type],
        "lr": [Interval(Real, 0, None, closed="neither"), None],
        "momentum": [Interval(Real, 0, 1, closed="both"), None],
        "betas": [tuple, list, None],
        "rho": [Interval(Real, 0, 1, closed="both"), None],
        "eps": [Interval(Real, 0, None, closed="left"), None],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto", "full"}),
        ],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr_schedule": [StrOptions(set(LR_SCHEDULES)), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "l1": [Interval(Real, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "normalization": [StrOptions(set(MLP_NORMALIZATIONS)), None],
        "input_noise": [Interval(Real, 0, None, closed="left")],
        "weight_noise": [Interval(Real, 0, None, closed="left")],
        "mixup_alpha": [Interval(Real, 0, None, closed="left")],
        "augmentation": [
            StrOptions(set(IMAGE_AUGMENTATIONS + TABULAR_AUGMENTATIONS)),
            callable,
            list,
            tuple,
            None,
        ],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    # ---- subclass interface -------------------------------------------------
    _classification = False
    _image_input = False
    # Distinct rows weighted by their draw counts are not the bootstrap
    # sample for minibatch training (fewer steps per epoch): resampling
    # engines fit these estimators on the rows as drawn, repeats included
    # (see sklopt.utils._resampled_fits.count_weights_exact).
    _count_weights_exact = False

    @abstractmethod
    def _encode_targets(self, y, reset, classes=None):
        """Validate and encode ``y``; return a torch tensor of targets."""

    @abstractmethod
    def _n_outputs(self):
        """Number of module outputs (after fitting or _encode_targets)."""

    @abstractmethod
    def _module_spec(self):
        """(module_class, module_kwargs) of the fitted architecture."""

    def _inputs_from_2d(self, X, reset=False, input_shape=None):
        """Reshape validated 2-D float32 input to the module's input shape
        (``reset``: at the first fit; ``input_shape``: the shape of each
        sample when the input had more than two dimensions)."""
        return X

    def _check_hyperparameters(self):
        """Data-independent checks that ``_parameter_constraints`` cannot
        express; raise ValueError naming the parameter."""
        if self.betas is not None:
            betas = tuple(self.betas)
            if len(betas) != 2 or not all(
                isinstance(b, Real) and 0 <= b < 1 for b in betas
            ):
                raise ValueError(
                    "betas must be None or a pair of floats in [0, 1); got "
                    f"{self.betas!r}."
                )
        _resolve_optimizer(self.optimizer, **self._optimizer_constants())

    # ---- validation ---------------------------------------------------------
    def _validate_X(self, X, reset):
        return validate_data(
            self,
            X,
            reset=reset,
            dtype=[np.float64, np.float32],
            ensure_min_samples=1,
        )

    def _validate_training_data(
        self, X, y, sample_weight, reset=True, classes=None, input_shape=None
    ):
        """Validate training data as ``fit`` does.

        Returns
        -------
        X : ndarray of float32 in the module's input shape
        y : Tensor of targets (int64 labels or float32 (n, k) values)
        sample_weight : ndarray of float64 or None
        """
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            dtype=[np.float64, np.float32],
            multi_output=not self._classification,
            y_numeric=not self._classification,
        )
        X = self._inputs_from_2d(_to_float32(X), reset=reset, input_shape=input_shape)
        target = self._encode_targets(y, reset=reset, classes=classes)
        sample_weight = _validate_sample_weight(sample_weight, len(X))
        return X, target, sample_weight

    def _validate_predict_X(self, X):
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._inputs_from_2d(_to_float32(X))

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    # ---- pieces of fit ------------------------------------------------------
    def _optimizer_constants(self):
        return {
            "lr": self.lr,
            "momentum": self.momentum,
            "betas": self.betas,
            "rho": self.rho,
            "eps": self.eps,
            "weight_decay": self.weight_decay,
        }

    def _effective_lr(self):
        return _default_lr(self.optimizer) if self.lr is None else self.lr

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size == "full":
            return n_samples
        return min(self.batch_size, n_samples)

    def _make_recipe(self, X_train, device="cpu"):
        """The per-batch training recipe for training inputs ``X_train``
        (float32 array or tensor in the module's input shape) on ``device``."""
        n_samples = len(X_train)
        batch_size = self._batch_size(n_samples)
        batch_norm = self.normalization == "batch"
        if batch_norm and batch_size < 2:
            raise ValueError(
                "normalization='batch' needs at least 2 samples per batch; got "
                f"batch_size={self.batch_size!r} with {n_samples} training samples."
            )
        X_train = torch.as_tensor(X_train)

        def noise_std():
            """Per-feature standard deviation (only the 'noise' augmentation
            needs it)."""
            if n_samples < 2:
                return (X_train[0] * 0).to(device)
            return X_train.std(0, unbiased=False).to(device)

        return _TrainingRecipe(
            classification=self._classification,
            batch_size=batch_size,
            n_classes=self._n_outputs() if self._classification else None,
            label_smoothing=getattr(self, "label_smoothing", 0.0),
            mixup_alpha=self.mixup_alpha,
            cutmix_alpha=getattr(self, "cutmix_alpha", 0.0),
            input_noise=self.input_noise,
            weight_noise=self.weight_noise,
            l1=self.l1,
            clip_grad_norm=self.clip_grad_norm,
            augment=_make_augmenter(
                self.augmentation,
                image=self._image_input,
                noise_std=noise_std,
                estimator_name=type(self).__name__,
            ),
            drop_single=batch_norm,
        )

    def _callbacks(self, early_stopping):
        monitor = "valid_loss" if early_stopping else "train_loss"
        callbacks = []
        if self.lr_schedule is not None:
            # Before the stopper, so that the schedule steps on the last epoch.
            scheduler = _lr_scheduler(
                self.lr_schedule,
                max_epochs=self.max_epochs,
                patience=self.patience,
                tol=self.tol,
                monitor=monitor,
            )
            callbacks.append(("lr_scheduler", scheduler))
        stopper = _StopOnPlateau(
            monitor=monitor,
            patience=self.patience,
            threshold=self.tol,
            load_best=early_stopping,
        )
        callbacks.append(("early_stopping" if early_stopping else "plateau", stopper))
        if self.verbose:
            callbacks.append(("progress_bar", _EpochProgressBar(type(self).__name__)))
        return callbacks

    def _net_config(self, early_stopping):
        """The hyperparameters the skorch net is built from (with the
        early-stopping flag in effect: partial_fit never holds data out)."""
        params = self.get_params(deep=False)
        config = {k: v for k, v in params.items() if k not in _RECIPE_PARAMS}
        config["early_stopping"] = early_stopping
        return config

    def _make_net(self, device, streams, early_stopping):
        """Build and initialise a new skorch net (weights from the ``init``
        stream)."""
        module_class, module_kwargs = self._module_spec()
        optimizer_class, optimizer_kwargs = _resolve_optimizer(
            self.optimizer, **self._optimizer_constants()
        )
        lr = optimizer_kwargs.pop("lr", None)
        net = _SkloptNet(
            module=module_class,
            criterion=(
                torch.nn.CrossEntropyLoss if self._classification else torch.nn.MSELoss
            ),
            optimizer=optimizer_class,
            lr=lr,
            max_epochs=self.max_epochs,
            batch_size=PREDICT_CHUNK,
            train_split=None,
            callbacks=self._callbacks(early_stopping),
            verbose=0,
            device=device,
            **{f"module__{k}": v for k, v in module_kwargs.items()},
            **{f"optimizer__{k}": v for k, v in optimizer_kwargs.items()},
        )
        streams.init_module(net.initialize)
        net.streams_ = streams
        net.sklopt_config_ = self._net_config(early_stopping)
        return net

    def _continue_net(self, device, early_stopping):
        """The net to continue training: the fitted one when its
        configuration is unchanged, else a new one holding its weights,
        optimizer state (same optimizer and parameter groups), history and
        random streams."""
        old = self.net_
        config = self._net_config(early_stopping)
        if old.sklopt_config_ == config and str(old.device) == device:
            return old
        old_class, old_kwargs = type(old.module_), old.get_params_for("module")
        new_class, new_kwargs = self._module_spec()
        if old_class is not new_class or old_kwargs != new_kwargs:
            changed = sorted(
                k for k in new_kwargs if new_kwargs[k] != old_kwargs.get(k)
            )
            raise ValueError(
                "warm_start=True and partial_fit continue training the fitted "
                f"network, so its architecture cannot change; {changed} differ from "
                "the fitted network. Set warm_start=False to train a new one."
            )
        streams = old.streams_
        if streams.device != device:
            streams = _RandomStreams(streams.seed, device)
        net = self._make_net(device, streams, early_stopping)
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

    def _split(self, X, target, weight, streams, early_stopping):
        """Training and validation tensors (the validation part is held out
        only with early stopping)."""
        if not early_stopping:
            return self._tensor_data(X, target, weight), None
        train_idx, valid_idx = self._split_indices(target, streams)

        def part(idx):
            w = None if weight is None else weight[idx]
            return self._tensor_data(X[idx], target[torch.from_numpy(idx)], w)

        return part(train_idx), part(valid_idx)

    def _split_indices(self, target, streams):
        """Sorted training and validation positions of the early-stopping
        hold-out split of ``target`` (the ``split`` stream)."""
        n_samples = len(target)
        stratify = target.numpy() if self._classification else None
        try:
            train_idx, valid_idx = train_test_split(
                np.arange(n_samples),
                test_size=self.validation_fraction,
                random_state=streams.seeds["split"],
                stratify=stratify,
            )
        except ValueError as exc:
            kind = "stratified by class, " if self._classification else ""
            raise ValueError(
                f"early_stopping=True holds out validation_fraction="
                f"{self.validation_fraction} of the {n_samples} training samples "
                f"({kind}as validation data), which is not possible here: {exc} "
                "Use a larger data set or validation_fraction, or early_stopping=False."
            ) from exc
        return np.sort(train_idx), np.sort(valid_idx)

    @staticmethod
    def _tensor_data(X, target, weight):
        weight = _normalize_weights(weight)
        return _TensorData(
            torch.from_numpy(np.ascontiguousarray(X)),
            target,
            None if weight is None else torch.from_numpy(weight),
        )

    # ---- fit ----------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        continuing = (incremental or self.warm_start) and hasattr(self, "net_")
        try:
            net = self._train(X, y, sample_weight, incremental, classes, continuing)
        except BaseException:
            if not continuing:
                # validate_data may already have reset the fitted metadata:
                # never leave it next to an older net_.
                self._clear_fitted()
            raise
        if net.stop_reason_ == "interrupted":
            if interrupts_propagate():
                # A member of an sklopt ensemble or bootstrap study: one
                # Ctrl-C stops the whole fit, which decides what to keep.
                raise KeyboardInterrupt
            kept = (
                f"the weights of its best epoch ({self.best_epoch_})"
                if "early_stopping" in dict(net.callbacks_)
                else f"the weights trained so far ({self.n_iter_} complete epochs)"
            )
            warnings.warn(
                f"Training of {type(self).__name__} was interrupted "
                f"(KeyboardInterrupt); the estimator keeps {kept}.",
                TrainingInterruptedWarning,
                stacklevel=3,
            )
        elif net.stop_reason_ == "max_epochs" and not incremental:
            warnings.warn(
                f"{type(self).__name__}: maximum number of epochs (max_epochs="
                f"{self.max_epochs}) reached and the optimization hasn't converged "
                "yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _train(self, X, y, sample_weight, incremental, classes, continuing):
        """Validate, build or continue the net, train it, set the fitted
        attributes; return the net."""
        self._check_hyperparameters()
        X, target, sample_weight = self._validate_training_data(
            X, y, sample_weight, reset=not continuing, classes=classes
        )
        device = _resolve_device(self.device)
        early_stopping = self.early_stopping and not incremental
        if continuing:
            net = self._continue_net(device, early_stopping)
            streams = net.streams_
        else:
            streams = _RandomStreams(_derive_seed(self.random_state), device)
        train, valid = self._split(X, target, sample_weight, streams, early_stopping)
        recipe = self._make_recipe(train.X, device)
        self._check_data_dependent(train.X)
        if not continuing:
            net = self._make_net(device, streams, early_stopping)
        snapshot = self._snapshot(net) if continuing else None
        epochs = 1 if incremental else self.max_epochs
        try:
            net.partial_fit(_FitData(train, valid, epochs), recipe=recipe)
        except _Diverged as exc:
            self._recover_from_divergence(net, exc, early_stopping, snapshot)
        self._set_fitted(net, device)
        return net

    def _check_data_dependent(self, X_train):
        """Checks of hyperparameters against the training inputs."""

    @staticmethod
    def _snapshot(net):
        return (
            copy.deepcopy(net.module_.state_dict()),
            copy.deepcopy(net.optimizer_.state_dict()),
            len(net.history),
        )

    def _recover_from_divergence(self, net, exc, early_stopping, snapshot):
        stopper = dict(net.callbacks_).get("early_stopping")
        best = None if stopper is None else stopper.best_model_weights_
        if early_stopping and best is not None:
            net.module_.load_state_dict(best)
            net.initialize_optimizer()
            net.stop_reason_ = "diverged"
            warnings.warn(
                f"{type(self).__name__}: training diverged at epoch {exc.epoch} "
                f"(training loss {exc.loss}); the weights of the best epoch "
                f"({stopper.best_epoch_}) were restored. A smaller lr (now "
                f"{self._effective_lr()}) avoids this.",
                ConvergenceWarning,
                stacklevel=4,
            )
            return
        if snapshot is not None:
            module_state, optimizer_state, n_epochs = snapshot
            net.module_.load_state_dict(module_state)
            net.optimizer_.load_state_dict(optimizer_state)
            del net.history[n_epochs:]
        lr = self._effective_lr()
        suggestion = f" (for example lr={lr / 10:g})" if lr is not None else ""
        raise DivergenceError(
            f"Training of {type(self).__name__} diverged at epoch {exc.epoch}: the "
            f"training loss became {exc.loss}. The learning rate is too large for "
            f"this problem: lr={lr} with optimizer={self._optimizer_name()}. Use a "
            f"smaller lr{suggestion}, set clip_grad_norm, or set "
            "early_stopping=True to keep the best finite weights. "
            + (
                "The estimator keeps its weights from before this call."
                if snapshot is not None
                else "The estimator is left unfitted."
            )
        ) from None

    def _optimizer_name(self):
        if isinstance(self.optimizer, str):
            return repr(self.optimizer)
        return getattr(self.optimizer, "__name__", repr(self.optimizer))

    def _clear_fitted(self):
        for name in list(vars(self)):
            if name.endswith("_") and not name.startswith("__"):
                delattr(self, name)

    def _set_fitted(self, net, device):
        self.net_ = net
        self.device_ = device
        self.history_ = _history_frame(net.history)
        self.n_iter_ = int(self.history_["train_loss"].notna().sum())
        stopper = dict(net.callbacks_).get("early_stopping")
        if stopper is not None and getattr(stopper, "best_epoch_", 0):
            self.best_epoch_ = int(stopper.best_epoch_)
        else:
            self.best_epoch_ = self.n_iter_

    # ---- prediction ---------------------------------------------------------
    def _forward(self, X):
        """Module outputs (logits or values) for validated inputs ``X``
        (float32 array in the module's input shape), as a float64 array.

        On the CPU the forward pass runs in float64 (weights and inputs
        converted per call, the module itself is untouched): float32 matrix
        products take kernels that depend on the number of rows and the CPU,
        so a row's float32 output could change with the rows predicted beside
        it (about 1e-7); in float64 such differences stay near 1e-16, and a
        row's prediction does not depend on the other rows. Accelerators keep
        float32.
        """
        module = self.net_.module_
        module.eval()
        device = next(module.parameters()).device
        dtype = torch.float64 if device.type == "cpu" else None
        state = {
            name: value.to(dtype)
            if dtype is not None and value.is_floating_point()
            else value
            for name, value in [*module.named_parameters(), *module.named_buffers()]
        }
        outputs = []
        with torch.inference_mode():
            for start in range(0, len(X), PREDICT_CHUNK):
                chunk = torch.from_numpy(X[start : start + PREDICT_CHUNK]).to(device)
                if dtype is not None:
                    chunk = chunk.to(dtype)
                out = torch.func.functional_call(module, state, (chunk,))
                outputs.append(out.double().cpu().numpy())
        return np.concatenate(outputs)

    def _predict_output(self, X):
        return self._forward(self._validate_predict_X(X))

    # ---- building a fitted estimator without training -----------------------
    def _build_fitted(
        self,
        state_dict,
        *,
        n_features_in,
        classes=None,
        n_outputs=None,
        image_shape=None,
        history=None,
        feature_names_in=None,
        device="cpu",
        streams=None,
        best_epoch=None,
        optimizer_state=None,
        lr=None,
    ):
        """Make this (unfitted) estimator a fitted one from module weights.

        Parameters
        ----------
        state_dict : dict
            ``module.state_dict()`` of the architecture that ``fit`` would
            build from the hyperparameters and the metadata below.
        n_features_in : int
        classes : array-like or None
            ``classes_`` (classifiers).
        n_outputs : int or None
            Number of regression targets (regressors; 1 for 1-D y).
        image_shape : tuple or None
            ``(C, H, W)`` (CNNClassifier).
        history : DataFrame, list of dict or None
            Per-epoch records with keys among :data:`HISTORY_COLUMNS`.
        feature_names_in : array-like of str or None
        device : str
        streams : _RandomStreams or None
            The random streams of the training run, so that warm-started fits
            and ``partial_fit`` continue them; None starts them from the seed
            of ``random_state``.
        best_epoch : int or None
            ``best_epoch_`` (default: the number of epochs in ``history``).
        optimizer_state : dict or None
            Per-parameter optimizer state (``{parameter name: {key:
            tensor}}``, the keys of the torch optimizer's ``state``), so that
            continued training resumes the optimizer.
        lr : float or None
            The learning rate reached (after a schedule), set in the
            optimizer's parameter groups.

        Returns
        -------
        self
        """
        self._check_hyperparameters()
        self.n_features_in_ = int(n_features_in)
        if feature_names_in is not None:
            self.feature_names_in_ = np.asarray(feature_names_in, dtype=object)
        self._set_metadata(
            classes=classes, n_outputs=n_outputs, image_shape=image_shape
        )
        device = _resolve_device(device)
        if streams is None:
            streams = _RandomStreams(_derive_seed(self.random_state), device)
        net = self._make_net(device, streams, self.early_stopping)
        net.module_.load_state_dict(state_dict)
        if optimizer_state is not None:
            params = dict(net.module_.named_parameters())
            for name, state in optimizer_state.items():
                net.optimizer_.state[params[name]] = state
        if lr is not None:
            for group in net.optimizer_.param_groups:
                group["lr"] = lr
        if history is not None:
            records = (
                history.to_dict("records")
                if isinstance(history, pd.DataFrame)
                else history
            )
            for record in records:
                net.history.new_epoch()
                for key, value in record.items():
                    if not (isinstance(value, float) and np.isnan(value)):
                        net.history.record(key, value)
        net.stop_reason_ = None
        self._set_fitted(net, device)
        if best_epoch is not None:
            self.best_epoch_ = int(best_epoch)
        return self

    # ---- batched training of many copies (ensembles, bootstrap rounds) ------
    def _batched_unsupported_reason(self):
        """Why copies of this estimator cannot be trained together as one
        batched model, or None when they can (settings only; see
        :func:`sklopt.neural._batched._unsupported_reason`)."""
        from sklopt.neural._batched import _unsupported_reason

        return _unsupported_reason(self)

    def _batched_auto_reason(self):
        """Why ``batched='auto'`` trains copies of this estimator one by one
        although they could be batched (speed), or None (see
        :func:`sklopt.neural._batched._auto_reason`)."""
        from sklopt.neural._batched import _auto_reason

        return _auto_reason(self)

    def _fit_batched(self, X, y, members, rows, sample_weights=None, *, verbose=0):
        """Fit ``members`` (unfitted copies of this estimator that differ at
        most in ``random_state``) as one batched model.

        Member ``i`` ends up as if ``members[i].fit(X[rows[i]], y[rows[i]],
        sample_weight=sample_weights[i])`` had been called (see
        :mod:`sklopt.neural._batched`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        members : list of estimators
        rows : list of int arrays
            Training rows of each member (repeats allowed).
        sample_weights : list of (array or None), or None
            Sample weights of each member's rows.
        verbose : int
            A progress bar over the epochs.

        Returns
        -------
        members : list of fitted estimators
            The same objects as ``members``, fitted.
        """
        from sklopt.neural._batched import _fit_members_batched

        return _fit_members_batched(
            self, X, y, members, rows, sample_weights, verbose=verbose
        )

    @abstractmethod
    def _set_metadata(self, *, classes, n_outputs, image_shape):
        """Set the fitted target/input metadata (for _build_fitted)."""

    # ---- persistence --------------------------------------------------------
    def __getstate__(self):
        """Pickle (and skops) state: ``net_`` as numpy arrays, no torch objects
        (see :mod:`sklopt.neural._persistence`)."""
        state = dict(super().__getstate__())
        net = state.pop("net_", None)
        if net is not None:
            state.pop("history_", None)  # rebuilt from the net's history
            state["_net_state"] = _net_state(net)
        return state

    def __setstate__(self, state):
        state = dict(state)
        net_state = state.pop("_net_state", None)
        super().__setstate__(state)
        if net_state is not None:
            _restore_net(self, net_state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
