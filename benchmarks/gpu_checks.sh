#!/usr/bin/env bash
# The open GPU figures in one run, for a lent GPU machine (about 10 minutes
# of device time; results in $OUT, or ./gpu-checks when OUT is not set):
#   1. the GPU tests (pytest -m gpu): stacked members on CUDA equal their
#      separate CUDA fits, the device round trips;
#   2. the stacked search's 120-fit digits grid on the GPU against
#      scikit-learn's GridSearchCV(n_jobs=2) on the same GPU (target >= 30x);
#   3. batched bagging of 32 MLPs on the GPU against one by one (target 20x).
# Run from the repository root: bash benchmarks/gpu_checks.sh
set -uo pipefail
out="${OUT:-gpu-checks}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$out/gpu.txt"
timeout 180 python -m pytest -q -m gpu -p no:cacheprovider tests 2>&1 \
    | tail -20 | tee "$out/pytest_gpu.txt"
PYTHONPATH=$PWD timeout 300 python benchmarks/bench_search.py --only grid \
    --repeats 1 --device cuda 2>&1 | tee "$out/bench_search_cuda.txt"
PYTHONPATH=$PWD timeout 180 python benchmarks/bench_batched.py --device cuda \
    --repeats 3 --skip-bias-variance 2>&1 | tee "$out/bench_batched_cuda.txt"
