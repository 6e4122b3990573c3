"""A committed archive of finished benchmark rows, so that a long design accumulates.

Some designs take longer than one machine keeps its files: ``tune_models.py``'s protocol is
9 optimisers x 100 trials x 10 seeds x 2 datasets of training runs, about a day of one
core. Their per-study storages are local (and large), so each script can keep the **rows of
its finished studies** in a small CSV file committed beside the scripts
(``benchmarks/results/``). A report combines the studies found in the local storages with
the archived rows of those that are not there; every finished local study is merged into
the archive (the local row replaces an archived one with the same key).

The file is **untrusted input** (it is edited by hand, merged by git, written by other
versions): rows are checked by the caller's ``problem`` function and a row that fails is
left out with one warning naming the file, the line and what was wrong. Writes are atomic
(a temporary file in the same folder, then ``os.replace``: ``metaheur.harness.atomic``)
and serialised between processes by an advisory lock, so processes sharing an archive never
lose each other's rows.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import itertools
import json
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from metaheur.harness.atomic import atomic_path

logger = logging.getLogger(__name__)

#: ``problem(row) -> None | str``: what is wrong with one archived row (None: usable).
RowCheck = Callable[[dict[str, Any]], "str | None"]


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (its ``.lock`` companion), blocking: the
    processes that write one file take turns."""
    lock = path.with_name(path.name + ".lock")
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read(path: Path, columns: Sequence[str], *, all_columns: bool = False,
          optional: Sequence[str] = ()) -> tuple[pd.DataFrame, list[int], list[str]]:
    """The archive as text: ``columns`` (checked present) and ``optional`` (empty where the
    file, written by an earlier version, has no such column) or, ``all_columns``, every
    column (those another version wrote too); each row's line number in the file; and what
    is wrong with the lines that have another number of fields than the header (a line torn
    by a killed writer, or edited by hand), which are left out. Blank lines are skipped."""
    if not path.exists():
        return pd.DataFrame(columns=[*columns, *optional]), [], []
    records, lines, torn = [], [], []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise ValueError("no header")
            for fields in reader:
                if not fields:
                    continue
                if len(fields) != len(header):
                    torn.append(f"line {reader.line_num}: {len(fields)} fields where the "
                                f"header has {len(header)} (a torn or hand-edited line)")
                    continue
                records.append(fields)
                lines.append(reader.line_num)
    except (csv.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable CSV file ({exc}); fix or move it") from exc
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(f"{path}: lacks the column(s) {missing}; expected {list(columns)}")
    frame = pd.DataFrame(records, columns=header, dtype=object)
    if all_columns:
        return frame, lines, torn
    for c in optional:
        if c not in frame:
            frame[c] = ""
    return frame[[*columns, *optional]], lines, torn


def _typed(row: dict[str, str], numeric: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = dict(row)
    for c in numeric:
        text = out[c].strip()
        out[c] = float("nan") if text == "" else float(text)  # ValueError: caller reports it
    return out


def read_archive(path: Path, columns: Sequence[str], numeric: Sequence[str],
                 problem: RowCheck, *, warn: bool = True,
                 optional: Sequence[str] = ()) -> pd.DataFrame:
    """The usable rows of the archive at ``path`` (none when it does not exist), ``numeric``
    columns as floats, with the ``optional`` columns an earlier version did not write (empty
    text where the file lacks one); a row that cannot be parsed or that ``problem`` rejects
    is left out with a warning (``warn=False``: silently, for a writer's look at what is
    there)."""
    frame, lines, bad = _read(path, columns, optional=optional)
    rows = []
    for line, raw in zip(lines, frame.to_dict(orient="records"), strict=True):
        try:
            row = _typed(raw, numeric)
            why = problem(row)
        except (ValueError, OverflowError, RecursionError) as exc:  # a check that missed one
            bad.append(f"line {line}: {type(exc).__name__}: {exc}")
            continue
        if why is None:
            rows.append(row)
        else:
            bad.append(f"line {line}: {why}")
    if bad and warn:
        logger.warning("%s: %d row(s) left out: %s", path, len(bad), "; ".join(bad))
    return pd.DataFrame(rows, columns=[*columns, *optional])


def merge_archive(path: Path, rows: pd.DataFrame, columns: Sequence[str],
                  key: Sequence[str]) -> int:
    """Put ``rows`` into the archive at ``path``, replacing archived rows with the same
    ``key``; rows already archived unchanged are not rewritten. Returns how many rows were
    added or replaced. Archived rows are kept as text, so a merge never reformats them."""
    if rows.empty:
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    new = rows[list(columns)].astype(object).where(rows[list(columns)].notna(), "")
    new = new.apply(lambda col: col.map(_text))  # DataFrame.map needs pandas >= 2.1
    with locked(path):
        old, _, torn = _read(path, columns, all_columns=True)  # other versions' columns too
        if torn:
            logger.warning("%s: rewritten without %d unreadable line(s): %s", path, len(torn),
                           "; ".join(torn))
        keys = [tuple(r) for r in new[list(key)].itertuples(index=False)]
        old_by_key = {tuple(r[list(key)]): r[list(columns)] for _, r in old.iterrows()}
        changed = sum(1 for k, (_, r) in zip(keys, new.iterrows(), strict=True)
                      if k not in old_by_key or not old_by_key[k].equals(r))
        if changed == 0:
            return 0
        replaced = set(keys)
        kept = old[[tuple(r) not in replaced for r in old[list(key)].itertuples(index=False)]]
        merged = pd.concat([kept, new], ignore_index=True).sort_values(list(key), kind="stable")
        merged = merged.fillna("")  # the new rows have no value in another version's columns
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
            merged.to_csv(fh, index=False)
    return changed


def params_and_trace(row: dict[str, Any], params: str, trace: str, trials: int
                     ) -> tuple[dict[str, Any], list[float]] | str:
    """The parsed JSON object in column ``params`` of ``row`` and the finite values of its
    column ``trace``, or what is wrong with them. A trace is a best-so-far curve of
    ``trials`` values: ``null`` until the first finite value, then finite numbers that
    never rise."""
    try:
        params_obj, values = json.loads(row[params]), json.loads(row[trace])
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        return f"{params} or {trace} is not JSON ({type(exc).__name__}: {exc})"
    if not isinstance(params_obj, dict):
        return f"{params} is not a JSON object"
    if not (isinstance(values, list) and len(values) == trials):
        return f"the {trace} is not a JSON list of {trials} values"
    seen = [v for v in values if v is not None]
    if (not all(_finite_number(v) for v in seen)
            or values[len(values) - len(seen):] != seen
            or any(b > a for a, b in itertools.pairwise(seen))):
        return (f"the {trace} is not a best-so-far curve (null until the first finite "
                "value, then finite numbers that never rise)")
    return params_obj, seen


def _finite_number(v: Any) -> bool:
    """A JSON number that is a finite float (an integer too large for a float is not)."""
    try:
        return type(v) in (int, float) and math.isfinite(v)
    except OverflowError:
        return False


def _text(value: Any) -> str:
    """One cell as archived text: floats at full precision (repr), the rest as str."""
    if isinstance(value, float):
        return repr(value)
    return str(value)
