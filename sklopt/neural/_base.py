"""Shared base of the neural estimators: parameters, validation, the fit
specification, prediction and the hooks other sklopt modules use (see
``docs/dev/architecture.rst``)."""

import dataclasses
from abc import ABCMeta, abstractmethod

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from sklopt.neural._augment import (
    IMAGE_AUGMENTATIONS,
    TABULAR_AUGMENTATIONS,
    _make_augmenter,
)
from sklopt.neural._batched import (
    _auto_reason,
    _fit_members_batched,
    _stacking_params,
    _unsupported_reason,
)
from sklopt.neural._data import (
    _as_rows,
    _chunk_rows,
    _FitData,
    _TensorData,
    _validate_sample_weight,
)
from sklopt.neural._device import _derive_seed, _RandomStreams, _resolve_device
from sklopt.neural._losses import _normalize_weights
from sklopt.neural._modules import ACTIVATIONS, MLP_NORMALIZATIONS
from sklopt.neural._net import (
    PREDICT_CHUNK,
    _continue_net,
    _make_net,
    _train_net,
    _TrainingRecipe,
)
from sklopt.neural._optim import (
    LR_SCHEDULES,
    OPTIMIZERS,
    _default_lr,
    _resolve_optimizer,
)
from sklopt.neural._persistence import _net_state, _restore_net
from sklopt.neural._rules import _warn_not_converged
from sklopt.neural._spec import METADATA, _FitSpec, _history_frame
from sklopt.utils._validation import (
    Integral,
    Interval,
    Real,
    StrOptions,
    validate_data,
)

# Hyperparameters that only shape the per-batch recipe: changing them between
# partial_fit calls or warm-started fits keeps the same skorch net.
_RECIPE_PARAMS = frozenset(
    {
        "augmentation",
        "batch_size",
        "class_weight",
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


def _to_float32(X):
    """Cast validated float input to a writeable C-contiguous float32 array
    (a float32 CSR matrix for sparse input), checking that no value
    overflows float32."""
    with np.errstate(over="ignore"):  # overflow is reported below
        if sp.issparse(X):
            X32 = sp.csr_matrix(X, dtype=np.float32)
            values = X32.data
        else:
            X32 = values = np.require(X, dtype=np.float32, requirements=["C", "W"])
    if values.size and not np.isfinite(values).all():
        raise ValueError(
            "X holds values too large for float32 (|x| > 3.4e38), which the "
            "network uses; rescale the features (for example StandardScaler)."
        )
    return X32


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
    #: Whether X may be a scipy sparse matrix (densified batch by batch).
    _accept_sparse = True
    #: Whether y may be 2-D (multi-output regression, multilabel).
    _accept_2d_y = True
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
    def _sparse_formats(self, X):
        """``accept_sparse`` of the validation: CSR and CSC (other formats
        are converted to CSR), or a clear error where sparse X is not
        taken."""
        if not self._accept_sparse:
            if sp.issparse(X):
                raise TypeError(
                    f"{type(self).__name__} does not take sparse X: its inputs "
                    "are images, which are dense. Pass X.toarray(), or use "
                    "MLPClassifier for sparse features."
                )
            return False
        return ["csr", "csc"]

    def _validate_X(self, X, reset):
        return validate_data(
            self,
            X,
            reset=reset,
            accept_sparse=self._sparse_formats(X),
            dtype=[np.float64, np.float32],
            ensure_min_samples=1,
        )

    def _validate_training_data(
        self, X, y, sample_weight, reset=True, classes=None, input_shape=None
    ):
        """Validate training data as ``fit`` does.

        Returns
        -------
        X : ndarray of float32 in the module's input shape, or float32 CSR
            matrix (sparse input)
        y : Tensor of targets (int64 labels, float32 (n, k) values or 0/1
            label indicators)
        sample_weight : ndarray of float64 or None
            ``sample_weight`` times the class weights (classifiers with
            ``class_weight``).
        """
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            accept_sparse=self._sparse_formats(X),
            dtype=[np.float64, np.float32],
            multi_output=self._accept_2d_y,
            y_numeric=not self._classification,
        )
        X = self._inputs_from_2d(_to_float32(X), reset=reset, input_shape=input_shape)
        target = self._encode_targets(y, reset=reset, classes=classes)
        sample_weight = _validate_sample_weight(sample_weight, X.shape[0])
        return X, target, self._training_weight(target, sample_weight)

    def _training_weight(self, target, sample_weight):
        """The per-sample weights of a fit on encoded targets ``target``
        (both engines): ``sample_weight`` (validated, or None) here; the
        classifiers multiply in their class weights."""
        return sample_weight

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
        (float32 array, tensor or sparse matrix in the module's input shape)
        on ``device``."""
        X_train = _as_rows(X_train)
        n_samples = len(X_train)
        batch_size = self._batch_size(n_samples)
        batch_norm = self.normalization == "batch"
        if batch_norm and batch_size < 2:
            raise ValueError(
                "normalization='batch' needs at least 2 samples per batch; got "
                f"batch_size={self.batch_size!r} with {n_samples} training samples."
            )

        def noise_std():
            """Per-feature standard deviation (only the 'noise' augmentation
            needs it)."""
            if n_samples < 2:
                return (X_train[0] * 0).to(device)
            return X_train.std(0, unbiased=False).to(device)

        return _TrainingRecipe(
            classification=self._classification,
            multilabel=self._multilabel(),
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

    def _net_config(self, early_stopping):
        """The hyperparameters the skorch net is built from (with the
        early-stopping flag in effect: partial_fit never holds data out)."""
        params = self.get_params(deep=False)
        config = {k: v for k, v in params.items() if k not in _RECIPE_PARAMS}
        config["early_stopping"] = early_stopping
        return config

    def _fitted_metadata(self):
        """The fitted attributes of :data:`~sklopt.neural._spec.METADATA`
        that validation set."""
        return {name: getattr(self, name) for name in METADATA if hasattr(self, name)}

    def _net_spec(self, device, early_stopping):
        """The :class:`~sklopt.neural._spec._FitSpec` of the hyperparameters
        and fitted metadata, without a training recipe (enough to build a
        net)."""
        module_class, module_kwargs = self._module_spec()
        return _FitSpec(
            name=type(self).__name__,
            classification=self._classification,
            module_class=module_class,
            module_kwargs=module_kwargs,
            optimizer=self.optimizer,
            optimizer_name=self._optimizer_name(),
            optimizer_constants=self._optimizer_constants(),
            lr=self._effective_lr(),
            recipe=None,
            max_epochs=self.max_epochs,
            patience=self.patience,
            tol=self.tol,
            early_stopping=early_stopping,
            lr_schedule=self.lr_schedule,
            dropout=float(self.dropout),
            device=device,
            verbose=self.verbose,
            metadata=self._fitted_metadata(),
        )

    def _fit_spec(self, X_train, device, early_stopping):
        """The :class:`~sklopt.neural._spec._FitSpec` of a fit on training
        inputs ``X_train`` (after validation set the fitted metadata)."""
        recipe = self._make_recipe(X_train, device)
        self._check_data_dependent(X_train)
        spec = self._net_spec(device, early_stopping)
        return dataclasses.replace(spec, recipe=recipe)

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
        # multilabel targets are not stratified (as scikit-learn's MLP)
        stratified = self._classification and target.dim() == 1
        stratify = target.numpy() if stratified else None
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
            _as_rows(X),
            target,
            None if weight is None else torch.from_numpy(weight),
        )

    # ---- fit ----------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        continuing = (incremental or self.warm_start) and hasattr(self, "net_")
        try:
            spec, result = self._train(
                X, y, sample_weight, incremental, classes, continuing
            )
        except BaseException:
            if not continuing:
                # validate_data may already have reset the fitted metadata:
                # never leave it next to an older net_.
                self._clear_fitted()
            raise
        self._apply_result(result)
        if result.stop_reason == "interrupted":
            # The weights reached so far and history_ are kept; the
            # interrupt goes on to the caller (a search or ensemble stops).
            raise KeyboardInterrupt
        if result.stop_reason == "max_epochs" and not incremental:
            _warn_not_converged(spec)
        return self

    def _train(self, X, y, sample_weight, incremental, classes, continuing):
        """Validate the data, build or continue the net and train it (the
        single-fit engine); return the fit specification and result."""
        self._check_hyperparameters()
        X, target, sample_weight = self._validate_training_data(
            X, y, sample_weight, reset=not continuing, classes=classes
        )
        device = _resolve_device(self.device)
        early_stopping = self.early_stopping and not incremental
        config = self._net_config(early_stopping)
        if continuing:
            net = _continue_net(
                self.net_, self._net_spec(device, early_stopping), config
            )
            streams = net.streams_
        else:
            streams = _RandomStreams(_derive_seed(self.random_state), device)
        train, valid = self._split(X, target, sample_weight, streams, early_stopping)
        spec = self._fit_spec(train.X, device, early_stopping)
        if not continuing:
            net = _make_net(spec, streams, config)
        epochs = 1 if incremental else self.max_epochs
        result = _train_net(net, spec, _FitData(train, valid, epochs), continuing)
        return spec, result

    def _check_data_dependent(self, X_train):
        """Checks of hyperparameters against the training inputs."""

    def _multilabel(self):
        """Whether the fitted targets are multilabel indicators."""
        return False

    def _optimizer_name(self):
        if isinstance(self.optimizer, str):
            return repr(self.optimizer)
        return getattr(self.optimizer, "__name__", repr(self.optimizer))

    def _clear_fitted(self):
        for name in list(vars(self)):
            if name.endswith("_") and not name.startswith("__"):
                delattr(self, name)

    def _apply_result(self, result, spec=None):
        """Set the fitted attributes from a training engine's
        :class:`~sklopt.neural._spec._FitResult` (the single-fit engine,
        the stacked engine and unpickling all end here).

        With ``spec`` (the fit's :class:`~sklopt.neural._spec._FitSpec`), the
        fitted metadata is set from it and, when the result carries weights
        instead of a net, the net is built from them.
        """
        if spec is not None:
            for name, value in spec.metadata.items():
                setattr(self, name, value)
        net = result.net
        if net is None:
            net = self._net_from_result(result, spec)
        self.net_ = net
        self.device_ = str(net.device)
        self.history_ = _history_frame(net.history)
        self.n_iter_ = int((~np.isnan(self.history_["train_loss"].to_numpy())).sum())
        stopper = dict(net.callbacks_).get("early_stopping")
        if result.best_epoch is not None:
            self.best_epoch_ = int(result.best_epoch)
        elif stopper is not None and getattr(stopper, "best_epoch_", 0):
            self.best_epoch_ = int(stopper.best_epoch_)
        else:
            self.best_epoch_ = self.n_iter_
        return self

    def _net_from_result(self, result, spec):
        """A skorch net holding a result's weights, optimizer state,
        learning rate, history and random streams."""
        streams = result.streams
        if streams is None:
            streams = _RandomStreams(_derive_seed(self.random_state), spec.device)
        net = _make_net(spec, streams, self._net_config(spec.early_stopping))
        net.module_.load_state_dict(result.state_dict)
        if result.optimizer_state:
            params = dict(net.module_.named_parameters())
            for name, state in result.optimizer_state.items():
                net.optimizer_.state[params[name]] = state
        if result.lr is not None:
            for group in net.optimizer_.param_groups:
                group["lr"] = result.lr
        history = result.history
        if isinstance(history, pd.DataFrame):
            history = history.to_dict("records")
        for record in history or ():
            # the rows skorch's History.new_epoch and record would make
            row = {"batches": []}
            row.update(
                (key, value)
                for key, value in record.items()
                if not (isinstance(value, float) and value != value)  # NaN
            )
            net.history.append(row)
        net.stop_reason_ = result.stop_reason
        return net

    # ---- prediction ---------------------------------------------------------
    def _forward(self, X):
        """Module outputs (logits or values) for validated inputs ``X``
        (float32 array in the module's input shape, or float32 CSR matrix,
        densified chunk by chunk), as a float64 array.

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
        X = _as_rows(X)
        size = _chunk_rows(X, PREDICT_CHUNK)
        with torch.inference_mode():
            for start in range(0, len(X), size):
                chunk = X[start : start + size].to(device)
                if dtype is not None:
                    chunk = chunk.to(dtype)
                out = torch.func.functional_call(module, state, (chunk,))
                outputs.append(out.double().cpu().numpy())
        return np.concatenate(outputs)

    def _predict_output(self, X):
        return self._forward(self._validate_predict_X(X))

    # ---- batched training of many copies (ensembles, bootstrap rounds) ------
    def _batched_unsupported_reason(self):
        """Why copies of this estimator cannot be trained together as one
        batched model, or None when they can (settings only; see
        :func:`sklopt.neural._batched._unsupported_reason`)."""
        return _unsupported_reason(self)

    def _batched_auto_reason(self):
        """Why ``batched='auto'`` trains copies of this estimator one by one
        although they could be batched (speed), or None (see
        :func:`sklopt.neural._batched._auto_reason`)."""
        return _auto_reason(self)

    def _stacking_params(self):
        """The parameters in which the members of one stack may differ.

        Members given to :meth:`_fit_batched` must be copies of this
        estimator that differ at most in these parameters (per-member
        optimizer constants, regularizers, schedule and early-stopping
        settings, ``random_state``); every other parameter is structural
        and must be equal. Searches group their candidates with it.

        Returns
        -------
        names : frozenset of str
        """
        return _stacking_params(self)

    def _fit_batched(
        self, X, y, members, rows, sample_weights=None, *, verbose=0, errors="raise"
    ):
        """Fit ``members`` (unfitted copies of this estimator that differ at
        most in :meth:`_stacking_params`) as one batched model.

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
        errors : {'raise', 'collect'}
            What a member whose training diverges does:
            ``'raise'`` raises its :class:`~sklopt.exceptions.DivergenceError`
            (as its own fit would), ``'collect'`` returns that exception at
            its position while the other members train on.

        Returns
        -------
        members : list of fitted estimators (or exceptions)
            The same objects as ``members``, fitted; with
            ``errors='collect'``, a diverged member's DivergenceError instead.
        """
        return _fit_members_batched(
            self, X, y, members, rows, sample_weights, verbose=verbose, errors=errors
        )

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
