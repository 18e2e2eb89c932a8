"""Batched neural ensembles: K networks trained as one stacked model.

Two comparisons, each side measured in its own fresh process (after a
warm-up fit, so that one-time costs such as torch's lazy imports are not
counted), interleaved run by run, medians of ``--repeats`` runs:

1. ``BaggingClassifier`` of 32 ``MLPClassifier`` (40-128-128-2) on a 5000 x 40
   ``make_classification`` problem, 10 epochs, Adam, batch 128:
   ``batched=True`` against ``batched=False`` (one by one). Also the peak
   memory of each fit and the largest difference between the two ensembles'
   predicted probabilities.
2. ``bias_variance_decomposition`` of ``MLPClassifier()`` on digits (75 %
   training split), 50 rounds, 0-1 loss, batched, against one plain fit of
   the same estimator on the same training set. One-by-one rounds are timed
   on ``--one-by-one-rounds`` rounds and scaled to 50 (``--one-by-one-rounds
   50`` times them all).
3. (``--cnn``) Whether ``CNNClassifier`` members gain from batching: one
   forward and backward pass of 16 small CNNs (``Conv 3x3 -> ReLU ->
   MaxPool`` blocks and a linear head) as one grouped convolution
   (``groups=16``) against 16 separate passes; and, end to end, a
   ``BaggingClassifier`` of 16 ``CNNClassifier((16, 32))`` on digits (8 x 8
   images), 5 epochs, batch 64, ``batched=True`` against ``batched=False``.
   ``batched='auto'`` batches CNN members on GPUs only (on the CPU the
   grouped convolution is not faster).

Usage::

    PYTHONPATH=$PWD python benchmarks/bench_batched.py                 # CPU
    PYTHONPATH=$PWD python benchmarks/bench_batched.py --threads 2
    PYTHONPATH=$PWD python benchmarks/bench_batched.py --device cuda   # GPU

Peak memory: on the CPU the growth of the process's peak resident set during
the fit (``VmHWM``, reset before the fit) over its resident set before it; on
CUDA ``torch.cuda.max_memory_allocated`` during the fit.
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

BAGGING = dict(n_estimators=32, n_samples=5000, n_features=40, max_epochs=10)


def _status_bytes(field):
    """A ``kB`` field of ``/proc/self/status`` (VmRSS, VmHWM), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak_rss():
    """Reset the peak resident set (VmHWM) to the current one (Linux)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _bagging_data():
    import numpy as np
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=BAGGING["n_samples"],
        n_features=BAGGING["n_features"],
        n_informative=20,
        random_state=0,
    )
    return X.astype(np.float32), y


CNN_BAGGING = dict(n_estimators=16, max_epochs=5)


def _bagging(kind, device, batched, n_estimators=None, max_epochs=None):
    """The measured ensemble: ``kind`` 'bagging' (32 MLPs) or 'cnn-bagging'
    (16 CNNs); fewer members and epochs for the warm-up."""
    from sklopt.ensemble import BaggingClassifier
    from sklopt.neural import CNNClassifier, MLPClassifier

    settings = BAGGING if kind == "bagging" else CNN_BAGGING
    common = dict(
        max_epochs=max_epochs or settings["max_epochs"],
        device=device,
        random_state=0,
    )
    if kind == "bagging":
        base = MLPClassifier((128, 128), optimizer="adam", batch_size=128, **common)
    else:
        base = CNNClassifier((16, 32), batch_size=64, **common)
    return BaggingClassifier(
        base,
        n_estimators=n_estimators or settings["n_estimators"],
        batched=batched,
        random_state=0,
    )


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0)


def _worker(args):
    """Run one measured fit in this (fresh) process; print a JSON line."""
    import torch

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    cuda = args.device.startswith("cuda")

    def measure(run):
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        _reset_peak_rss()
        rss = _status_bytes("VmRSS")
        start = time.perf_counter()
        result = run()
        if cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        if cuda:
            peak = torch.cuda.max_memory_allocated() - base
        else:
            peak = max(0, _status_bytes("VmHWM") - rss)
        return seconds, peak, result

    out = {}
    if "bagging" in args.worker:
        kind = args.worker.removesuffix("-batched").removesuffix("-one-by-one")
        batched = args.worker.endswith("-batched")
        if kind == "bagging":
            X, y = _bagging_data()
        else:
            X, _, y, _ = _digits()
        # warm-up: the same code path on a few members and one epoch
        _bagging(kind, args.device, batched, n_estimators=2, max_epochs=1).fit(X, y)
        seconds, peak, model = measure(
            lambda: _bagging(kind, args.device, batched).fit(X, y)
        )
        out["proba"] = model.predict_proba(X[:500]).tolist()
    else:
        from sklopt.model_selection import bias_variance_decomposition
        from sklopt.neural import MLPClassifier

        X_train, X_test, y_train, y_test = _digits()
        est = MLPClassifier(random_state=0, device=args.device)
        warm = MLPClassifier(max_epochs=2, random_state=0, device=args.device)
        bias_variance_decomposition(
            warm, X_train, y_train, X_test, y_test, loss="0-1", n_rounds=2
        )
        if args.worker == "single-fit":
            seconds, peak, model = measure(lambda: est.fit(X_train, y_train))
            out["n_iter"] = int(model.n_iter_)
        else:
            batched = args.worker == "bv-batched"
            n_rounds = 50 if batched else args.one_by_one_rounds
            seconds, peak, result = measure(
                lambda: bias_variance_decomposition(
                    est,
                    X_train,
                    y_train,
                    X_test,
                    y_test,
                    loss="0-1",
                    n_rounds=n_rounds,
                    random_state=0,
                    batched=batched,
                )
            )
            out["n_rounds"] = n_rounds
            out["loss"] = float(result.loss)
    out.update(seconds=seconds, peak=peak)
    print(json.dumps(out))


def _run(args, worker):
    command = [
        sys.executable,
        __file__,
        "--worker",
        worker,
        "--device",
        args.device,
        "--threads",
        str(args.threads),
        "--one-by-one-rounds",
        str(args.one_by_one_rounds),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"worker {worker} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _machine(args):
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [
                line.split(":", 1)[1].strip() for line in f if "model name" in line
            ]
        cpu = f"{names[0]} x {len(names)}"
    except (OSError, IndexError):
        pass
    device = args.device
    if device.startswith("cuda"):
        device = f"{device} ({torch.cuda.get_device_name(0)})"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; CPU: {cpu}; "
        f"device: {device}; torch {torch.__version__}, "
        f"torch.set_num_threads({args.threads}); load average {load}"
    )


def _conv_blocks(channels, groups, device):
    """``Conv 3x3 -> ReLU -> MaxPool(2)`` blocks of ``groups`` networks side
    by side (a grouped convolution), single-channel input."""
    from torch import nn

    layers, in_channels = [], 1
    for out_channels in channels:
        conv = nn.Conv2d(
            groups * in_channels, groups * out_channels, 3, padding=1, groups=groups
        )
        layers += [conv, nn.ReLU(), nn.MaxPool2d(2)]
        in_channels = out_channels
    return nn.Sequential(*layers).to(device)


def _cnn_row(args, n_nets, batch, channels, side):
    """Seconds of one forward and backward pass of ``n_nets`` CNNs, apart and
    as one grouped convolution."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    device = args.device
    x = torch.randn(n_nets, batch, 1, side, side, device=device)
    y = torch.randint(0, 10, (n_nets, batch), device=device)
    width = channels[-1] * (side // 2 ** len(channels)) ** 2
    nets = [
        nn.Sequential(
            _conv_blocks(channels, 1, device), nn.Flatten(), nn.Linear(width, 10)
        ).to(device)
        for _ in range(n_nets)
    ]
    body = _conv_blocks(channels, n_nets, device)
    head = torch.randn(n_nets, width, 10, device=device, requires_grad=True)

    def separate():
        for net, xk, yk in zip(nets, x, y):
            F.cross_entropy(net(xk), yk).backward()

    def grouped():
        images = x.transpose(0, 1).reshape(batch, n_nets, side, side)
        features = body(images).reshape(batch, n_nets, width).transpose(0, 1)
        logits = torch.bmm(features, head)
        F.cross_entropy(logits.reshape(-1, 10), y.reshape(-1)).backward()

    def timed(step, n=10):
        step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(n):
            step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return (time.perf_counter() - start) / n

    return timed(separate), timed(grouped)


def _cnn_table(args):
    """Grouped against separate convolutions, forward and backward."""
    import torch

    torch.set_num_threads(args.threads)
    print(
        "\n| 16 CNNs, one forward + backward pass | separate (ms) | grouped (ms) "
        "| speed-up |"
    )
    print("|---|---:|---:|---:|")
    for batch, channels, side in [(200, (32, 64), 8), (64, (16, 32), 28)]:
        one, many = _cnn_row(args, 16, batch, channels, side)
        print(
            f"| batch {batch}, channels {channels}, {side}x{side} images | "
            f"{one * 1e3:.1f} | {many * 1e3:.1f} | {one / many:.2f}x |"
        )


def _bagging_table(args, prefix, title):
    """Interleaved one-by-one and batched runs of the ``prefix`` workers;
    print their table row (medians, peak memory, largest difference of the
    ensembles' probabilities)."""
    import numpy as np

    one, batched = f"{prefix}-one-by-one", f"{prefix}-batched"
    runs = {one: [], batched: []}
    for _ in range(args.repeats):
        for worker in runs:
            runs[worker].append(_run(args, worker))
    sep = [r["seconds"] for r in runs[one]]
    bat = [r["seconds"] for r in runs[batched]]
    diff = np.abs(
        np.array(runs[batched][0]["proba"]) - np.array(runs[one][0]["proba"])
    ).max()
    print(
        "| comparison | one by one (s) | batched (s) | speed-up | peak memory, "
        "one by one / batched (MiB) | max abs diff of predict_proba |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| {title} | {statistics.median(sep):.2f} | {statistics.median(bat):.2f} | "
        f"{statistics.median(sep) / statistics.median(bat):.2f}x | "
        f"{_mib(max(r['peak'] for r in runs[one]))} / "
        f"{_mib(max(r['peak'] for r in runs[batched]))} | {diff:.1e} |"
    )
    print(f"\nruns (s): one by one {sep}, batched {bat}")


def _mib(n_bytes):
    return f"{n_bytes / 2**20:.0f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="'cpu' or 'cuda'")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--one-by-one-rounds",
        type=int,
        default=5,
        help="rounds of the timed one-by-one bias-variance run (scaled to 50)",
    )
    parser.add_argument("--skip-bias-variance", action="store_true")
    parser.add_argument(
        "--cnn", action="store_true", help="also measure batched convolutions"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args)

    print(f"# bench_batched: {_machine(args)}\n")
    _bagging_table(
        args,
        "bagging",
        "Bagging of 32 MLPs 40-128-128-2, 5000 x 40, 10 epochs, Adam, batch 128",
    )
    if args.cnn:
        _cnn_table(args)
        print()
        _bagging_table(
            args,
            "cnn-bagging",
            "Bagging of 16 CNNClassifier((16, 32)), digits 1347 x 8 x 8, 5 epochs, "
            "Adam, batch 64",
        )
    if args.skip_bias_variance:
        return None
    runs = {"single-fit": [], "bv-batched": [], "bv-one-by-one": []}
    for repeat in range(args.repeats):
        for worker in runs:
            if worker == "bv-one-by-one" and repeat:
                continue  # long; one run
            runs[worker].append(_run(args, worker))
    single = statistics.median(r["seconds"] for r in runs["single-fit"])
    batched = statistics.median(r["seconds"] for r in runs["bv-batched"])
    one = runs["bv-one-by-one"][0]
    one_50 = one["seconds"] * 50 / one["n_rounds"]
    scaled = "" if one["n_rounds"] == 50 else f" ({one['n_rounds']} rounds x 50/"
    scaled += "" if one["n_rounds"] == 50 else f"{one['n_rounds']})"
    print(
        "\n| bias_variance_decomposition, MLPClassifier() on digits, 50 rounds | "
        "time (s) | x single fit | peak memory (MiB) |"
    )
    print("|---|---:|---:|---:|")
    print(
        f"| single fit ({runs['single-fit'][0]['n_iter']} epochs) | {single:.2f} | "
        f"1.0 | {_mib(max(r['peak'] for r in runs['single-fit']))} |"
    )
    print(
        f"| batched rounds | {batched:.2f} | {batched / single:.1f} | "
        f"{_mib(max(r['peak'] for r in runs['bv-batched']))} |"
    )
    print(
        f"| one-by-one rounds{scaled} | {one_50:.2f} | {one_50 / single:.1f} | "
        f"{_mib(one['peak'])} |"
    )
    losses = [r["loss"] for r in runs["bv-batched"]]
    print(
        f"\n0-1 loss (batched): {losses[0]:.4f}; runs (s): single "
        f"{[r['seconds'] for r in runs['single-fit']]}, batched "
        f"{[r['seconds'] for r in runs['bv-batched']]}, one by one {one['seconds']}"
    )
    return None


if __name__ == "__main__":
    main()
