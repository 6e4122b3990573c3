"""``python -m metaheur ...``: the ``metaheur`` command line."""

import sys

from metaheur.cli import main

if __name__ == "__main__":
    sys.exit(main())
