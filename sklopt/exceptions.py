"""Warnings and errors raised by sklopt."""

__all__ = [
    "DivergenceError",
    "EarlyTerminationWarning",
    "NotBatchableError",
    "TrainingInterruptedWarning",
]


class DivergenceError(ValueError, ArithmeticError):
    """Raised when the training loss becomes NaN or infinite.

    Inherits from :class:`ValueError` so that code catching bad-input errors
    (for example ``GridSearchCV(error_score=...)``) also catches it.
    """


class NotBatchableError(ValueError):
    """Raised when ``batched=True`` is asked for but the members cannot be
    trained together as one batched model."""


class EarlyTerminationWarning(UserWarning):
    """Warned when an iterative ensemble stops before ``n_estimators`` rounds
    (a perfect or a no-better-than-chance learner)."""


class TrainingInterruptedWarning(UserWarning):
    """Warned when a fit was interrupted (KeyboardInterrupt) and the estimator
    keeps the weights trained so far."""
