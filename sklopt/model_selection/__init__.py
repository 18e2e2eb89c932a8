"""sklopt.model_selection (see the API reference)."""

__all__ = []
