"""
Bagging neural networks: K networks trained as one
==================================================

A bagging ensemble of neural networks trains K copies of one network, each on
its own bootstrap sample and with its own seed. sklopt trains them **as one
stacked model** (``batched='auto'``): every optimizer updates each weight
independently, so K networks whose weights are stacked along a new first
axis take their optimizer steps together, with one batched matrix product
per layer instead of K small ones. Each member still gets its own rows,
initial weights, shuffling, dropout masks and noise, so the result is the
ensemble that one-by-one training gives, to float32 rounding
(:ref:`batched`).

We train the same ensemble both ways, compare the time and the
predictions, and watch the test accuracy grow as members are added.
"""

# %%
# The same ensemble, batched and one by one
# -----------------------------------------
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sklopt.ensemble import BaggingClassifier
from sklopt.neural import MLPClassifier

# A small, noisy training set: single networks overfit it (high variance),
# which is what bagging is for.
X, y = make_classification(
    n_samples=1500, n_features=20, n_informative=10, flip_y=0.05, random_state=0
)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=500, random_state=0
)

base = MLPClassifier(
    (64, 64), max_epochs=60, batch_size=32, device="cpu", random_state=0
)
times, models = {}, {}
with warnings.catch_warnings():
    # 60 epochs keep the example short; the members have not converged.
    warnings.simplefilter("ignore", ConvergenceWarning)
    # torch sets itself up on its first fit; keep that out of the timings
    MLPClassifier((4,), max_epochs=1, device="cpu").fit(X_train[:50], y_train[:50])
    for batched in (True, False):
        bagging = BaggingClassifier(
            base, n_estimators=32, batched=batched, random_state=0
        )
        start = time.perf_counter()
        models[batched] = bagging.fit(X_train, y_train)
        times[batched] = time.perf_counter() - start

difference = np.abs(
    models[True].predict_proba(X_test) - models[False].predict_proba(X_test)
).max()
print(f"one by one: {times[False]:.1f} s, batched: {times[True]:.1f} s")
print(f"speed-up: {times[False] / times[True]:.1f}x")
print(f"largest difference of the predicted probabilities: {difference:.1e}")
print(f"test accuracy: {models[True].score(X_test, y_test):.3f}")

# %%
# The members are the members of one-by-one bagging: same rows, same seeds,
# hence (to rounding) the same weights. On the CPU the gain is the per-step
# overhead of K training loops; on a GPU, where a small network leaves the
# device almost idle, a stacked step of 32 members cost about twice one
# member's step (``benchmarks/README.md``).
#
# Accuracy against the number of members
# --------------------------------------
# ``predict_proba_members`` gives every member's probabilities; averaging the
# first k of them is the ensemble of k members.
members = models[True].predict_proba_members(X_test)  # (32, n_test, 2)
running = np.cumsum(members, axis=0) / np.arange(1, len(members) + 1)[:, None, None]
ensemble_accuracy = (running.argmax(axis=2) == y_test).mean(axis=1)
member_accuracy = (members.argmax(axis=2) == y_test).mean(axis=1)

fig, (ax_time, ax_acc) = plt.subplots(
    1, 2, figsize=(9, 3.6), gridspec_kw={"width_ratios": [1, 2]}
)
ax_time.bar(["one by one", "batched"], [times[False], times[True]], color=["C7", "C0"])
ax_time.set_ylabel("fit time (s)")
ax_time.set_title("32 MLPs, 60 epochs")
k = np.arange(1, len(members) + 1)
ax_acc.plot(k, ensemble_accuracy, "o-", label="bagging of the first k members")
ax_acc.plot(k, member_accuracy, "x", color="C7", label="member k alone")
ax_acc.set_xlabel("number of members k")
ax_acc.set_ylabel("test accuracy")
ax_acc.set_title("Averaging members lowers the variance")
ax_acc.set_ylim(min(member_accuracy.min(), ensemble_accuracy.min()) - 0.03, None)
ax_acc.legend(loc="lower right")
fig.tight_layout()
plt.show()
