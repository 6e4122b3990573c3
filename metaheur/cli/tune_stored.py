"""What an existing study's storage says about how it was started, read as untrusted input.

``metaheur tune`` resumes a study with the seed and the profile it was created with and
adds to its total run time; the storage may be shared or edited, so every value is checked
here and a malformed one is a clear message, never a traceback.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["DAMAGED", "MAX_SEED", "PROFILES", "SAME", "SPLITS", "check_resume",
           "check_storage_url", "damaged_records", "mismatch", "reload", "read_algo_params",
           "read_attrs", "read_pop_size", "read_profile", "read_seconds", "read_seed",
           "read_split",
           "read_trials"]

MAX_SEED = 2**32 - 1
PROFILES = ("cpu", "gpu")  # the objectives' PROFILES, without importing torch for --help
SPLITS = ("stratified", "random")  # the objectives' SPLITS, likewise
#: What a resumed study must share with the run (and ``data_path``, compared as a path).
SAME = ("algo", "model", "profile", "data", "seed")


def _malformed(study_name: str, key: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"study {study_name!r} has a malformed {key} {value!r} in its storage "
                      f"({allowed} is allowed); use --study NAME --out DIR to start another study")


def mismatch(exc: Any) -> ValueError:
    """The one-line error for a :class:`~metaheur.harness.study.StudyMismatchError`."""
    return ValueError(f"{exc}; use --study NAME --out DIR to start another study (or "
                      f"{exc.resume_option} to continue this one)")


def check_resume(stored: dict[str, Any], study_name: str, given: dict[str, Any]) -> None:
    """Refuse (:func:`mismatch`) a run whose ``given`` configuration differs from the one
    ``stored`` by an existing study in a key of :data:`SAME` or in ``data_path``, before the
    data stage (minutes on a real dataset), as opening the study would refuse it after."""
    from metaheur.harness.study import StudyMismatchError, _same_path

    for key in (*SAME, "data_path"):
        if key in stored and key in given and not (
                _same_path(stored[key], given[key]) if key == "data_path"
                else stored[key] == given[key]):
            raise mismatch(StudyMismatchError(study_name, key, stored[key], given[key]))


def check_storage_url(url: str) -> str:
    """``url``; ``ValueError`` for a ``--storage`` that is an in-memory SQLite database
    (``sqlite://``, ``sqlite:///:memory:``, ``mode=memory``): every connection, and every
    worker process, has its own empty one, and the study is gone when tune ends, so the
    command that resumes would start afresh. Anything else is for the storage to judge."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    from sqlalchemy.util import asbool

    from metaheur.harness.storage import mask_url

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        return url  # not a URL: opening it says what is allowed
    if not parsed.drivername.startswith("sqlite"):
        return url
    db = parsed.database or ""
    mode, given = parsed.query.get("mode", ()), parsed.query.get("uri", "false")
    modes = (mode,) if isinstance(mode, str) else tuple(mode)
    try:  # without uri=true, SQLite takes file: and mode=memory for a file name and nothing
        uri = bool(asbool(given if isinstance(given, str) else given[-1]))
    except (ValueError, IndexError):
        uri = False
    if db in ("", ":memory:") or (uri and (db.startswith("file::memory:") or "memory" in modes)):
        raise ValueError(f"--storage {mask_url(url)} is an in-memory SQLite database: the "
                         "study would be lost when tune ends (and worker processes cannot "
                         "share it); give a database file, e.g. sqlite:///study.db (default: "
                         "sqlite:///<out>/study.db)")
    return url


def read_seed(stored: dict[str, Any], study_name: str) -> int | None:
    """The seed an existing study was created with (``None``: none recorded); the storage
    is untrusted input, so anything but an integer in ``[0, MAX_SEED]`` is a ``ValueError``."""
    if "seed" not in stored:
        return None
    seed = stored["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise _malformed(study_name, "seed", seed, f"an integer between 0 and {MAX_SEED}")
    return seed


def read_pop_size(stored: dict[str, Any], study_name: str, minimum: int) -> int | None:
    """The ``--pop-size`` an existing study last ran with (``None``: none recorded);
    anything but an integer ``>= minimum`` is a ``ValueError`` (untrusted input)."""
    pop = stored.get("pop_size")
    if pop is None:
        return None
    if isinstance(pop, bool) or not isinstance(pop, int) or pop < minimum:
        raise _malformed(study_name, "pop_size", pop, f"an integer >= {minimum}")
    return pop


def read_profile(stored: dict[str, Any], study_name: str) -> str | None:
    """The profile an existing study was created with (``None``: none recorded); anything
    but one of :data:`PROFILES` is a ``ValueError`` (untrusted input, like the seed)."""
    if "profile" not in stored:
        return None
    profile = stored["profile"]
    if not isinstance(profile, str) or profile not in PROFILES:
        raise _malformed(study_name, "profile", profile, " or ".join(PROFILES))
    return profile


def read_split(stored: dict[str, Any], study_name: str) -> str:
    """How the study's data without an official split are split: as recorded; ``"random"``
    for a study tune created before it recorded the split (tune drew the shuffled split
    then: a check that never passed turned stratification off), so its trials stay scored
    on one validation split; ``"stratified"`` for a new study. Anything else recorded is a
    ``ValueError`` (untrusted input)."""
    if "split" not in stored:
        return "random" if "algo" in stored else "stratified"
    split = stored["split"]
    if not isinstance(split, str) or split not in SPLITS:
        raise _malformed(study_name, "split", split, " or ".join(SPLITS))
    return split


def read_algo_params(stored: dict[str, Any], study_name: str) -> dict[str, Any] | None:
    """The ``--algo-param`` values an existing study was created with: ``{}`` for a study
    tune created before it recorded them (the published values), ``None`` for a study
    tune did not create (nothing recorded). Anything but an object of named values is a
    ``ValueError``; the values themselves are checked when the sampler is built."""
    if "algo_params" not in stored:
        return {} if "algo" in stored else None
    params = stored["algo_params"]
    if not isinstance(params, dict) or not all(isinstance(k, str) and k.isidentifier()
                                               for k in params):
        raise _malformed(study_name, "algo_params", params,
                         "an object of hyper-parameter values by name")
    return params


def read_seconds(stored: dict[str, Any], study_name: str) -> float:
    """The study's run time so far, a statistic: a malformed stored value (untrusted input)
    is said on stderr and the count restarts from 0, never failing a finished run."""
    seconds = stored.get("wall_seconds", 0.0)
    if (isinstance(seconds, int | float) and not isinstance(seconds, bool)
            and math.isfinite(seconds) and seconds >= 0):
        return float(seconds)
    print(f"metaheur tune: warning: study {study_name!r} has a malformed wall_seconds "
          f"{seconds!r} in its storage (a finite number >= 0 is allowed); its run time is "
          f"counted from this run", file=sys.stderr)
    return 0.0


#: What Optuna raises while it builds the records of a damaged storage: JSON that does not
#: parse or is nested too deep, an unknown state, a distribution without its fields, a
#: complete trial with two values or a NULL one (AssertionError), ...
DAMAGED = (LookupError, ValueError, TypeError, ArithmeticError, AssertionError, RecursionError,
           RuntimeError)


@contextlib.contextmanager
def damaged_records(study_name: str | None, where: str = "the storage") -> Iterator[None]:
    """Turn an exception of :data:`DAMAGED` raised in the block (reading the storage
    ``where``, already masked) into one ``ValueError`` naming the study and the storage."""
    try:
        yield
    except DAMAGED as exc:
        from metaheur.harness.storage import mask_text

        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        why = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        whose = "" if study_name is None else f" of study {study_name!r}"
        raise ValueError(f"{where} holds a damaged record{whose} that cannot be read "
                         f"({mask_text(why)}); repair the storage or use a backup"
                         ) from None


def read_attrs(storage: Any, study_name: str) -> dict[str, Any]:
    """The user attributes of the study ``study_name`` (``{}``: no such study). Only that
    study is read (other studies of the storage may be damaged or large), all of its
    records, so that a damaged one is a ``ValueError`` (:func:`read_trials`) before a run
    starts, not after it."""
    try:
        storage.get_study_id_from_name(study_name)
    except KeyError:
        return {}
    return dict(reload(storage, study_name).user_attrs)


def reload(storage: Any, study_name: str) -> Any:
    """The study ``study_name`` with its records read once (a damaged one: ``ValueError``)."""
    import optuna

    with damaged_records(study_name):
        study = optuna.load_study(study_name=study_name, storage=storage)
    read_trials(study)
    return study


def read_trials(study: Any, where: str = "the storage") -> list[Any]:
    """Every trial of ``study`` and its user attributes, read once, as checks of the
    storage ``where``: a record Optuna cannot build, or a complete trial without one
    real-number value per objective, is a ``ValueError`` (:func:`damaged_records`)."""
    from optuna.trial import TrialState

    with damaged_records(study.study_name, where):
        study.user_attrs  # noqa: B018  (read: may raise)
        n = len(study.directions)
        trials = study.get_trials(deepcopy=False)
        for t in trials:
            values = t.values
            if t.state == TrialState.COMPLETE and (values is None or len(values) != n or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in values)):
                raise ValueError(f"trial #{t.number} is complete with the values {values!r}; "
                                 f"{n} number(s) are allowed")
    return trials
