"""The studies behind the ``sklopt`` subcommands; each returns tables and curves.

They only compose the public API (neural estimators, ensembles, model
selection, metrics); the command line adds data loading, figures and the
report. Every study takes ``random_state``, ``n_jobs`` and ``progress``.
"""

import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.parallel import Parallel, delayed
from tqdm.auto import tqdm

from sklopt.cli._data import is_classification


def _neural_pipeline(classification, params):
    from sklopt.neural import MLPClassifier, MLPRegressor

    net = MLPClassifier() if classification else MLPRegressor()
    return make_pipeline(StandardScaler(), net.set_params(**params))


def _cv(classification, n_splits, random_state):
    splitter = StratifiedKFold if classification else KFold
    return splitter(n_splits=n_splits, shuffle=True, random_state=random_state)


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
):
    """Cross-validate one MLP per optimizer; return ``(table, histories)``.

    ``table`` has one row per optimizer (mean/std test score, train score,
    epochs, fit time); ``histories`` maps each optimizer to the ``history_``
    DataFrame of its first-fold fit, for the training curves.
    """
    classification = is_classification(y)
    base = _neural_pipeline(
        classification, {"random_state": random_state, **(params or {})}
    )
    cv = _cv(classification, n_splits, random_state)
    metric = "accuracy" if classification else "R^2"
    rows, histories = [], {}
    for name in tqdm(optimizers, desc="optimizers", disable=not progress, unit="opt"):
        pipe = clone(base).set_params(**{f"{base.steps[-1][0]}__optimizer": name})
        with warnings.catch_warnings():
            # Plain SGD often uses every epoch; the table shows it ('epochs').
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = cross_validate(
                pipe,
                X,
                y,
                cv=cv,
                n_jobs=n_jobs,
                return_train_score=True,
                return_estimator=True,
            )
        nets = [fitted.steps[-1][1] for fitted in result["estimator"]]
        histories[name] = nets[0].history_
        rows.append(
            {
                "optimizer": name,
                "lr": nets[0].net_.optimizer_.param_groups[0]["lr"],
                f"test {metric}": np.mean(result["test_score"]),
                "std": np.std(result["test_score"]),
                f"train {metric}": np.mean(result["train_score"]),
                "epochs": np.mean([net.n_iter_ for net in nets]),
                "fit time (s)": np.mean(result["fit_time"]),
            }
        )
    table = pd.DataFrame(rows).sort_values(f"test {metric}", ascending=False)
    return table.reset_index(drop=True), histories


#: Regularizer name -> (estimator kind, parameters switched on).
REGULARIZERS = {
    "none (MLP)": ("mlp", {}),
    "early stopping": ("mlp", {"early_stopping": True}),
    "L2 weight decay": ("mlp", {"weight_decay": 1e-3}),
    "L1 penalty": ("mlp", {"l1": 1e-4}),
    "dropout": ("mlp", {"dropout": 0.3}),
    "input noise": ("mlp", {"input_noise": 0.3}),
    "weight noise": ("mlp", {"weight_noise": 0.01}),
    "augmentation (noise)": ("mlp", {"augmentation": "noise"}),
    "label smoothing": ("mlp", {"label_smoothing": 0.1}),
    "mixup": ("mlp", {"mixup_alpha": 0.2}),
    "batch norm": ("mlp", {"normalization": "batch"}),
    "layer norm": ("mlp", {"normalization": "layer"}),
    "none (CNN)": ("cnn", {}),
    "CutMix (CNN)": ("cnn", {"cutmix_alpha": 1.0}),
    "group norm (CNN)": ("cnn", {"normalization": "group"}),
    "instance norm (CNN)": ("cnn", {"normalization": "instance"}),
}


def _fit_score_regularizer(kind, params, X_train, y_train, X_test, y_test, base):
    from sklopt.metrics import expected_calibration_error
    from sklopt.neural import CNNClassifier, MLPClassifier

    # Per-pixel standardization keeps the image layout the CNN reads.
    net = (MLPClassifier if kind == "mlp" else CNNClassifier)(**base[kind], **params)
    model = make_pipeline(StandardScaler(), net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    proba = model.predict_proba(X_test)
    accuracy = float(np.mean(model.classes_[proba.argmax(axis=1)] == y_test))
    ece = expected_calibration_error(y_test, proba, labels=model.classes_)
    return accuracy, ece


def regularizer_ablation(
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    noise_rate=0.2,
    regularizers=None,
    max_epochs=60,
    n_jobs=None,
    random_state=0,
    progress=True,
):
    """Each regularizer on its own, on clean and on noisy training labels.

    Returns a table with test accuracy and expected calibration error (ECE,
    on the clean test labels) for every regularizer, trained once on the
    clean labels and once with ``noise_rate`` of the training labels
    corrupted (:func:`sklopt.datasets.make_noisy_labels`).
    """
    from sklopt.datasets import make_noisy_labels

    regularizers = REGULARIZERS if regularizers is None else regularizers
    y_noisy = make_noisy_labels(
        y_train, noise_rate=noise_rate, random_state=random_state
    )
    base = {
        "mlp": {
            "hidden_layer_sizes": (128,),
            "max_epochs": max_epochs,
            "random_state": random_state,
        },
        "cnn": {
            "channels": (16, 32),
            "max_epochs": max_epochs // 2,
            "random_state": random_state,
        },
    }
    tasks = [(name, labels) for name in regularizers for labels in ("clean", "noisy")]
    jobs = (
        delayed(_fit_score_regularizer)(
            *regularizers[name],
            X_train,
            y_train if labels == "clean" else y_noisy,
            X_test,
            y_test,
            base,
        )
        for name, labels in tasks
    )
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    scores = dict(
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
    pct = round(100 * noise_rate)
    rows = [
        {
            "regularizer": name,
            "accuracy": scores[name, "clean"][0],
            "ECE": scores[name, "clean"][1],
            f"accuracy ({pct}% noise)": scores[name, "noisy"][0],
            f"ECE ({pct}% noise)": scores[name, "noisy"][1],
        }
        for name in regularizers
    ]
    return pd.DataFrame(rows)


def batch_size_study(
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    batch_sizes=(16, "full"),
    hidden_layer_sizes=(256, 256),
    epsilons=(1e-3, 5e-4),
    max_epochs=None,
    random_state=0,
    progress=True,
):
    """Small versus large batches (Keskar et al., 2017): accuracy and sharpness.

    Each batch size trains the same MLP until the training loss plateaus;
    the table reports training loss, train/test accuracy and the sharpness of
    the minimizer found, for each ``epsilon``. Returns ``(table, histories)``.
    """
    from sklopt.metrics import sharpness
    from sklopt.neural import MLPClassifier

    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    rows, histories = [], {}
    for batch_size in tqdm(batch_sizes, desc="batch sizes", disable=not progress):
        # Full batch takes one step per epoch, so it gets more epochs.
        epochs = max_epochs or (2000 if batch_size == "full" else 150)
        net = MLPClassifier(
            hidden_layer_sizes,
            batch_size=batch_size,
            max_epochs=epochs,
            tol=1e-6,
            patience=20,
            random_state=random_state,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            net.fit(X_train, y_train)
        label = f"batch {batch_size}"
        histories[label] = net.history_
        row = {
            "batch size": str(batch_size),
            "epochs": net.n_iter_,
            "train loss": float(net.history_["train_loss"].iloc[-1]),
            "train accuracy": net.score(X_train, y_train),
            "test accuracy": net.score(X_test, y_test),
        }
        for eps in epsilons:
            row[f"sharpness (eps={eps:g})"] = sharpness(
                net, X_train, y_train, epsilon=eps, random_state=random_state
            )
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


def bias_variance_study(
    X, y, *, y_true=None, n_rounds=50, n_jobs=None, random_state=0, progress=True
):
    """Bias, variance and total error against complexity for a tree, bagging
    and boosting; returns ``(table, curves)``."""
    from sklopt.model_selection import bias_variance_curve

    classification = is_classification(y)
    loss = "0-1" if classification else "squared"
    bias_key = "bias" if classification else "bias2"
    curves, rows = {}, []
    models = complexity_models(classification, random_state)
    for name, (estimator, param, values) in tqdm(
        models.items(), desc="bias-variance", disable=not progress, unit="model"
    ):
        curve = bias_variance_curve(
            estimator,
            X,
            y,
            param_name=param,
            param_range=values,
            loss=loss,
            n_rounds=n_rounds,
            y_true=y_true,
            random_state=random_state,
            n_jobs=n_jobs,
        )
        curves[name] = curve
        for i, value in enumerate(values):
            rows.append(
                {
                    "model": name,
                    "parameter": param,
                    "value": str(value),
                    "loss": curve.loss[i],
                    bias_key: curve[bias_key][i],
                    "variance": curve.variance[i],
                    "noise": np.nan if curve.noise is None else curve.noise[i],
                }
            )
    return pd.DataFrame(rows), curves
