"""The ``sklopt`` command line: argparse over the public API."""

import argparse
import sys


def build_parser():
    """Build the argument parser of the ``sklopt`` command."""
    parser = argparse.ArgumentParser(
        prog="sklopt",
        description="Deep-learning optimization and generalization studies on "
        "scikit-learn estimators.",
    )
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv=None):
    """Run the ``sklopt`` command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return 0
