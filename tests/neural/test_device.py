"""Device resolution and CUDA (the ``gpu`` tests skip without CUDA)."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from sklopt.neural import CNNClassifier, MLPClassifier
from sklopt.neural._data import _BatchIterator, _TensorData
from sklopt.neural._device import _derive_seed, _RandomStreams, _resolve_device

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*maximum number of epochs:sklearn.exceptions.ConvergenceWarning"
)


def test_auto_device_matches_cuda_availability(iris):
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert _resolve_device("auto") == expected
    X, y = iris
    clf = MLPClassifier((4,), max_epochs=1, random_state=0).fit(X, y)
    assert clf.device_ == expected


def test_derive_seed():
    assert _derive_seed(3) == _derive_seed(3)
    rng = np.random.RandomState(0)
    assert _derive_seed(rng) != _derive_seed(rng)
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    assert _derive_seed(None) != _derive_seed(None)
    np.testing.assert_array_equal(state, np.random.get_state()[1])  # noqa: NPY002


def test_random_streams_are_independent_and_pickle():
    streams = _RandomStreams(5)
    assert len(set(streams.seeds.values())) == 7
    torch.randn(3, generator=streams.noise)
    streams.mixing.random()
    clone = pickle.loads(pickle.dumps(streams))
    assert torch.equal(
        torch.randn(4, generator=streams.noise), torch.randn(4, generator=clone.noise)
    )
    assert streams.mixing.random() == clone.mixing.random()


def test_batch_iterator_slices_shuffled_tensors():
    X = torch.arange(10.0)[:, None]
    y = torch.arange(10)
    iterator = _BatchIterator(
        _TensorData(X, y), 4, generator=torch.Generator().manual_seed(0)
    )
    batches = list(iterator)
    assert [len(b[0]) for b in batches] == [4, 4, 2] and len(iterator) == 3
    seen = torch.cat([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    for Xb, yb, wb in batches:
        assert torch.equal(Xb[:, 0].long(), yb) and wb is None
    assert list(_BatchIterator(_TensorData(X, y), 3, drop_single=True).__iter__())[-1][
        1
    ].tolist() == [6, 7, 8]


# ---- CUDA (run by the lead on a GPU machine) ----------------------------------
@pytest.mark.gpu
def test_cuda_fit_predict_close_to_cpu(iris):
    X, y = iris
    params = dict(
        hidden_layer_sizes=(16,),
        optimizer="sgd",
        lr=0.05,
        batch_size="full",
        max_epochs=20,
        tol=0,
        random_state=0,
    )
    gpu = MLPClassifier(device="cuda", **params).fit(X, y)
    cpu = MLPClassifier(device="cpu", **params).fit(X, y)
    assert gpu.device_ == "cuda" and next(gpu.net_.module_.parameters()).is_cuda
    proba = gpu.predict_proba(X)
    assert isinstance(proba, np.ndarray)
    np.testing.assert_allclose(proba, cpu.predict_proba(X), atol=1e-4)


@pytest.mark.gpu
def test_cuda_regularizers_and_cnn(digits):
    X, y = digits
    clf = CNNClassifier(
        (4,),
        device="cuda",
        max_epochs=2,
        dropout=0.2,
        input_noise=0.1,
        weight_noise=0.01,
        mixup_alpha=0.2,
        cutmix_alpha=1.0,
        augmentation=["flip", "shift", "crop", "noise"],
        normalization="batch",
        random_state=0,
    ).fit(X[:300], y[:300])
    assert np.isfinite(clf.predict_proba(X[:10])).all()
    clf.partial_fit(X[:300], y[:300])
    assert clf.n_iter_ == 3


@pytest.mark.gpu
def test_auto_picks_cuda(iris):
    X, y = iris
    assert MLPClassifier((4,), max_epochs=1).fit(X, y).device_ == "cuda"


@pytest.mark.gpu
def test_cuda_fitted_pickle_loads_and_predicts_on_cpu_only(iris, tmp_path):
    X, y = iris
    clf = MLPClassifier((8,), device="cuda", max_epochs=5, random_state=0).fit(X, y)
    path = tmp_path / "clf.pkl"
    path.write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "proba.npy", clf.predict_proba(X))
    code = (
        "import pickle, warnings, numpy as np, torch; "
        "assert not torch.cuda.is_available(); "
        f"clf = pickle.loads(open({str(path)!r}, 'rb').read()); "
        f"X = np.load({str(tmp_path / 'X.npy')!r}); "
        f"np.testing.assert_allclose(clf.predict_proba(X), np.load({str(tmp_path / 'proba.npy')!r}), atol=1e-5); "
        "clf.set_params(device='cpu').partial_fit(X, clf.predict(X)); print('ok')"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
