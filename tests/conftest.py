"""Shared fixtures: tiny datasets, a seed, pyplot with the Agg backend."""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_configure(config):
    """One torch thread for the whole run (where torch is installed): the
    tiny networks of the tests run fastest that way. Set
    ``SKLOPT_TESTS_TORCH_THREADS=default`` to keep torch's own thread count,
    as users have it (``.ci/run`` runs the estimator checks once that way), or
    to a number. ``import sklopt`` itself stays torch-free;
    ``tests/test_imports.py`` checks it in a fresh interpreter."""
    threads = os.environ.get("SKLOPT_TESTS_TORCH_THREADS", "1")
    if threads == "default":
        return
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(int(threads))


@pytest.fixture
def global_random_seed():
    """A fixed seed; tests that take it must hold for any seed."""
    return int(os.environ.get("SKLOPT_TESTS_GLOBAL_RANDOM_SEED", 42))


@pytest.fixture
def pyplot():
    """Give pyplot with the Agg backend and close all figures afterwards."""
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.fixture
def small_classification():
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=120, n_features=6, n_informative=4, n_classes=3, random_state=0
    )


@pytest.fixture
def small_regression():
    from sklearn.datasets import make_regression

    return make_regression(n_samples=120, n_features=6, noise=1.0, random_state=0)


def pytest_collection_modifyitems(config, items):
    """Skip ``gpu`` tests cleanly where CUDA is unavailable."""
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if not has_cuda:
        skip = pytest.mark.skip(reason="needs a CUDA device")
        for item in gpu_items:
            item.add_marker(skip)
