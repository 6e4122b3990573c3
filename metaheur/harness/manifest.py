"""The manifest of a report's folder: the hidden file :data:`MANIFEST` names the plots a
metaheur report wrote there, with the SHA-256 of their bytes, so that a stale plot is
removed only when a report wrote it and it is unchanged since (a user's own file of the
same name is kept; :func:`metaheur.harness.report.write_report`). The manifest is
untrusted input: one that cannot be read means 'nothing is known to be ours'."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from metaheur.harness.atomic import atomic_path

__all__ = ["MANIFEST", "sha256_file", "read_manifest", "write_manifest"]

logger = logging.getLogger(__name__)

MANIFEST = ".metaheur-report.json"
_MAX_BYTES = 1 << 16  # a manifest holds a few names and digests
_DIGEST = re.compile(r"[0-9a-f]{64}")


def sha256_file(path: Path) -> str:
    """The SHA-256 of the bytes of ``path`` (hex), read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _strict(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def read_manifest(out: Path, names: Collection[str]) -> dict[str, str] | None:
    """The files of ``names`` that the manifest in ``out`` says a report wrote, by name with
    their SHA-256 (``{}`` without a manifest; other names are ignored). A manifest that
    cannot be read or is malformed is ``None`` with a warning, never an error."""
    path = out / MANIFEST
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_MAX_BYTES + 1)
        if len(raw) > _MAX_BYTES:
            raise ValueError(f"over {_MAX_BYTES} bytes")
        files = json.loads(raw, parse_constant=_strict)["files"]
        if not isinstance(files, dict) or not all(
                isinstance(v, str) and _DIGEST.fullmatch(v) for v in files.values()):
            raise ValueError("'files' is not a mapping of names to SHA-256 digests")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, KeyError, RecursionError) as exc:
        logger.warning("%s cannot be read (%s: %s); no stale plot is removed", path,
                       type(exc).__name__, exc)
        return None
    return {k: v for k, v in files.items() if k in names}


def write_manifest(out: Path, drawn: Collection[str], ours: Mapping[str, str] | None) -> None:
    """Record in the manifest of ``out`` the files ``drawn`` (names in ``out``, hashed now)
    and those of ``ours`` still there (a removal failed; checked again next time). A
    manifest that cannot be written is a warning: later reports remove fewer stale plots."""
    files = {name: digest for name, digest in (ours or {}).items()
             if name not in drawn and (out / name).is_file()}
    for name in drawn:
        try:
            files[name] = sha256_file(out / name)
        except OSError:  # another worker's report removed it: not ours to list
            pass
    note = ("the plots a metaheur report wrote here, by SHA-256 of their bytes: only these "
            "are removed when a later report does not draw them")
    try:
        with atomic_path(out / MANIFEST) as tmp:
            tmp.write_text(json.dumps({"note": note, "files": files}, indent=2) + "\n")
    except OSError as exc:
        logger.warning("cannot write %s (%s); a later report will not remove these plots",
                       out / MANIFEST, exc)
