"""Synthetic data generators for studies of generalization (no downloads)."""

from sklopt.datasets._samples_generator import make_friedman1, make_noisy_labels

__all__ = ["make_friedman1", "make_noisy_labels"]
