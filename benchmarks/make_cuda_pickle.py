"""Fit a small MLP on CUDA and save it as pickle, joblib and skops files.

Run on a machine with a CUDA device::

    PYTHONPATH=$PWD python benchmarks/make_cuda_pickle.py OUT_DIR

``OUT_DIR`` then holds ``model.pkl``, ``model.joblib``, ``model.skops``, the
inputs ``X.npy``, the probabilities predicted on CUDA ``proba.npy`` and
``meta.json`` (versions, device, the skops types to trust). Copy the folder to
a CPU-only machine and run::

    SKLOPT_CUDA_PICKLES=OUT_DIR pytest tests/test_persistence.py

which loads each file in a process without CUDA and checks the predictions.
"""

import argparse
import json
import pathlib
import pickle
import platform

import joblib
import numpy as np
import sklearn
import skops.io as sio
import torch
from sklearn.datasets import load_digits

import sklopt
from sklopt.neural import MLPClassifier


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=pathlib.Path, help="folder to write")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        parser.error("this script needs a CUDA device")
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)

    X, y = load_digits(return_X_y=True)
    X = (X[:500] / 16.0).astype(np.float64)
    y = y[:500]
    model = MLPClassifier(
        (32,), device="cuda", max_epochs=20, dropout=0.1, random_state=0
    ).fit(X, y)
    assert next(model.net_.module_.parameters()).is_cuda

    np.save(out / "X.npy", X)
    np.save(out / "proba.npy", model.predict_proba(X))
    (out / "model.pkl").write_bytes(pickle.dumps(model))
    joblib.dump(model, out / "model.joblib")
    sio.dump(model, out / "model.skops")
    meta = {
        "trusted": sio.get_untrusted_types(file=out / "model.skops"),
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "sklopt": sklopt.__version__,
        "python": platform.python_version(),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2))
    print(f"wrote {sorted(p.name for p in out.iterdir())} to {out}")


if __name__ == "__main__":
    main()
