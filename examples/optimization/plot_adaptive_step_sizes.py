"""
Adagrad's shrinking steps and Adadelta without a learning rate
==============================================================

Adaptive optimizers divide each weight's step by a running measure of its
squared gradients. They differ in what they remember:

* Adagrad sums all squared gradients, ``G <- G + g^2``, so its effective
  step ``lr / sqrt(G)`` can only shrink; with gradients of steady size it
  falls like ``1 / sqrt(t)``, and long training slows to a crawl.
* RMSprop and Adam keep an exponential moving average instead, so the step
  adapts to the recent gradients and does not die out.
* Adadelta also replaces the learning rate by the ratio of two moving
  averages, ``sqrt(H + eps) / sqrt(G + eps)``, which carries the units of the
  weights: its default ``lr=1.0`` is not a step size to tune.

We read the effective per-weight step off the torch optimizer of each fitted
network (``net_.optimizer_``) as training goes on, then train Adadelta with
its default on five problems and compare it with plain SGD over a range of
learning rates.

Protocol (fixed before the run; ``tests/test_claims.py`` asserts it over the
seeds 0, 1, 2 with 100 epochs and on digits and wine): (a) digits / 16,
MLP(64), batch 128, no plateau rule; the median effective step per weight
after epoch 1 and after the last epoch. Claim: Adagrad's step shrinks more
than RMSprop's and Adam's, and more than 3-fold. (b) Five problems,
standardised, 30% held out, MLP(64), batch 32, 40 epochs; SGD with
lr 1e-3, 1e-2, 1e-1, 1 against Adadelta with its default. Claim: Adadelta
scores at most 0.05 below SGD's best rate on every problem. The verdicts
printed below are computed from the figures beside them.
"""

# %%
# Effective step sizes during long training
# -----------------------------------------
# ``warm_start=True`` continues training where the previous ``fit`` stopped;
# we stop at log-spaced epochs to read the optimizer state.
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklopt.cli._conclusions import default_rate_conclusion, step_size_conclusion
from sklopt.datasets import make_friedman1
from sklopt.exceptions import DivergenceError
from sklopt.neural import MLPClassifier, MLPRegressor

# Every fit below stops at max_epochs on purpose.
warnings.simplefilter("ignore", ConvergenceWarning)


def effective_step(optimizer, name):
    """Median over the weights of the factor that multiplies the gradient."""
    # The state names are those of the torch optimizers behind each name.
    factors = []
    for group in optimizer.param_groups:
        lr, eps = group["lr"], group["eps"]
        for param in group["params"]:
            state = optimizer.state[param]
            if name == "adagrad":
                factor = lr / (state["sum"].sqrt() + eps)
            elif name == "rmsprop":
                factor = lr / (state["square_avg"].sqrt() + eps)
            elif name == "adam":
                # Adam's bias corrections, as torch applies them.
                beta1, beta2 = group["betas"]
                t = float(state["step"])
                scale = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
                factor = scale / (state["exp_avg_sq"].sqrt() + eps)
            else:  # adadelta: the ratio of two running RMS values, times lr=1
                factor = (
                    lr
                    * ((state["acc_delta"] + eps) / (state["square_avg"] + eps)).sqrt()
                )
            factors.append(factor.ravel())
    # The median, not the mean: a few weights with near-zero gradients get
    # huge factors that would dominate a mean.
    return float(torch.cat(factors).median())


X, y = load_digits(return_X_y=True)
X = X / 16.0
N_EPOCHS = 150
# Log-spaced stops: the interesting changes happen early.
stops = np.unique(np.geomspace(1, N_EPOCHS, 10).astype(int))
optimizers = ["adagrad", "rmsprop", "adam", "adadelta"]
steps, fitted = {}, {}
for name in optimizers:
    clf = MLPClassifier(
        (64,),
        optimizer=name,
        batch_size=128,
        # No plateau rule: every call trains exactly max_epochs epochs.
        tol=0.0,
        patience=N_EPOCHS,
        warm_start=True,
        device="cpu",
        random_state=0,
    )
    done, steps[name] = 0, []
    for stop in stops:
        clf.set_params(max_epochs=int(stop - done)).fit(X, y)
        done = stop
        steps[name].append(effective_step(clf.net_.optimizer_, name))
    fitted[name] = clf

print(f"{'epoch':>6} " + " ".join(f"{name:>9}" for name in optimizers))
for i, stop in enumerate(stops):
    print(f"{stop:>6d} " + " ".join(f"{steps[name][i]:>9.3g}" for name in optimizers))
shrink = steps["adagrad"][0] / steps["adagrad"][-1]
print(
    f"Adagrad's effective step shrank {shrink:.1f}-fold from epoch 1 to "
    f"{N_EPOCHS} (1/sqrt(t) would be {np.sqrt(N_EPOCHS):.1f}-fold)"
)
print(
    step_size_conclusion(
        {n: steps[n] for n in optimizers if n != "adadelta"}, epochs=list(stops)
    )
)
for name in optimizers:
    print(
        f"{name:>9} training loss after {N_EPOCHS} epochs: "
        f"{fitted[name].history_.train_loss.iloc[-1]:.2e}"
    )

# %%
# Adadelta's default on five problems, next to SGD's learning rates
# -----------------------------------------------------------------
# The same network and number of epochs everywhere; only the optimizer
# changes. Scores are test accuracy (R^2 for the Friedman #1 regression).
problems = {
    "digits": load_digits(return_X_y=True),
    "breast cancer": load_breast_cancer(return_X_y=True),
    "wine": load_wine(return_X_y=True),
    "iris": load_iris(return_X_y=True),
    "friedman #1": make_friedman1(500, noise=1.0, random_state=0),
}
sgd_rates = [1e-3, 1e-2, 1e-1, 1.0]


def make_model(classify, **params):
    params = dict(
        hidden_layer_sizes=(64,),
        # A fixed, modest budget: a rate that is too small shows as
        # under-training rather than being hidden by many more epochs.
        max_epochs=40,
        batch_size=32,
        device="cpu",
        random_state=0,
        **params,
    )
    if classify:
        return make_pipeline(StandardScaler(), MLPClassifier(**params))
    # The regression target is standardised too, as networks expect.
    return TransformedTargetRegressor(
        make_pipeline(StandardScaler(), MLPRegressor(**params)),
        transformer=StandardScaler(),
    )


scores = {}
for problem, (X, y) in problems.items():
    classify = problem != "friedman #1"
    # Stratified splits keep every class in the small test sets.
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y if classify else None
    )
    row = {}
    for lr in sgd_rates:
        model = make_model(classify, optimizer="sgd", lr=lr)
        try:
            row[f"sgd {lr:g}"] = model.fit(X_train, y_train).score(X_test, y_test)
        except DivergenceError:
            # Too large a rate: the loss overflows and sklopt says so.
            row[f"sgd {lr:g}"] = np.nan
    model = make_model(classify, optimizer="adadelta")
    row["adadelta"] = model.fit(X_train, y_train).score(X_test, y_test)
    scores[problem] = row

columns = list(next(iter(scores.values())))
print(f"{'':>14} " + " ".join(f"{c:>9}" for c in columns))
for problem, row in scores.items():
    print(f"{problem:>14} " + " ".join(f"{row[c]:>9.3f}" for c in columns))
print(default_rate_conclusion(scores))

# %%
# Plot
# ----
fig, (ax_step, ax_loss, ax_lr) = plt.subplots(
    1, 3, figsize=(15, 4.3), layout="constrained"
)
for name in optimizers:
    ax_step.plot(stops, steps[name], marker="o", ms=3, label=name)
    history = fitted[name].history_
    ax_loss.plot(history.epoch, history.train_loss, label=name)
# A 1/sqrt(t) guide through Adagrad's first point.
ax_step.plot(
    stops, steps["adagrad"][0] / np.sqrt(stops), "k:", lw=1, label="1/sqrt(epoch)"
)
ax_step.set(
    xscale="log",
    yscale="log",
    xlabel="epoch",
    ylabel="median effective step per weight",
    title="Effective step size (digits, MLP(64))",
)
ax_loss.set(
    xscale="log",
    yscale="log",
    xlabel="epoch",
    ylabel="training loss",
    title="Training loss",
)
for ax in (ax_step, ax_loss):
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(frameon=False, fontsize="small")

# SGD's rates on the left of the panel, Adadelta's single default on the right.
positions = np.arange(len(sgd_rates))
adadelta_position = len(sgd_rates) + 0.6
for i, (problem, row) in enumerate(scores.items()):
    color = f"C{i}"
    ax_lr.plot(
        positions,
        [row[f"sgd {lr:g}"] for lr in sgd_rates],
        marker="o",
        color=color,
        label=problem,
    )
    # Side by side, so that equal scores do not hide each other.
    ax_lr.plot(
        adadelta_position + 0.12 * (i - 2),
        row["adadelta"],
        marker="*",
        ms=14,
        color=color,
        mec="k",
        mew=0.6,
        ls="none",
    )
    for position, lr in zip(positions, sgd_rates):
        if np.isnan(row[f"sgd {lr:g}"]):
            ax_lr.annotate(
                "diverged", (position, 0.45), color=color, ha="center", fontsize="small"
            )
ax_lr.axvline(len(sgd_rates) - 0.2, color="0.7", lw=1)
ax_lr.set_xticks(
    [*positions, adadelta_position],
    [*(f"SGD\nlr={lr:g}" for lr in sgd_rates), "Adadelta\n(default)"],
)
ax_lr.set(
    ylabel="test score (accuracy; R$^2$ for Friedman #1)",
    title="SGD needs its rate tuned; Adadelta does not",
)
ax_lr.grid(True, alpha=0.3)
ax_lr.legend(frameon=False, fontsize="small", loc="center right")
plt.show()

# %%
# Adagrad's effective step falls steadily, close to ``1 / sqrt(epoch)``, and
# its training loss ends several times above the others', whose steps stay
# put or even grow as the gradients shrink. SGD's best learning rate differs
# from problem to problem, a rate too small leaves the network under-trained
# and one too large diverges, while Adadelta's default trains every problem
# to about the score of SGD's best rate.
