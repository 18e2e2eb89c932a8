"""Neural-network estimators built on skorch and torch.

``MLPClassifier``, ``MLPRegressor`` and ``CNNClassifier`` are scikit-learn
estimators whose optimizer and regularizers are hyperparameters; the fitted
skorch net is ``net_``.
"""

from sklopt.neural._cnn import CNNClassifier
from sklopt.neural._functional import flat_loss_function
from sklopt.neural._mlp import MLPClassifier, MLPRegressor
from sklopt.neural._optim import OPTIMIZERS
from sklopt.neural._optimizer_path import function_surface, optimizer_path

__all__ = [
    "OPTIMIZERS",
    "CNNClassifier",
    "MLPClassifier",
    "MLPRegressor",
    "flat_loss_function",
    "function_surface",
    "optimizer_path",
]
