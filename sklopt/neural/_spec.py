"""The contract between a neural estimator and its two training engines: a
frozen fit specification in, a fit result out."""

import dataclasses

import numpy as np
import pandas as pd

#: Columns of ``history_``.
HISTORY_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_score", "lr", "dur")

#: Fitted attributes that validation sets from the data (those present).
METADATA = (
    "n_features_in_",
    "feature_names_in_",
    "classes_",
    "n_outputs_",
    "_y_ndim",
    "image_shape_",
)


@dataclasses.dataclass(frozen=True)
class _FitSpec:
    """Everything a training engine needs from the estimator for one fit.

    Built by ``estimator._fit_spec(X_train, device, early_stopping)`` from
    the hyperparameters and the validated data; the engines read nothing
    else of the estimator.

    Attributes
    ----------
    name : str
        The estimator's class name (messages).
    classification : bool
    module_class : type
        The torch module; ``module_class(**module_kwargs)`` builds it.
    module_kwargs : dict
    optimizer : str or type
        Optimizer name of :data:`~sklopt.neural.OPTIMIZERS` or torch class.
    optimizer_name : str
        How messages name it.
    optimizer_constants : dict
        lr, momentum, betas, rho, eps, weight_decay as given.
    lr : float or None
        The learning rate in effect (the optimizer's default for None).
    recipe : _TrainingRecipe or None
        The per-batch training recipe (None: only to build a net).
    max_epochs, patience : int
    tol : float
    early_stopping : bool
        Whether data is held out for early stopping in this fit.
    lr_schedule : str or None
    dropout : float
    device : str
    verbose : int
        A progress bar over the epochs when > 0.
    metadata : dict
        The fitted attributes of :data:`METADATA` set from the data.
    """

    name: str
    classification: bool
    module_class: type
    module_kwargs: dict
    optimizer: object
    optimizer_name: str
    optimizer_constants: dict
    lr: float | None
    recipe: object
    max_epochs: int
    patience: int
    tol: float
    early_stopping: bool
    lr_schedule: str | None
    dropout: float
    device: str
    verbose: int
    metadata: dict

    def make_module(self):
        return self.module_class(**self.module_kwargs)


@dataclasses.dataclass
class _FitResult:
    """What a training engine returns for one fit.

    The single-fit engine returns its trained skorch ``net`` (which holds
    the rest); the stacked engine returns the member's weights and records,
    from which the estimator builds the net.

    Attributes
    ----------
    net : _SkloptNet or None
    state_dict : dict or None
        Module weights and buffers.
    history : list of dict or DataFrame
        Per-epoch records with keys among :data:`HISTORY_COLUMNS`.
    streams : _RandomStreams or None
        The random streams, where training left them.
    stop_reason : str or None
        ``'max_epochs'``, ``'early_stopping'``, ``'plateau'``,
        ``'diverged'`` (best weights restored) or ``'interrupted'``.
    best_epoch : int or None
        Epoch of the kept weights (None: the last epoch).
    optimizer_state : dict or None
        Per-parameter optimizer state, ``{parameter name: {key: tensor}}``.
    lr : float or None
        The learning rate reached (after a schedule).
    """

    net: object = None
    state_dict: dict | None = None
    history: object = None
    streams: object = None
    stop_reason: str | None = None
    best_epoch: int | None = None
    optimizer_state: dict | None = None
    lr: float | None = None


def _history_frame(history):
    """Per-epoch records as a DataFrame with :data:`HISTORY_COLUMNS`
    (``epoch`` as integers, the others as floats, NaN where absent)."""
    history = list(history)
    columns = {"epoch": np.array([row["epoch"] for row in history], dtype=np.int64)}
    for key in HISTORY_COLUMNS[1:]:
        values = [row.get(key, np.nan) for row in history]
        columns[key] = np.array(values, dtype=np.float64)
    return pd.DataFrame(columns, copy=False)
