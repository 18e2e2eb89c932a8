"""
Bias and variance of neural networks against their width
=========================================================

Two published results, reproduced at small scale.

* Yang et al. (ICML 2020, "Rethinking Bias-Variance Trade-off for
  Generalization of Neural Networks"): as a network gets wider its bias falls
  while its variance first rises and then falls (unimodal).
* Nakkiran et al. (2019, "Deep Double Descent"): with 15-20 % label noise the
  test error against width peaks near the *interpolation threshold* (the
  width at which the network just fits the noisy training labels) and falls
  beyond it.

Protocol (fixed before running; the numbers below are whatever came out):

1. Yang: ``make_friedman1`` (400 rows, noise 1.0, the noise-free target
   known), inputs and target standardized, 25 % held out. An
   :class:`~sklopt.neural.MLPRegressor` with one hidden layer of width 1, 4,
   16, 64 and 256, Adam (lr 0.01), batches of 32, 100 epochs (no early stop),
   squared loss. Bias^2 and variance from 10 bootstrap rounds per width,
   trained as one stacked model (``batched``). Bias^2 is measured against the
   noise-free target. (Yang et al. split the data into disjoint parts instead
   of bootstrap samples.)
2. Nakkiran: digits, half held out, 20 % of the training labels replaced by
   another class (:func:`sklopt.datasets.make_noisy_labels`). An
   :class:`~sklopt.neural.MLPClassifier` with one hidden layer of width 8, 32,
   128 and 512, Adam (lr 0.003), batches of 64, 300 epochs (no early stop),
   cross-entropy. Training error on the noisy labels, test error on the clean
   test labels; one network per width.

Expected shapes: bias^2 at width 256 below 0.9 x its value at width 1, and
the variance peaking at an interior width 10 % above both ends; the test
error highest at the first width with training error below 1 %, above the
error of the narrowest and of the widest network. ``tests/test_claims.py``
asserts the same over 3 seeds.
"""

# %%
# Width against bias and variance (Yang et al.)
# ---------------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklopt.datasets import make_friedman1, make_noisy_labels
from sklopt.inspection import BiasVarianceDisplay
from sklopt.neural import MLPClassifier, MLPRegressor

SEED = 0
# A fixed epoch budget on purpose: the plateau rule is off.
warnings.simplefilter("ignore", ConvergenceWarning)

X, y, y_true = make_friedman1(400, noise=1.0, return_true=True, random_state=SEED)
X = StandardScaler().fit_transform(X)
center, scale = y.mean(), y.std()
y, y_true = (y - center) / scale, (y_true - center) / scale

fig, (ax_yang, ax_nakkiran) = plt.subplots(
    1, 2, figsize=(11, 4.4), layout="constrained"
)
yang = BiasVarianceDisplay.from_estimator(
    MLPRegressor(
        lr=1e-2,
        batch_size=32,
        max_epochs=100,
        tol=0.0,
        patience=10**6,
        random_state=SEED,
    ),
    X,
    y,
    param_name="hidden_layer_sizes",
    param_range=[(1,), (4,), (16,), (64,), (256,)],
    y_true=y_true,
    n_rounds=10,
    random_state=SEED,
    batched=True,
    name="MLP on make_friedman1 (Yang et al.)",
    ax=ax_yang,
)
bias, variance = np.asarray(yang.bias), np.asarray(yang.variance)
print("width   bias^2  variance  loss")
for width, b, v, loss in zip(yang.param_range, bias, variance, yang.loss):
    print(f"{width[0]:>5} {b:8.3f} {v:9.3f} {loss:5.3f}")
peak = int(np.argmax(variance))
print(
    f"bias^2 {'falls' if bias[-1] < 0.9 * bias[0] else 'does NOT fall'} from "
    f"{bias[0]:.3f} (width 1) to {bias[-1]:.3f} (width 256); variance "
    + (
        f"peaks at width {yang.param_range[peak][0]} ({variance[peak]:.3f}, ends "
        f"{variance[0]:.3f} and {variance[-1]:.3f})"
        if 0 < peak < len(variance) - 1
        and variance[peak] > 1.1 * max(variance[0], variance[-1])
        else f"shows NO interior peak ({np.round(variance, 3)})"
    )
)

# %%
# Width against test error under label noise (Nakkiran et al.)
# -------------------------------------------------------------
X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.5, stratify=y, random_state=SEED
)
y_noisy = make_noisy_labels(y_train, noise_rate=0.2, random_state=SEED)
widths = [8, 32, 128, 512]
train_error, test_error = [], []
for width in widths:
    net = MLPClassifier(
        (width,),
        lr=3e-3,
        batch_size=64,
        max_epochs=300,
        tol=0.0,
        patience=10**6,
        random_state=SEED,
    ).fit(X_train, y_noisy)
    train_error.append(1 - net.score(X_train, y_noisy))
    test_error.append(1 - net.score(X_test, y_test))
print("width  train error (noisy)  test error (clean)")
for width, tr, te in zip(widths, train_error, test_error):
    print(f"{width:>5} {tr:20.3f} {te:19.3f}")
fits = [i for i, e in enumerate(train_error) if e < 0.01]
if fits:
    t = fits[0]
    peaked = test_error[t] > max(test_error[0], test_error[-1])
    print(
        f"the noisy labels are interpolated from width {widths[t]}; its test error "
        f"{test_error[t]:.3f} is "
        + ("above" if peaked else "NOT above")
        + f" both the narrowest ({test_error[0]:.3f}) and the widest "
        f"({test_error[-1]:.3f})"
    )
else:
    print("no width interpolates the noisy labels in 300 epochs")

ax_nakkiran.plot(widths, train_error, "s-", label="training error (noisy labels)")
ax_nakkiran.plot(widths, test_error, "o-", lw=2, label="test error (clean labels)")
ax_nakkiran.set_xscale("log")
ax_nakkiran.set_xlabel("width of the hidden layer")
ax_nakkiran.set_ylabel("error")
ax_nakkiran.set_title("Digits, 20% label noise (Nakkiran et al.)")
ax_nakkiran.grid(True, alpha=0.3)
ax_nakkiran.legend(frameon=False)
plt.show()

# %%
# What came out (seed 0, the printed numbers above): bias^2 falls with width
# and the variance rises to a peak at a middle width and falls again, the
# shape Yang et al. report; the test error under label noise is highest
# where the network first interpolates the noisy labels and lower for the
# widest network, a small-scale model-wise double descent. The slow test
# checks both shapes over three seeds.
