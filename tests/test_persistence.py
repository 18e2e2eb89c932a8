"""Persistence of every fitted public estimator: pickle, joblib and skops.io
round trips predict identically; neural estimators continue training
identically after a round trip; a model saved on CUDA loads on the CPU.

``TRUSTED_TYPES`` is the list of types that ``skops.io.load`` needs to be
told to trust, per estimator; ``docs/persistence.rst`` documents the same
lists (checked below).
"""

import io
import os
import pathlib
import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.datasets import load_iris

from sklopt.ensemble import (
    AdaBoostClassifier,
    BaggingClassifier,
    BaggingRegressor,
    GradientBoostingRegressor,
)
from sklopt.model_selection import BootstrapReplicas
from sklopt.neural import CNNClassifier, MLPClassifier, MLPRegressor
from sklopt.utils import all_estimators
from sklopt.utils._testing import construct_instances

sio = pytest.importorskip("skops.io")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ROOT = pathlib.Path(__file__).resolve().parents[1]
TREE = "sklearn.tree._tree.Tree"
_MODULES = {
    "AdaBoostClassifier": "sklopt.ensemble._weight_boosting",
    "AdaBoostRegressor": "sklopt.ensemble._weight_boosting",
    "BaggingClassifier": "sklopt.ensemble._bagging",
    "BaggingRegressor": "sklopt.ensemble._bagging",
    "BootstrapReplicas": "sklopt.model_selection._replicas",
    "CNNClassifier": "sklopt.neural._cnn",
    "GradientBoostingClassifier": "sklopt.ensemble._gradient_boosting",
    "GradientBoostingRegressor": "sklopt.ensemble._gradient_boosting",
    "GridSearchCV": "sklopt.model_selection._search",
    "MLPClassifier": "sklopt.neural._mlp",
    "MLPRegressor": "sklopt.neural._mlp",
    "RandomizedSearchCV": "sklopt.model_selection._search",
}


def _type_name(name):
    return f"{_MODULES[name]}.{name}"


#: What skops.io.load must be told to trust, for each estimator with its
#: default (tree) or registered base estimator.
TRUSTED_TYPES = {
    "AdaBoostClassifier": [TREE, _type_name("AdaBoostClassifier")],
    "AdaBoostRegressor": [TREE, _type_name("AdaBoostRegressor")],
    "BaggingClassifier": [TREE, _type_name("BaggingClassifier")],
    "BaggingRegressor": [TREE, _type_name("BaggingRegressor")],
    "BootstrapReplicas": [TREE, _type_name("BootstrapReplicas")],
    "CNNClassifier": [_type_name("CNNClassifier")],
    "GradientBoostingClassifier": [  # iris: three classes
        TREE,
        "sklopt.ensemble._gb_losses._MultinomialLogLoss",
        _type_name("GradientBoostingClassifier"),
    ],
    "GradientBoostingRegressor": [
        TREE,
        "sklopt.ensemble._gb_losses._SquaredError",
        _type_name("GradientBoostingRegressor"),
    ],
    "MLPClassifier": [_type_name("MLPClassifier")],
    "MLPRegressor": [_type_name("MLPRegressor")],
    # the searches of the registry: a network and the splitter and scorer kept
    "GridSearchCV": [
        "sklearn.metrics._scorer._PassthroughScorer",
        "sklearn.model_selection._split.StratifiedKFold",
        _type_name("GridSearchCV"),
        _type_name("MLPClassifier"),
    ],
    "RandomizedSearchCV": [
        "sklearn.metrics._scorer._PassthroughScorer",
        "sklearn.model_selection._split.KFold",
        _type_name("RandomizedSearchCV"),
        _type_name("MLPRegressor"),
    ],
}
#: The gradient-boosting losses other than the default ones.
OTHER_GB_LOSSES = {
    "absolute_error": "sklopt.ensemble._gb_losses._AbsoluteError",
    "huber": "sklopt.ensemble._gb_losses._HuberLoss",
}
BINARY_GB_LOSS = "sklopt.ensemble._gb_losses._BinomialLogLoss"


@pytest.fixture(scope="module")
def iris_std():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def _target(estimator, X, y):
    return y if is_classifier(estimator) else X[:, 0] * 3


def _outputs(estimator, X):
    outputs = {"predict": estimator.predict(X)}
    for method in (
        "predict_proba",
        "decision_function",
        "predict_members",
        "predict_proba_members",
    ):
        if hasattr(estimator, method):
            outputs[method] = getattr(estimator, method)(X)
    if hasattr(estimator, "staged_predict"):
        outputs["staged_predict"] = np.stack(list(estimator.staged_predict(X)))
    return outputs


def _assert_same_outputs(first, second):
    assert first.keys() == second.keys()
    for method in first:
        np.testing.assert_array_equal(first[method], second[method], err_msg=method)


def _pickle(estimator, trusted):
    return pickle.loads(pickle.dumps(estimator))


def _joblib(estimator, trusted):
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


def _skops(estimator, trusted):
    data = sio.dumps(estimator)
    assert sorted(sio.get_untrusted_types(data=data)) == sorted(trusted)
    return sio.loads(data, trusted=trusted)


FORMATS = {"pickle": _pickle, "joblib": _joblib, "skops": _skops}


def _instances():
    for name, estimator_class in all_estimators():
        for i, estimator in enumerate(construct_instances(estimator_class)):
            yield pytest.param(name, estimator, id=f"{name}-{i}")


@pytest.fixture(scope="module")
def fitted(iris_std):
    X, y = iris_std
    cache = {}

    def fit(estimator):
        key = repr(estimator)
        if key not in cache:
            estimator = clone(estimator)
            if "random_state" in estimator.get_params(deep=False):
                estimator.set_params(random_state=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cache[key] = estimator.fit(X, _target(estimator, X, y))
        return cache[key]

    return fit


def test_trusted_types_cover_every_estimator():
    assert sorted(TRUSTED_TYPES) == sorted(name for name, _ in all_estimators())


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("name, estimator", list(_instances()))
def test_round_trip_predicts_identically(iris_std, fitted, name, estimator, fmt):
    X, _ = iris_std
    model = fitted(estimator)
    loaded = FORMATS[fmt](model, TRUSTED_TYPES[name])
    assert type(loaded) is type(model) and loaded is not model
    _assert_same_outputs(_outputs(model, X), _outputs(loaded, X))
    assert loaded.get_params(deep=False).keys() == model.get_params(deep=False).keys()


def _neural_ensembles():
    clf = MLPClassifier((4,), max_epochs=3, device="cpu")
    reg = MLPRegressor((4,), max_epochs=3, device="cpu")
    return [
        (
            BaggingClassifier(clf, n_estimators=2),
            ["BaggingClassifier", "MLPClassifier"],
        ),
        (BaggingRegressor(reg, n_estimators=2), ["BaggingRegressor", "MLPRegressor"]),
        (
            AdaBoostClassifier(clf, n_estimators=2),
            ["AdaBoostClassifier", "MLPClassifier"],
        ),
        (
            GradientBoostingRegressor(reg, n_estimators=2),
            ["GradientBoostingRegressor", "MLPRegressor"],
        ),
        (BootstrapReplicas(clf, n_rounds=2), ["BootstrapReplicas", "MLPClassifier"]),
    ]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize(
    "estimator, names", _neural_ensembles(), ids=lambda v: type(v).__name__
)
def test_ensembles_of_neural_members_round_trip(
    iris_std, fitted, estimator, names, fmt
):
    X, _ = iris_std
    model = fitted(estimator)
    trusted = [_type_name(name) for name in names]
    if isinstance(model, GradientBoostingRegressor):
        trusted.append("sklopt.ensemble._gb_losses._SquaredError")
    loaded = FORMATS[fmt](model, trusted)
    _assert_same_outputs(_outputs(model, X), _outputs(loaded, X))


@pytest.mark.parametrize(
    "estimator, loss_type",
    [
        (
            GradientBoostingRegressor(loss="absolute_error", n_estimators=2),
            "absolute_error",
        ),
        (GradientBoostingRegressor(loss="huber", n_estimators=2), "huber"),
    ],
)
def test_other_gradient_boosting_losses_with_skops(iris_std, estimator, loss_type):
    X, _ = iris_std
    model = estimator.fit(X, X[:, 0])
    trusted = [
        TREE,
        OTHER_GB_LOSSES[loss_type],
        _type_name("GradientBoostingRegressor"),
    ]
    _assert_same_outputs(_outputs(model, X), _outputs(_skops(model, trusted), X))


def test_binary_gradient_boosting_with_skops(iris_std):
    from sklopt.ensemble import GradientBoostingClassifier

    X, y = iris_std
    model = GradientBoostingClassifier(n_estimators=2, random_state=0).fit(X, y > 0)
    trusted = [TREE, BINARY_GB_LOSS, _type_name("GradientBoostingClassifier")]
    _assert_same_outputs(_outputs(model, X), _outputs(_skops(model, trusted), X))


def test_documented_trusted_types_match():
    """docs/persistence.rst lists every trusted type used here."""
    text = (ROOT / "docs" / "persistence.rst").read_text()
    documented = set()
    for types in TRUSTED_TYPES.values():
        documented.update(types)
    documented.update(OTHER_GB_LOSSES.values())
    documented.add(BINARY_GB_LOSS)
    missing = sorted(t for t in documented if f'"{t}"' not in text)
    assert not missing, missing


NEURAL_CONTINUATION = [
    MLPClassifier(
        (16,),
        max_epochs=3,
        weight_decay=1e-3,
        dropout=0.2,
        lr_schedule="cosine",
        mixup_alpha=0.2,
        input_noise=0.1,
        weight_noise=0.01,
    ),
    MLPClassifier(
        (16,),
        max_epochs=4,
        early_stopping=True,
        optimizer="rmsprop",
        normalization="batch",
    ),
    MLPRegressor((8,), max_epochs=3, optimizer="adagrad", lr_schedule="plateau"),
    CNNClassifier(
        (4,),
        image_shape=(1, 2, 2),
        max_epochs=2,
        normalization="batch",
        augmentation="noise",
        label_smoothing=0.1,
    ),
]


@pytest.mark.parametrize("fmt", ["pickle", "skops"])
@pytest.mark.parametrize(
    "template", NEURAL_CONTINUATION, ids=lambda e: type(e).__name__
)
def test_neural_training_continues_identically_after_a_round_trip(
    iris_std, template, fmt
):
    """Weights, optimizer state, history and random streams all survive."""
    X, y = iris_std
    template = clone(template).set_params(device="cpu", random_state=0)
    target = _target(template, X, y)
    model = clone(template).fit(X, target)
    loaded = FORMATS[fmt](model, TRUSTED_TYPES[type(model).__name__])
    assert loaded.history_.equals(model.history_)
    assert (loaded.n_iter_, loaded.best_epoch_) == (model.n_iter_, model.best_epoch_)
    # Continue the loaded model and an identical model that was never saved.
    reference = clone(template).fit(X, target)
    for estimator in (loaded, reference):
        estimator.set_params(warm_start=True, max_epochs=2).fit(X, target)
        estimator.partial_fit(X, target)
    _assert_same_outputs(_outputs(loaded, X), _outputs(reference, X))
    columns = [c for c in loaded.history_.columns if c != "dur"]
    assert loaded.history_[columns].equals(reference.history_[columns])


def test_set_params_after_fit_does_not_change_the_saved_network(iris_std):
    """The network is rebuilt from the hyperparameters it was fitted with."""
    X, y = iris_std
    model = MLPClassifier((8,), max_epochs=2, device="cpu", random_state=0).fit(X, y)
    model.set_params(hidden_layer_sizes=(3, 3), optimizer="sgd", lr=0.5)
    loaded = pickle.loads(pickle.dumps(model))
    assert loaded.hidden_layer_sizes == (3, 3)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert type(loaded.net_.optimizer_).__name__ == "Adam"


class _GlobalsRecorder(pickle.Unpickler):
    """Unpickler that records the modules of the classes a pickle refers to."""

    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.modules = set()

    def find_class(self, module, name):
        self.modules.add(module)
        return super().find_class(module, name)


def test_pickles_refer_to_no_torch_class(iris_std):
    X, y = iris_std
    model = CNNClassifier((4,), image_shape=(1, 2, 2), max_epochs=2, device="cpu")
    model.set_params(random_state=0, lr_schedule="step", early_stopping=True).fit(X, y)
    recorder = _GlobalsRecorder(pickle.dumps(model))
    recorder.load()
    assert recorder.modules, "the recorder saw no class"
    assert not {m for m in recorder.modules if m.split(".")[0] in ("torch", "skorch")}


def test_state_saved_on_cuda_loads_on_the_cpu(iris_std, monkeypatch):
    """A model whose net lived on CUDA is rebuilt on the CPU where CUDA is
    missing (simulated here: the state is that of a CUDA fit)."""
    import torch

    X, y = iris_std
    model = MLPClassifier((8,), max_epochs=2, device="cpu", random_state=0).fit(X, y)
    state = model.__getstate__()
    state["_net_state"]["device"] = "cuda"
    state["_net_state"]["streams"]["device"] = "cuda"
    state["device_"] = "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = MLPClassifier.__new__(MLPClassifier)
    with pytest.warns(UserWarning, match="fitted on 'cuda'.*loaded on the CPU"):
        loaded.__setstate__(pickle.loads(pickle.dumps(state)))
    assert loaded.device_ == "cpu"
    assert next(loaded.net_.module_.parameters()).device.type == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    loaded.set_params(device="cpu").partial_fit(X, y)
    assert loaded.n_iter_ == 3


def test_pickles_of_the_previous_format_still_load(iris_std):
    """Pickles that hold the skorch net itself (before the portable state)."""
    X, y = iris_std
    model = MLPClassifier((8,), max_epochs=2, device="cpu", random_state=0).fit(X, y)
    old_state = dict(vars(model))  # what pickle stored: net_ and all
    loaded = MLPClassifier.__new__(MLPClassifier)
    loaded.__setstate__(pickle.loads(pickle.dumps(old_state)))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


# --- CUDA (the lead runs these on a GPU machine) -----------------------------------

_LOAD_AND_CHECK = """
import json, pathlib, pickle, sys, warnings
import joblib, numpy as np, skops.io as sio, torch
assert not torch.cuda.is_available()
folder = pathlib.Path(sys.argv[1])
meta = json.loads((folder / "meta.json").read_text())
X = np.load(folder / "X.npy")
expected = np.load(folder / "proba.npy")
loaders = {
    "pkl": lambda p: pickle.loads(p.read_bytes()),
    "joblib": joblib.load,
    "skops": lambda p: sio.load(p, trusted=meta["trusted"]),
}
for suffix, load in loaders.items():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load(folder / f"model.{suffix}")
    assert any("loaded on the CPU" in str(w.message) for w in caught), suffix
    assert model.device_ == "cpu", suffix
    np.testing.assert_allclose(model.predict_proba(X), expected, atol=1e-5)
    model.set_params(device="cpu").partial_fit(X, model.predict(X))
print("ok")
"""


def _check_in_cpu_only_process(folder):
    env = {
        **os.environ,
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
        ),
    }
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_AND_CHECK, str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


@pytest.mark.gpu
def test_cuda_fitted_model_loads_and_predicts_on_a_cpu_only_machine(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "make_cuda_pickle.py"),
            str(tmp_path),
        ],
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
            ),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    _check_in_cpu_only_process(tmp_path)


_CUDA_PICKLES = os.environ.get("SKLOPT_CUDA_PICKLES")


@pytest.mark.skipif(
    not _CUDA_PICKLES,
    reason="set SKLOPT_CUDA_PICKLES to a folder written by "
    "benchmarks/make_cuda_pickle.py on a CUDA machine",
)
def test_files_saved_on_a_cuda_machine_load_here():
    _check_in_cpu_only_process(pathlib.Path(_CUDA_PICKLES))
