"""``metaheur report``: regenerate the tables and plots of any stored study."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from metaheur.harness.storage import SQLITE_HEADER


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``report`` sub-parser."""
    from metaheur.cli import OUT_ARG, HelpFormatter, text_arg

    p = subparsers.add_parser(
        "report",
        parents=[common],
        help="write trials.csv, best.json and plots for a stored study",
        description="Read a study from an existing Optuna storage (e.g. the study.db that "
        "`metaheur tune` wrote, a PostgreSQL server, or an Optuna journal file; nothing is "
        "written to it) and write trials.csv, best.json, "
        "history.png, importances.png and, when the best trial stored validation predictions, "
        "confusion_matrix.png and roc.png (looked for in the artifact folder the study "
        "recorded, then artifacts/ beside the database, then in <--out>/artifacts/). A plot "
        "that cannot be drawn is removed from --out where an earlier report wrote it (the "
        "hidden .metaheur-report.json says which; a file of yours of that name is kept). "
        "Every file is replaced whole: a failed or stopped write keeps the earlier one. "
        "An --out folder whose best.json belongs to another study is refused, and so is a "
        "storage with a damaged record of the study.",
        epilog="examples:\n"
        "  metaheur report --storage sqlite:///metaheur-runs/lstm-elu-dlf-aoa/study.db\n"
        "  metaheur report --storage postgresql://user@host/db --study s1 --out rep --json",
        formatter_class=HelpFormatter,
    )
    p.add_argument("--storage", required=True, type=text_arg(),
                   help="SQLAlchemy URL of an existing storage, e.g. "
                   "sqlite:///metaheur-runs/lstm-elu-dlf-aoa/study.db, or the path of an "
                   "SQLite database or Optuna journal file (JournalFileBackend)")
    p.add_argument("--study", default=None, type=text_arg(),
                   help="study name; default: the only study in the storage")
    p.add_argument("--out", default=None, type=OUT_ARG,
                   help="output folder; default: metaheur-runs/report-<study>")
    p.add_argument("--json", action="store_true",
                   help="print best.json's content instead of the text summary")
    return p


#: The most bytes (UTF-8) of a study name :func:`safe_name` keeps whole; a folder name may
#: have 255, and ``report-`` comes before it.
MAX_NAME_BYTES = 100


def safe_name(name: str) -> str:
    """``name`` as one path component: runs of characters other than letters, digits, ``_``
    and ``-`` become ``_`` (a study named ``../../x`` becomes ``x``, inside its folder).
    A result over :data:`MAX_NAME_BYTES` is cut at a character and ends in ``-`` and 8 hex
    digits of the SHA-256 of ``name`` (a long name would not fit a folder's name)."""
    safe = re.sub(r"[^\w-]+", "_", name).strip("_") or "study"
    if len(safe.encode()) <= MAX_NAME_BYTES:
        return safe
    cut = safe.encode()[:MAX_NAME_BYTES - 9].decode(errors="ignore")
    return f"{cut}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def run(args: argparse.Namespace) -> int:
    """Load the study and write the report."""
    import optuna

    from metaheur.cli.tune_stored import damaged_records, read_trials
    from metaheur.harness.report import (
        DISCLAIMER,
        artifact_dirs,
        maximised,
        summary_text,
        write_report,
    )
    from metaheur.harness.storage import check_output_dir, check_results_owner, mask_url

    storage, url = open_report_storage(args.storage)
    shown = mask_url(args.storage) if "://" in args.storage else args.storage  # a file's path
    if args.study is None or not _has_study(storage, args.study):
        with damaged_records(None, shown):  # every study's attributes are read here
            names = optuna.get_all_study_names(storage)
        if not names:
            raise ValueError(f"the storage {shown} holds no study")
        if args.study is not None:
            raise ValueError(f"no study {args.study!r} in {shown}; available: "
                             f"{', '.join(names)}")
        if len(names) != 1:
            raise ValueError(f"give --study; studies in {shown}: {', '.join(names)}")
        args.study = names[0]
    with damaged_records(args.study, shown):
        study = optuna.load_study(study_name=args.study, storage=storage)
        study.directions  # noqa: B018  (read: may raise)
    maximised(study)  # a multi-objective study is refused before its folder is made
    read_trials(study, shown)  # every record once: a damaged one is refused here
    out = check_output_dir(args.out or Path("metaheur-runs") / f"report-{safe_name(args.study)}")
    check_results_owner(out, study.study_name)  # another study's results are not replaced
    written = write_report(study, out, artifact_dir=artifact_dirs(study, url, out))
    if args.json:
        print(json.dumps(json.loads(written["best"].read_text()), indent=2))
        return 0
    print(summary_text(study))
    print(DISCLAIMER)
    print(f"wrote {', '.join(p.name for p in written.values())} to {out}/")
    return 0


def _has_study(storage: Any, name: str) -> bool:
    """Whether ``storage`` holds a study ``name`` (only its id is read: another study of the
    storage may be damaged)."""
    try:
        storage.get_study_id_from_name(name)
    except KeyError:
        return False
    return True


def open_report_storage(storage: str) -> tuple[Any, str | None]:
    """The storage ``--storage`` names, opened to be read, and its SQLAlchemy URL (``None``
    for a journal file): a URL (an SQLite file is checked first, see
    :func:`check_sqlite_study_file`), or the path of an existing file, an SQLite database
    or an Optuna journal file (``JournalFileBackend``). Nothing is created or written."""
    from metaheur.harness.storage import mask_url, open_storage, sqlite_url

    if "://" in storage:
        check_sqlite_study_file(storage)  # before Optuna, which would write into it
        return open_storage(storage, heartbeat=False, create=False), storage
    path = Path(storage).expanduser()
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except FileNotFoundError:
        raise ValueError(f"--storage {mask_url(storage)}: no such file; give a storage URL "
                         "(sqlite:///study.db, postgresql://user:password@host/db) or an "
                         "existing SQLite database or Optuna journal file") from None
    if head.startswith(SQLITE_HEADER):
        url = sqlite_url(path)
        check_sqlite_study_file(url)
        return open_storage(url, heartbeat=False, create=False), url
    return _journal_storage(path, head), None


def _journal_storage(path: Path, head: bytes) -> Any:
    """An Optuna ``JournalStorage`` reading the file ``path`` (whose first bytes are
    ``head``); ``ValueError`` for a file whose first line is not a journal record."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    from metaheur.cli.tune_stored import damaged_records

    if not head:
        raise ValueError(f"{path} is an empty file, not an Optuna storage")
    try:
        first = json.loads(head.split(b"\n", 1)[0])
    except ValueError:
        first = None
    if not isinstance(first, dict) or "op_code" not in first:
        raise ValueError(f"{path} is neither an SQLite database nor an Optuna journal file "
                         "(JournalFileBackend)")
    with damaged_records(None, str(path)):  # Optuna replays the whole journal here
        return JournalStorage(JournalFileBackend(str(path)))


def check_sqlite_study_file(url: str) -> None:
    """``ValueError`` when ``url`` names an SQLite file that is not an Optuna database
    (empty, not SQLite, SQLite without Optuna's ``studies`` table); the file is only read
    (Optuna would create its tables in it). Other URLs and missing files pass (the latter
    are refused by ``open_storage(create=False)``)."""
    import sqlite3

    from metaheur.harness.storage import sqlite_file

    path = sqlite_file(url)
    if path is None or not path.is_file():
        return
    with open(path, "rb") as fh:
        head = fh.read(len(SQLITE_HEADER))
    if not head:
        raise ValueError(f"{path} is an empty file, not an Optuna database")
    if head != SQLITE_HEADER:
        raise ValueError(f"{path} is not an SQLite database (give the study.db of a tune run)")
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except sqlite3.OperationalError:  # locked, busy, a hot journal to roll back: Optuna's
        return                          # storage waits and recovers; nothing conclusive
    except sqlite3.Error as exc:  # not a database, or a corrupt one
        raise ValueError(f"{path} cannot be read as an SQLite database: {exc}") from None
    if not {"studies", "trials", "version_info"} <= tables:
        raise ValueError(f"{path} is an SQLite database without Optuna's tables, not a study "
                         f"storage")
