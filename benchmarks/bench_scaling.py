"""Reliability and scaling-out benchmarks.

1. Memory of large studies on a 100,000 x 50 float64 dataset (X: 40 MB):
   bagging of 64 trees, and a 200-round bias-variance study (test set of
   10,000 rows: 16 MB of stored predictions). Each case runs in a fresh
   subprocess with one job; the peak resident memory during the fit (Linux
   VmHWM, reset after the data are built) and the peak of numpy allocations
   (tracemalloc) are reported relative to the size of X. The target: peak at
   most 3 x X plus the stored predictions, i.e. no per-round copy of X kept.
2. GridSearchCV of an MLPClassifier over 8 optimizers x 3 regularizer
   settings (24 candidates x 3 folds) on digits, with joblib's 'loky' backend
   (n_jobs=2) and with the 'dask' backend on a LocalCluster of 2
   single-threaded worker processes; median wall time of interleaved runs
   after one warm-up run each, and the median of the per-pair ratios. The
   target: dask within 1.3 x loky.

Run from the repository root::

    PYTHONPATH=$PWD python benchmarks/bench_scaling.py            # full, a few minutes
    PYTHONPATH=$PWD python benchmarks/bench_scaling.py --quick    # smoke test
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

MB = 2**20


# --- memory -----------------------------------------------------------------------


def _rss_mb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak_rss():
    """Reset VmHWM (Linux >= 4.0); return whether it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def _memory_case(case, n_samples, n_features, n_test, n_rounds, n_estimators):
    """Run one case in this process; return its measurements as a dict."""
    import gc
    import tracemalloc

    import numpy as np
    from sklearn.tree import DecisionTreeRegressor

    from sklopt.ensemble import BaggingRegressor
    from sklopt.model_selection import bias_variance_decomposition

    rng = np.random.RandomState(0)
    X = rng.standard_normal((n_samples, n_features))
    y = X[:, :5].sum(axis=1) + rng.standard_normal(n_samples)
    X_test = rng.standard_normal((n_test, n_features))
    y_test = X_test[:, :5].sum(axis=1)
    tree = DecisionTreeRegressor(max_depth=6, max_features="sqrt", random_state=0)
    gc.collect()
    baseline = _rss_mb("VmRSS")
    hwm_reset = _reset_peak_rss()
    tracemalloc.start()
    start = time.perf_counter()
    if case == "bagging":
        model = BaggingRegressor(tree, n_estimators=n_estimators, random_state=0)
        model.fit(X, y)
        stored = 0.0
        work = f"{n_estimators} trees"
    else:
        result = bias_variance_decomposition(
            tree, X, y, X_test, y_test, n_rounds=n_rounds, random_state=0
        )
        assert np.isfinite(result.loss)
        stored = n_rounds * n_test * 8 / MB
        work = f"{n_rounds} rounds"
    seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = _rss_mb("VmHWM") if hwm_reset else None
    x_mb = X.nbytes / MB
    return {
        "case": case,
        "work": work,
        "X_MB": x_mb,
        "stored_predictions_MB": stored,
        "baseline_rss_MB": baseline,
        "peak_rss_increase_MB": None if peak is None else peak - baseline,
        "numpy_peak_MB": traced_peak / MB,
        "seconds": seconds,
    }


def run_memory(args):
    rows = []
    for case in ("bagging", "bias_variance"):
        command = [
            sys.executable,
            __file__,
            "--memory-case",
            case,
            "--n-samples",
            str(args.n_samples),
            "--n-rounds",
            str(args.n_rounds),
            "--n-estimators",
            str(args.n_estimators),
        ]
        output = subprocess.run(
            command, capture_output=True, text=True, check=True
        ).stdout
        rows.append(json.loads(output.strip().splitlines()[-1]))
    print("\n## Memory (one job, fresh process per case)\n")
    print(
        "| study | X (MB) | stored predictions (MB) | peak RSS increase (MB) "
        "| numpy peak (MB) | (RSS increase - predictions) / X | time (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        increase = row["peak_rss_increase_MB"]
        ratio = (
            "n/a"
            if increase is None
            else f"{(increase - row['stored_predictions_MB']) / row['X_MB']:.2f}"
        )
        print(
            f"| {row['case']} ({row['work']}) | {row['X_MB']:.1f} "
            f"| {row['stored_predictions_MB']:.1f} "
            f"| {'n/a' if increase is None else f'{increase:.1f}'} "
            f"| {row['numpy_peak_MB']:.1f} | {ratio} | {row['seconds']:.1f} |"
        )
    return rows


# --- dask versus loky ---------------------------------------------------------------


def _grid_search(n_jobs, max_epochs):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV

    from sklopt.neural import OPTIMIZERS, MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    mlp = MLPClassifier(
        (32,), max_epochs=max_epochs, batch_size=64, device="cpu", random_state=0
    )
    regularizers = [
        {"weight_decay": [0.0], "dropout": [0.0]},
        {"weight_decay": [1e-3], "dropout": [0.0]},
        {"weight_decay": [0.0], "dropout": [0.2]},
    ]
    grid = [{"optimizer": list(OPTIMIZERS), **reg} for reg in regularizers]
    search = GridSearchCV(mlp, grid, cv=3, n_jobs=n_jobs)
    start = time.perf_counter()
    search.fit(X, y)
    return time.perf_counter() - start, search


def run_dask_versus_loky(args):
    import logging
    import warnings

    import joblib
    import numpy as np
    import torch
    from distributed import Client, LocalCluster

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    timings = {"loky": [], "dask": []}
    scores = {}

    def run(backend):
        if backend == "dask":
            with joblib.parallel_backend("dask"):
                return _grid_search(2, args.max_epochs)
        return _grid_search(2, args.max_epochs)

    try:
        for backend in ("loky", "dask"):  # warm-up: start workers, import torch
            run(backend)
        for _ in range(args.repeats):
            for backend in ("loky", "dask"):
                seconds, search = run(backend)
                timings[backend].append(seconds)
                scores[backend] = search.cv_results_["mean_test_score"]
    finally:
        client.close()
        cluster.close()
    same = bool(np.array_equal(scores["loky"], scores["dask"]))
    loky, dask = (statistics.median(timings[b]) for b in ("loky", "dask"))
    print("\n## GridSearchCV, 24 candidates x 3 folds, n_jobs=2 (median of runs)\n")
    print("| backend | runs (s) | median (s) |")
    print("|---|---|---:|")
    for backend in ("loky", "dask"):
        runs = ", ".join(f"{t:.1f}" for t in timings[backend])
        print(f"| {backend} | {runs} | {statistics.median(timings[backend]):.1f} |")
    # Runs are interleaved, so the ratio within each (loky, dask) pair is
    # robust to the load drifting during the benchmark.
    pairs = [d / l for l, d in zip(timings["loky"], timings["dask"])]
    print(
        f"\ndask / loky: ratio of medians {dask / loky:.2f}; median of the "
        f"per-pair ratios {statistics.median(pairs):.2f} "
        f"({', '.join(f'{r:.2f}' for r in pairs)}); identical cv_results_: {same}"
    )
    return {"loky": timings["loky"], "dask": timings["dask"], "pairs": pairs}


def _header():
    import sklearn
    import torch

    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(
                line.split(":", 1)[1].strip()
                for line in info
                if line.startswith("model name")
            )
    except (OSError, StopIteration):
        cpu = platform.processor()
    print(f"# bench_scaling ({time.strftime('%Y-%m-%d')})")
    print(
        f"CPU: {cpu}, {os.cpu_count()} cores; load average "
        f"{os.getloadavg()[0]:.1f}; python {platform.python_version()}, "
        f"torch {torch.__version__}, scikit-learn {sklearn.__version__}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--n-rounds", type=int, default=200)
    parser.add_argument("--n-estimators", type=int, default=64)
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--memory-case", choices=["bagging", "bias_variance"])
    args = parser.parse_args(argv)
    if args.memory_case:
        print(
            json.dumps(
                _memory_case(
                    args.memory_case,
                    args.n_samples,
                    50,
                    10_000,
                    args.n_rounds,
                    args.n_estimators,
                )
            )
        )
        return
    if args.quick:
        args.n_samples, args.n_rounds, args.n_estimators = 20_000, 20, 8
        args.max_epochs, args.repeats = 2, 1
    _header()
    if not args.skip_memory:
        run_memory(args)
    if not args.skip_dask:
        run_dask_versus_loky(args)


if __name__ == "__main__":
    main()
