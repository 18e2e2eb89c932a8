"""Run the ``sklopt`` command line with ``python -m sklopt``."""

import sys

from sklopt.cli._main import main

if __name__ == "__main__":
    sys.exit(main())
