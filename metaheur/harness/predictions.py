"""The validation predictions a trial stored, found and checked (used by the reports).

The built-in objectives store each trial's predictions as an Optuna file-system artifact
(docs/models.md §6.3); a run folder may have been copied or moved since, so the artifact
is looked for in several folders (:func:`artifact_dirs`). What is read is untrusted input:
:func:`check_predictions` says what is wrong with it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from numpy.typing import NDArray
from optuna.trial import FrozenTrial

__all__ = ["PredictionsError", "artifact_dirs", "dirs_of", "find_artifact", "val_predictions",
           "check_predictions"]


def artifact_dirs(study: optuna.Study, storage_url: str | None = None,
                  out: str | Path | None = None) -> list[Path]:
    """The folders where a trial's artifacts may be, in the order they are looked in: the
    folder recorded when the study was created (its user attribute ``artifact_dir``),
    ``artifacts/`` beside an SQLite database, ``<out>/artifacts``; existing folders only,
    each once. A run folder that was copied and resumed keeps its old trials' artifacts
    in the first and its new ones in the others."""
    from metaheur.harness.storage import sqlite_file

    found: list[Path] = []
    stored = study.user_attrs.get("artifact_dir")
    db = sqlite_file(storage_url) if storage_url else None
    for cand in (Path(stored) if isinstance(stored, str) and stored else None,
                 None if db is None else db.parent / "artifacts",
                 None if out is None else Path(out) / "artifacts"):
        if cand is not None and _exists(cand, Path.is_dir) \
                and all(not _same(cand, f) for f in found):
            found.append(cand)
    return found


def _exists(path: Path, test: Any) -> bool:
    """``test(path)`` (``Path.is_dir``/``is_file``), False where the look-up itself fails
    (a name too long, a folder the user may not read): the path comes from the storage."""
    try:
        return bool(test(path))
    except OSError:
        return False


def _same(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def dirs_of(artifact_dir: str | Path | Sequence[str | Path] | None) -> list[Path]:
    """``artifact_dir`` (one folder, several, or ``None``) as a list of folders."""
    if artifact_dir is None:
        return []
    if isinstance(artifact_dir, (str, Path)):
        return [Path(artifact_dir)]
    return [Path(d) for d in artifact_dir]


def find_artifact(artifact_id: str, artifact_dir: str | Path | Sequence[str | Path] | None
                  ) -> Path | None:  # fmt: skip
    """The file of the file-system artifact ``artifact_id`` in the first of the folders
    ``artifact_dir`` that has it, or ``None``. The id comes from the storage (untrusted):
    only a plain file name is looked up, so it cannot name a file outside the folders."""
    if not isinstance(artifact_id, str) or artifact_id in ("", ".", "..") \
            or Path(artifact_id).name != artifact_id or "\\" in artifact_id:
        return None
    for folder in dirs_of(artifact_dir):
        if _exists(folder / artifact_id, Path.is_file):
            return folder / artifact_id
    return None


class PredictionsError(ValueError):
    """A trial's stored validation predictions are unreadable or malformed (the message
    names where they are and what is wrong)."""


def val_predictions(trial: FrozenTrial,
                    artifact_dir: str | Path | Sequence[str | Path] | None = None
                    ) -> tuple[NDArray, NDArray, list[str]] | None:  # fmt: skip
    """``(y_true (n,), y_score (n,) or (n, k), class_names)`` stored by the objective as the
    Optuna artifact ``user_attrs["val_predictions_artifact"]`` in the first of the folders
    ``artifact_dir`` that has it (see :func:`artifact_dirs`), or (older studies) in
    ``user_attrs["val_predictions"]`` (keys ``y`` and ``proba``; class names from
    ``user_attrs["class_names"]``); ``None`` when there are none (or the artifact is in
    none of the folders). Stored predictions are untrusted input: unreadable or malformed
    ones (see :func:`check_predictions`) are a :class:`PredictionsError` naming the file."""
    pred = trial.user_attrs.get("val_predictions")
    source = "its user attribute val_predictions"
    art = trial.user_attrs.get("val_predictions_artifact")
    if pred is None and art is not None:
        path = find_artifact(str(art), artifact_dir)
        if path is None:
            return None
        source = str(path)
        try:
            pred = json.loads(path.read_text())
        except (OSError, ValueError, RecursionError) as exc:  # RecursionError: nested deep
            reason = "cannot be read: " + str(exc) if isinstance(exc, OSError) else "is not JSON"
            raise PredictionsError(f"the validation predictions of trial #{trial.number} in "
                                   f"{source} {reason}") from None
    if pred is None:
        return None
    try:
        return check_predictions(pred, trial.user_attrs.get("class_names"))
    except ValueError as exc:
        raise PredictionsError(f"the validation predictions of trial #{trial.number} in "
                               f"{source} are malformed: {exc}") from None


def check_predictions(pred: Any, class_names: Any = None
                      ) -> tuple[NDArray, NDArray, list[str]]:  # fmt: skip
    """``(y_true, y_score, class_names)`` of stored predictions ``pred`` (a mapping with
    ``y`` and ``proba``, or ``y_true`` and ``y_score``), checked: ``n >= 1`` integer labels in
    ``[0, k)``; finite scores, ``(n,)`` (binary, ``k = 2``) or ``(n, k)`` with ``k >= 2``
    (``(n, 1)`` is taken as ``(n,)``). ``class_names`` (or ``pred["class_names"]``) are used
    when they are a list of ``k``; else generic names. ``ValueError`` saying what is wrong."""
    if not isinstance(pred, Mapping):
        raise ValueError(f"not a JSON object with 'y' and 'proba' but {type(pred).__name__}")
    y_true = pred.get("y", pred.get("y_true"))
    y_score = pred.get("proba", pred.get("y_score"))
    for key, value in (("y", y_true), ("proba", y_score)):
        if value is None:
            raise ValueError(f"no {key!r}")
    try:
        y = np.asarray(y_true)
        score = np.asarray(y_score, dtype=float)
    except (ValueError, TypeError):
        raise ValueError("'y' or 'proba' is not an array of numbers") from None
    if y.ndim != 1 or y.dtype.kind not in "iuf" or (
            y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y)))):
        raise ValueError("the labels 'y' are not integers in a flat list")
    if y.size == 0:
        raise ValueError("the predictions are empty")
    if score.ndim == 2 and score.shape[1] == 1:
        score = score[:, 0]
    if score.ndim not in (1, 2) or (score.ndim == 2 and score.shape[1] < 2):
        raise ValueError(f"'proba' has the shape {score.shape}; (n,) or (n, k) with k >= 2 "
                         f"is allowed")
    if len(score) != len(y):
        raise ValueError(f"{len(y)} labels but {len(score)} rows of probabilities")
    if not np.all(np.isfinite(score)):
        raise ValueError("'proba' holds values that are not finite")
    k = 2 if score.ndim == 1 else score.shape[1]
    y = y.astype(int)
    if y.min() < 0 or y.max() >= k:
        bad = y[(y < 0) | (y >= k)][0]
        raise ValueError(f"labels outside 0..{k - 1} (e.g. {bad}) for {k} classes")
    names = pred.get("class_names") or class_names
    if isinstance(names, (list, tuple)) and len(names) == k:
        names = [str(n) for n in names]
    else:  # a binary objective that stored no names: say which side is the positive class
        names = ["negative (0)", "positive (1)"] if k == 2 else [f"class {i}" for i in range(k)]
    return y, score, names
