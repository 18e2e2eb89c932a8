"""Displays (matplotlib, sklearn's Display convention): training history,
optimizer paths and the bias-variance trade-off."""

from sklopt.inspection._bias_variance import BiasVarianceDisplay
from sklopt.inspection._optimizer_path import OptimizerPathDisplay
from sklopt.inspection._training_history import TrainingHistoryDisplay

__all__ = ["BiasVarianceDisplay", "OptimizerPathDisplay", "TrainingHistoryDisplay"]
