"""sklopt.inspection (see the API reference)."""

__all__ = []
