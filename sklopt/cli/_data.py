"""Data for the command line: bundled datasets or a user's CSV file."""

from pathlib import Path

import numpy as np

BUNDLED = ("digits", "breast_cancer", "iris", "wine", "diabetes", "friedman1")


class CLIError(Exception):
    """An error in the command's arguments or data; printed as one line."""


def load_bundled(name, random_state=0):
    """Return ``(X, y, description)`` for a dataset that ships with sklearn."""
    from sklearn import datasets

    if name == "friedman1":
        X, y = datasets.make_friedman1(
            n_samples=500, noise=1.0, random_state=random_state
        )
        return X, y, "make_friedman1 (500 rows, 10 features, noise 1.0)"
    loader = getattr(datasets, f"load_{name}")
    bunch = loader()
    return bunch.data, bunch.target, f"sklearn's {name} ({bunch.data.shape[0]} rows)"


def load_csv(path, target):
    """Return ``(X, y, description)`` from a CSV file with a target column.

    Non-numeric feature columns are one-hot encoded; rows with missing values
    are an error (the studies do not impute).
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise CLIError(f"--data: no such file: {path}")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise CLIError(f"--data: cannot read {path} as CSV ({exc}).") from exc
    if target is None:
        raise CLIError(
            "--target is required with --data (the name of the label column)."
        )
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:10]))
        raise CLIError(
            f"--target: no column {target!r} in {path.name}; columns: {columns}"
        )
    if frame.isna().any().any():
        raise CLIError(
            f"--data: {path.name} has missing values; fill or drop them first."
        )
    y = frame.pop(target).to_numpy()
    if frame.shape[1] == 0:
        raise CLIError(
            f"--data: {path.name} has no feature columns besides {target!r}."
        )
    if len(frame) < 10:
        raise CLIError(
            f"--data: {path.name} has {len(frame)} rows; at least 10 are needed."
        )
    X = pd.get_dummies(frame, dtype=np.float64).to_numpy(dtype=np.float64)
    return X, y, f"{path.name} ({X.shape[0]} rows, {frame.shape[1]} feature columns)"


def is_classification(y):
    """True for class labels, False for continuous targets."""
    from sklearn.utils.multiclass import type_of_target

    return type_of_target(y) in ("binary", "multiclass")
