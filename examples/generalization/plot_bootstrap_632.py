"""
Bootstrap estimates of accuracy: out-of-bag, .632 and .632+
===========================================================

With little data, every sample spent on a test set is missed in training.
The bootstrap estimates the accuracy of a model from the training data alone:
fit it on samples drawn with replacement and score it on the rows each
sample left out (out-of-bag, about 36.8% of them).

* The **out-of-bag** (OOB) estimate is pessimistic: each model sees only
  about 63.2% of the distinct rows.
* The **resubstitution** accuracy on the training data is optimistic.
* Efron's **.632** estimate mixes them, ``0.368 * train + 0.632 * oob``; it
  is still optimistic for models that memorise their training data.
* The **.632+** estimate (Efron and Tibshirani, 1997) shifts the weight
  towards the OOB estimate as the model over-fits more.

We draw small training sets of 80 rows from the breast cancer data, compute
each estimate with :func:`~sklopt.model_selection.bootstrap_632_score`, and
compare with the accuracy on the remaining 489 rows, which stands in for the
true accuracy.
"""

# %%
# Estimates against the truth, over 10 training sets
# --------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from sklopt.model_selection import (
    BootstrapSplit,
    bootstrap_632_score,
    score_confidence_interval,
)

X, y = load_breast_cancer(return_X_y=True)
models = {
    "logistic regression": make_pipeline(StandardScaler(), LogisticRegression()),
    "deep tree": DecisionTreeClassifier(random_state=0),
    "1-nearest neighbour": make_pipeline(
        StandardScaler(), KNeighborsClassifier(n_neighbors=1)
    ),
}
methods = ["train", "oob", ".632", ".632+", "10-fold CV"]
errors = {name: {m: [] for m in methods} for name in models}
truth = {name: [] for name in models}
for rep in range(10):
    # A new small training set per repetition; the rest measures the truth.
    X_train, X_rest, y_train, y_rest = train_test_split(
        X, y, train_size=80, stratify=y, random_state=rep
    )
    for name, model in models.items():
        # One call gives all parts: the resubstitution and out-of-bag scores
        # that .632 mixes, and the .632+ estimate.
        details = bootstrap_632_score(
            model,
            X_train,
            y_train,
            n_splits=100,
            random_state=rep,
            return_details=True,
        )
        true_accuracy = model.fit(X_train, y_train).score(X_rest, y_rest)
        estimates = {
            "train": details.train_score,
            "oob": details.oob_score,
            ".632": 0.368 * details.train_score + 0.632 * details.oob_score,
            ".632+": details.score,
            # The usual alternative, for comparison.
            "10-fold CV": cross_val_score(model, X_train, y_train, cv=10).mean(),
        }
        truth[name].append(true_accuracy)
        for method, value in estimates.items():
            errors[name][method].append(value - true_accuracy)

print("estimate minus true accuracy, mean (std) over 10 training sets of 80 rows")
print(f"{'':>20} {'true acc.':>9} " + " ".join(f"{m:>14}" for m in methods))
for name in models:
    cells = [
        f"{np.mean(errors[name][m]):>+7.3f} ({np.std(errors[name][m]):.3f})"
        for m in methods
    ]
    print(f"{name:>20} {np.mean(truth[name]):>9.3f} " + " ".join(cells))

# %%
# The bootstrap splitter in cross_val_score
# -----------------------------------------
# :class:`~sklopt.model_selection.BootstrapSplit` is an ordinary CV splitter:
# its test folds are the out-of-bag rows, so ``cross_val_score`` returns the
# per-split OOB scores whose mean is the OOB estimate above (same seed, same
# splits).
model = models["1-nearest neighbour"]
cv = BootstrapSplit(n_splits=100, random_state=9)
split_scores = cross_val_score(model, X_train, y_train, cv=cv)
details = bootstrap_632_score(
    model, X_train, y_train, n_splits=100, random_state=9, return_details=True
)
print(f"\nmean of cross_val_score with BootstrapSplit: {split_scores.mean():.4f}")
print(f"OOB estimate of bootstrap_632_score:         {details.oob_score:.4f}")
print(
    f"relative over-fitting rate R = {details.relative_overfitting_rate:.3f}, "
    f".632+ weight w = {details.weight:.3f}"
)

# %%
# A confidence interval for a test score
# --------------------------------------
# With a test set at hand, :func:`~sklopt.model_selection.score_confidence_interval`
# resamples the test rows (``scipy.stats.bootstrap``) to show how much the
# score could move with another test set of the same size.
y_pred = model.fit(X_train, y_train).predict(X_rest)
test_accuracy = np.mean(y_pred == y_rest)
# 2000 resamples are plenty for a 95% interval and keep this fast.
interval = {}
for method in ["percentile", "BCa"]:
    interval[method] = score_confidence_interval(
        y_rest,
        y_pred,
        metric="accuracy",
        n_resamples=2000,
        method=method,
        random_state=0,
    )
    low, high = interval[method]
    print(
        f"test accuracy {test_accuracy:.4f}, 95% {method:>10} interval "
        f"[{low:.4f}, {high:.4f}] on {len(y_rest)} test rows"
    )

# %%
# Plot
# ----
fig, (ax_err, ax_hist) = plt.subplots(
    1, 2, figsize=(12, 4.4), layout="constrained", width_ratios=[1.4, 1]
)
width = 0.16
for i, method in enumerate(methods):
    means = [np.mean(errors[name][method]) for name in models]
    # Error bars: how much the estimate varies from one training set to another.
    stds = [np.std(errors[name][method]) for name in models]
    ax_err.bar(
        np.arange(len(models)) + (i - 2) * width,
        means,
        width,
        yerr=stds,
        capsize=3,
        label=method,
    )
ax_err.axhline(0, color="k", lw=1)
ax_err.set_xticks(np.arange(len(models)), list(models))
ax_err.set_ylabel("estimate - true accuracy")
ax_err.set_title("Bias of accuracy estimates (80 training rows, 10 draws)")
ax_err.legend(frameon=False, ncols=5, loc="upper center", fontsize="small")
ax_err.grid(True, axis="y", alpha=0.3)
ax_err.margins(y=0.2)

# The spread of single OOB scores shows why many splits are averaged.
ax_hist.hist(
    split_scores,
    bins=15,
    color="0.75",
    edgecolor="white",
    label="OOB accuracy of each bootstrap split",
)
ax_hist.axvline(details.oob_score, color="C1", lw=2, label="OOB estimate")
ax_hist.axvline(details.score, color="C3", lw=2, label=".632+ estimate")
ax_hist.axvline(test_accuracy, color="k", lw=2, ls="--", label="test accuracy")
ax_hist.axvspan(
    *interval["BCa"],
    color="k",
    alpha=0.12,
    label="95% BCa interval of the test accuracy",
)
ax_hist.set_xlabel("accuracy")
ax_hist.set_ylabel("bootstrap splits")
ax_hist.set_title("1-nearest neighbour, one training set")
ax_hist.legend(
    frameon=False,
    fontsize="small",
    loc="upper center",
    bbox_to_anchor=(0.5, -0.16),
    ncols=2,
)
plt.show()

# %%
# Resubstitution is useless for the tree and 1-NN (they score 100% on their
# training data), and the .632 estimate inherits part of that optimism. The
# OOB estimate is pessimistic by a point or two. The .632+ estimate lowers
# the .632 estimate as the model over-fits (weight w > 0.632 on the OOB
# part), though on this problem it keeps part of the optimism for the deep
# tree. 10-fold cross-validation, which trains on 90% of the rows, is nearly
# unbiased here, at the price of a larger spread from draw to draw for the
# unstable tree.
