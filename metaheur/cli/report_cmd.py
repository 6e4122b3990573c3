"""``metaheur report``: regenerate the tables and plots of any stored study."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``report`` sub-parser."""
    from metaheur.cli import HelpFormatter

    p = subparsers.add_parser(
        "report",
        parents=[common],
        help="write trials.csv, best.json and plots for a stored study",
        description="Read a study from an existing Optuna storage (e.g. the study.db that "
        "`metaheur tune` wrote, or a PostgreSQL server) and write trials.csv, best.json, "
        "history.png, importances.png and, when the best trial stored validation predictions, "
        "confusion_matrix.png and roc.png (looked for in the artifact folder the study "
        "recorded, then artifacts/ beside the database, then in <--out>/artifacts/). A plot "
        "that cannot be drawn is removed from --out where an earlier report wrote it (the "
        "hidden .metaheur-report.json says which; a file of yours of that name is kept). "
        "Every file is replaced whole: a failed or stopped write keeps the earlier one.",
        epilog="examples:\n"
        "  metaheur report --storage sqlite:///metaheur-runs/lstm-elu-dlf-aoa/study.db\n"
        "  metaheur report --storage postgresql://user@host/db --study s1 --out rep --json",
        formatter_class=HelpFormatter,
    )
    p.add_argument("--storage", required=True,
                   help="SQLAlchemy URL of an existing storage, e.g. "
                   "sqlite:///metaheur-runs/lstm-elu-dlf-aoa/study.db")
    p.add_argument("--study", default=None,
                   help="study name; default: the only study in the storage")
    p.add_argument("--out", default=None,
                   help="output folder; default: metaheur-runs/report-<study>")
    p.add_argument("--json", action="store_true",
                   help="print best.json's content instead of the text summary")
    return p


def safe_name(name: str) -> str:
    """``name`` as one path component: runs of characters other than letters, digits, ``_``
    and ``-`` become ``_`` (a study named ``../../x`` becomes ``x``, inside its folder)."""
    return re.sub(r"[^\w-]+", "_", name).strip("_") or "study"


def run(args: argparse.Namespace) -> int:
    """Load the study and write the report."""
    import optuna

    from metaheur.harness.report import (
        DISCLAIMER,
        artifact_dirs,
        maximised,
        summary_text,
        write_report,
    )
    from metaheur.harness.storage import check_output_dir, mask_url, open_storage

    check_sqlite_study_file(args.storage)  # before Optuna, which would write into it
    storage = open_storage(args.storage, heartbeat=False, create=False)
    names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    if not names:
        raise ValueError(f"the storage {mask_url(args.storage)} holds no study")
    if args.study is None:
        if len(names) != 1:
            raise ValueError(f"give --study; studies in {mask_url(args.storage)}: "
                             f"{', '.join(names) or 'none'}")
        args.study = names[0]
    if args.study not in names:
        raise ValueError(f"no study {args.study!r} in {mask_url(args.storage)}; "
                         f"available: {', '.join(names) or 'none'}")
    study = optuna.load_study(study_name=args.study, storage=storage)
    maximised(study)  # a multi-objective study is refused before its folder is made
    out = check_output_dir(args.out or Path("metaheur-runs") / f"report-{safe_name(args.study)}")
    written = write_report(study, out, artifact_dir=artifact_dirs(study, args.storage, out))
    if args.json:
        print(json.dumps(json.loads(written["best"].read_text()), indent=2))
        return 0
    print(summary_text(study))
    print(DISCLAIMER)
    print(f"wrote {', '.join(p.name for p in written.values())} to {out}/")
    return 0



#: The first 16 bytes of every SQLite 3 database file.
SQLITE_HEADER = b"SQLite format 3\x00"


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
