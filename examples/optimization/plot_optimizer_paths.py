"""
How the optimizers move on a valley, a plateau and a saddle
===========================================================

:class:`~sklopt.inspection.OptimizerPathDisplay` runs each optimizer on a
two-dimensional test function with exactly the update rules the neural
estimators use, and draws the points it visits:

* **Rosenbrock**, ``(1 - x)^2 + 100 (y - x^2)^2``: a long, curved, narrow
  valley. Plain gradient descent zig-zags across it and crawls along it;
  momentum builds up speed along the floor.
* **Beale**: flat plateaus between steep walls, with the minimum at (3, 0.5).
  Methods that rescale each coordinate by its gradient history cross the
  plateau quickly.
* **Saddle**, ``x^2 - y^2``: starting almost on the ridge, the gradient in
  ``y`` is tiny. Methods that normalise per coordinate escape at once; plain
  gradient descent needs many steps to leave.

The learning rates are tuned per function so that each optimizer makes
visible progress without diverging (``sklopt.neural.optimizer_path`` lists
them); Adadelta runs with its default ``lr=1.0``.
"""

# %%
# Trajectories
# ------------
import matplotlib.pyplot as plt
import numpy as np

from sklopt.inspection import OptimizerPathDisplay
from sklopt.neural import optimizer_path

# AdamW equals Adam without weight decay, so it is left out.
optimizers = ["sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam"]
functions = ["rosenbrock", "beale", "saddle"]

titles = {
    "rosenbrock": "Rosenbrock: a curved valley",
    "beale": "Beale: plateaus and steep walls",
    "saddle": "Saddle $x^2 - y^2$",
}
fig, axes = plt.subplots(1, 3, figsize=(16, 5), layout="constrained")
for ax, function in zip(axes, functions):
    OptimizerPathDisplay.from_optimizers(optimizers, function=function, ax=ax)
    ax.set_title(titles[function])
    ax.get_legend().remove()
# One legend for the figure: the colors are the same in every panel, and the
# first panel also has the minimum's marker.
fig.legend(
    *axes[0].get_legend_handles_labels(), loc="outside right center", frameon=False
)
plt.show()

# %%
# Where each optimizer ends
# -------------------------
# The function value after the default number of steps (Rosenbrock 500,
# Beale 300, saddle 100). On the saddle there is no minimum: lower is further
# down the slope.
print(f"{'':>10} " + " ".join(f"{f:>12}" for f in functions))
final = {}
for name in optimizers:
    final[name] = [optimizer_path(name, function=f)[1][-1] for f in functions]
    print(f"{name:>10} " + " ".join(f"{v:>12.4g}" for v in final[name]))

# Steps until the saddle point is left (|y| > 1): a measure of escape speed.
print("\nsteps to escape the saddle (|y| > 1):")
for name in optimizers:
    path, _ = optimizer_path(name, function="saddle")
    escaped = np.flatnonzero(np.abs(path[:, 1]) > 1)
    print(f"{name:>10} {escaped[0] if escaped.size else 'not within 100'}")

# %%
# On Rosenbrock, Nesterov, momentum and Adam reach the minimum's
# neighbourhood in 500 steps, while plain SGD with the same learning rate as
# momentum has barely entered the valley. Adagrad's shrinking steps stall it
# on the way, and Adadelta, whose steps start tiny and have to grow, covers
# little ground here. On the saddle, Adagrad and RMSprop divide the tiny
# gradient along ``y`` by its own small size, so they leave the ridge within
# 17 steps; SGD does not leave it in 100 steps. Adam's normalised step is
# close to ``lr * sign(g)`` in each coordinate, so with ``lr=0.01`` it climbs
# away from the ridge at a steady 0.01 per step.
