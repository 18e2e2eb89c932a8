"""Stacked hyperparameter search against scikit-learn's search.

Three measurements, each side in its own fresh process (after a warm-up
search on a tiny grid, so that torch's one-time lazy imports are not
counted), sides interleaved run by run, medians of ``--repeats`` runs:

1. ``grid``: digits, ``Pipeline(StandardScaler(), MLPClassifier((64,),
   optimizer='adam', batch_size=64, max_epochs=20))``, grid lr {3e-4, 1e-3,
   3e-3, 1e-2} x weight_decay {0, 1e-4, 1e-3} x dropout {0, 0.2}, 5
   stratified folds (120 fits): ``sklopt.model_selection.GridSearchCV``
   in one process (``--threads`` torch threads) and with ``n_jobs=2`` (two
   loky workers of one torch thread, each training half of the stack)
   against ``sklearn.model_selection.GridSearchCV(n_jobs=2)``. Also whether
   both find the same ``best_params_`` (or candidates tied within 0.002),
   the largest difference of ``mean_test_score``, and the peak memory.
2. ``random``: the same pipeline, ``RandomizedSearchCV`` of 64 candidates
   (loguniform lr in [1e-4, 3e-2] and weight_decay in [1e-6, 1e-2]) x 5
   folds (320 fits), against scikit-learn's with ``n_jobs=2``.
3. ``scaling``: time per member of the stacked engine for 8, 32, 128 and
   512 members: ``MLPClassifier((128, 128))`` (40-128-128-2) on a 5000 x 40
   ``make_classification`` problem, 10 epochs, Adam, batch 128; members are
   candidates (distinct learning rates, as in a search) x 4 folds of 4000
   training rows, trained by the estimator's ``_fit_batched`` (what the
   search calls), the first fit in a fresh process (no warm-up, as the
   issue measured it).

Usage::

    PYTHONPATH=$PWD python benchmarks/bench_search.py [--repeats 3]
    PYTHONPATH=$PWD python benchmarks/bench_search.py --only grid --repeats 1
    PYTHONPATH=$PWD python benchmarks/bench_search.py --only grid --device cuda

Peak memory: the growth of the peak resident set (``VmHWM``, reset before
the search) over the resident set before it, for the measured process; for
scikit-learn's ``n_jobs=2`` search also the largest peak resident set of its
worker processes (``VmHWM`` of the children; loky workers outlive the
search, so this is their whole peak).
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings

GRID = {
    "mlpclassifier__lr": [3e-4, 1e-3, 3e-3, 1e-2],
    "mlpclassifier__weight_decay": [0.0, 1e-4, 1e-3],
    "mlpclassifier__dropout": [0.0, 0.2],
}
SCALING_MEMBERS = (8, 32, 128, 512)
TIE = 0.002


def _status_bytes(field):
    """A ``kB`` field of ``/proc/self/status`` (VmRSS, VmHWM), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak_rss():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


#: The device the networks train on (``--device``; 'cuda' on a GPU machine).
DEVICE = "cpu"


def _pipeline(max_epochs=20):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklopt.neural import MLPClassifier

    net = MLPClassifier(
        (64,),
        optimizer="adam",
        batch_size=64,
        max_epochs=max_epochs,
        device=DEVICE,
        random_state=0,
    )
    return make_pipeline(StandardScaler(), net)


def _search(kind, side, warm=False):
    """The measured search (``warm``: a tiny one on the same code path)."""
    from scipy.stats import loguniform
    from sklearn import model_selection as sk
    from sklearn.model_selection import StratifiedKFold

    from sklopt import model_selection as ours

    module = ours if side.startswith("sklopt") else sk
    extra = {"n_jobs": 2} if side in ("sklearn", "sklopt-jobs2") else {}
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    if warm:
        # 20 fits: both loky workers start (and import torch) on either side
        grid = {"mlpclassifier__lr": [3e-4, 1e-3, 3e-3, 1e-2]}
        return module.GridSearchCV(_pipeline(1), grid, cv=cv, **extra)
    if kind == "grid":
        return module.GridSearchCV(_pipeline(), GRID, cv=cv, **extra)
    distributions = {
        "mlpclassifier__lr": loguniform(1e-4, 3e-2),
        "mlpclassifier__weight_decay": loguniform(1e-6, 1e-2),
    }
    return module.RandomizedSearchCV(
        _pipeline(), distributions, n_iter=64, cv=cv, random_state=0, **extra
    )


def _measure(run):
    _reset_peak_rss()
    rss = _status_bytes("VmRSS")
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    peak = max(0, _status_bytes("VmHWM") - rss)
    return seconds, peak, _children_peak(), result


def _children_peak():
    """The largest peak resident set (VmHWM) of this process's children (the
    loky workers of scikit-learn's n_jobs=2 search, alive until exit)."""
    import psutil

    peaks = [0]
    for child in psutil.Process().children(recursive=True):
        try:
            with open(f"/proc/{child.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]) * 1024)
        except OSError:
            continue
    return max(peaks)


def _worker(args):
    """One measured run in this fresh process; print a JSON line."""
    import torch

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    out = {}
    if args.kind == "scaling":
        seconds, peak, children, _ = _measure(lambda: _scaling_fit(args.members))
        out["members"] = args.members
    else:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        _search(args.kind, args.side, warm=True).fit(X, y)
        seconds, peak, children, search = _measure(
            lambda: _search(args.kind, args.side).fit(X, y)
        )
        out["params"] = [repr(p) for p in search.cv_results_["params"]]
        out["scores"] = search.cv_results_["mean_test_score"].tolist()
        out["best"] = repr(search.best_params_)
        out["groups"] = getattr(search, "batched_groups_", None)
    out.update(seconds=seconds, peak=peak, children=children)
    print(json.dumps(out))


def _scaling_fit(n_members):
    """``n_members`` stacked members: n_members / 4 learning rates x 4 folds."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.datasets import make_classification
    from sklearn.model_selection import KFold

    from sklopt.neural import MLPClassifier

    X, y = make_classification(
        n_samples=5000, n_features=40, n_informative=20, random_state=0
    )
    X = X.astype(np.float32)
    net = MLPClassifier(
        (128, 128),
        optimizer="adam",
        batch_size=128,
        max_epochs=10,
        device=DEVICE,
        random_state=0,
    )
    folds = [train for train, _ in KFold(4, shuffle=True, random_state=0).split(X)]
    lrs = np.geomspace(1e-4, 1e-2, n_members // 4)
    members = [clone(net).set_params(lr=float(lr)) for lr in lrs for _ in folds]
    rows = folds * len(lrs)
    return net._fit_batched(X, y, members, rows)


def _run(args, **worker):
    command = [sys.executable, __file__, "--threads", str(args.threads)]
    command += ["--device", args.device]
    for key, value in worker.items():
        command += [f"--{key}", str(value)]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        sys.exit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mib(value):
    return value / 2**20


#: The measured sides: scikit-learn's search with two loky workers of one
#: torch thread each; sklopt's in one process (``--threads`` torch
#: threads); sklopt's with ``n_jobs=2`` (its stack split across two loky
#: workers of one torch thread each).
SIDES = {
    "sklearn": "scikit-learn n_jobs=2",
    "sklopt": "sklopt n_jobs=1",
    "sklopt-jobs2": "sklopt n_jobs=2",
}


def _compare(args, kind):
    runs = {side: [] for side in SIDES}
    for _ in range(args.repeats):
        for side in runs:
            runs[side].append(_run(args, worker=1, kind=kind, side=side))
    theirs = runs["sklearn"][-1]
    t_theirs = statistics.median(r["seconds"] for r in runs["sklearn"])
    scores_theirs = theirs["scores"]
    print(
        f"\n{kind}: {len(theirs['params'])} candidates x 5 folds, {args.repeats} runs"
    )
    for side, label in SIDES.items():
        times = [round(r["seconds"], 2) for r in runs[side]]
        print(f"  {label:<22} {times}, median {statistics.median(times):.2f} s")
    print(
        f"  scikit-learn's peak memory: {_mib(theirs['peak']):.0f} MiB in the parent "
        f"+ largest worker's peak resident set {_mib(theirs['children']):.0f} MiB"
    )
    for side in ("sklopt", "sklopt-jobs2"):
        ours = runs[side][-1]
        assert ours["params"] == theirs["params"], "different candidates"
        t_ours = statistics.median(r["seconds"] for r in runs[side])
        scores_ours = ours["scores"]
        diff = max(abs(a - b) for a, b in zip(scores_ours, scores_theirs))
        best_ours = scores_theirs[ours["params"].index(ours["best"])]
        same_best = ours["best"] == theirs["best"] or (
            max(scores_theirs) - best_ours <= TIE
        )
        print(
            f"  {SIDES[side]}: {t_theirs / t_ours:.1f}x "
            f"({t_theirs:.2f} s against {t_ours:.2f} s)"
        )
        print(
            f"    best_params_ same (or tied within {TIE}): {same_best}; "
            f"largest |mean_test_score difference| {diff:.4f}"
        )
        print(
            f"    peak memory growth {_mib(ours['peak']):.0f} MiB, largest "
            f"worker {_mib(ours['children']):.0f} MiB; stacks: "
            f"{[(g['n_fits'], g['batched']) for g in ours['groups']]}"
        )
    print(f"  best: sklearn {theirs['best']}")


def _scaling(args):
    print(f"\nscaling: stacked engine, 10 epochs, {args.threads} torch threads")
    print("| members | time (s) | per member (ms) | peak memory growth (MiB) |")
    print("|---:|---:|---:|---:|")
    for n in SCALING_MEMBERS:
        runs = [
            _run(args, worker=1, kind="scaling", members=n)
            for _ in range(args.scaling_repeats)
        ]
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = max(r["peak"] for r in runs)
        print(f"| {n} | {seconds:.2f} | {1000 * seconds / n:.1f} | {_mib(peak):.0f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scaling-repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=["grid", "random", "scaling"])
    parser.add_argument(
        "--device",
        default="cpu",
        help="device the networks train on ('cuda' on a GPU machine)",
    )
    parser.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--members", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    if args.worker:
        _worker(args)
        return
    import sklearn
    import torch

    print(
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}, torch {torch.__version__}, "
        f"scikit-learn {sklearn.__version__}, {args.threads} torch threads, "
        f"device {args.device}"
    )
    for kind in ("grid", "random"):
        if args.only in (None, kind):
            _compare(args, kind)
    if args.only in (None, "scaling"):
        _scaling(args)


if __name__ == "__main__":
    main()
