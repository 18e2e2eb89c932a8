"""Bagging and boosting ensembles over any scikit-learn compatible estimator."""

from sklopt.ensemble._bagging import BaggingClassifier, BaggingRegressor
from sklopt.ensemble._gradient_boosting import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
)
from sklopt.ensemble._weight_boosting import AdaBoostClassifier, AdaBoostRegressor

__all__ = [
    "AdaBoostClassifier",
    "AdaBoostRegressor",
    "BaggingClassifier",
    "BaggingRegressor",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
]
