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


def _missing_text(frame, numeric):
    """'N missing feature values (...)' for the description, or ''."""
    counts = frame.isna().sum()
    counts = counts[counts > 0]
    if counts.empty:
        return ""
    parts = []
    n_numeric = int(counts[counts.index.isin(numeric)].sum())
    n_other = int(counts.sum()) - n_numeric
    if n_numeric:
        parts.append(
            f"{n_numeric} missing numeric values, imputed with the median of "
            "the training rows"
        )
    if n_other:
        parts.append(
            f"{n_other} missing categorical values, encoded as all-zero "
            "indicator columns"
        )
    return "; " + "; ".join(parts) + f" ({len(counts)} columns)"


def load_csv(path, target, *, missing="error"):
    """Return ``(X, y, description)`` from a CSV file with a target column.

    Non-numeric feature columns are one-hot encoded. ``missing='error'``
    refuses missing values; ``missing='impute'`` drops the rows without a
    target, keeps missing numeric features as NaN for a ``SimpleImputer`` in
    the model (the caller's promise: the description says they are imputed
    with the median) and encodes a missing category as all-zero indicators;
    the description counts them.
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
    note = ""
    if missing == "error" and frame.isna().any().any():
        raise CLIError(
            f"--data: {path.name} has missing values; fill or drop them first."
        )
    if frame[target].isna().any():
        dropped = int(frame[target].isna().sum())
        frame = frame[frame[target].notna()]
        note = f"; {dropped} rows without a {target!r} value dropped"
    y = frame.pop(target).to_numpy()
    if frame.shape[1] == 0:
        raise CLIError(
            f"--data: {path.name} has no feature columns besides {target!r}."
        )
    if len(frame) < 10:
        raise CLIError(
            f"--data: {path.name} has {len(frame)} rows; at least 10 are needed."
        )
    numeric = frame.select_dtypes("number").columns
    note = _missing_text(frame, numeric) + note
    if numeric.size and frame[numeric].isna().all().any():
        empty = [str(c) for c in numeric if frame[c].isna().all()]
        raise CLIError(f"--data: columns without any value: {', '.join(empty)}.")
    X = pd.get_dummies(frame, dtype=np.float64).to_numpy(dtype=np.float64)
    return (
        X,
        y,
        (f"{path.name} ({X.shape[0]} rows, {frame.shape[1]} feature columns{note})"),
    )


#: Numeric targets with more distinct values than this are continuous.
MAX_CLASSES = 20


def is_classification(y):
    """True for class labels, False for continuous targets.

    Strings and booleans are labels, non-integer numbers are continuous, and
    integer-valued numbers are labels unless they take more than
    :data:`MAX_CLASSES` distinct values (a count such as diabetes'
    progression score is a quantity, not 214 classes).
    """
    from sklearn.utils.multiclass import type_of_target

    if type_of_target(y) not in ("binary", "multiclass"):
        return False
    y = np.asarray(y)
    if y.dtype.kind in "iuf":
        return len(np.unique(y)) <= MAX_CLASSES
    return True
