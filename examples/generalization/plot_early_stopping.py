"""
Over-fitting and early stopping
===============================

A network with far more weights than training samples keeps lowering its
training loss for as long as it is trained, until it has memorised every
label. The loss on held-out data falls at first and then turns up: from that
epoch on, the network fits the peculiarities of its training samples instead
of the pattern behind them.

Early stopping watches the loss on a validation set held out from the
training data, stops when it has not improved for ``patience`` epochs and
restores the weights of the best epoch. We show it on the digits data with
20% of the training labels flipped to a wrong class, which makes memorisation
costly and the turn easy to see.

Protocol (fixed before the run; ``tests/test_claims.py`` asserts it over the
seeds 0, 1, 2 with 60 epochs): digits / 16, half held out (stratified), 20%
of the training labels flipped; MLP(256, 256), Adam, batch 32, 20% of the
training rows as validation data. Claim: from the best epoch to the last the
training loss falls and the validation loss rises by more than 10%, the best
epoch lies inside the run, and the restored network scores at least one
point of clean test accuracy above the network trained to the end. The
verdict printed below is computed from the figures beside it.
"""

# %%
# Data: noisy training labels, clean test labels
# ----------------------------------------------
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sklopt.cli._conclusions import overfitting_conclusion
from sklopt.datasets import make_noisy_labels
from sklopt.inspection import TrainingHistoryDisplay
from sklopt.neural import MLPClassifier

X, y = load_digits(return_X_y=True)
# Pixel values 0..16 scaled to [0, 1]: networks train best on unit-scale inputs.
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.5, stratify=y, random_state=0
)
# Only the training labels are corrupted: the test set measures how well the
# network recovers the true digits.
y_train_noisy = make_noisy_labels(y_train, noise_rate=0.2, random_state=0)

# %%
# The whole curve, and early stopping with patience
# -------------------------------------------------
# With ``patience`` as large as ``max_epochs`` the network trains for all
# epochs while recording the validation loss, and still restores the weights
# of the best epoch at the end. With the default ``patience=10`` it stops ten
# epochs after the best one. The third network trains for the same 100 epochs
# on all the training data, without early stopping.
params = dict(
    hidden_layer_sizes=(256, 256),
    batch_size=32,
    max_epochs=100,
    # 20% of the (noisy) training rows are held out as validation data.
    validation_fraction=0.2,
    device="cpu",
    random_state=0,
)
full_curve = MLPClassifier(early_stopping=True, patience=100, **params)
stopped = MLPClassifier(early_stopping=True, patience=10, **params)
no_stopping = MLPClassifier(early_stopping=False, **params)
with warnings.catch_warnings():
    # The networks without a stopping rule run to max_epochs on purpose.
    warnings.simplefilter("ignore", ConvergenceWarning)
    for clf in (full_curve, stopped, no_stopping):
        clf.fit(X_train, y_train_noisy)

history = full_curve.history_
best = full_curve.best_epoch_
# Epochs are numbered from 1, rows from 0.
at_best, at_end = history.iloc[best - 1], history.iloc[-1]
print(f"best epoch (lowest validation loss): {best}")
print(f"{'':>22} {'epoch ' + str(best):>10} {'epoch 100':>10}")
print(f"{'training loss':>22} {at_best.train_loss:>10.3f} {at_end.train_loss:>10.4f}")
print(f"{'validation loss':>22} {at_best.valid_loss:>10.3f} {at_end.valid_loss:>10.3f}")
print(f"\n{'model':>34} {'epochs':>6} {'test accuracy':>14}")
for name, clf in [
    ("early stopping, patience=100", full_curve),
    ("early stopping, patience=10", stopped),
    ("no early stopping", no_stopping),
]:
    print(f"{name:>34} {clf.n_iter_:>6d} {clf.score(X_test, y_test):>14.2%}")
print(overfitting_conclusion(history, best_epoch=best))
gain = full_curve.score(X_test, y_test) - no_stopping.score(X_test, y_test)
print(
    f"Early stopping {'gains' if gain >= 0.01 else 'does not gain'} at least one "
    f"point of clean test accuracy over training to the end ({gain:+.1%})."
)

# %%
# Plot the training history
# -------------------------
# :class:`~sklopt.inspection.TrainingHistoryDisplay` draws the training and
# validation loss per epoch and marks the best epoch. The right panel shows
# the validation error rate, which the history stores as ``1 - valid_score``:
# it turns up as well, later and more noisily than the loss.
fig, (ax_loss, ax_error) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
TrainingHistoryDisplay.from_estimator(full_curve, ax=ax_loss)
ax_loss.axvline(stopped.n_iter_, color="0.4", ls="--", lw=1, label="patience=10 stops")
ax_loss.legend(frameon=False, fontsize="small")
ax_loss.set_title("Loss per epoch")

ax_error.plot(history.epoch, 1 - history.valid_score, color="C1", marker=".", lw=1)
ax_error.axvline(best, color="C0", ls=":", lw=1.2, label=f"best epoch ({best})")
ax_error.axvline(stopped.n_iter_, color="0.4", ls="--", lw=1, label="patience=10 stops")
ax_error.set_xlabel("epoch")
ax_error.set_ylabel("validation error rate")
ax_error.set_title("Validation error per epoch")
ax_error.grid(True, alpha=0.3)
ax_error.legend(frameon=False, fontsize="small")
fig.suptitle("MLP(256, 256) on digits with 20% wrong training labels")
plt.show()

# %%
# On this seed the printed verdict states the turn: the training loss falls
# by orders of magnitude while the validation loss rises after its minimum,
# as the network memorises the wrong labels. Early stopping keeps the
# weights from the turn, at a fraction of the epochs.
