"""
A grid search trained as one stacked model
==========================================

A grid of learning rates x weight decays with cross-validation is many
trainings of one network: here 5 x 4 candidates on 3 folds, 60 fits.
scikit-learn's :class:`~sklearn.model_selection.GridSearchCV` trains them one
by one. sklopt's :class:`~sklopt.model_selection.GridSearchCV`, a drop-in
subclass, sees that the candidates differ only in per-member
hyperparameters and trains all 60 fits **as one stacked model**: each member
is one candidate on one fold, with its own learning rate, weight decay and
optimizer state (:ref:`stacked_search`).

We run both searches on the same grid and folds, time them side by side,
and draw the learning rate x weight decay map of the cross-validated
accuracy.
"""

# %%
# The same search, both ways
# --------------------------
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn import model_selection as sklearn_model_selection
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold

from sklopt.model_selection import GridSearchCV
from sklopt.neural import MLPClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixel intensities in [0, 1]

# Momentum SGD: its float32 rounding is not amplified over the epochs (as
# Adam's division by a running root mean square can), so the two searches
# agree closely.
net = MLPClassifier(
    (32,),
    optimizer="sgd",
    momentum=0.9,
    batch_size=64,
    max_epochs=10,
    device="cpu",
    random_state=0,
)
learning_rates = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
weight_decays = [0.0, 1e-4, 1e-3, 1e-2]
grid = {"lr": learning_rates, "weight_decay": weight_decays}
cv = StratifiedKFold(3, shuffle=True, random_state=0)

searches = {
    "scikit-learn": sklearn_model_selection.GridSearchCV(net, grid, cv=cv),
    "sklopt, stacked": GridSearchCV(net, grid, cv=cv),
}
times = {}
with warnings.catch_warnings():
    # 10 epochs keep the example short; most networks have not converged.
    warnings.simplefilter("ignore", ConvergenceWarning)
    # torch sets itself up on its first fit; keep that out of the timings
    MLPClassifier((4,), max_epochs=1, device="cpu").fit(X[:50], y[:50])
    for name, search in searches.items():
        start = time.perf_counter()
        search.fit(X, y)
        times[name] = time.perf_counter() - start

ours, theirs = searches["sklopt, stacked"], searches["scikit-learn"]
difference = np.abs(
    ours.cv_results_["mean_test_score"] - theirs.cv_results_["mean_test_score"]
).max()
for name, seconds in times.items():
    print(f"{name:>16}: {seconds:5.1f} s")
print(f"speed-up: {times['scikit-learn'] / times['sklopt, stacked']:.1f}x")
print(f"stacks: {ours.batched_groups_}")
print(f"largest difference of mean_test_score: {difference:.4f}")
print(f"best parameters: {ours.best_params_} (scikit-learn: {theirs.best_params_})")

# %%
# Both searches fitted the same candidates on the same folds: the same
# ``cv_results_`` keys, parameters and ranks, and the scores of each
# candidate agree to float32 rounding. ``batched_groups_`` shows the single
# stack of 20 candidates x 3 folds.
#
# The learning rate x weight decay map
# ------------------------------------
scores = ours.cv_results_["mean_test_score"].reshape(
    len(learning_rates), len(weight_decays)
)
fig, (ax_map, ax_time) = plt.subplots(
    1, 2, figsize=(9, 3.8), gridspec_kw={"width_ratios": [3, 2]}
)
image = ax_map.imshow(scores, cmap="viridis", origin="lower", aspect="auto")
ax_map.set_xticks(range(len(weight_decays)), [f"{w:g}" for w in weight_decays])
ax_map.set_yticks(range(len(learning_rates)), [f"{lr:g}" for lr in learning_rates])
ax_map.set_xlabel("weight_decay")
ax_map.set_ylabel("lr")
for (i, j), value in np.ndenumerate(scores):
    ax_map.text(j, i, f"{value:.3f}", ha="center", va="center", color="w")
ax_map.set_title("3-fold CV accuracy, 10 epochs")
fig.colorbar(image, ax=ax_map)
ax_time.bar(list(times), list(times.values()), color=["C7", "C0"])
ax_time.set_ylabel("search time (s)")
ax_time.set_title("60 fits")
fig.tight_layout()
plt.show()

# %%
# With ten epochs of momentum SGD, the larger learning rates win; the weight
# decay matters little at this budget, and most at the largest rates. On the
# CPU the stacked search saves the per-step overhead of 60 training loops; on
# a GPU, where one small network leaves the device almost idle, the gain is
# larger (``benchmarks/README.md``).
