"""Neural-network estimators built on skorch and torch.

``MLPClassifier``, ``MLPRegressor`` and ``CNNClassifier`` are scikit-learn
estimators whose optimizer and regularizers are hyperparameters; the fitted
skorch net is ``net_``.
"""

from sklopt.neural._cnn import CNNClassifier
from sklopt.neural._mlp import MLPClassifier, MLPRegressor

__all__ = ["CNNClassifier", "MLPClassifier", "MLPRegressor"]
