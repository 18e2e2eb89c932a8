"""Benchmarks of sklopt.model_selection; prints Markdown tables.

1. ``bias_variance_decomposition`` against mlxtend's ``bias_variance_decomp``
   on the same work (DecisionTreeRegressor, make_friedman1 300 train / 200
   test, 200 rounds, same seed): time ratio and equality of the numbers.
2. Peak memory (tracemalloc, in a fresh subprocess per run) for 50 and 200
   rounds: the growth must be the stored predictions only.
3. ``bootstrap_632_score`` with 200 splits against 200 plain fits of the
   same estimator.

Run from the repository root:
``PYTHONPATH=$PWD python benchmarks/bench_model_selection.py [--repeats 5]``.
Times are medians of ``--repeats`` runs; each pair of compared runs is
interleaved, so that load on a shared machine hits both alike.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_breast_cancer, make_friedman1  # noqa: E402
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # noqa: E402

from sklopt.model_selection import (  # noqa: E402
    BootstrapSplit,
    bias_variance_decomposition,
    bootstrap_632_score,
)


def _friedman(n_test=200):
    X, y = make_friedman1(n_samples=300 + n_test, noise=1.0, random_state=0)
    return X[:300], y[:300], X[300:], y[300:]


def _timed(func):
    start = time.perf_counter()
    out = func()
    return time.perf_counter() - start, out


def _median_times(funcs, repeats):
    """Interleaved runs of each callable; return medians and last outputs."""
    times = {name: [] for name in funcs}
    outputs = {}
    for _ in range(repeats):
        for name, func in funcs.items():
            elapsed, outputs[name] = _timed(func)
            times[name].append(elapsed)
    return {name: float(np.median(t)) for name, t in times.items()}, outputs


def bench_against_mlxtend(repeats):
    from mlxtend.evaluate import bias_variance_decomp

    data = _friedman()
    tree = DecisionTreeRegressor(random_state=0)

    def ours(n_jobs):
        def run():
            r = bias_variance_decomposition(
                tree, *data, n_rounds=200, random_state=0, n_jobs=n_jobs
            )
            return r.loss, r.bias2, r.variance

        return run

    def theirs():
        return bias_variance_decomp(
            clone(tree), *data, loss="mse", num_rounds=200, random_seed=0
        )

    ours(2)()  # start the joblib workers once, as any second call finds them
    medians, outputs = _median_times(
        {"mlxtend": theirs, "n_jobs=1": ours(1), "n_jobs=2": ours(2)}, repeats
    )
    diff = max(
        np.max(np.abs(np.subtract(outputs[name], outputs["mlxtend"])))
        for name in ("n_jobs=1", "n_jobs=2")
    )
    print("### bias_variance_decomposition vs mlxtend bias_variance_decomp\n")
    print("DecisionTreeRegressor, make_friedman1 300 train / 200 test, 200 rounds.\n")
    print("| run | median time (s) | speed-up vs mlxtend |")
    print("|---|---|---|")
    for name, seconds in medians.items():
        print(f"| {name} | {seconds:.3f} | {medians['mlxtend'] / seconds:.2f}x |")
    loss, bias2, variance = outputs["n_jobs=2"]
    print(
        f"\nloss={loss:.6f}, bias2={bias2:.6f}, variance={variance:.6f}; "
        f"max |ours - mlxtend| = {diff:.1e}\n"
    )
    return medians, diff


_MEMORY_CHILD = """
import json, sys, tracemalloc
from benchmarks.bench_model_selection import _friedman
from sklearn.tree import DecisionTreeRegressor
from sklopt.model_selection import bias_variance_decomposition
n_rounds, n_jobs, n_test = map(int, sys.argv[1:4])
data = _friedman(n_test)
tree = DecisionTreeRegressor(random_state=0)
bias_variance_decomposition(tree, *data, n_rounds=2, random_state=0, n_jobs=n_jobs)
tracemalloc.start()
result = bias_variance_decomposition(
    tree, *data, n_rounds=n_rounds, random_state=0, n_jobs=n_jobs)
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"peak": peak}))
"""


def _child_peak(n_rounds, n_jobs, n_test):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(n_rounds), str(n_jobs), str(n_test)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])["peak"]


def bench_memory(rounds=(50, 200, 800, 3200)):
    print("### Peak memory against n_rounds (tracemalloc, parent process)\n")
    print(
        "Growth of the peak from one n_rounds to the next, divided by the "
        "growth of the stored predictions (n_rounds x n_test float64): 1.00 "
        "means the predictions are all that grows.\n"
    )
    steps = list(zip(rounds[:-1], rounds[1:]))
    print(
        "| n_test | n_jobs | "
        + " | ".join(f"peak, {r} rounds (MiB)" for r in rounds)
        + " | "
        + " | ".join(f"growth {a}->{b} / predictions" for a, b in steps)
        + " |"
    )
    print("|---|---|" + "---|" * (len(rounds) + len(steps)))
    rows = []
    for n_test in (200, 5000):
        for n_jobs in (1, 2):
            peaks = [_child_peak(r, n_jobs, n_test) for r in rounds]
            ratios = [
                (peaks[i + 1] - peaks[i]) / ((b - a) * n_test * 8)
                for i, (a, b) in enumerate(steps)
            ]
            rows.append((n_test, n_jobs, ratios))
            print(
                f"| {n_test} | {n_jobs} | "
                + " | ".join(f"{p / 2**20:.2f}" for p in peaks)
                + " | "
                + " | ".join(f"{r:.2f}" for r in ratios)
                + " |"
            )
    print()
    return rows


def bench_632(repeats):
    X, y = load_breast_cancer(return_X_y=True)
    tree = DecisionTreeClassifier(random_state=0)
    splits = list(BootstrapSplit(200, random_state=0).split(X, y))

    def plain_fits():
        for _ in range(200):
            clone(tree).fit(X, y)

    def bootstrap_fits():
        for train, _ in splits:
            clone(tree).fit(X[train], y[train])

    def score():
        return bootstrap_632_score(tree, X, y, n_splits=200, random_state=0)

    medians, outputs = _median_times(
        {
            "200 plain fits (all rows)": plain_fits,
            "200 fits on the bootstrap samples": bootstrap_fits,
            "bootstrap_632_score, 200 splits": score,
        },
        repeats,
    )
    base = medians["200 plain fits (all rows)"]
    print("### bootstrap_632_score vs plain fits (n_jobs=1)\n")
    print("DecisionTreeClassifier, breast_cancer (569 x 30), method='.632+'.\n")
    print("| run | median time (s) | ratio to 200 plain fits |")
    print("|---|---|---|")
    for name, seconds in medians.items():
        print(f"| {name} | {seconds:.3f} | {seconds / base:.2f} |")
    print(f"\n.632+ accuracy = {outputs['bootstrap_632_score, 200 splits']:.4f}\n")
    return medians


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs; Python {platform.python_version()}; "
        f"{datetime.date.today()}\n"
    )
    bench_against_mlxtend(args.repeats)
    bench_memory()
    bench_632(max(3, args.repeats // 2))


if __name__ == "__main__":
    main()
