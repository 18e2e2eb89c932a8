"""Utilities shared by the sklopt subpackages (public: discovery only)."""

from sklopt.utils.discovery import all_displays, all_estimators, all_functions

__all__ = ["all_displays", "all_estimators", "all_functions"]
