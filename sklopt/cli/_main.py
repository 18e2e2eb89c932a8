"""The ``sklopt`` command line: argparse over the public API.

Every subcommand runs on bundled data by default, or on ``--data FILE.csv
--target COLUMN``; it writes CSV tables, PNG figures, ``report.md`` and
``report.html`` into ``--output`` and prints the report's path. Errors in the
arguments or the data print one line and exit with status 2; other errors
print one line and exit with status 1 (``--traceback`` shows them in full).
"""

import argparse
import ast
import contextlib
import sys
import warnings
from pathlib import Path

from sklopt.cli._data import CLIError, is_classification, load_bundled, load_csv

# The names of sklopt.neural.OPTIMIZERS, repeated so that `sklopt --help` does
# not import torch (a test checks that the two agree).
# The model families of `sklopt bias-variance` (sklopt.cli._studies.FAMILIES).
FAMILIES = ("tree", "bagging", "boosting", "neural")

OPTIMIZERS = (
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "adadelta",
    "rmsprop",
    "adam",
    "adamw",
)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parse_param(text):
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass  # a plain string such as adam
    return key.strip(), value


def _int_at_least(low, allow_all=False):
    """An argparse type: an integer >= ``low`` (or -1, "all", if allowed)."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer, got {text!r}"
            ) from None
        if value < low and not (allow_all and value == -1):
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {low}, got {value}"
            )
        return value

    return parse


def _add_common(parser, *, data=True, n_jobs=None, neural=True):
    if data:
        parser.add_argument(
            "--data",
            metavar="FILE.csv",
            help="a CSV file with a header row (default: bundled data)",
        )
        parser.add_argument("--target", metavar="COLUMN", help="label column of --data")
    parser.add_argument(
        "--output",
        default="sklopt-report",
        type=Path,
        metavar="DIR",
        help="folder for the report, CSV tables and figures (default: %(default)s)",
    )
    parser.add_argument(
        "--n-jobs",
        type=_int_at_least(1, allow_all=True),
        default=n_jobs,
        metavar="N",
        help="parallel jobs through joblib, -1 for all cores (default: %(default)s)",
    )
    parser.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="SEED",
        help="seed for every random choice (default: %(default)s)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smaller, faster version of the study"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="on an error from the estimators or an unexpected one, show the "
        "Python traceback instead of one line",
    )
    if not neural:
        return
    parser.add_argument(
        "--torch-threads",
        type=_int_at_least(1),
        default=1,
        metavar="N",
        help="threads of torch in this process (default: %(default)s; small "
        "networks train fastest on one thread, raise it for large data)",
    )


def build_parser():
    """Build the argument parser of the ``sklopt`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
    """
    from sklopt import __version__

    parser = _Parser(
        prog="sklopt",
        description="Deep-learning optimization and generalization studies on "
        "scikit-learn estimators. Each command writes report.md, report.html, "
        "CSV tables and PNG figures into --output.",
    )
    parser.add_argument("--version", action="version", version=f"sklopt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    demo = sub.add_parser(
        "demo",
        help="the complete study on bundled data (digits, make_friedman1)",
        description="Optimizers compared by cross-validation, a regularizer ablation "
        "(also under label noise), small vs full batch with sharpness, and the "
        "bias-variance trade-off of a tree, bagging, boosting and a network against "
        "its width.",
    )
    # Two processes: the demo's 3 minutes are measured on a 2-core machine.
    _add_common(demo, data=False, n_jobs=2)
    compare = sub.add_parser(
        "compare-optimizers",
        help="cross-validate an MLP with each optimizer",
        description="Cross-validate an MLP (in a StandardScaler pipeline) with each "
        "optimizer; classification or regression follows the target.",
    )
    _add_common(compare)
    compare.add_argument(
        "--optimizers",
        nargs="+",
        choices=OPTIMIZERS,
        default=list(OPTIMIZERS),
        metavar="NAME",
        help=f"optimizers to compare (default: all of {OPTIMIZERS})",
    )
    compare.add_argument(
        "--cv",
        type=_int_at_least(2),
        default=5,
        metavar="K",
        help="number of cross-validation folds (default: %(default)s)",
    )
    compare.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help="auto (default): class labels unless the target is numeric with "
        "non-integer values or more than 20 distinct values",
    )
    compare.add_argument(
        "--param",
        type=_parse_param,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an MLP parameter, e.g. --param max_epochs=50 (repeatable)",
    )
    bias_variance = sub.add_parser(
        "bias-variance",
        help="bias^2, variance and error against model complexity",
        description="Bias-variance decomposition (bootstrap replicates) of a decision "
        "tree, bagged trees, boosted stumps and (--models neural) a one-hidden-layer "
        "network over their complexity parameter; "
        "squared loss for regression targets, 0-1 loss for class labels.",
    )
    _add_common(bias_variance, neural=False)
    bias_variance.add_argument(
        "--n-rounds",
        type=_int_at_least(2),
        default=50,
        metavar="R",
        help="bootstrap rounds per value (default: %(default)s)",
    )
    bias_variance.add_argument(
        "--models",
        nargs="+",
        choices=FAMILIES,
        default=["tree", "bagging", "boosting"],
        metavar="FAMILY",
        help="model families: tree (depth), bagging (depth of 10 bagged trees), "
        "boosting (number of stumps), neural (width 1 to 256 of a one-hidden-layer "
        "MLP, at most 10 rounds) "
        f"(default: tree bagging boosting; choices: {' '.join(FAMILIES)})",
    )
    return parser


def _load(args, default):
    if args.data is None:
        if args.target is not None:
            raise CLIError("--target needs --data FILE.csv")
        return load_bundled(default, random_state=args.random_state)
    return load_csv(args.data, args.target, missing="impute")


def _optimizer_text(description, n_splits, classification, table):
    """The paragraphs of the optimizer part, read from the study's table."""
    metric = "accuracy" if classification else "R^2"
    text = [
        f"Data: {description}. One MLP per optimizer, each with its usual default "
        f"learning rate (column lr), in a StandardScaler pipeline; {n_splits}-fold "
        f"cross-validation, test {metric} on the held-out fold. Training stops "
        "when the training loss stops improving (tol, patience) or at "
        "max_epochs; column converged counts the folds that stopped before "
        "max_epochs."
    ]
    if "adamw" in set(table["optimizer"]):
        text.append(
            "AdamW uses its usual decoupled weight decay (column weight_decay, "
            "torch's default 0.01 unless --param weight_decay=... is given); "
            "with 0 it would be Adam."
        )
    if not classification:
        text.append(
            "The target is a continuous quantity (regression): it is standardized "
            "for training (TransformedTargetRegressor with StandardScaler) and "
            "R^2 is computed on the original scale."
        )
    ok = table[table["status"] == "ok"]
    diverged = table.loc[table["status"] == "diverged", "optimizer"].tolist()
    if diverged:
        text.append(
            f"Diverged (training loss became infinite in a fold): "
            f"{', '.join(diverged)}; a smaller lr (--param lr=...) avoids this."
        )
    capped = ok.loc[ok["converged"].str.startswith("0/"), "optimizer"].tolist()
    if capped:
        text.append(
            f"Not converged: {', '.join(capped)} stopped at max_epochs in every "
            "fold before the stopping rule was met; their scores may still "
            "change with more epochs (--param max_epochs=...)."
        )
    return text


def _optimizer_part(
    args, report, X, y, description, *, n_splits, optimizers, params, task="auto"
):
    from sklopt.cli._conclusions import optimizer_conclusion
    from sklopt.cli._figures import training_curves
    from sklopt.cli._studies import compare_optimizers

    section = report.section("1. Optimizers compared by cross-validation")
    classification = (
        is_classification(y) if task == "auto" else (task == "classification")
    )
    table, histories = compare_optimizers(
        X,
        y,
        optimizers=optimizers,
        params=params,
        n_splits=n_splits,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
        progress=not args.no_progress,
        classification=classification,
    )
    section.text += _optimizer_text(description, n_splits, classification, table)
    # The conclusion sentence computed from `table` (a pure function
    # table -> sentence, from the claims work) is appended here.
    report.add_table(
        section, "Cross-validated scores per optimizer", table, "optimizers.csv"
    )
    _conclude(section, optimizer_conclusion(table))
    if histories:
        path = training_curves(
            histories,
            report.figure_path("optimizers_training.png"),
            "Training loss per epoch (first fold)",
        )
        section.figures.append(("Training curves of the optimizers (first fold)", path))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def _conclude(section, sentence):
    """Add a conclusion computed from the section's table; print it too."""
    if sentence:
        section.text.append(sentence)
        print(sentence)


def _split(X, y, random_state):
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=0.25, random_state=random_state, stratify=y)


def _regularizer_part(args, report, X, y, description):
    from sklopt.cli._conclusions import calibration_conclusion
    from sklopt.cli._figures import ablation_bars
    from sklopt.cli._studies import REGULARIZERS, regularizer_ablation

    section = report.section("2. Regularizers, one at a time")
    X_train, X_test, y_train, y_test = _split(X, y, args.random_state)
    regularizers = REGULARIZERS
    if args.quick:
        keep = ("none (MLP)", "early stopping", "dropout", "label smoothing", "mixup")
        regularizers = {name: REGULARIZERS[name] for name in keep}
    section.text.append(
        f"Data: {description}, 25% held out, pixels scaled to [0, 1]. Each "
        "regularizer is switched on alone in an MLP(256, 256) (a small CNN for "
        "CutMix and the image normalizations), trained for a fixed number of "
        "epochs (batch 32) on the clean labels and again with 20% of the "
        "training labels replaced by another class. Accuracy is measured on the "
        "clean test labels. The expected calibration error (ECE, 15 bins) is "
        "measured on the clean test labels for the clean fits, and for the noisy "
        "fits against test labels corrupted by the same process (a network that "
        "learned the noisy labels' distribution is right on such labels about as "
        "often as it claims; against clean labels it would look under-confident)."
    )
    table = regularizer_ablation(
        X_train,
        y_train,
        X_test,
        y_test,
        noise_rate=0.2,
        regularizers=regularizers,
        max_epochs=20 if args.quick else 40,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
        progress=not args.no_progress,
    )
    report.add_table(
        section, "Test accuracy and ECE per regularizer", table, "regularizers.csv"
    )
    _conclude(
        section,
        calibration_conclusion(
            table,
            noise_column="ECE (20% noise)",
            pairs={
                "mixup": "none (MLP)",
                "label smoothing": "none (MLP)",
                "CutMix (CNN)": "none (CNN)",
            },
        ),
    )
    path = ablation_bars(table, report.figure_path("regularizers.png"), "20% noise")
    section.figures.append(("Accuracy and calibration per regularizer", path))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def _batch_size_part(args, report, X, y, description):
    from sklopt.cli._conclusions import batch_size_conclusion
    from sklopt.cli._figures import training_curves
    from sklopt.cli._studies import batch_size_study

    section = report.section("3. Batch size and the sharpness of the minimum")
    X_train, X_test, y_train, y_test = _split(X, y, args.random_state)
    section.text.append(
        f"Data: {description}, 25% held out, pixels scaled to [0, 1]. The same "
        "MLP(256, 256) (same initial weights) is trained with Adam, with "
        "mini-batches of 16 and with the full batch, until its training loss "
        "reaches 0.002, so that the minima are compared at equal training loss. "
        "Sharpness (Keskar et al., 2017) is the largest relative rise of the "
        "training loss within a box of relative size epsilon around the "
        "minimizer, in percent: the largest of 3 searches from random points of "
        "the box, each run until it converges (the smallest is shown beside it, "
        "the spread of the local maxima). Keskar et al. report higher test "
        "accuracy and lower sharpness for small batches."
    )
    table, histories = batch_size_study(
        X_train,
        y_train,
        X_test,
        y_test,
        random_state=args.random_state,
        target_loss=2e-2 if args.quick else 2e-3,
        progress=not args.no_progress,
    )
    report.add_table(section, "Small vs full batch", table, "batch_size.csv")
    _conclude(section, batch_size_conclusion(table))
    path = training_curves(
        histories,
        report.figure_path("batch_size_training.png"),
        "Training loss per epoch",
    )
    section.figures.append(("Training curves, batch 16 vs full batch", path))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


_FAMILY_TITLES = {
    "tree": "a tree",
    "bagging": "bagging",
    "boosting": "boosting",
    "neural": "a neural network against its width",
}


def _bias_variance_part(
    args, report, X, y, description, y_true=None, *, number="", families=None
):
    from sklopt.cli._conclusions import bias_variance_conclusion
    from sklopt.cli._figures import bias_variance_panels
    from sklopt.cli._studies import WIDTHS, bias_variance_study

    families = tuple(
        families or getattr(args, "models", None) or ("tree", "bagging", "boosting")
    )
    stem = "bias_variance" if families != ("neural",) else "bias_variance_neural"
    names = [_FAMILY_TITLES[f] for f in families]
    listed = (
        names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    )
    section = report.section(f"{number} Bias-variance trade-off: {listed}".strip())
    n_rounds = getattr(args, "n_rounds", 50)
    if args.quick:
        n_rounds = min(n_rounds, 20)
    widths = WIDTHS[::2]
    if "neural" in families:
        # Each width is one stacked fit of all rounds: 10 rounds and every
        # other width keep the family to a few fits.
        n_rounds = min(n_rounds, 10)
    noise_text = (
        "The noise-free targets are known, so the noise is separated from bias^2."
        if y_true is not None
        else "The true function is unknown, so bias includes the noise."
    )
    neural_text = (
        " The network has one hidden layer (widths "
        f"{', '.join(map(str, widths))}), standardized inputs (and target, the "
        "terms scaled back to the target's units), Adam with lr 0.01, batches of "
        "32, 100 epochs; its rounds train as one stacked model. Yang et al. "
        "(2020) report bias falling and variance rising then falling with width."
        if "neural" in families
        else ""
    )
    section.text.append(
        f"Data: {description}, 25% held out. Each model is refitted on {n_rounds} "
        "bootstrap replicates of the training set; the test error is split into "
        f"bias and variance. {noise_text}{neural_text}"
    )
    table, curves = bias_variance_study(
        X,
        y,
        y_true=y_true,
        n_rounds=n_rounds,
        families=families,
        widths=widths,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
        progress=not args.no_progress,
    )
    report.add_table(
        section, "Decomposition per model and complexity", table, f"{stem}.csv"
    )
    _conclude(section, bias_variance_conclusion(table))
    path = bias_variance_panels(
        curves,
        report.figure_path(f"{stem}.png"),
        f"Bias-variance decomposition ({description})",
    )
    section.figures.append(("Bias, variance and error against complexity", path))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def _demo(args, report):
    from sklopt.datasets import make_friedman1

    X, y, description = load_bundled("digits")
    _optimizer_part(
        args,
        report,
        X,
        y,
        description,
        n_splits=3 if args.quick else 5,
        optimizers=OPTIMIZERS,
        params={"max_epochs": 30} if args.quick else {},
    )
    _regularizer_part(args, report, X, y, description)
    _batch_size_part(args, report, X, y, description)
    X, y, y_true = make_friedman1(
        400, noise=1.0, return_true=True, random_state=args.random_state
    )
    friedman = "make_friedman1 (400 rows, noise 1.0)"
    _bias_variance_part(
        args,
        report,
        X,
        y,
        friedman,
        y_true=y_true,
        number="4.",
        families=("tree", "bagging", "boosting"),
    )
    _bias_variance_part(
        args, report, X, y, friedman, y_true=y_true, number="5.", families=("neural",)
    )


def _compare(args, report):
    X, y, description = _load(args, "digits")
    params = dict(args.param)
    if "optimizer" in params:
        raise CLIError("--param optimizer=...: choose optimizers with --optimizers.")
    if args.quick:
        params.setdefault("max_epochs", 30)
    _optimizer_part(
        args,
        report,
        X,
        y,
        description,
        n_splits=args.cv,
        optimizers=args.optimizers,
        params=params,
        task=args.task,
    )


def _bias_variance(args, report):
    y_true = None
    if args.data is None:
        if args.target is not None:
            raise CLIError("--target needs --data FILE.csv")
        from sklopt.datasets import make_friedman1

        X, y, y_true = make_friedman1(
            400, noise=1.0, return_true=True, random_state=args.random_state
        )
        description = "make_friedman1 (400 rows, noise 1.0)"
    else:
        X, y, description = load_csv(args.data, args.target)
    if is_classification(y) and len(set(y)) < 2:
        raise CLIError("--target: the label column holds a single class.")
    _bias_variance_part(args, report, X, y, description, y_true=y_true)


_COMMANDS = {
    "demo": (_demo, "sklopt demo: optimization and generalization on bundled data"),
    "compare-optimizers": (_compare, "sklopt: optimizers compared"),
    "bias-variance": (_bias_variance, "sklopt: bias-variance trade-off"),
}


def main(argv=None):
    """Run the ``sklopt`` command line; return the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 2 for bad arguments or data, 1 for other errors (one
        line each; ``--traceback`` raises them instead).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    from sklopt.cli._report import Report

    run, title = _COMMANDS[args.command]
    if getattr(args, "torch_threads", None) is not None:
        import torch

        torch.set_num_threads(args.torch_threads)
    report = Report(title, args.output)
    try:
        with _each_warning_once():
            run(args, report)
    except CLIError as exc:
        _print_error(args.command, str(exc))
        return 2
    except ValueError as exc:
        # Parameter and data validation errors of the estimators.
        if args.traceback:
            raise
        _print_error(args.command, str(exc))
        return 2
    except Exception as exc:
        if args.traceback:
            raise
        _print_error(
            args.command,
            f"{type(exc).__name__}: {exc}",
            hint=" (--traceback shows where)",
        )
        return 1
    path = report.write()
    print(f"Report written to {path.resolve()}")
    return 0


@contextlib.contextmanager
def _each_warning_once():
    """Show each distinct warning (category and text) once in this block, not
    once per fit; FutureWarnings of the libraries are hidden. Warnings raised
    in joblib worker processes are printed by the workers."""
    seen = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        show = warnings.showwarning

        def show_once(message, category, filename, lineno, file=None, line=None):
            key = (category, str(message))
            if key not in seen:
                seen.add(key)
                show(message, category, filename, lineno, file, line)

        warnings.showwarning = show_once
        yield


#: Longest error line printed; longer messages are cut (the full text is in
#: the exception, shown with --traceback).
_MAX_ERROR_CHARS = 400


def _print_error(command, message, hint=""):
    """Print ``message`` as one line, cut to :data:`_MAX_ERROR_CHARS`, then
    ``hint``."""
    message = " ".join(message.split())
    if len(message) > _MAX_ERROR_CHARS:
        message = message[: _MAX_ERROR_CHARS - 3].rstrip() + "..."
    print(f"sklopt {command}: error: {message}{hint}", file=sys.stderr)
