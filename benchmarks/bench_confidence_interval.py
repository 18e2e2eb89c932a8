"""``score_confidence_interval``: metrics of all resamples at once against
one scikit-learn call per resample; prints a Markdown table.

Data: logistic regression on breast cancer, the 143 test samples of
``train_test_split(random_state=0)``. For f1 (labels), roc_auc (probabilities
of class 1) and log_loss (``predict_proba``), the vectorised path
(``metric='f1'``...) runs against the per-resample path (the same
scikit-learn function passed as a callable, which is what the names did
before), both with the same ``random_state``; accuracy is the reference the
vectorised metrics aim for. The table also checks that both paths give the
same interval.

Run from the repository root:
``PYTHONPATH=$PWD python benchmarks/bench_confidence_interval.py
[--repeats 3] [--n-resamples 1999]``. Times are medians of ``--repeats``
interleaved runs; the vectorised path is also timed at the default 9,999
resamples.
"""

import argparse
import datetime
import os
import platform
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from sklearn import metrics  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from sklopt.model_selection import score_confidence_interval  # noqa: E402


def _data():
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    model = LogisticRegression(max_iter=5000).fit(X_train, y_train)
    proba = model.predict_proba(X_test)
    return y_test, {
        "accuracy": (model.predict(X_test), metrics.accuracy_score),
        "f1": (model.predict(X_test), metrics.f1_score),
        "roc_auc": (proba[:, 1], metrics.roc_auc_score),
        "log_loss": (proba, metrics.log_loss),
    }


def _median_time(repeats, y_true, y_pred, **kwargs):
    """Median seconds of ``score_confidence_interval`` and its result."""
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = score_confidence_interval(y_true, y_pred, random_state=0, **kwargs)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-resamples", type=int, default=1999)
    args = parser.parse_args()
    y_true, cases = _data()
    print(
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{len(y_true)} samples, medians of {args.repeats} runs\n"
    )
    print(
        f"| metric | vectorised, {args.n_resamples} resamples (s) | per resample "
        f"(s) | ratio | same interval | vectorised, 9999 resamples (s) |"
    )
    print("|---|---:|---:|---:|---|---:|")
    for name, (y_pred, func) in cases.items():
        n = args.n_resamples
        fast_s, fast = _median_time(
            args.repeats, y_true, y_pred, metric=name, n_resamples=n
        )
        slow_s, slow = _median_time(
            args.repeats, y_true, y_pred, metric=func, n_resamples=n
        )
        full_s, _ = _median_time(args.repeats, y_true, y_pred, metric=name)
        same = np.allclose(fast, slow, rtol=1e-10, atol=0)
        print(
            f"| {name} | {fast_s:.3f} | {slow_s:.2f} | {slow_s / fast_s:.0f}x | "
            f"{'yes' if same else 'NO'} | {full_s:.3f} |"
        )


if __name__ == "__main__":
    main()
