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
    # No noise-free target: no (all-NaN) noise column; one section, no number.
    assert "noise" not in table.columns
    report = (out / "report.md").read_text()
    assert "\n## Bias-variance trade-off" in report and "## 4." not in report
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


@pytest.fixture
def linear_csv(tmp_path):
    """A regression CSV whose target has a large scale (std about 120)."""
    from sklearn.datasets import make_regression

    X, y = make_regression(160, 5, n_informative=5, noise=10, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    frame["y"] = y
    path = tmp_path / "linear.csv"
    frame.to_csv(path, index=False)
    return path


def _compare(tmp_path, csv, target, *extra):
    out = tmp_path / "compare"
    argv = ["compare-optimizers", "--data", str(csv), "--target", target]
    argv += ["--cv", "2", "--output", str(out), "--no-progress", *extra]
    return main(argv), out


def test_compare_optimizers_scales_regression_targets(tmp_path, linear_csv):
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import KFold, cross_val_score

    status, out = _compare(
        tmp_path, linear_csv, "y", "--optimizers", "sgd", "adam", "rmsprop",
        "--param", "max_epochs=30", "--param", "batch_size=16",
    )  # fmt: skip
    assert status == 0
    table = pd.read_csv(out / "optimizers.csv")
    frame = pd.read_csv(linear_csv)
    cv = KFold(2, shuffle=True, random_state=0)
    linear = cross_val_score(
        LinearRegression(), frame.drop(columns="y"), frame["y"], cv=cv
    ).mean()
    # Unscaled, these nets scored R^2 < 0.6 or diverged; scaled, each is
    # within 0.05 of least squares (0.994 here).
    assert (table["test R^2"] > linear - 0.05).all(), table
    assert (table["status"] == "ok").all()
    report = (out / "report.md").read_text()
    assert "TransformedTargetRegressor with StandardScaler" in report


def test_compare_optimizers_default_run_on_regression_csv(tmp_path, linear_csv):
    # All eight optimizers (the default) ran into a DivergenceError on the
    # unscaled target and the command stopped with a 3,000-character line.
    status, out = _compare(tmp_path, linear_csv, "y", "--quick")
    assert status == 0
    table = pd.read_csv(out / "optimizers.csv")
    assert sorted(table["optimizer"]) == sorted(OPTIMIZERS)
    assert set(table["status"]) <= {"ok", "diverged"}


def test_diverging_optimizer_is_a_row_not_a_crash(tmp_path, linear_csv, capsys):
    status, out = _compare(
        tmp_path, linear_csv, "y", "--optimizers", "sgd",
        "--param", "lr=1000", "--param", "max_epochs=5",
    )  # fmt: skip
    assert status == 0
    table = pd.read_csv(out / "optimizers.csv")
    row = table.set_index("optimizer").loc["sgd"]
    assert row["status"] == "diverged"
    assert np.isnan(row["test R^2"]) and row["lr"] == 1000
    report = (out / "report.md").read_text()
    assert "Diverged (training loss became infinite in a fold): sgd" in report
    assert "| sgd | 1000 | 0 | - | - | - | - |  | - | diverged |" in report
    assert capsys.readouterr().err == ""


def test_integer_valued_quantity_is_regression(tmp_path):
    from sklearn.datasets import load_diabetes

    from sklopt.cli._data import is_classification

    frame = load_diabetes(as_frame=True).frame.iloc[:120]
    path = tmp_path / "diabetes.csv"
    frame.to_csv(path, index=False)  # 'target' holds integral floats
    assert not is_classification(pd.read_csv(path)["target"].to_numpy())
    assert is_classification(np.arange(60) % 20)
    assert is_classification(np.array(["a", "b"] * 30))
    assert not is_classification(np.linspace(0, 1, 60))
    status, out = _compare(
        tmp_path, path, "target", "--optimizers", "adam", "--param", "max_epochs=3"
    )
    assert status == 0
    assert "test R^2" in pd.read_csv(out / "optimizers.csv").columns
    # --task overrides the rule: four integer levels are classes unless told
    frame["target"] = frame["target"] // 100
    frame.to_csv(path, index=False)
    status, out = _compare(
        tmp_path, path, "target", "--optimizers", "adam", "--task", "regression",
        "--param", "max_epochs=2",
    )  # fmt: skip
    assert status == 0
    assert "test R^2" in pd.read_csv(out / "optimizers.csv").columns


def test_adamw_decay_and_convergence_are_shown(tmp_path, classification_csv):
    status, out = _compare(
        tmp_path, classification_csv, "label", "--optimizers", "adam", "adamw",
        "--param", "max_epochs=3",
    )  # fmt: skip
    assert status == 0
    table = pd.read_csv(out / "optimizers.csv").set_index("optimizer")
    assert table.loc["adam", "weight_decay"] == 0.0
    assert table.loc["adamw", "weight_decay"] == 0.01  # torch's AdamW default
    assert (table["converged"] == "0/2").all()  # 3 epochs: stopped at max_epochs
    report = (out / "report.md").read_text()
    assert "Not converged: adam, adamw stopped at max_epochs in every fold" in report
    # a weight_decay given by the user applies to both
    status, out = _compare(
        tmp_path, classification_csv, "label", "--optimizers", "adamw",
        "--param", "max_epochs=3", "--param", "weight_decay=0.001",
    )  # fmt: skip
    assert pd.read_csv(out / "optimizers.csv")["weight_decay"].tolist() == [0.001]


def test_missing_values_are_imputed_and_reported(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["color"] = rng.choice(["red", "blue"], size=60)
    frame["label"] = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    frame.loc[[1, 5, 9, 20, 33], "a"] = np.nan
    frame.loc[[2, 7], "b"] = np.nan
    frame.loc[[3, 4, 8], "color"] = np.nan
    frame.loc[[10, 11], "label"] = np.nan
    path = tmp_path / "holes.csv"
    frame.to_csv(path, index=False)
    status, out = _compare(
        tmp_path, path, "label", "--optimizers", "adam", "--param", "max_epochs=3"
    )
    assert status == 0
    report = (out / "report.md").read_text()
    assert "7 missing numeric values, imputed with the median" in report
    assert "3 missing categorical values" in report
    assert "(3 columns)" in report
    assert "2 rows without a 'label' value dropped" in report
    assert "58 rows" in report
    # the bias-variance study still refuses them in one line
    status = main(
        ["bias-variance", "--data", str(path), "--target", "label",
         "--output", str(tmp_path / "bv"), "--no-progress"]
    )  # fmt: skip
    assert status == 2


def test_unexpected_errors_are_one_line(tmp_path, linear_csv, monkeypatch, capsys):
    import sklopt.cli._studies as studies

    def broken(*args, **kwargs):
        raise RuntimeError("first line\n" + "x" * 5000)

    monkeypatch.setattr(studies, "compare_optimizers", broken)
    status, _ = _compare(tmp_path, linear_csv, "y")
    err = capsys.readouterr().err
    assert status == 1
    assert len(err.strip().splitlines()) == 1 and len(err) < 500
    assert "RuntimeError: first line xxx" in err and "--traceback" in err
    with pytest.raises(RuntimeError, match="first line"):
        _compare(tmp_path, linear_csv, "y", "--traceback")


def test_each_distinct_warning_is_shown_once(tmp_path, monkeypatch):
    import warnings

    from sklopt.cli._main import _COMMANDS

    def noisy(args, report):
        for _ in range(5):
            warnings.warn("the same thing", UserWarning, stacklevel=1)
        warnings.warn("another thing", UserWarning, stacklevel=1)

    monkeypatch.setitem(_COMMANDS, "compare-optimizers", (noisy, "t"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["compare-optimizers", "--output", str(tmp_path / "w")]) == 0
    assert sorted(str(w.message) for w in caught) == [
        "another thing",
        "the same thing",
    ]
