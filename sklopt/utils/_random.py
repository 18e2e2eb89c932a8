"""Seeding helpers: derive integer seeds from a ``random_state`` without
touching numpy's or torch's global random state."""

import numpy as np
from sklearn.utils import check_random_state

MAX_SEED = np.iinfo(np.int32).max


def draw_seeds(random_state, n):
    """Draw ``n`` independent integer seeds from ``random_state``.

    Ensembles call this once, before dispatching work, so that results do not
    depend on ``n_jobs`` or on the order in which members finish.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        Source of randomness.
    n : int
        Number of seeds.

    Returns
    -------
    seeds : ndarray of shape (n,), dtype int64
    """
    rng = check_random_state(random_state)
    return rng.randint(MAX_SEED, size=n).astype(np.int64)
