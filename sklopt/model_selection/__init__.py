"""Bootstrap resampling, the bias-variance decomposition, and hyperparameter
searches that train a network's candidates as stacked models.

Everything here plugs into scikit-learn's model selection tools
(``cross_val_score``, ``cross_validate``, ``GridSearchCV``,
``RandomizedSearchCV``, ``learning_curve``) without adapters;
:class:`GridSearchCV` and :class:`RandomizedSearchCV` are drop-in subclasses
of scikit-learn's.
"""

from sklopt.model_selection._bias_variance import (
    BiasVarianceResult,
    bias_variance_curve,
    bias_variance_decomposition,
)
from sklopt.model_selection._bootstrap import (
    ConfidenceInterval,
    score_confidence_interval,
)
from sklopt.model_selection._replicas import BootstrapReplicas
from sklopt.model_selection._scorer import bias_variance_scorers
from sklopt.model_selection._search import GridSearchCV, RandomizedSearchCV
from sklopt.model_selection._split import BootstrapSplit, bootstrap_632_score

__all__ = [
    "BiasVarianceResult",
    "BootstrapReplicas",
    "BootstrapSplit",
    "ConfidenceInterval",
    "GridSearchCV",
    "RandomizedSearchCV",
    "bias_variance_curve",
    "bias_variance_decomposition",
    "bias_variance_scorers",
    "bootstrap_632_score",
    "score_confidence_interval",
]
