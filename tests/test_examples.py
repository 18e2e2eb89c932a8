"""Every gallery example runs to completion, quickly, without a display."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("**/plot_*.py"))
# The documentation promises examples well under a minute on a laptop CPU.
MAX_SECONDS = 60


def test_examples_are_found():
    assert len(EXAMPLES) >= 10


@pytest.mark.slow
@pytest.mark.parametrize(
    "path", EXAMPLES, ids=[str(p.relative_to(ROOT / "examples")) for p in EXAMPLES]
)
def test_example_runs(path, tmp_path):
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
        ),
        # One BLAS/torch thread per example: the small networks of the
        # examples run fastest that way and do not oversubscribe the CPU.
        "OMP_NUM_THREADS": "1",
    }
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=4 * MAX_SECONDS,
    )
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip(), "an example prints the numbers it shows"
    assert elapsed < MAX_SECONDS, f"{path.name} took {elapsed:.0f} s"
