"""
Bagging lowers variance, boosting lowers bias
=============================================

Bagging fits each member on a bootstrap sample and averages them. Averaging
leaves the mean prediction, and so the bias, about where a single member has
it, but it cancels part of the members' disagreement: it cuts the variance
of unstable models such as deep trees.

Boosting fits its members in sequence, each on what the previous ones got
wrong, so the ensemble can represent functions no single member can: it cuts
the bias of weak models such as decision stumps.

We decompose the expected squared error on Friedman #1 (whose noise-free
targets are known) with
:func:`~sklopt.model_selection.bias_variance_decomposition`, then follow the
two terms as members are added, from the members of bootstrap replicas of
each ensemble.
"""

# %%
# The decomposition of six models
# -------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeRegressor

from sklopt.datasets import make_friedman1
from sklopt.ensemble import (
    AdaBoostRegressor,
    BaggingRegressor,
    GradientBoostingRegressor,
)
from sklopt.exceptions import EarlyTerminationWarning
from sklopt.model_selection import BootstrapReplicas, bias_variance_decomposition

# AdaBoost.R2 stops adding stumps once a stump's weighted loss reaches 0.5
# (Drucker's rule); it warns each time, and the number of rounds each
# replica kept is reported below instead.
warnings.simplefilter("ignore", EarlyTerminationWarning)

X, y, y_true = make_friedman1(
    n_samples=600, noise=1.0, return_true=True, random_state=0
)
# The noise-free targets of the test rows separate bias^2 from noise.
X_train, X_test, y_train, y_test, _, y_test_true = train_test_split(
    X, y, y_true, test_size=0.25, random_state=0
)

deep_tree = DecisionTreeRegressor(random_state=0)
stump = DecisionTreeRegressor(max_depth=1, random_state=0)
models = {
    "deep tree": deep_tree,
    "bagged deep trees (30)": BaggingRegressor(
        deep_tree, n_estimators=30, random_state=0
    ),
    "stump": stump,
    "bagged stumps (30)": BaggingRegressor(stump, n_estimators=30, random_state=0),
    "AdaBoost.R2 stumps (50)": AdaBoostRegressor(
        stump, n_estimators=50, random_state=0
    ),
    # A larger learning rate than the default 0.1 reaches the bias floor in
    # 100 rounds.
    "gradient-boosted stumps (100)": GradientBoostingRegressor(
        stump, n_estimators=100, learning_rate=0.2, random_state=0
    ),
}
# 30 bootstrap rounds per model: each round refits the whole ensemble. The
# fits take milliseconds, so one process is fastest; pass n_jobs for bigger
# members (the results do not depend on it).
results = {
    name: bias_variance_decomposition(
        model,
        X_train,
        y_train,
        X_test,
        y_test,
        y_test_true=y_test_true,
        n_rounds=30,
        random_state=0,
    )
    for name, model in models.items()
}
print(f"{'model':>30} {'loss':>6} {'bias^2':>7} {'variance':>8} {'noise':>6}")
for name, r in results.items():
    print(
        f"{name:>30} {r.loss:>6.2f} {r.bias2:>7.2f} {r.variance:>8.2f} {r.noise:>6.2f}"
    )

# %%
# Bias and variance as members are added
# --------------------------------------
# :class:`~sklopt.model_selection.BootstrapReplicas` fits 30 copies of an
# ensemble on the same bootstrap samples as above. Averaging the first ``k``
# members of each bagging replica, or reading each boosting replica after
# ``k`` rounds with ``staged_predict``, gives the predictions of the smaller
# ensembles without refitting them.


def decompose(predictions):
    """(bias^2, variance) of an array of shape (n_replicas, ..., n_test)."""
    # The mean over replicas stands in for the average model f_bar.
    mean = predictions.mean(axis=0)
    bias2 = ((mean - y_test_true) ** 2).mean(axis=-1)
    variance = predictions.var(axis=0).mean(axis=-1)
    return bias2, variance


replicas = {
    name: BootstrapReplicas(models[name], n_rounds=30, random_state=0).fit(
        X_train, y_train
    )
    for name in [
        "bagged deep trees (30)",
        "AdaBoost.R2 stumps (50)",
        "gradient-boosted stumps (100)",
    ]
}
# Bagging: (replica, member, test row) -> running means over the members.
members = np.stack(
    [
        bag.predict_members(X_test)
        for bag in replicas["bagged deep trees (30)"].estimators_
    ]
)
running = np.cumsum(members, axis=1) / np.arange(1, members.shape[1] + 1)[:, None]
curves = {
    "bagged deep trees": (np.arange(1, members.shape[1] + 1), *decompose(running))
}
# Boosting: (replica, stage, test row) from staged_predict.
for name, label in [
    ("AdaBoost.R2 stumps (50)", "AdaBoost.R2 stumps"),
    ("gradient-boosted stumps (100)", "gradient-boosted stumps"),
]:
    stages = [
        np.stack(list(m.staged_predict(X_test))) for m in replicas[name].estimators_
    ]
    n_stages = max(len(stage) for stage in stages)
    if name.startswith("AdaBoost"):
        kept = sorted(len(stage) for stage in stages)
        print(f"AdaBoost.R2 rounds kept by the 30 replicas: {kept}")
    # A replica that stopped early predicts the same after any later round.
    staged = np.stack(
        [
            np.concatenate([s, np.repeat(s[-1:], n_stages - len(s), axis=0)])
            for s in stages
        ]
    )
    curves[label] = (np.arange(1, staged.shape[1] + 1), *decompose(staged))

for label, (k, bias2, variance) in curves.items():
    print(
        f"{label:>24}: members 1 -> {k[-1]}: bias^2 {bias2[0]:.2f} -> {bias2[-1]:.2f}, "
        f"variance {variance[0]:.2f} -> {variance[-1]:.2f}"
    )

# %%
# Plot
# ----
fig, (ax_bars, ax_bag, ax_boost) = plt.subplots(
    1, 3, figsize=(16, 4.6), layout="constrained", width_ratios=[1.3, 1, 1]
)
names = list(results)
bias2 = np.array([results[n].bias2 for n in names])
variance = np.array([results[n].variance for n in names])
noise = np.array([results[n].noise for n in names])
positions = np.arange(len(names))
ax_bars.barh(positions, bias2, color="#4c72b0", label="bias$^2$")
ax_bars.barh(positions, variance, left=bias2, color="#dd8452", label="variance")
ax_bars.barh(positions, noise, left=bias2 + variance, color="0.75", label="noise")
ax_bars.set_yticks(positions, names)
ax_bars.invert_yaxis()
ax_bars.set_xlabel("expected squared error on the test set")
ax_bars.set_title("Decomposition over 30 bootstrap training sets")
ax_bars.legend(frameon=False, loc="lower right")
ax_bars.grid(True, axis="x", alpha=0.3)

k, b, v = curves["bagged deep trees"]
ax_bag.plot(k, b, color="#4c72b0", lw=2, label="bias$^2$")
ax_bag.plot(k, v, color="#dd8452", lw=2, label="variance")
ax_bag.set(
    xlabel="number of bagged trees",
    ylabel="squared error",
    title="Bagging deep trees: the variance falls",
)
ax_bag.legend(frameon=False)
ax_bag.grid(True, alpha=0.3)

for label, ls in [("gradient-boosted stumps", "-"), ("AdaBoost.R2 stumps", "--")]:
    k, b, v = curves[label]
    ax_boost.plot(k, b, color="#4c72b0", lw=2, ls=ls, label=f"bias$^2$, {label}")
    ax_boost.plot(k, v, color="#dd8452", lw=2, ls=ls, label=f"variance, {label}")
ax_boost.set(
    xscale="log",
    xlabel="boosting rounds",
    ylabel="squared error",
    title="Boosting stumps: the bias falls",
)
ax_boost.legend(frameon=False, fontsize="small")
ax_boost.grid(True, which="both", alpha=0.3)
plt.show()

# %%
# Bagging 30 deep trees keeps their bias^2 and cuts their variance about
# sevenfold; bagging stumps changes nothing, because stumps have little
# variance to remove. Boosting the same stumps lowers the bias^2 instead:
# gradient boosting by a factor of about six, at little cost in variance.
# Drucker's AdaBoost.R2, which reweights the training rows and predicts a
# weighted median, lowers the bias much less on this problem: a stump soon
# cannot reach a weighted loss below 0.5 on the reweighted rows and boosting
# stops, after 8 to 50 rounds depending on the training set.
