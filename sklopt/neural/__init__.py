"""sklopt.neural (see the API reference)."""

__all__ = []
