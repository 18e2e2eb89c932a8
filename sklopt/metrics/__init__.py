"""Metrics: calibration, and the sharpness of a minimizer (Keskar et al., 2017)."""

from sklopt.metrics._calibration import expected_calibration_error
from sklopt.metrics._sharpness import sharpness

__all__ = ["expected_calibration_error", "sharpness"]
