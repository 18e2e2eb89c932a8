"""
Bagging and boosting, next to scikit-learn's
============================================

sklopt's ensembles follow scikit-learn's algorithms closely: for the same
base estimator and ``random_state`` they draw the same bootstrap samples
(bagging) and fit the same members with the same weights (SAMME, AdaBoost.R2,
gradient boosting), so their scores agree. What they add: any estimator as a
member or base learner (boosting by resampling when it has no
``sample_weight``, for example a k-NN classifier, or a neural network as the
base learner of gradient boosting), ``predict_members`` for the
bias-variance tools, and ``staged_predict`` for every boosting model.

We compare cross-validated scores and fit times, then follow the test error
of each ensemble as members are added.
"""

# %%
# Cross-validated scores
# ----------------------
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn import ensemble as sk_ensemble
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import (
    KFold,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from sklopt import ensemble as sko_ensemble
from sklopt.datasets import make_friedman1

X_clf, y_clf = load_breast_cancer(return_X_y=True)
X_reg, y_reg = make_friedman1(n_samples=600, noise=1.0, random_state=0)

# The same constructor call for both libraries.
setups = {
    "Bagging, 50 deep trees": (
        "classification",
        lambda lib: lib.BaggingClassifier(
            DecisionTreeClassifier(), n_estimators=50, random_state=0
        ),
    ),
    "AdaBoost (SAMME), 100 stumps": (
        "classification",
        lambda lib: lib.AdaBoostClassifier(
            DecisionTreeClassifier(max_depth=1), n_estimators=100, random_state=0
        ),
    ),
    "Gradient boosting, 100 trees": (
        "classification",
        lambda lib: lib.GradientBoostingClassifier(n_estimators=100, random_state=0),
    ),
    "Bagging, 50 deep trees (reg.)": (
        "regression",
        lambda lib: lib.BaggingRegressor(
            DecisionTreeRegressor(), n_estimators=50, random_state=0
        ),
    ),
    "AdaBoost.R2, 100 depth-3 trees": (
        "regression",
        lambda lib: lib.AdaBoostRegressor(
            DecisionTreeRegressor(max_depth=3), n_estimators=100, random_state=0
        ),
    ),
    "Gradient boosting, 100 trees (reg.)": (
        "regression",
        lambda lib: lib.GradientBoostingRegressor(n_estimators=100, random_state=0),
    ),
}
# Shuffled folds with a fixed seed: both libraries see the same splits.
data = {
    "classification": (X_clf, y_clf, StratifiedKFold(5, shuffle=True, random_state=0)),
    "regression": (X_reg, y_reg, KFold(5, shuffle=True, random_state=0)),
}
print(
    f"{'5-fold CV score':>36} {'sklopt':>8} {'sklearn':>8} {'time sklopt':>12} "
    f"{'sklearn':>8}"
)
scores = {}
for name, (task, make) in setups.items():
    X, y, cv = data[task]
    row = {}
    for label, lib in [("sklopt", sko_ensemble), ("sklearn", sk_ensemble)]:
        # Wall time of the whole 5-fold run; a rough guide on a busy machine.
        start = time.perf_counter()
        row[label] = cross_val_score(make(lib), X, y, cv=cv).mean()
        row[f"{label} time"] = time.perf_counter() - start
    scores[name] = row
    print(
        f"{name:>36} {row['sklopt']:>8.4f} {row['sklearn']:>8.4f} "
        f"{row['sklopt time']:>11.2f}s {row['sklearn time']:>7.2f}s"
    )
print("(accuracy on breast cancer; R^2 on Friedman #1)")

# %%
# Test error as members are added
# -------------------------------
# ``staged_predict`` gives the boosting models' predictions after each
# round; ``predict_members`` gives every bagged tree's vote, whose running
# majority is the smaller bagging ensemble.
X_train, X_test, y_train, y_test = train_test_split(
    X_clf, y_clf, test_size=0.3, stratify=y_clf, random_state=0
)
# Long enough for the boosting curves to flatten out.
n_rounds = 200
curves = {}
for label, lib, ls in [("sklopt", sko_ensemble, "-"), ("sklearn", sk_ensemble, ":")]:
    ada = lib.AdaBoostClassifier(
        DecisionTreeClassifier(max_depth=1), n_estimators=n_rounds, random_state=0
    ).fit(X_train, y_train)
    gb = lib.GradientBoostingClassifier(n_estimators=n_rounds, random_state=0).fit(
        X_train, y_train
    )
    curves[f"AdaBoost stumps ({label})"] = (
        [np.mean(p != y_test) for p in ada.staged_predict(X_test)],
        "C0",
        ls,
    )
    curves[f"gradient boosting ({label})"] = (
        [np.mean(p != y_test) for p in gb.staged_predict(X_test)],
        "C1",
        ls,
    )
bag = sko_ensemble.BaggingClassifier(
    DecisionTreeClassifier(), n_estimators=n_rounds, random_state=0
).fit(X_train, y_train)
votes = np.cumsum(bag.predict_members(X_test) == bag.classes_[1], axis=0)
# Running majority of the first k trees; a tie goes to the first class.
running = np.where(
    votes > np.arange(1, n_rounds + 1)[:, None] / 2, bag.classes_[1], bag.classes_[0]
)
curves["bagged deep trees (sklopt)"] = (np.mean(running != y_test, axis=1), "C2", "-")
for name, (errors, _, _) in curves.items():
    print(
        f"{name:>30}: test error after 1 / 10 / {n_rounds} members: "
        f"{errors[0]:.3f} / {errors[9]:.3f} / {errors[-1]:.3f}"
    )

for model in ["AdaBoost stumps", "gradient boosting"]:
    ours, theirs = (
        np.asarray(curves[f"{model} ({lib})"][0]) for lib in ("sklopt", "sklearn")
    )
    print(
        f"{model}: staged test errors differ in {np.sum(ours != theirs)} of "
        f"{n_rounds} rounds (largest difference {np.abs(ours - theirs).max():.3f})"
    )

# Regression: squared error of the boosting models on Friedman #1.
Xr_train, Xr_test, yr_train, yr_test = train_test_split(X_reg, y_reg, random_state=0)
reg_curves = {}
for label, lib, ls in [("sklopt", sko_ensemble, "-"), ("sklearn", sk_ensemble, ":")]:
    gbr = lib.GradientBoostingRegressor(n_estimators=n_rounds, random_state=0)
    gbr.fit(Xr_train, yr_train)
    reg_curves[f"gradient boosting ({label})"] = (
        [mean_squared_error(yr_test, p) for p in gbr.staged_predict(Xr_test)],
        "C1",
        ls,
    )
    abr = lib.AdaBoostRegressor(
        DecisionTreeRegressor(max_depth=3), n_estimators=n_rounds, random_state=0
    ).fit(Xr_train, yr_train)
    reg_curves[f"AdaBoost.R2 depth-3 trees ({label})"] = (
        [mean_squared_error(yr_test, p) for p in abr.staged_predict(Xr_test)],
        "C0",
        ls,
    )

# %%
# Plot
# ----
fig, (ax_clf, ax_reg) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
for ax, group in [(ax_clf, curves), (ax_reg, reg_curves)]:
    for name, (errors, color, ls) in group.items():
        # sklearn's curves are dotted on top of sklopt's solid ones.
        ax.plot(
            np.arange(1, len(errors) + 1),
            errors,
            color=color,
            ls=ls,
            lw=2.5 if ls == ":" else 1.5,
            label=name,
        )
    # Most of the change happens in the first ten rounds.
    ax.set_xscale("log")
    ax.set_xlabel("number of members (boosting rounds)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(frameon=False, fontsize="small")
# Gradient boosting starts from the class prior (error 0.37) and needs a few
# shrunken rounds to leave it; the interesting range is lower.
ax_clf.set_ylim(0, 0.15)
ax_clf.set(ylabel="test error rate", title="Breast cancer: classification error")
ax_reg.set(ylabel="test mean squared error", title="Friedman #1: squared error")
plt.show()

# %%
# The two libraries give the same cross-validated scores, and their AdaBoost
# curves are identical. The gradient-boosting curves differ by a test sample
# or two in some rounds: when two candidate splits of a small node reduce the
# loss exactly equally, a tree picks the one that comes first in its random
# feature order, and the two libraries seed their trees differently. Boosting
# needs many rounds to bring the error of its weak members down; bagging gets
# most of its gain from the first few trees, and more trees only smooth the
# vote.
