"""Benchmark sklopt.ensemble against scikit-learn's counterparts.

Same base estimator and settings on both sides, 5-fold cross-validation
(stratified for classifiers, one shuffle): the mean test score of each
(accuracy or R^2), their difference, and the ratio of total fit times
(ours / scikit-learn's, medians of ``--repeats`` runs each; every fold fits
both back to back, in alternating order, so that load from other processes
hits both alike).

Run from the repository root::

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python benchmarks/bench_ensembles.py

Bars: score within 1.5 accuracy points (R^2 within 0.02), fit-time ratio
<= 1.25.
"""

import argparse
import datetime
import os
import platform
import time

import numpy as np
import sklearn
from sklearn import ensemble as sk
from sklearn.datasets import load_breast_cancer, load_digits, make_friedman1
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from sklopt import ensemble as ours


def _datasets():
    X_friedman, y_friedman = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
    return {
        "digits": load_digits(return_X_y=True),
        "breast_cancer": load_breast_cancer(return_X_y=True),
        "friedman1": (X_friedman, y_friedman),
    }


def _cases():
    """(dataset, label, our estimator, scikit-learn's estimator)."""
    tree = DecisionTreeClassifier(random_state=0)
    stump = DecisionTreeClassifier(max_depth=1, random_state=0)
    depth2 = DecisionTreeClassifier(max_depth=2, random_state=0)
    rtree = DecisionTreeRegressor(random_state=0)
    cases = []
    for data in ("digits", "breast_cancer"):
        cases += [
            (
                data,
                "Bagging(tree, 50)",
                ours.BaggingClassifier(tree, n_estimators=50, random_state=0),
                sk.BaggingClassifier(tree, n_estimators=50, random_state=0),
            ),
            (
                data,
                "AdaBoost(stump, 200)",
                ours.AdaBoostClassifier(stump, n_estimators=200, random_state=0),
                sk.AdaBoostClassifier(stump, n_estimators=200, random_state=0),
            ),
            (
                data,
                "AdaBoost(depth-2, 100)",
                ours.AdaBoostClassifier(depth2, n_estimators=100, random_state=0),
                sk.AdaBoostClassifier(depth2, n_estimators=100, random_state=0),
            ),
        ]
    cases += [
        (
            "digits",
            "Bagging(k-NN, 20)",
            ours.BaggingClassifier(KNeighborsClassifier(), 20, random_state=0),
            sk.BaggingClassifier(KNeighborsClassifier(), 20, random_state=0),
        ),
        (
            "friedman1",
            "Bagging(Ridge, 20)",
            ours.BaggingRegressor(Ridge(), 20, random_state=0),
            sk.BaggingRegressor(Ridge(), 20, random_state=0),
        ),
        (
            "digits",
            "GradientBoosting(log_loss, 50)",
            ours.GradientBoostingClassifier(n_estimators=50, random_state=0),
            sk.GradientBoostingClassifier(n_estimators=50, random_state=0),
        ),
        (
            "breast_cancer",
            "GradientBoosting(log_loss, 100)",
            ours.GradientBoostingClassifier(random_state=0),
            sk.GradientBoostingClassifier(random_state=0),
        ),
        (
            "friedman1",
            "Bagging(tree, 50)",
            ours.BaggingRegressor(rtree, n_estimators=50, random_state=0),
            sk.BaggingRegressor(rtree, n_estimators=50, random_state=0),
        ),
        (
            "friedman1",
            "AdaBoost.R2(depth-3, 50)",
            ours.AdaBoostRegressor(random_state=0),
            sk.AdaBoostRegressor(random_state=0),
        ),
    ]
    for loss in ("squared_error", "absolute_error", "huber"):
        cases.append(
            (
                "friedman1",
                f"GradientBoosting({loss}, 100)",
                ours.GradientBoostingRegressor(loss=loss, random_state=0),
                sk.GradientBoostingRegressor(loss=loss, random_state=0),
            )
        )
    cases.append(
        (
            "friedman1",
            "GradientBoosting(squared_error, 100, subsample=0.5)",
            ours.GradientBoostingRegressor(subsample=0.5, random_state=0),
            sk.GradientBoostingRegressor(subsample=0.5, random_state=0),
        )
    )
    return cases


def _fit_timed(estimator, X, y, train, test):
    """Fit a clone on the train rows; return its test score and fit time."""
    model = sklearn.base.clone(estimator)
    start = time.perf_counter()
    model.fit(X[train], y[train])
    elapsed = time.perf_counter() - start
    return model.score(X[test], y[test]), elapsed


def _compare(mine, theirs, X, y, cv, repeats):
    """Mean CV scores of both and their total fit times per repeat.

    Each fold fits both models back to back, in alternating order, so that
    load from other processes on the machine hits both alike.
    """
    scores = {"ours": [], "sklearn": []}
    times = {"ours": np.zeros(repeats), "sklearn": np.zeros(repeats)}
    models = {"ours": mine, "sklearn": theirs}
    for repeat in range(repeats):
        for fold, (train, test) in enumerate(cv.split(X, y)):
            order = ["ours", "sklearn"][:: 1 if (repeat + fold) % 2 == 0 else -1]
            for side in order:
                score, elapsed = _fit_timed(models[side], X, y, train, test)
                times[side][repeat] += elapsed
                if repeat == 0:
                    scores[side].append(score)
    return (
        float(np.mean(scores["ours"])),
        float(np.mean(scores["sklearn"])),
        float(np.median(times["ours"])),
        float(np.median(times["sklearn"])),
    )


def run(repeats=3, only=None):
    data = _datasets()
    rows = []
    for name, label, mine, theirs in _cases():
        if only and only not in f"{name} {label}":
            continue
        X, y = data[name]
        is_classifier = sklearn.base.is_classifier(mine)
        cv = (StratifiedKFold if is_classifier else KFold)(
            5, shuffle=True, random_state=0
        )
        score_ours, score_sk, t_ours, t_sk = _compare(mine, theirs, X, y, cv, repeats)
        ratio = t_ours / t_sk
        scale = 100.0 if is_classifier else 1.0
        diff = scale * (score_ours - score_sk)
        bar = 1.5 if is_classifier else 0.02
        ok = abs(diff) <= bar and ratio <= 1.25
        rows.append(
            (
                name,
                label,
                scale * score_ours,
                scale * score_sk,
                diff,
                t_sk,
                ratio,
                "yes" if ok else "NO",
            )
        )
        print(_format_row(rows[-1]), flush=True)
    return rows


_HEADER = (
    "| dataset | model | ours | sklearn | diff | sklearn fit (s) | "
    "time ratio | meets bar |\n|---|---|---|---|---|---|---|---|"
)


def _format_row(row):
    name, label, mine, theirs, diff, t_sk, ratio, ok = row
    digits = 2 if abs(mine) > 1.5 else 4
    return (
        f"| {name} | {label} | {mine:.{digits}f} | {theirs:.{digits}f} | "
        f"{diff:+.{digits}f} | {t_sk:.2f} | {ratio:.2f} | {ok} |"
    )


def _cpu_name():
    """The CPU model (Linux), else what the platform module knows."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default=None, help="run cases matching this text")
    args = parser.parse_args()
    print(
        f"# {datetime.date.today()} | {_cpu_name()}"
        f" | {os.cpu_count()} cores | Python {platform.python_version()} | "
        f"scikit-learn {sklearn.__version__} | OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    print("Scores: accuracy in % (classifiers), R^2 (regressors); 5-fold CV.")
    print(f"Time ratio: ours / scikit-learn's, median of {args.repeats}.\n")
    print(_HEADER)
    run(repeats=args.repeats, only=args.only)


if __name__ == "__main__":
    main()
