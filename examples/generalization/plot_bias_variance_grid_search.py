"""
Bias and variance as cross-validated scores
===========================================

A scikit-learn scorer looks at one fitted model, but bias and variance are
properties of the *distribution* of models a learning algorithm produces.
:class:`~sklopt.model_selection.BootstrapReplicas` closes the gap: its
``fit`` fits copies of an estimator on bootstrap samples of the training
fold, and the scorers of :func:`~sklopt.model_selection.bias_variance_scorers`
decompose the replicas' error on the test fold. With both, ``GridSearchCV``
reports bias and variance for every candidate and can pick the model with the
lowest expected loss (``refit='neg_loss'``).
"""

# %%
# Regression: tree depth and leaf size on Friedman #1
# ---------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from sklopt.datasets import make_friedman1
from sklopt.model_selection import BootstrapReplicas, bias_variance_scorers

X, y = make_friedman1(n_samples=500, noise=1.0, random_state=0)
# 30 replicas per training fold: enough for a stable variance estimate.
replicas = BootstrapReplicas(
    DecisionTreeRegressor(random_state=0), n_rounds=30, random_state=0
)
param_grid = {
    "estimator__max_depth": [1, 2, 3, 4, 5, 6, 8, 10, None],
    "estimator__min_samples_leaf": [1, 5, 20],
}
search = GridSearchCV(
    replicas,
    param_grid,
    scoring=bias_variance_scorers("squared"),
    # Several scorers: refit names the one that picks the best candidate.
    refit="neg_loss",
    cv=KFold(5, shuffle=True, random_state=0),
    # Thousands of tree fits of a few milliseconds each: one process is
    # fastest at this size; n_jobs pays off for larger data or models.
).fit(X, y)

# The scorers are greater-is-better, so the columns hold minus each term.
results = pd.DataFrame(search.cv_results_)
columns = {
    "param_estimator__max_depth": "max_depth",
    "param_estimator__min_samples_leaf": "min_samples_leaf",
    "mean_test_neg_loss": "loss",
    "mean_test_neg_bias2": "bias2",
    "mean_test_neg_variance": "variance",
}
table = results[list(columns)].rename(columns=columns)
table[["loss", "bias2", "variance"]] *= -1
print(table[table.min_samples_leaf == 1].round(2).to_string(index=False))
print(f"\nbest by expected loss: {search.best_params_}, loss {-search.best_score_:.2f}")

# %%
# Without the noise-free targets, "bias2" here is measured against the
# observed targets and contains the noise (variance 1 on this data). The
# refitted ``search.best_estimator_`` is itself a ``BootstrapReplicas``, whose
# ``predict`` averages its 30 trees, that is a bagging ensemble; to use one
# tree, refit the tree with the selected parameters.
best_tree = DecisionTreeRegressor(random_state=0).set_params(
    **{k.removeprefix("estimator__"): v for k, v in search.best_params_.items()}
)
print(f"one tree with the selected parameters: {best_tree.fit(X, y)}")

# %%
# Classification: Domingos' 0-1 decomposition
# --------------------------------------------
# For 0-1 loss the bias is whether the replicas' majority vote is wrong and
# the variance how often a replica disagrees with that vote.
X_bc, y_bc = load_breast_cancer(return_X_y=True)
search_01 = GridSearchCV(
    BootstrapReplicas(
        DecisionTreeClassifier(random_state=0), n_rounds=30, random_state=0
    ),
    {"estimator__max_depth": [1, 2, 3, 4, 6, 8, None]},
    scoring=bias_variance_scorers("0-1"),
    refit="neg_loss",
    cv=StratifiedKFold(5, shuffle=True, random_state=0),
).fit(X_bc, y_bc)
# The 0-1 scorers report Domingos' bias under the name neg_bias (no square).
results_01 = pd.DataFrame(search_01.cv_results_)
print("\nbreast cancer, 0-1 loss:")
print(
    pd.DataFrame(
        {
            "max_depth": results_01.param_estimator__max_depth,
            "loss": -results_01.mean_test_neg_loss,
            "bias": -results_01.mean_test_neg_bias,
            "variance": -results_01.mean_test_neg_variance,
        }
    )
    .round(4)
    .to_string(index=False)
)
print(f"best by expected 0-1 loss: {search_01.best_params_}")

# %%
# Plot the cross-validated terms with their spread over the folds
# ----------------------------------------------------------------
fig, axes = plt.subplots(1, 3, figsize=(16, 4.3), layout="constrained")
styles = {
    "loss": ("k", "o", "expected loss"),
    "bias2": ("C0", "s", "bias$^2$ (with noise)"),
    "bias": ("C0", "s", "bias"),
    "variance": ("C1", "^", "variance"),
}
depths = param_grid["estimator__max_depth"]


def plot_terms(ax, frame, depth_values, terms):
    # None (unlimited depth) has no position on a numeric axis: label it.
    x = np.arange(len(depth_values))
    for term in terms:
        color, marker, label = styles[term]
        ax.errorbar(
            x,
            -frame[f"mean_test_neg_{term}"],
            yerr=frame[f"std_test_neg_{term}"],
            color=color,
            marker=marker,
            capsize=3,
            label=label,
        )
    ax.set_xticks(x, [str(d) for d in depth_values])
    ax.set_xlabel("max_depth")
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False)


# The first panel follows depth alone, at the default leaf size.
leaf1 = results[results.param_estimator__min_samples_leaf == 1]
plot_terms(axes[0], leaf1, depths, ["loss", "bias2", "variance"])
axes[0].set(ylabel="squared error", title="Friedman #1, min_samples_leaf=1")

# The expected loss of every candidate: larger leaves tame the deep trees.
for leaf, color in zip(param_grid["estimator__min_samples_leaf"], ["k", "C2", "C4"]):
    rows = results[results.param_estimator__min_samples_leaf == leaf]
    axes[1].plot(
        np.arange(len(depths)),
        -rows.mean_test_neg_loss,
        marker="o",
        color=color,
        label=f"min_samples_leaf={leaf}",
    )
best = search.best_params_
axes[1].plot(
    depths.index(best["estimator__max_depth"]),
    -search.best_score_,
    "o",
    ms=13,
    mfc="none",
    mec="red",
    mew=2,
    label="selected (refit='neg_loss')",
)
axes[1].set_xticks(np.arange(len(depths)), [str(d) for d in depths])
axes[1].set(
    xlabel="max_depth",
    ylabel="expected squared loss",
    title="Friedman #1: every candidate of the grid",
)
axes[1].grid(True, alpha=0.3)
axes[1].legend(frameon=False)

plot_terms(axes[2], results_01, [1, 2, 3, 4, 6, 8, None], ["loss", "bias", "variance"])
axes[2].set(ylabel="0-1 loss", title="Breast cancer, Domingos' decomposition")
fig.suptitle("Bias and variance of 30 bootstrap replicas, mean and std over 5 CV folds")
plt.show()

# %%
# On both problems the cross-validated bias falls and the variance rises with
# depth, and the search picks the candidate where the expected loss bottoms
# out. Bigger leaves (``min_samples_leaf``) cut the variance of deep trees,
# which is why the best regression tree combines depth with a minimum leaf
# size. For 0-1 loss the expected loss is the bias plus Domingos' *net*
# variance (variance on unbiased points minus variance on biased ones), so it
# is below the sum of the two plotted terms.
