"""sklopt.metrics (see the API reference)."""

__all__ = []
