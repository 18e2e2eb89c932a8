"""The ``sklopt`` command line: argparse over the public API.

Every subcommand runs on bundled data by default, or on ``--data FILE.csv
--target COLUMN``; it writes CSV tables, PNG figures, ``report.md`` and
``report.html`` into ``--output`` and prints the report's path. Errors in the
arguments or the data print one line and exit with status 2.
"""

import argparse
import ast
import sys
from pathlib import Path

from sklopt.cli._data import CLIError, load_bundled, load_csv

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


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1 and value != -1:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer or -1, got {value}"
        )
    return value


def _add_common(parser, *, data=True):
    if data:
        parser.add_argument(
            "--data", metavar="FILE.csv", help="a CSV file (default: bundled data)"
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
        type=_positive_int,
        default=None,
        metavar="N",
        help="parallel jobs through joblib (-1: all cores)",
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
    parser.add_argument(
        "--param",
        type=_parse_param,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an estimator parameter, e.g. --param max_epochs=50",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def build_parser():
    """Build the argument parser of the ``sklopt`` command."""
    parser = _Parser(
        prog="sklopt",
        description="Deep-learning optimization and generalization studies on "
        "scikit-learn estimators.",
    )
    from sklopt import __version__

    parser.add_argument("--version", action="version", version=f"sklopt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    demo = sub.add_parser("demo", help="run the complete study on bundled data")
    _add_common(demo, data=False)
    compare = sub.add_parser(
        "compare-optimizers",
        help="cross-validate an MLP with each of the eight optimizers",
    )
    _add_common(compare)
    compare.add_argument(
        "--optimizers", nargs="+", choices=OPTIMIZERS, default=list(OPTIMIZERS)
    )
    compare.add_argument(
        "--cv",
        type=_positive_int,
        default=5,
        metavar="K",
        help="number of cross-validation folds (default: %(default)s)",
    )
    return parser


def _load(args, default):
    if getattr(args, "data", None) is None:
        if getattr(args, "target", None) is not None:
            raise CLIError("--target needs --data FILE.csv")
        return load_bundled(default, random_state=args.random_state)
    return load_csv(args.data, args.target)


def _run_compare(args, report, X, y, description, n_splits):
    from sklopt.cli._studies import compare_optimizers

    section = report.section("Optimizers compared by cross-validation")
    section.text.append(
        f"Data: {description}. One MLP per optimizer (each optimizer's default "
        f"learning rate) in a StandardScaler pipeline, {n_splits}-fold "
        "cross-validation."
    )
    params = dict(args.param)
    if args.quick:
        params.setdefault("max_epochs", 30)
    table, _ = compare_optimizers(
        X,
        y,
        optimizers=getattr(args, "optimizers", OPTIMIZERS),
        params=params,
        n_splits=n_splits,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
        progress=not args.no_progress,
    )
    report.add_table(
        section, "Cross-validated scores per optimizer", table, "optimizers.csv"
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def _demo(args, report):
    X, y, description = load_bundled("digits")
    _run_compare(args, report, X, y, description, n_splits=3 if args.quick else 5)


def _compare(args, report):
    X, y, description = _load(args, "digits")
    _run_compare(args, report, X, y, description, n_splits=args.cv)


_COMMANDS = {
    "demo": (_demo, "sklopt demo"),
    "compare-optimizers": (_compare, "sklopt: optimizers compared"),
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
        0 on success, 2 for bad arguments or data.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    from sklopt.cli._report import Report

    run, title = _COMMANDS[args.command]
    report = Report(title, args.output)
    try:
        run(args, report)
    except CLIError as exc:
        print(f"sklopt {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        # Parameter validation errors from the estimators (--param), one line.
        message = " ".join(str(exc).split())
        print(f"sklopt {args.command}: error: {message}", file=sys.stderr)
        return 2
    path = report.write()
    print(f"Report written to {path.resolve()}")
    return 0
