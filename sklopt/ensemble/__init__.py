"""sklopt.ensemble (see the API reference)."""

__all__ = []
