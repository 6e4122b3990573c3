"""Storage URLs and output folders: opening an Optuna storage, masking its secrets, and
checking that an output folder can be written before any work starts.

A storage URL is parsed with the parser that connects (SQLAlchemy's :func:`make_url`), so
every place a password can hide is masked: ``user:password@``, query parameters such as
``?password=...`` (libpq accepts it), passwords containing ``@`` or spaces. A value that is
not a URL at all is never echoed when it could hold a secret.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = [
    "StorageError",
    "OutputError",
    "mask_url",
    "mask_text",
    "url_secrets",
    "open_storage",
    "sqlite_url",
    "sqlite_file",
    "storage_url",
    "storage_error",
    "check_output_dir",
    "check_results_owner",
    "os_reason",
]

MASK = "***"
SQLITE_HEADER = b"SQLite format 3\x00"  # the first bytes of every SQLite database file
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")  # a new database file's path (storage_url)
#: A value that starts so is a (malformed) URL for ``storage_url``, not a file name.
_DIALECT = re.compile(r"(?:sqlite|postgres(?:ql)?|mysql|mariadb|oracle|mssql)(?:\+\w+)?:", re.I)
_MAX_RESULTS = 1 << 24  # bytes of a best.json read to find its study
#: Query parameters whose values are secrets (substring match, case-insensitive).
_SECRET_KEYS = ("pass", "pwd", "secret", "token", "key")
#: ``user:secret@`` up to the last ``@`` of the authority (a password may contain ``@``).
_USERINFO = re.compile(r"(?P<head>(?:\b[a-zA-Z][\w+.-]*://)?[^\s:/@'\"]*:)(?P<pw>[^/\s'\"]*)@")
_SECRET_PARAM = re.compile(r"(?P<key>\b\w*(?:pass|pwd|secret|token)\w*=)(?P<value>[^&\s'\"]+)",
                           re.IGNORECASE)


class StorageError(ValueError):
    """The storage URL is malformed or the database cannot be used (message is masked)."""


class OutputError(ValueError):
    """An output folder cannot be created or written."""


def _parse(url: str) -> Any | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except (ArgumentError, ValueError, TypeError):
        return None


def _is_secret_key(key: str) -> bool:
    return any(s in key.lower() for s in _SECRET_KEYS)


def url_secrets(url: str) -> list[str]:
    """The password and secret query values of ``url`` (raw and URL-encoded), longest first."""
    parsed = _parse(str(url))
    found: set[str] = set()
    if parsed is not None:
        if parsed.password:
            found.add(str(parsed.password))
        for key, value in parsed.query.items():
            if _is_secret_key(key):
                found.update([value] if isinstance(value, str) else map(str, value))
    for m in _USERINFO.finditer(str(url)):  # what a user meant, where the parser disagrees
        found.add(m["pw"])
        found.update(p for p in m["pw"].split("@")[1:] if p)  # a driver shows it as the host
    for m in _SECRET_PARAM.finditer(str(url)):
        found.add(m["value"])
    out = set()
    for s in found - {"", MASK}:
        out.update({s, quote(s, safe=""), quote_plus(s)})
    return sorted(out, key=len, reverse=True)


def mask_url(url: str) -> str:
    """``url`` with every secret replaced by ``***``; a value that does not parse as a URL and
    could hold a secret (it has ``@``, ``:`` or ``=``) is replaced by a placeholder."""
    text = str(url)
    parsed = _parse(text)
    if parsed is None:
        return "<unparsable URL, not shown>" if re.search(r"[@:=]", text) else text
    query = {k: (MASK if _is_secret_key(k) else v) for k, v in parsed.query.items()}
    shown = parsed.set(query=query).render_as_string(hide_password=True)
    return mask_text(shown)  # a password with '@' leaves its tail in the host: mask it


def mask_text(text: str, url: str | None = None) -> str:
    """Mask every ``user:password@`` and ``password=...`` in ``text``, and every secret of
    ``url`` (raw or URL-encoded) wherever it appears."""
    out = str(text)
    for secret in url_secrets(url) if url else []:
        out = out.replace(secret, MASK)
    out = _USERINFO.sub(lambda m: m["head"] + MASK + "@", out)
    return _SECRET_PARAM.sub(lambda m: m["key"] + MASK, out)


def _sqlite_path(parsed: Any) -> Path | None:
    """The file of an ``sqlite:`` URL (``None`` for in-memory databases and other backends)."""
    if not parsed.drivername.startswith("sqlite"):
        return None
    db = parsed.database or ""
    if db in ("", ":memory:") or db.startswith("file:"):
        return None
    return Path(db)


def sqlite_url(path: str | Path) -> str:
    """The SQLite URL of the database file ``path``. SQLAlchemy decodes ``%XX`` in the path
    and cuts it at ``?`` (the query), so those two are escaped; nothing else is."""
    return "sqlite:///" + str(path).replace("%", "%25").replace("?", "%3F")


def storage_url(given: str) -> str:
    """The storage URL a ``--storage`` value names: a URL as it is, or the path of an
    SQLite database file (a new file named ``*.db``, ``*.sqlite`` or ``*.sqlite3``, or an
    existing SQLite file of any name) as the URL of its absolute path. Any other word is a
    :class:`StorageError`: a mistyped URL must not become a local database file (workers
    on other machines, given the same value, would each keep a study of their own)."""
    if "://" in given or _DIALECT.match(given):
        return given  # a URL, or a malformed one that opening reports
    try:
        path = Path(given).expanduser()
        with open(path, "rb") as fh:
            is_sqlite = fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except RuntimeError:  # ~user of no such user
        raise StorageError(f"--storage {mask_url(given)}: no such user's home folder") from None
    except OSError:  # no such file, a folder, not readable
        is_sqlite = False
    if is_sqlite or path.suffix.lower() in SQLITE_SUFFIXES:
        return sqlite_url(path.absolute())
    raise StorageError(
        f"--storage {mask_url(given)}: not a storage URL (sqlite:///study.db, "
        "postgresql://user:password@host/db) nor the path of an SQLite database file (an "
        f"existing one, or a new name ending in {', '.join(SQLITE_SUFFIXES)})")


def sqlite_file(url: str) -> Path | None:
    """The database file of an ``sqlite:`` storage URL, or ``None`` (another backend, an
    in-memory database, not a URL)."""
    parsed = _parse(url)
    return None if parsed is None else _sqlite_path(parsed)


def open_storage(url: str, *, heartbeat: bool = True, create: bool = True) -> Any:
    """Open an SQLAlchemy storage such as ``sqlite:///study.db`` or
    ``postgresql://user:password@host/db`` as an ``optuna.storages.RDBStorage``;
    :class:`StorageError` (masked, one line) when it fails.

    ``create=False`` refuses an SQLite file that does not exist (a typo would otherwise
    create an empty database). With ``heartbeat``, trials of a worker that died are marked
    FAIL after 3 minutes and run again by the others.
    """
    import optuna

    parsed = _parse(url) if isinstance(url, str) else None
    if parsed is None:
        raise StorageError(
            f"storage must be an SQLAlchemy URL such as sqlite:///study.db or "
            f"postgresql://user:password@host:5432/db, got {mask_url(str(url))!r}"
        )
    sqlite_file = _sqlite_path(parsed)
    if sqlite_file is not None and not create and not sqlite_file.is_file():
        raise StorageError(f"no SQLite database {sqlite_file} (storage {mask_url(url)})")
    engine_kwargs: dict[str, Any] = {}
    if parsed.drivername.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": 60}}  # several local workers share a file
    elif parsed.drivername.startswith("postgres"):
        engine_kwargs = {"connect_args": {"connect_timeout": 10}}
    kwargs: dict[str, Any] = {"heartbeat_interval": 60, "grace_period": 180} if heartbeat else {}
    for attempt in range(_SCHEMA_RETRIES):
        try:
            with warnings.catch_warnings():  # heartbeats are our choice, not the caller's
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **kwargs)
        except Exception as exc:  # SQLAlchemy / driver errors: many types, one message
            # Workers started together on a new database race to create its tables; the
            # loser sees "already exists" and succeeds once the winner has committed.
            if "already exists" in str(exc) and attempt + 1 < _SCHEMA_RETRIES:
                time.sleep(0.2 * (attempt + 1))
                continue
            raise storage_error(url, exc, "cannot open storage") from None
    raise AssertionError("unreachable")  # pragma: no cover


_SCHEMA_RETRIES = 5


def storage_error(url: str, exc: BaseException, what: str = "storage error") -> StorageError:
    """One masked line saying what failed on the storage ``url`` and why."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, ModuleNotFoundError) or "No module named" in reason:
        reason += " (install the driver, e.g. pip install 'metaheur[postgres]')"
    return StorageError(f"{what} {mask_url(url)}: {mask_text(reason, url)}")


def check_output_dir(path: str | Path) -> Path:
    """Create ``path`` (with parents) and prove it writable by writing and removing a file;
    :class:`OutputError` naming the folder and the reason otherwise (a file in the way, a
    read-only file system, no permission, no space left)."""
    out = Path(path).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".metaheur-write-test-", dir=out)
        try:
            os.write(fd, b"x")
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write to {out}: {os_reason(exc)}") from None
    return out


def check_results_owner(out: Path, study_name: str) -> None:
    """:class:`OutputError` when ``out/best.json`` describes another study than
    ``study_name``: its results there would be replaced. A ``best.json`` that cannot be
    read (untrusted input) says nothing and is replaced, with a warning."""
    path = out / "best.json"
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_MAX_RESULTS + 1)
        if len(raw) > _MAX_RESULTS:
            raise ValueError(f"over {_MAX_RESULTS} bytes")
        owner = json.loads(raw)["study"]
    except FileNotFoundError:
        return
    except (OSError, ValueError, TypeError, KeyError, RecursionError) as exc:
        warnings.warn(f"{path} cannot be read ({type(exc).__name__}: {exc}); it will be "
                      "replaced", stacklevel=2)
        return
    if isinstance(owner, str) and owner != study_name:
        raise OutputError(f"{out} holds the results of study {owner!r} (best.json); write "
                          f"those of study {study_name!r} to another folder (--out)")


def os_reason(exc: OSError) -> str:
    """A short reason for an ``OSError`` (the strerror, or the errno's name)."""
    if isinstance(exc, FileExistsError):
        return "a file is in the way (not a folder)"
    if isinstance(exc, NotADirectoryError):
        return "a part of the path is a file, not a folder"
    text = exc.strerror or (errno.errorcode.get(exc.errno or 0) if exc.errno else None)
    return text or str(exc) or type(exc).__name__
