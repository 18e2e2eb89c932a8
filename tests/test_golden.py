"""Golden test: a fixed set of small fits gives the recorded results.

Each entry of :data:`CASES` is a small fit (every optimizer, the regularizers,
the regressor, the CNN, batched and one-by-one bagging, bootstrap replicas,
bias-variance rounds, the .632 estimate) whose predictions and key fitted
attributes (``n_iter_``, ``best_epoch_``, ``history_['train_loss']``) are
stored in ``tests/golden/neural_golden.npz`` under ``"<entry>/<field>"``.
Refactorings of the training code must reproduce them.

Tolerance: training runs in float32, and other CPUs (or other torch
builds) may round the same arithmetic differently, so results are compared
with ``rtol=1e-4, atol=1e-5`` (float32 rounding accumulated over a few
epochs), never for bit-equality; integer attributes must match exactly.

Re-record after an intended change of behaviour::

    python tests/test_golden.py --record            # every entry
    python tests/test_golden.py --record NAME ...   # only these entries

Entries are independent (each is keyed by its name), so re-recording one
leaves the others as they were.
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

GOLDEN = Path(__file__).parent / "golden" / "neural_golden.npz"
RTOL, ATOL = 1e-4, 1e-5


def _clf_data():
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=120, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return X, y


def _reg_data():
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=120, n_features=5, noise=1.0, random_state=0)
    return X, y / y.std()


def _image_data():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:96] / 16.0, y[:96] % 3


def _net_record(est, X):
    out = {
        "n_iter": np.array(est.n_iter_),
        "best_epoch": np.array(est.best_epoch_),
        "train_loss": est.history_["train_loss"].to_numpy(float),
    }
    if hasattr(est, "predict_proba"):
        out["proba"] = est.predict_proba(X)
    out["predict"] = np.asarray(est.predict(X), dtype=float)
    return out


def _mlp(**params):
    from sklopt.neural import MLPClassifier

    defaults = dict(
        hidden_layer_sizes=(8,),
        max_epochs=3,
        batch_size=16,
        device="cpu",
        random_state=0,
    )
    return MLPClassifier(**{**defaults, **params})


def _mlp_case(**params):
    def run():
        X, y = _clf_data()
        return _net_record(_mlp(**params).fit(X, y), X)

    return run


def _regressor_case():
    from sklopt.neural import MLPRegressor

    X, y = _reg_data()
    est = MLPRegressor((8,), max_epochs=3, batch_size=16, random_state=0)
    return _net_record(est.fit(X, y), X)


def _cnn_case(**params):
    def run():
        from sklopt.neural import CNNClassifier

        X, y = _image_data()
        defaults = dict(
            channels=(3, 4),
            max_epochs=2,
            batch_size=16,
            device="cpu",
            random_state=0,
        )
        est = CNNClassifier(**{**defaults, **params})
        return _net_record(est.fit(X, y), X)

    return run


def _bagging_case(batched):
    def run():
        from sklopt.ensemble import BaggingClassifier

        X, y = _clf_data()
        bag = BaggingClassifier(
            _mlp(max_epochs=2), n_estimators=3, random_state=0, batched=batched
        )
        bag.fit(X, y)
        return {
            "proba": bag.predict_proba(X),
            "member_proba": np.stack([m.predict_proba(X) for m in bag.estimators_]),
        }

    return run


def _replicas_case():
    from sklopt.model_selection import BootstrapReplicas

    X, y = _clf_data()
    rep = BootstrapReplicas(_mlp(max_epochs=2), n_rounds=3, random_state=0)
    rep.fit(X, y)
    return {"members": np.asarray(rep.predict_members(X), dtype=float)}


def _bias_variance_case():
    from sklopt.model_selection import bias_variance_decomposition
    from sklopt.neural import MLPRegressor

    X, y = _reg_data()
    est = MLPRegressor((8,), max_epochs=2, batch_size=16, random_state=0)
    result = bias_variance_decomposition(
        est, X[:90], y[:90], X[90:], y[90:], n_rounds=3, random_state=0
    )
    return {
        "loss": np.array(result.loss),
        "bias2": np.array(result.bias2),
        "variance": np.array(result.variance),
    }


def _bootstrap_632_case():
    from sklopt.model_selection import bootstrap_632_score

    X, y = _clf_data()
    score = bootstrap_632_score(
        _mlp(max_epochs=2), X, y, method=".632", n_splits=3, random_state=0
    )
    return {"score": np.array(score)}


def _cases():
    from sklopt.neural import OPTIMIZERS

    cases = {f"optimizer_{name}": _mlp_case(optimizer=name) for name in OPTIMIZERS}
    regularizers = {
        "weight_decay": {"weight_decay": 0.05},
        "l1": {"l1": 1e-3, "optimizer": "momentum"},
        "dropout": {"dropout": 0.3},
        "norm_batch": {"normalization": "batch"},
        "norm_layer": {"normalization": "layer"},
        "norm_group": {"normalization": "group", "hidden_layer_sizes": (8,)},
        "input_noise": {"input_noise": 0.2},
        "weight_noise": {"weight_noise": 0.02},
        "label_smoothing": {"label_smoothing": 0.2},
        "mixup": {"mixup_alpha": 0.4},
        "augmentation": {"augmentation": "noise"},
        "clip_grad_norm": {"clip_grad_norm": 0.05},
        "schedule_step": {"lr_schedule": "step", "max_epochs": 4},
        "schedule_cosine": {"lr_schedule": "cosine", "max_epochs": 4},
        "schedule_plateau": {"lr_schedule": "plateau", "max_epochs": 4},
        "early_stopping": {
            "early_stopping": True,
            "patience": 2,
            "max_epochs": 6,
            "lr": 0.05,
        },
    }
    cases.update({name: _mlp_case(**p) for name, p in regularizers.items()})
    cases["regressor"] = _regressor_case
    cases["cnn"] = _cnn_case()
    cases["cnn_cutmix"] = _cnn_case(cutmix_alpha=1.0)
    cases["cnn_batch_norm"] = _cnn_case(normalization="batch", optimizer="momentum")
    cases["bagging_batched"] = _bagging_case(True)
    cases["bagging_apart"] = _bagging_case(False)
    cases["bootstrap_replicas"] = _replicas_case
    cases["bias_variance"] = _bias_variance_case
    cases["bootstrap_632"] = _bootstrap_632_case
    return cases


def _run(name):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the recorded runs used one thread
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _cases()[name]()
    finally:
        torch.set_num_threads(threads)


def _load():
    with np.load(GOLDEN) as data:
        stored = {key: data[key] for key in data.files}
    entries = {}
    for key, value in stored.items():
        name, field = key.split("/", 1)
        entries.setdefault(name, {})[field] = value
    return entries


#: The recorded entries.
CASE_NAMES = sorted(_load())


def test_every_case_is_recorded():
    assert sorted(_cases()) == CASE_NAMES


@pytest.mark.parametrize("name", CASE_NAMES)
def test_golden(name):
    expected = _load()[name]
    got = _run(name)
    assert sorted(got) == sorted(expected)
    for field, value in expected.items():
        if value.dtype.kind in "iu":
            np.testing.assert_array_equal(got[field], value, err_msg=field)
        else:
            np.testing.assert_allclose(
                got[field], value, rtol=RTOL, atol=ATOL, err_msg=f"{name}/{field}"
            )


def _record(names):
    entries = _load() if GOLDEN.exists() else {}
    for name in names or list(_cases()):
        print("recording", name)
        entries[name] = _run(name)
    GOLDEN.parent.mkdir(exist_ok=True)
    flat = {
        f"{name}/{field}": np.asarray(value)
        for name, fields in sorted(entries.items())
        for field, value in fields.items()
    }
    np.savez_compressed(GOLDEN, **flat)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "--record":
        sys.exit(__doc__)
    _record(sys.argv[2:])
