"""The ``metaheur`` command line: ``metaheur <subcommand> ...``.

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` (adds
and returns its ``argparse`` sub-parser) and ``run(args) -> int``. To add one, write
the module and append one ``(name, module)`` pair to :data:`SUBCOMMANDS`; modules are
imported lazily, only to build the parser. The CLI is the only code that prints.

Bad input (argparse errors, ``ValueError``, ``FileNotFoundError``) is reported as one
line on stderr with exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

#: (subcommand, module) pairs; one line each. Planned: tune, bench, report.
SUBCOMMANDS: list[tuple[str, str]] = [
    ("list", "metaheur.cli.list_cmd"),
    ("minimize", "metaheur.cli.minimize_cmd"),
    ("tune", "metaheur.cli.tune_cmd"),
    ("bench", "metaheur.cli.bench_cmd"),
    ("report", "metaheur.cli.report_cmd"),
]

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand of :data:`SUBCOMMANDS`."""
    from metaheur._version import __version__

    parser = _Parser(
        prog="metaheur",
        description="Vectorised population-based metaheuristics.",
    )
    parser.add_argument("--version", action="version", version=f"metaheur {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser, required=True
    )
    for name, module_name in SUBCOMMANDS:
        module = importlib.import_module(module_name)
        p = module.add_parser(sub)
        p.set_defaults(_run=module.run, _name=name)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    try:
        return int(args._run(args))
    except (ValueError, FileNotFoundError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"metaheur {args._name}: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"metaheur {args._name}: interrupted", file=sys.stderr)
        return 130
