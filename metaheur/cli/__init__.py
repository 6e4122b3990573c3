"""The ``metaheur`` command line: ``metaheur <subcommand> ...`` (or ``python -m metaheur``).

Each subcommand lives in its own module exposing ``add_parser(subparsers, common)`` (adds
and returns its ``argparse`` sub-parser, with ``common`` as a parent for ``-v``/``-q``) and
``run(args) -> int``. To add one, write the module and append one ``(name, module)`` pair to
:data:`SUBCOMMANDS`. The CLI is the only code that prints: results on stdout, progress,
warnings and errors on stderr.

Bad input (argparse errors, ``ValueError``, ``OSError``, storage errors) is reported as one
line on stderr with exit status 2, never as a traceback. A command whose work failed exits
with 1 (``minimize``: no finite value; ``bench``: a run raised). Ctrl-C and SIGTERM end a
command alike: what finished is kept, and the exit status is 128 + the signal number (130,
143).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import select
import signal
import sys
from typing import Any, NoReturn

__all__ = ["SUBCOMMANDS", "HelpFormatter", "build_parser", "main", "int_arg", "positive_float",
           "text_arg", "configure_logging", "signal_of"]

#: (subcommand, module) pairs; one line each.
SUBCOMMANDS: list[tuple[str, str]] = [
    ("list", "metaheur.cli.list_cmd"),
    ("minimize", "metaheur.cli.minimize_cmd"),
    ("tune", "metaheur.cli.tune_cmd"),
    ("bench", "metaheur.cli.bench_cmd"),
    ("report", "metaheur.cli.report_cmd"),
]

EXIT_USAGE = 2
#: The extra (pyproject.toml) that installs each optional top-level module.
_EXTRAS = {
    **dict.fromkeys(("pandas", "scipy", "matplotlib", "sklearn", "cmaes"), "bench"),
    **dict.fromkeys(("torch", "skimage", "PIL", "platformdirs"), "models"),
    "psycopg": "postgres",
    "cocoex": "bbob",
}

EXAMPLES = """examples:
  metaheur list --params
  metaheur minimize -f rastrigin -d 10 -a dlf-aoa --budget 20000
  metaheur tune --algo dlf-aoa --trials 48 --pop-size 8
  metaheur bench --algos dlf-aoa,pso,gwo --functions sphere,ackley --dim 10 --runs 10
  metaheur report --storage sqlite:///metaheur-runs/lstm-elu-dlf-aoa/study.db
"""


class HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions as usual but keeps an ``examples:`` block line by line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr and exit status 2.

    A word starting with ``-`` and a digit (``-5d``, ``-3x``, ``-1e3``) is a value, not an
    option: argparse takes only plain negative numbers as values, so ``--budget -5d`` used
    to fail with "expected one argument" instead of reaching the option's own check, which
    says what is allowed. No option of ours starts with a digit.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # argparse's (private, stable since Python 3.2) test of "looks like a negative number"
        self._negative_number_matcher = re.compile(r"^-\.?\d")

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def int_arg(name: str, lo: int | None = None, hi: int | None = None) -> Any:
    """An argparse ``type`` for an integer in ``[lo, hi]``; argparse's message names the
    argument (``argument --seed/-s: must be >= 0, got -1``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            allowed = (f"between {lo} and {hi}" if lo is not None and hi is not None
                       else f">= {lo}" if lo is not None else f"<= {hi}")
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {value}")
        return value

    parse.__name__ = name  # argparse names the type in some messages
    return parse


def text_arg(hint: str = "") -> Any:
    """An argparse ``type`` for a value that must not be empty or blank: ``--out "$OUT"``
    with ``OUT`` unset would otherwise mean the default (a storage, a study, a folder of
    its own) or the current folder; ``hint`` says what to write instead."""

    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(
                f"must not be empty (an unset shell variable?){f'; {hint}' if hint else ''}")
        return text

    return parse


OUT_ARG = text_arg("for the current folder say --out .")


def positive_float(name: str) -> Any:
    """An argparse ``type`` for a finite number > 0 (argparse's message names the argument)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value > 0 and value != float("inf")):
            raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
        return value

    return parse


def _common() -> argparse.ArgumentParser:
    """Options every subcommand shares: verbosity."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("output")
    group.add_argument("--verbose", "-v", action="count", default=0,
                       help="more log messages on stderr (-v: info, -vv: debug and Optuna's "
                       "per-trial log)")
    group.add_argument("--quiet", "-q", action="store_true",
                       help="no progress bar and no notes; warnings and errors only")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand of :data:`SUBCOMMANDS`."""
    from metaheur._version import __version__

    parser = _Parser(
        prog="metaheur",
        description="Vectorised population-based metaheuristics: minimise test functions, "
        "tune models' hyper-parameters on an Optuna storage, benchmark algorithms.",
        epilog=EXAMPLES,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"metaheur {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser, required=True
    )
    common = _common()
    for name, module_name in SUBCOMMANDS:
        module = importlib.import_module(module_name)
        p = module.add_parser(sub, common)
        p.set_defaults(_run=module.run, _name=name)
    return parser


class _StderrHandler(logging.StreamHandler):
    """A handler writing to whatever ``sys.stderr`` is at the time of the record."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(verbose: int, quiet: bool = False) -> None:
    """Log records of ``metaheur`` (and, with ``-vv``, Optuna's) on stderr, one line each."""
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    root = logging.getLogger()
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    try:
        import optuna
    except ImportError:  # pragma: no cover - optuna is a core dependency
        return
    optuna.logging.disable_default_handler()  # one handler: ours
    optuna.logging.enable_propagation()
    optuna.logging.set_verbosity(logging.INFO if verbose >= 2 else logging.ERROR)


class _Terminated(KeyboardInterrupt):
    """SIGTERM outside a run that handles it: stop like Ctrl-C."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated


def signal_of(exc: KeyboardInterrupt) -> int:
    """The signal behind a ``KeyboardInterrupt``: SIGTERM (see :func:`main`) or SIGINT."""
    return int(signal.SIGTERM if isinstance(exc, _Terminated) else signal.SIGINT)


def _one_line(exc: BaseException) -> str:
    from metaheur.harness.storage import mask_text, os_reason

    if isinstance(exc, OSError) and not str(exc).startswith("cannot"):
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return mask_text(f"{where}{os_reason(exc)}")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return mask_text(text)


def _storage_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = []
    try:
        from sqlalchemy.exc import SQLAlchemyError

        errors.append(SQLAlchemyError)
    except ImportError:  # pragma: no cover
        pass
    try:
        from optuna.exceptions import StorageInternalError

        errors.append(StorageInternalError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        try:
            sys.stdout.flush()  # a short, buffered output meets a closed pipe here
        except BrokenPipeError:
            return _reader_gone()
        return code
    configure_logging(args.verbose, args.quiet)
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if _main_thread() else None
    try:
        code = int(args._run(args))
        sys.stdout.flush()  # inside the try: buffered output may meet a closed pipe here
        return code
    except KeyboardInterrupt as exc:
        print(f"metaheur {args._name}: interrupted", file=sys.stderr)
        return 128 + signal_of(exc)
    except ModuleNotFoundError as exc:  # an optional dependency: name the extra installing it
        extra = _EXTRAS.get((exc.name or "").partition(".")[0])
        if extra is None:
            raise
        print(f"metaheur {args._name}: error: this needs {exc.name}, which is not installed: "
              f"pip install 'metaheur[{extra}]'", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError as exc:
        if _stdout_closed():  # the reader went away (`metaheur list | head -1`)
            return _reader_gone()
        print(f"metaheur {args._name}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, OSError, *_storage_errors()) as exc:
        print(f"metaheur {args._name}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _reader_gone() -> int:
    """End quietly after stdout's reader closed the pipe: 141, as if killed by SIGPIPE,
    like a shell tool."""
    _silence_stdout()
    return 128 + 13


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (poll reports an error on it); True
    where that cannot be told (no ``poll``, or stdout is not a real file)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return True


def _silence_stdout() -> None:
    """Point stdout at the null device, so that flushing it at exit raises no second
    ``BrokenPipeError`` (the recipe of Python's ``signal`` documentation)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # not a real file (e.g. under pytest)
        pass


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
