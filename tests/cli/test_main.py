"""The command line: exit codes, one-line errors, and the files it writes."""

import numpy as np
import pandas as pd
import pytest

from sklopt.cli import main
from sklopt.cli._main import OPTIMIZERS


@pytest.fixture
def classification_csv(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["color"] = rng.choice(["red", "blue"], size=60)  # a categorical feature
    frame["label"] = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def regression_csv(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(80, 2))
    frame = pd.DataFrame(X, columns=["x1", "x2"])
    frame["y"] = np.sin(6 * X[:, 0]) + 0.1 * rng.normal(size=80)
    path = tmp_path / "reg.csv"
    frame.to_csv(path, index=False)
    return path


def test_optimizer_names_match_the_registry():
    from sklopt.neural import OPTIMIZERS as registry

    assert OPTIMIZERS == registry


def test_help_and_no_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "demo" in capsys.readouterr().out
    assert main([]) == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compare-optimizers", "--optimizers", "adamax"], "invalid choice: 'adamax'"),
        (["compare-optimizers", "--cv", "1"], "expected an integer >= 2"),
        (["compare-optimizers", "--n-jobs", "zero"], "expected an integer"),
        (["compare-optimizers", "--param", "lr"], "expected KEY=VALUE"),
        (["nope"], "invalid choice: 'nope'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_bad_data_exit_2_with_one_line(tmp_path, classification_csv, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    cases = [
        (["--data", str(tmp_path / "missing.csv"), "--target", "y"], "no such file"),
        (["--data", str(classification_csv)], "--target is required"),
        (["--data", str(classification_csv), "--target", "nope"], "no column 'nope'"),
        (["--data", str(empty), "--target", "y"], "cannot read"),
        (["--target", "label"], "--target needs --data"),
        (
            [
                "--data",
                str(classification_csv),
                "--target",
                "label",
                "--param",
                "lr=-1",
            ],
            "lr",
        ),
        (
            [
                "--data",
                str(classification_csv),
                "--target",
                "label",
                "--param",
                "optimizer=sgd",
            ],
            "--optimizers",
        ),
    ]
    for extra, message in cases:
        status = main(
            [
                "compare-optimizers",
                "--no-progress",
                "--output",
                str(tmp_path / "out"),
                *extra,
            ]
        )
        err = capsys.readouterr().err.strip()
        assert status == 2, extra
        assert message in err and len(err.splitlines()) == 1, err


def test_compare_optimizers_on_csv(tmp_path, classification_csv, capsys):
    out = tmp_path / "report"
    status = main(
        [
            "compare-optimizers",
            "--data",
            str(classification_csv),
            "--target",
            "label",
            "--optimizers",
            "sgd",
            "adam",
            "--cv",
            "2",
            "--param",
            "max_epochs=5",
            "--output",
            str(out),
            "--no-progress",
        ]
    )
    assert status == 0
    table = pd.read_csv(out / "optimizers.csv")
    assert sorted(table["optimizer"]) == ["adam", "sgd"]
    assert table["epochs"].max() <= 5
    assert ((table["test accuracy"] >= 0) & (table["test accuracy"] <= 1)).all()
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "optimizers.csv" in html
    assert "optimizers_training.png" in (out / "report.md").read_text()
    assert str(out / "report.html") in capsys.readouterr().out


def test_bias_variance_on_regression_csv(tmp_path, regression_csv):
    out = tmp_path / "bv"
    status = main(
        [
            "bias-variance",
            "--data",
            str(regression_csv),
            "--target",
            "y",
            "--n-rounds",
            "3",
            "--quick",
            "--output",
            str(out),
            "--no-progress",
        ]
    )
    assert status == 0
    table = pd.read_csv(out / "bias_variance.csv")
    assert set(table["model"]) == {
        "decision tree",
        "bagging (10 trees)",
        "boosting (stumps)",
    }
    # bias^2 + variance equals the squared loss (no y_true: bias^2 holds the noise).
    np.testing.assert_allclose(
        table["bias2"] + table["variance"], table["loss"], rtol=1e-10
    )
    assert (out / "bias_variance.png").stat().st_size > 10_000


@pytest.mark.slow
def test_demo_quick(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--output", str(out), "--no-progress"]) == 0
    for name in [
        "report.md",
        "report.html",
        "optimizers.csv",
        "regularizers.csv",
        "batch_size.csv",
        "bias_variance.csv",
        "bias_variance.png",
    ]:
        assert (out / name).stat().st_size > 0, name
