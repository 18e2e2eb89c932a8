"""The stacked engine: K members of one neural estimator trained as one
model (see ``docs/dev/architecture.rst``)."""

from sklopt.neural._batched._plan import (
    STACKING_PARAMS,
    _auto_reason,
    _fit_members_batched,
    _stacking_params,
    _unsupported_reason,
)

__all__ = [
    "STACKING_PARAMS",
    "_auto_reason",
    "_fit_members_batched",
    "_stacking_params",
    "_unsupported_reason",
]
