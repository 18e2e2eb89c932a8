"""
The bias-variance trade-off
===========================

For targets ``t = f(x) + noise`` the expected squared error of a model fitted
on a random training set splits into three parts:

.. math::

    E[(t - \\hat f)^2] = \\underbrace{(f - \\bar f)^2}_{\\text{bias}^2}
        + \\underbrace{E[(\\hat f - \\bar f)^2]}_{\\text{variance}}
        + \\underbrace{\\sigma^2}_{\\text{noise}}

where :math:`\\bar f` is the average model over training sets. Simple models
miss the shape of ``f`` (high bias); complex models follow the noise of their
particular training set (high variance). Their sum is U-shaped in the model
complexity, and the best model sits at the bottom of the U.

:func:`sklopt.datasets.make_friedman1` returns the noise-free targets
``f(x)`` too, so that the noise can be separated from the bias.
:class:`~sklopt.inspection.BiasVarianceDisplay` refits the model on 100
bootstrap replicates of the training set for every complexity value.
"""

# %%
# Decision trees of increasing depth
# ----------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.tree import DecisionTreeRegressor

from sklopt.datasets import make_friedman1
from sklopt.inspection import BiasVarianceDisplay

# 600 rows: 450 for training, 150 held out to measure the decomposition on.
X, y, y_true = make_friedman1(
    n_samples=600, noise=1.0, return_true=True, random_state=0
)

fig, (ax_tree, ax_ridge) = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
# The same random_state gives both curves the same split and bootstrap samples.
tree = BiasVarianceDisplay.from_estimator(
    DecisionTreeRegressor(random_state=0),
    X,
    y,
    param_name="max_depth",
    param_range=np.arange(1, 13),
    y_true=y_true,
    n_rounds=100,
    random_state=0,
    # Rounds are independent fits: two processes halve the time on two cores.
    n_jobs=2,
    name="Decision tree: complexity grows with depth",
    ax=ax_tree,
)

# %%
# Ridge regression: less regularization, more complexity
# ------------------------------------------------------
# The trade-off is not specific to trees. A ridge regression on all
# products of up to three features has 286 coefficients for 450 training
# samples; its penalty ``alpha`` sets how freely they follow the data, so the
# complexity grows as ``alpha`` falls (the x axis is reversed).
ridge = BiasVarianceDisplay.from_estimator(
    make_pipeline(PolynomialFeatures(degree=3), StandardScaler(), Ridge()),
    X,
    y,
    param_name="ridge__alpha",
    param_range=np.geomspace(1e4, 1e-3, 8),
    y_true=y_true,
    n_rounds=100,
    random_state=0,
    n_jobs=2,
    name="Cubic ridge: complexity grows as alpha falls",
    ax=ax_ridge,
)
ax_ridge.invert_xaxis()
# Losses span two decades at the flexible end.
ax_ridge.set_yscale("log")
fig.suptitle("Friedman #1 (noise variance 1): bias$^2$ falls, variance rises")
plt.show()

# %%
# The numbers behind the curves
# -----------------------------
# Bias^2 is measured against the noise-free targets, so the three parts add
# up to the expected loss (up to the Monte-Carlo error of 100 replicates).
for name, display in [("max_depth", tree), ("alpha", ridge)]:
    print(f"{name:>9} {'loss':>7} {'bias^2':>7} {'variance':>8} {'noise':>6}")
    for i, value in enumerate(display.param_range):
        print(
            f"{value:>9.3g} {display.loss[i]:>7.2f} {display.bias[i]:>7.2f} "
            f"{display.variance[i]:>8.2f} {display.noise[i]:>6.2f}"
        )
    best = display.best_index_
    print(
        f"lowest expected loss at {name}={display.param_range[best]:.3g}: "
        f"{display.loss[best]:.2f}\n"
    )

# %%
# Going from a stump to a fully grown tree, bias^2 falls about fivefold while
# the variance grows more than tenfold; the expected loss is lowest in
# between. The ridge curves show the same trade-off; at the smallest
# penalties the estimated bias^2 creeps up again because the average of 100
# refits, itself noisy, stands in for the average over all training sets.
