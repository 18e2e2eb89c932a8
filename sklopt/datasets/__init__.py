"""sklopt.datasets (see the API reference)."""

__all__ = []
