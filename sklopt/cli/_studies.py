"""The studies behind the ``sklopt`` subcommands; each returns tables and curves.

They only compose the public API (neural estimators, ensembles, model
selection, metrics); the command line adds data loading, figures and the
report. Every study takes ``random_state``, ``n_jobs`` and ``progress``.
"""

import re
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.parallel import Parallel, delayed
from tqdm.auto import tqdm

from sklopt.cli._data import is_classification
from sklopt.cli._stacked import fit_models, fold_data


def _neural_pipeline(classification, params, impute=False):
    """StandardScaler and an MLP (after a median imputer when ``impute``);
    for regression the target is standardized too (a
    TransformedTargetRegressor), so that the default learning rates apply to
    targets of any scale."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.impute import SimpleImputer

    from sklopt.neural import MLPClassifier, MLPRegressor

    net = MLPClassifier() if classification else MLPRegressor()
    steps = [SimpleImputer(strategy="median")] if impute else []
    pipe = make_pipeline(*steps, StandardScaler(), net.set_params(**params))
    if classification:
        return pipe
    return TransformedTargetRegressor(regressor=pipe, transformer=StandardScaler())


def _final_net(model):
    """The MLP inside a fitted model of :func:`_neural_pipeline`."""
    pipe = model.regressor_ if hasattr(model, "regressor_") else model
    return pipe.steps[-1][1]


def _cv(classification, n_splits, random_state):
    splitter = StratifiedKFold if classification else KFold
    return splitter(n_splits=n_splits, shuffle=True, random_state=random_state)


#: Decoupled weight decay of 'adamw' in the optimizer study (torch's default;
#: with weight_decay=0 AdamW is Adam).
ADAMW_WEIGHT_DECAY = 0.01


def _optimizer_params(name, params):
    """The MLP parameters of one optimizer's run: 'adamw' gets torch's
    default decoupled decay unless the user set weight_decay."""
    params = {**params, "optimizer": name}
    if name == "adamw" and "weight_decay" not in params:
        params["weight_decay"] = ADAMW_WEIGHT_DECAY
    return params


def _cross_validate_optimizer(model, X, y, cv):
    """``(result, None)`` of one optimizer's model over the folds of ``cv``,
    or ``(None, message)`` when the training diverged in a fold.

    The folds' networks train as one stacked model
    (:func:`sklopt.cli._stacked.fit_models`); ``result`` holds, like
    :func:`~sklearn.model_selection.cross_validate` with
    ``return_train_score=True`` and ``return_estimator=True``, the fitted
    ``estimator`` of each fold, its ``test_score`` and ``train_score``
    (``model.score``) and its ``fit_time``.
    """
    from sklearn.base import clone
    from sklearn.utils import _safe_indexing

    from sklopt.exceptions import DivergenceError

    splits = list(cv.split(X, y))
    models = [clone(model) for _ in splits]
    try:
        with warnings.catch_warnings():
            # The table's 'converged' column says which folds hit max_epochs.
            warnings.simplefilter("ignore", ConvergenceWarning)
            models, fit_times = fit_models(models, fold_data(X, y, splits))
    except DivergenceError as exc:
        return None, str(exc)
    result = {"estimator": models, "fit_time": fit_times}
    for key, part in (("test_score", 1), ("train_score", 0)):
        result[key] = np.array(
            [
                fitted.score(
                    _safe_indexing(X, rows[part]), _safe_indexing(y, rows[part])
                )
                for fitted, rows in zip(models, splits)
            ]
        )
    return result, None


def _lr_in(message):
    """The learning rate quoted in a DivergenceError message (NaN if none)."""
    match = re.search(r"\blr=([0-9.eE+-]+)", message)
    return float(match.group(1)) if match else np.nan


def compare_optimizers(
    X,
    y,
    *,
    optimizers,
    params=None,
    n_splits=5,
    n_jobs=None,
    random_state=0,
    progress=True,
    classification=None,
):
    """Cross-validate one MLP per optimizer; return ``(table, histories)``.

    Regression targets are standardized for training
    (``TransformedTargetRegressor`` with a ``StandardScaler``; scores are on
    the original scale); missing feature values are imputed with the
    training folds' medians. 'adamw' gets its usual decoupled weight decay
    (:data:`ADAMW_WEIGHT_DECAY`) unless ``params`` sets ``weight_decay``.

    ``table`` has one row per optimizer: ``optimizer``, ``lr``,
    ``weight_decay``, mean and ``std`` of the test score over the folds, the
    mean train score, mean ``epochs``, ``converged`` (folds whose training
    stopped by its stopping rule before ``max_epochs``, as "k/n"), mean fit
    time and ``status`` ('ok', or 'diverged' when the training loss became
    infinite in a fold; that row's scores are NaN). Rows are sorted by test
    score. ``histories`` maps each optimizer that did not diverge to the
    ``history_`` DataFrame of its first-fold fit, for the training curves.

    The folds of one optimizer train as one stacked model (the optimizer
    is structural, its folds differ only in their rows), each network as
    its own fit would train it; the optimizers' stacks go to ``n_jobs``
    joblib workers.
    """
    if classification is None:
        classification = is_classification(y)
    base_params = {"random_state": random_state, **(params or {})}
    impute = bool(pd.isna(np.asarray(X, dtype=np.float64)).any())
    cv = _cv(classification, n_splits, random_state)
    metric = "accuracy" if classification else "R^2"
    rows, histories = [], {}
    runs = [_optimizer_params(name, base_params) for name in optimizers]
    jobs = (
        delayed(_cross_validate_optimizer)(
            _neural_pipeline(classification, run_params, impute=impute), X, y, cv
        )
        for run_params in runs
    )
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    progress_bar = tqdm(
        results,
        total=len(runs),
        desc="optimizers",
        disable=not progress,
        unit="opt",
    )
    for name, run_params, (result, failure) in zip(optimizers, runs, progress_bar):
        row = {
            "optimizer": name,
            "lr": np.nan,
            "weight_decay": float(run_params.get("weight_decay", 0.0)),
        }
        if result is None:
            row.update(
                {
                    "lr": _lr_in(failure),
                    f"test {metric}": np.nan,
                    "std": np.nan,
                    f"train {metric}": np.nan,
                    "epochs": np.nan,
                    "converged": "",
                    "fit time (s)": np.nan,
                    "status": "diverged",
                }
            )
            rows.append(row)
            continue
        nets = [_final_net(fitted) for fitted in result["estimator"]]
        histories[name] = nets[0].history_
        stopped_early = sum(net.n_iter_ < net.max_epochs for net in nets)
        row.update(
            {
                "lr": nets[0].net_.optimizer_.param_groups[0]["lr"],
                f"test {metric}": np.mean(result["test_score"]),
                "std": np.std(result["test_score"]),
                f"train {metric}": np.mean(result["train_score"]),
                "epochs": np.mean([net.n_iter_ for net in nets]),
                "converged": f"{stopped_early}/{len(nets)}",
                "fit time (s)": np.mean(result["fit_time"]),
                "status": "ok",
            }
        )
        rows.append(row)
    table = pd.DataFrame(rows).sort_values(
        f"test {metric}", ascending=False, na_position="last"
    )
    return table.reset_index(drop=True), histories


#: Regularizer name -> (estimator kind, parameters switched on).
REGULARIZERS = {
    "none (MLP)": ("mlp", {}),
    "early stopping": ("mlp", {"early_stopping": True}),
    "L2 weight decay": ("mlp", {"weight_decay": 1e-3}),
    "L1 penalty": ("mlp", {"l1": 1e-4}),
    "dropout": ("mlp", {"dropout": 0.3}),
    "input noise": ("mlp", {"input_noise": 0.1}),
    "weight noise": ("mlp", {"weight_noise": 0.01}),
    "augmentation (noise)": ("mlp", {"augmentation": "noise"}),
    "label smoothing": ("mlp", {"label_smoothing": 0.1}),
    "mixup": ("mlp", {"mixup_alpha": 1.0}),
    "batch norm": ("mlp", {"normalization": "batch"}),
    "layer norm": ("mlp", {"normalization": "layer"}),
    "none (CNN)": ("cnn", {}),
    "CutMix (CNN)": ("cnn", {"cutmix_alpha": 1.0}),
    "group norm (CNN)": ("cnn", {"normalization": "group"}),
    "instance norm (CNN)": ("cnn", {"normalization": "instance"}),
}


def _fit_regularizer(kind, params, X_train, y_train, X_test, base):
    """Fit one ablation model; return ``(classes, test probabilities)``."""
    from sklopt.neural import CNNClassifier, MLPClassifier

    # Min-max scaling to [0, 1] keeps the image layout the CNN reads.
    net = (MLPClassifier if kind == "mlp" else CNNClassifier)(**base[kind], **params)
    model = make_pipeline(MinMaxScaler(), net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    return model.classes_, model.predict_proba(X_test)


def regularizer_ablation(
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    noise_rate=0.2,
    regularizers=None,
    max_epochs=40,
    n_jobs=None,
    random_state=0,
    progress=True,
):
    """Each regularizer on its own, on clean and on noisy training labels.

    Every network trains for ``max_epochs`` epochs (the plateau rule is off,
    so that each has the same budget and the plain networks memorise noisy
    labels). Trained on clean labels, test accuracy and expected calibration
    error (ECE) are measured on the clean test labels. Trained with
    ``noise_rate`` of the training labels corrupted
    (:func:`sklopt.datasets.make_noisy_labels`), accuracy is measured on the
    clean test labels and the ECE against test labels corrupted by the same
    process: a network that learned the noisy label distribution is right on
    such data about as often as it claims.
    """
    from sklopt.datasets import make_noisy_labels
    from sklopt.metrics import expected_calibration_error

    regularizers = REGULARIZERS if regularizers is None else regularizers
    y_noisy = make_noisy_labels(
        y_train, noise_rate=noise_rate, random_state=random_state
    )
    y_test_noisy = make_noisy_labels(
        y_test, noise_rate=noise_rate, random_state=random_state + 1
    )
    common = {
        "batch_size": 32,
        "max_epochs": max_epochs,
        "patience": max_epochs,
        "random_state": random_state,
    }
    base = {
        "mlp": {"hidden_layer_sizes": (256, 256), "lr": 3e-3, **common},
        "cnn": {"channels": (16, 32), "lr": 5e-3, **common},
    }
    # Each network trains on its own: stacked (the per-member regularizers
    # on either labels as one model) the 40-epoch fits on noisy labels came
    # out different enough to change the table's conclusion.
    tasks = [(name, labels) for name in regularizers for labels in ("clean", "noisy")]
    jobs = (
        delayed(_fit_regularizer)(
            *regularizers[name],
            X_train,
            y_train if labels == "clean" else y_noisy,
            X_test,
            base,
        )
        for name, labels in tasks
    )
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    fitted = dict(
        zip(
            tasks,
            tqdm(
                results,
                total=len(tasks),
                desc="regularizers",
                disable=not progress,
                unit="fit",
            ),
        )
    )

    def scores(name, labels, y_ece):
        classes, proba = fitted[name, labels]
        accuracy = float(np.mean(classes[proba.argmax(axis=1)] == y_test))
        return accuracy, expected_calibration_error(y_ece, proba, labels=classes)

    pct = round(100 * noise_rate)
    rows = []
    for name in regularizers:
        clean_acc, clean_ece = scores(name, "clean", y_test)
        noisy_acc, noisy_ece = scores(name, "noisy", y_test_noisy)
        rows.append(
            {
                "regularizer": name,
                "accuracy": clean_acc,
                "ECE": clean_ece,
                f"accuracy ({pct}% noise)": noisy_acc,
                f"ECE ({pct}% noise)": noisy_ece,
            }
        )
    return pd.DataFrame(rows)


def _train_to_loss(net, X, y, target_loss, epochs_per_call, max_epochs):
    """Warm-started fits of ``epochs_per_call`` epochs until the training loss
    reaches ``target_loss`` (or ``max_epochs`` epochs have run)."""
    with warnings.catch_warnings():
        # Each call stops at its max_epochs on purpose.
        warnings.simplefilter("ignore", ConvergenceWarning)
        net.set_params(
            max_epochs=epochs_per_call, warm_start=True, tol=0.0, patience=10**6
        )
        net.fit(X, y)
        while (
            net.history_["train_loss"].iloc[-1] > target_loss
            and net.n_iter_ < max_epochs
        ):
            net.fit(X, y)
    return net


def batch_size_study(
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    batch_sizes=(16, "full"),
    hidden_layer_sizes=(256, 256),
    epsilons=(5e-4, 1e-3),
    target_loss=2e-3,
    n_starts=3,
    random_state=0,
    progress=True,
):
    """Small versus large batches (Keskar et al., 2017): accuracy and sharpness.

    The same MLP (same initial weights) is trained with Adam with each batch
    size until its training loss reaches ``target_loss``, so that the minima
    are compared at equal training loss (sharpness shrinks as the loss goes to
    zero). The table reports epochs, training loss, test accuracy and the
    sharpness of the minimizer for each ``epsilon``: the largest value of
    ``n_starts`` converged searches from random starting points, and the
    smallest (the spread of the local maxima). Returns
    ``(table, histories)``.
    """
    from sklopt.metrics import sharpness
    from sklopt.neural import MLPClassifier

    scaler = MinMaxScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    rows, histories = [], {}
    for batch_size in tqdm(batch_sizes, desc="batch sizes", disable=not progress):
        net = MLPClassifier(
            hidden_layer_sizes,
            batch_size=batch_size,
            lr=1e-3,
            random_state=random_state,
        )
        # Full batch takes one step per epoch: more epochs per call and in all.
        full = batch_size == "full"
        _train_to_loss(
            net,
            X_train,
            y_train,
            target_loss,
            epochs_per_call=10 if full else 1,
            max_epochs=3000 if full else 300,
        )
        histories[f"batch {batch_size}"] = net.history_
        row = {
            "batch size": str(batch_size),
            "epochs": net.n_iter_,
            "train loss": float(net.history_["train_loss"].iloc[-1]),
            "train accuracy": net.score(X_train, y_train),
            "test accuracy": net.score(X_test, y_test),
        }
        for eps in epsilons:
            # The search is local: the spread of the starts shows how much
            # the local maxima differ.
            value, starts = sharpness(
                net,
                X_train,
                y_train,
                epsilon=eps,
                n_starts=n_starts,
                random_state=random_state,
                return_starts=True,
            )
            row[f"sharpness (eps={eps:g})"] = value
            row[f"sharpness min (eps={eps:g})"] = float(starts.min())
        rows.append(row)
    return pd.DataFrame(rows), histories


def complexity_models(classification, random_state=0):
    """The three model families of the bias-variance study, each with the
    parameter that sets its complexity: ``{name: (estimator, param, values)}``."""
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    from sklopt.ensemble import (
        AdaBoostClassifier,
        BaggingClassifier,
        BaggingRegressor,
        GradientBoostingRegressor,
    )

    depths = [1, 2, 3, 4, 6, 8, 12, None]
    rounds = [1, 3, 10, 30, 100, 300]
    if classification:
        tree = DecisionTreeClassifier(random_state=random_state)
        bagging = BaggingClassifier(tree, n_estimators=10, random_state=random_state)
        boosting = AdaBoostClassifier(
            DecisionTreeClassifier(max_depth=1), random_state=random_state
        )
    else:
        tree = DecisionTreeRegressor(random_state=random_state)
        bagging = BaggingRegressor(tree, n_estimators=10, random_state=random_state)
        boosting = GradientBoostingRegressor(
            DecisionTreeRegressor(max_depth=1), random_state=random_state
        )
    return {
        "decision tree": (tree, "max_depth", depths),
        "bagging (10 trees)": (bagging, "estimator__max_depth", depths),
        "boosting (stumps)": (boosting, "n_estimators", rounds),
    }


#: Model families of the bias-variance study, by their command-line names.
FAMILIES = ("tree", "bagging", "boosting", "neural")

#: Hidden-layer widths of the neural family, from 1 unit to 256.
WIDTHS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def neural_width_model(classification, *, max_epochs=100, random_state=0):
    """The neural family: a one-hidden-layer MLP trained with Adam (lr 0.01,
    batch 32) for a fixed number of epochs, its width the complexity."""
    from sklopt.neural import MLPClassifier, MLPRegressor

    net = MLPClassifier if classification else MLPRegressor
    return net(
        lr=1e-2,
        batch_size=32,
        max_epochs=max_epochs,
        # A fixed budget: no plateau rule, so every width trains as long.
        tol=0.0,
        patience=10**6,
        random_state=random_state,
    )


def _neural_curve(X, y, y_true, *, widths, loss, max_epochs, **curve_params):
    """The width curve of the neural family on standardized data.

    Inputs are standardized; a regression target too (networks train badly on
    raw targets), and the squared-loss terms are scaled back by the target's
    variance (squared loss is scale-equivariant), so they are in the units of
    the other families.
    """
    from sklopt.model_selection import bias_variance_curve

    classification = loss != "squared"
    X = StandardScaler().fit_transform(X)
    scale = 1.0
    if not classification:
        center, scale = float(np.mean(y)), float(np.std(y)) or 1.0
        y = (np.asarray(y, dtype=float) - center) / scale
        if y_true is not None:
            y_true = (np.asarray(y_true, dtype=float) - center) / scale
    with warnings.catch_warnings():
        # A fixed epoch budget on purpose.
        warnings.simplefilter("ignore", ConvergenceWarning)
        curve = bias_variance_curve(
            neural_width_model(
                classification,
                max_epochs=max_epochs,
                random_state=curve_params["random_state"],
            ),
            X,
            y,
            param_name="hidden_layer_sizes",
            param_range=[(w,) for w in widths],
            loss=loss,
            y_true=y_true,
            **curve_params,
        )
    for key in ("loss", "bias2", "variance", "noise"):
        if curve.get(key) is not None and not classification:
            curve[key] = curve[key] * scale**2
    curve["param_name"] = "width"
    curve["param_range"] = np.asarray(widths)
    return curve


def bias_variance_study(
    X,
    y,
    *,
    y_true=None,
    n_rounds=50,
    families=("tree", "bagging", "boosting"),
    widths=WIDTHS,
    max_epochs=100,
    n_jobs=None,
    random_state=0,
    progress=True,
):
    """Bias, variance and total error against complexity for a tree, bagging,
    boosting and a one-hidden-layer network (``families``); returns
    ``(table, curves)``. The network's rounds train as one stacked model."""
    from sklopt.model_selection import bias_variance_curve

    classification = is_classification(y)
    loss = "0-1" if classification else "squared"
    bias_key = "bias" if classification else "bias2"
    curves, rows = {}, []
    models = {
        name: spec
        for (name, spec), family in zip(
            complexity_models(classification, random_state).items(), FAMILIES
        )
        if family in families
    }
    if "neural" in families:
        models[f"MLP (1 hidden layer, {max_epochs} epochs)"] = None
    common = dict(n_rounds=n_rounds, random_state=random_state, n_jobs=n_jobs)
    for name, spec in tqdm(
        models.items(), desc="bias-variance", disable=not progress, unit="model"
    ):
        if spec is None:
            curve = _neural_curve(
                X, y, y_true, widths=widths, loss=loss, max_epochs=max_epochs, **common
            )
        else:
            estimator, param, values = spec
            curve = bias_variance_curve(
                estimator,
                X,
                y,
                param_name=param,
                param_range=values,
                loss=loss,
                y_true=y_true,
                **common,
            )
        curves[name] = curve
        for i, value in enumerate(curve["param_range"]):
            row = {
                "model": name,
                "parameter": curve["param_name"],
                "value": str(value),
                "loss": curve.loss[i],
                bias_key: curve[bias_key][i],
                "variance": curve.variance[i],
            }
            if curve.noise is not None:  # known only with noise-free targets
                row["noise"] = curve.noise[i]
            rows.append(row)
    return pd.DataFrame(rows), curves
