"""A row's prediction does not depend on the rows predicted with it.

float32 matrix products take kernels that depend on the number of rows, the
thread count and the CPU, so float32 outputs of one row could differ by about
1e-7 between batches (scikit-learn's ``check_methods_subset_invariance``
compares at 1e-7). The estimators predict in float64 on the CPU. The checks
run in a fresh interpreter at torch's default thread count, as users run them
(the test session itself pins one thread).
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("torch")

from sklopt.neural import MLPClassifier, MLPRegressor  # noqa: E402

_CHECK = textwrap.dedent(
    """
    import numpy as np, torch
    from sklearn.datasets import load_digits
    from sklearn.utils.estimator_checks import check_methods_subset_invariance
    from sklopt.neural import CNNClassifier, MLPClassifier, MLPRegressor

    assert torch.get_num_threads() == int({threads}), torch.get_num_threads()
    for seed in range(3):
        for est in (
            MLPClassifier(max_epochs=20, batch_size=32, lr=0.01, random_state=seed,
                          device="cpu"),
            MLPRegressor(hidden_layer_sizes=(16,), lr=0.01, max_epochs=40,
                         random_state=seed, device="cpu"),
        ):
            check_methods_subset_invariance(type(est).__name__, est)
    X, y = load_digits(return_X_y=True)
    X = X[:400] / 16.0
    y = y[:400]
    cnn = CNNClassifier(channels=(4,), max_epochs=2, random_state=0, device="cpu")
    cnn.fit(X, y)
    full = cnn.predict_proba(X)
    for size in (1, 3, 17, 64):
        for start in range(0, 200, 37):
            part = cnn.predict_proba(X[start : start + size])
            # float64 kernels still round differently per batch size, near 1e-16
            np.testing.assert_allclose(part, full[start : start + size], rtol=0,
                                       atol=1e-12, err_msg=str((size, start)))
    print("ok")
    """
)


@pytest.mark.parametrize("threads", ["default", 2])
def test_subset_invariance_at_users_thread_count(threads):
    """scikit-learn's subset-invariance check and CNN batches of other sizes,
    in an interpreter whose torch thread count is torch's default (or 2)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("OMP_NUM_THREADS", None)
    env.pop("MKL_NUM_THREADS", None)
    if threads == "default":
        code = "import torch; n = torch.get_num_threads()\n" + _CHECK.replace(
            "int({threads})", "n"
        )
    else:
        code = f"import torch; torch.set_num_threads({threads})\n" + _CHECK.format(
            threads=threads
        )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_predictions_match_the_float32_forward_pass(Estimator):
    """The float64 forward pass equals torch's float32 one to float32
    rounding (an independent computation: the module called directly)."""
    import torch

    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 5)).astype(np.float32)
    y = rng.randint(0, 3, 150) if Estimator is MLPClassifier else rng.normal(size=150)
    est = Estimator(hidden_layer_sizes=(8,), max_epochs=3, random_state=0).fit(X, y)
    with torch.no_grad():
        ref = est.net_.module_.eval()(torch.from_numpy(X)).double().numpy()
    out = est._forward(X)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, ref.reshape(out.shape), rtol=1e-5, atol=1e-6)
