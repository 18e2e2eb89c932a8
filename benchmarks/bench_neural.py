"""Benchmark of the neural estimators against the work they wrap.

1. ``MLPClassifier`` (64-256-256-10, Adam, batch 64, 30 epochs) on digits
   against a minimal handwritten torch loop doing the same work (same
   module, optimizer, per-epoch shuffling, batch slicing and epoch-loss
   bookkeeping): fit-time ratio.
2. The same with ``batch_size=1`` for 2 epochs (per-step overhead).
3. ``Pipeline(StandardScaler(), MLPClassifier(random_state=0))`` against
   scikit-learn's ``MLPClassifier(random_state=0)`` in the same pipeline on
   digits (25% test split, random_state=0): test accuracy and fit-time
   ratio.

Every timing is the median of ``--repeats`` runs (default 3), with torch and
the BLAS libraries single-threaded (``torch.set_num_threads(1)``,
``threadpoolctl.threadpool_limits(1)``), measured in this run, so the ratios
hold on a shared machine.

Run: ``PYTHONPATH=$PWD python benchmarks/bench_neural.py``
"""

import argparse
import platform
import statistics
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklopt.neural import MLPClassifier

HIDDEN = (256, 256)


def handwritten_loop(X, y, *, batch_size, max_epochs, seed=0):
    """The minimal torch training loop the estimator is compared with."""
    torch.manual_seed(seed)
    X = torch.from_numpy(X)
    y = torch.from_numpy(y)
    layers, width = [], X.shape[1]
    for size in HIDDEN:
        layers += [torch.nn.Linear(width, size), torch.nn.ReLU()]
        width = size
    layers.append(torch.nn.Linear(width, int(y.max()) + 1))
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(max_epochs):
        perm = torch.randperm(len(X), generator=generator)
        total = 0.0
        for start in range(0, len(X), batch_size):
            idx = perm[start : start + batch_size]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        losses.append(total / len(X))
    return model, losses


def sklopt_fit(X, y, *, batch_size, max_epochs):
    return MLPClassifier(
        HIDDEN,
        optimizer="adam",
        batch_size=batch_size,
        max_epochs=max_epochs,
        patience=max_epochs,
        device="cpu",
        random_state=0,
    ).fit(X, y)


def median_time(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def loop_comparison(X, y, *, batch_size, max_epochs, repeats):
    # Interleave the two so that load changes on a shared machine hit both.
    ours, theirs = [], []
    for _ in range(repeats):
        theirs.append(
            median_time(
                lambda: handwritten_loop(
                    X, y, batch_size=batch_size, max_epochs=max_epochs
                ),
                1,
            )
        )
        ours.append(
            median_time(
                lambda: sklopt_fit(X, y, batch_size=batch_size, max_epochs=max_epochs),
                1,
            )
        )
    return statistics.median(ours), statistics.median(theirs)


def pipeline_comparison(repeats):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0
    )
    results = {}
    for name, make in [
        ("sklopt", lambda: MLPClassifier(random_state=0)),
        ("sklearn", lambda: SklearnMLPClassifier(random_state=0)),
    ]:
        times, scores = [], []
        for _ in range(repeats):
            pipe = make_pipeline(StandardScaler(), make())
            start = time.perf_counter()
            pipe.fit(X_train, y_train)
            times.append(time.perf_counter() - start)
            scores.append(pipe.score(X_test, y_test))
        n_iter = pipe[-1].n_iter_
        results[name] = (statistics.median(times), scores[-1], n_iter)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        run(args)


def run(args):
    warnings.simplefilter("ignore", ConvergenceWarning)

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    y = y.astype(np.int64)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}")
    print(f"digits: {X.shape[0]} samples, MLP 64-256-256-10, Adam, 1 thread")
    print(f"median of {args.repeats} runs each\n")
    print(f"{'comparison':<44}{'sklopt s':>10}{'baseline s':>12}{'ratio':>8}")
    for batch_size, epochs, bound in [(64, 30, 1.3), (1, 2, 2.0)]:
        ours, theirs = loop_comparison(
            X, y, batch_size=batch_size, max_epochs=epochs, repeats=args.repeats
        )
        label = f"batch {batch_size}, {epochs} epochs vs torch loop (<= {bound})"
        print(f"{label:<44}{ours:>10.3f}{theirs:>12.3f}{ours / theirs:>8.2f}")

    results = pipeline_comparison(args.repeats)
    (t_ours, acc_ours, it_ours), (t_sk, acc_sk, it_sk) = (
        results["sklopt"],
        results["sklearn"],
    )
    label = "default Pipeline vs sklearn MLP (<= 3.0)"
    print(f"{label:<44}{t_ours:>10.3f}{t_sk:>12.3f}{t_ours / t_sk:>8.2f}")
    print(
        f"\ntest accuracy (digits, 25% split): sklopt {acc_ours:.4f} "
        f"({it_ours} epochs), sklearn {acc_sk:.4f} ({it_sk} iterations); "
        "sklopt must reach >= 0.97"
    )


if __name__ == "__main__":
    main()
