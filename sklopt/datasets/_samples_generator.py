"""Synthetic data for studies of generalization: known true functions and
label noise. Nothing is downloaded."""

import numpy as np
from sklearn import datasets
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.multiclass import check_classification_targets

from sklopt.utils._docstrings import fill_doc
from sklopt.utils._validation import Integral, Interval, Real, validate_params


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 5, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "return_true": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
@fill_doc
def make_friedman1(
    n_samples=100, *, n_features=10, noise=0.0, return_true=False, random_state=None
):
    """Friedman #1 regression problem, optionally with its noise-free targets.

    Same data as :func:`sklearn.datasets.make_friedman1` (same ``X`` and ``y``
    for the same ``random_state``); with ``return_true=True`` it also returns
    ``f(X)``, the targets without noise, which a bias-variance decomposition
    needs to separate the noise from the bias (``y_test_true``).

    Parameters
    ----------
    n_samples : int, default=100
        Number of samples.
    n_features : int, default=10
        Number of features (at least 5; only the first 5 are used by ``f``).
    noise : float, default=0.0
        Standard deviation of the Gaussian noise added to ``f(X)``.
    return_true : bool, default=False
        Also return the noise-free targets.
    %(random_state)s

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Inputs, uniform on [0, 1].
    y : ndarray of shape (n_samples,)
        Targets ``f(X) + noise * N(0, 1)``.
    y_true : ndarray of shape (n_samples,)
        ``f(X)``; only when ``return_true=True``.

    Examples
    --------
    >>> from sklopt.datasets import make_friedman1
    >>> X, y, y_true = make_friedman1(200, noise=1.0, return_true=True, random_state=0)
    >>> X.shape, round(float(((y - y_true) ** 2).mean()), 2)
    ((200, 10), 0.99)
    """
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    X, y = datasets.make_friedman1(
        n_samples, n_features=n_features, noise=noise, random_state=seed
    )
    if not return_true:
        return X, y
    # sklearn draws the noise after X whatever its scale, so noise=0 with the
    # same seed gives the same X and f(X).
    _, y_true = datasets.make_friedman1(
        n_samples, n_features=n_features, noise=0.0, random_state=seed
    )
    return X, y, y_true


@validate_params(
    {
        "y": ["array-like"],
        "noise_rate": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
@fill_doc
def make_noisy_labels(y, *, noise_rate=0.2, random_state=None):
    """Corrupt class labels: replace a fraction of them by another class.

    Exactly ``round(noise_rate * n_samples)`` labels, chosen at random, are
    replaced by a different class drawn uniformly from the others (symmetric
    label noise), as in studies of label smoothing and mixup under noise.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels (at least two classes).
    noise_rate : float, default=0.2
        Fraction of labels to corrupt, in [0, 1].
    %(random_state)s

    Returns
    -------
    y_noisy : ndarray of shape (n_samples,)
        The labels with the corrupted entries.

    Examples
    --------
    >>> import numpy as np
    >>> from sklopt.datasets import make_noisy_labels
    >>> y = np.repeat([0, 1, 2], 10)
    >>> y_noisy = make_noisy_labels(y, noise_rate=0.2, random_state=0)
    >>> int((y_noisy != y).sum())
    6
    """
    y = column_or_1d(y)
    check_classification_targets(y)
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(f"y must hold at least 2 classes; got {len(classes)}.")
    rng = check_random_state(random_state)
    n_flip = int(round(noise_rate * len(y)))
    rows = rng.choice(len(y), size=n_flip, replace=False)
    index = np.searchsorted(classes, y[rows])
    # Shift by 1..K-1 classes: a uniform draw among the other classes.
    shift = rng.randint(1, len(classes), size=n_flip)
    y_noisy = y.copy()
    y_noisy[rows] = classes[(index + shift) % len(classes)]
    return y_noisy
