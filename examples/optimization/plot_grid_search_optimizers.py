"""
Tuning optimizers and regularizers with GridSearchCV
====================================================

Every optimizer and regularizer of the neural estimators is a flat
hyperparameter, so scikit-learn's model selection tools search over them
without adapters: here a :class:`~sklearn.model_selection.GridSearchCV`
compares four optimizers, each without regularization, with an L2 penalty
(``weight_decay``) and with ``dropout``, for an MLP at the end of a
:class:`~sklearn.pipeline.Pipeline`.
"""

# %%
# The search
# ----------
# Pipeline parameters are addressed as ``<step>__<parameter>``. A list of
# grids keeps the regularizers apart instead of crossing every value with
# every other one.
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklopt.neural import MLPClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

pipe = Pipeline(
    [
        ("scale", StandardScaler()),
        (
            "mlp",
            MLPClassifier(
                (128,), max_epochs=20, batch_size=64, device="cpu", random_state=0
            ),
        ),
    ]
)
optimizers = ["sgd", "momentum", "adagrad", "adam"]
param_grid = [
    {"mlp__optimizer": optimizers, "mlp__weight_decay": [0.0, 1e-2]},
    {"mlp__optimizer": optimizers, "mlp__dropout": [0.3]},
]
search = GridSearchCV(
    pipe,
    param_grid,
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
    # Each fit takes a fraction of a second: on two cores, starting worker
    # processes (each importing torch) costs more than it saves. Pass n_jobs
    # for longer fits or more cores.
    n_jobs=None,
)
with warnings.catch_warnings():
    # 20 epochs is a short budget on purpose: the networks stop at max_epochs.
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X_train, y_train)

# %%
# Results
# -------
# ``cv_results_`` holds one row per candidate, ready for pandas.
results = pd.DataFrame(search.cv_results_)


def regularizer(params):
    # One label per candidate: the grids set either dropout or weight_decay.
    if params.get("mlp__dropout"):
        return f"dropout {params['mlp__dropout']}"
    if params.get("mlp__weight_decay"):
        return f"weight_decay {params['mlp__weight_decay']}"
    return "none"


results["optimizer"] = [p["mlp__optimizer"] for p in results.params]
results["regularizer"] = [regularizer(p) for p in results.params]
table = results.pivot(
    index="optimizer", columns="regularizer", values="mean_test_score"
).loc[optimizers, ["none", "weight_decay 0.01", "dropout 0.3"]]
print("mean cross-validated accuracy:")
print(table.round(4).to_string())
print(f"\nbest: {search.best_params_}, CV accuracy {search.best_score_:.4f}")
print(
    f"test accuracy of the refitted best pipeline: {search.score(X_test, y_test):.4f}"
)

# %%
# Plot
# ----
fig, ax = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
# A heat map reads faster than the table when the grid grows.
image = ax.imshow(table.to_numpy(), cmap="viridis", aspect="auto")
ax.set_xticks(np.arange(table.shape[1]), table.columns)
ax.set_yticks(np.arange(table.shape[0]), table.index)
for (i, j), value in np.ndenumerate(table.to_numpy()):
    # Dark text on the bright cells, light text on the dark ones.
    color = "black" if value > table.to_numpy().mean() else "white"
    ax.text(j, i, f"{value:.3f}", ha="center", va="center", color=color)
best_i, best_j = np.unravel_index(np.argmax(table.to_numpy()), table.shape)
ax.add_patch(
    plt.Rectangle((best_j - 0.5, best_i - 0.5), 1, 1, fill=False, ec="red", lw=2.5)
)
ax.set_xlabel("regularizer")
ax.set_ylabel("optimizer")
ax.set_title("GridSearchCV: 3-fold accuracy of MLP(128) on digits, 20 epochs")
fig.colorbar(image, ax=ax, label="mean CV accuracy")
plt.show()

# %%
# With a budget of 20 epochs the choice of optimizer matters far more than the
# regularizer: plain SGD with its default learning rate is still far from
# converged, while momentum, Adagrad and Adam are within half a point of each
# other. The regularizers move the score by a few tenths of a point at most
# on this small, clean problem; the search picks the best cell and refits it
# on the whole training set.
