"""Tables and plots from any stored Optuna study (used by ``metaheur tune`` and ``report``).

:func:`write_report` writes into one folder: ``trials.csv`` (one row per trial: state, value,
duration, parameters and the validation metrics the objective stored, see
:func:`trial_metrics`), ``best.json`` (best trial, its metrics, the run's
configuration as stored in the study, versions) and PNG plots: ``history.png`` (value and
best-so-far per trial), ``importances.png`` (Optuna's parameter importances), and for the
best trial ``confusion_matrix.png`` and ``roc.png`` when it stored validation predictions.
Matplotlib runs on the Agg backend; nothing is shown. Every file is written whole or not at
all (:mod:`metaheur.harness.atomic`), and the hidden manifest :data:`MANIFEST` records which
plots a report wrote, so that only those are ever removed as stale.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from metaheur.harness.atomic import atomic_path
from metaheur.harness.jsondata import json_safe
from metaheur.harness.manifest import MANIFEST, read_manifest, sha256_file, write_manifest
from metaheur.harness.plots import (
    plot_confusion_matrix,
    plot_history,
    plot_importances,
    plot_roc,
)
from metaheur.harness.predictions import (
    PredictionsError,
    artifact_dirs,
    check_predictions,
    dirs_of,
    find_artifact,
    val_predictions,
)

__all__ = [
    "DISCLAIMER",
    "OBJECTIVE_LABELS",
    "RUN_PREFIX",
    "TRIAL_COLUMNS",
    "objective_label",
    "maximised",
    "versions",
    "trials_frame",
    "best_trial",
    "artifact_dirs",
    "find_artifact",
    "PredictionsError",
    "check_predictions",
    "val_predictions",
    "summary_text",
    "write_report",
    "PLOTS",
    "MANIFEST",
]

logger = logging.getLogger(__name__)

DISCLAIMER = "Research benchmark for optimisers, not for clinical use."
#: What the built-in models' objectives minimise, for studies written before they stored
#: ``objective_label`` (labelled from their ``model`` attribute).
OBJECTIVE_LABELS = {
    "lstm-elu": "1 − validation macro-F1",
    "ifm": "1 − validation AUC",
}
#: Prefix of the study user attributes that record one ``metaheur tune`` run each (its
#: command and settings, the trials it finished and how it ended; ``best.json`` lists them in
#: time order as ``runs``).
RUN_PREFIX = "run:"
#: The columns of ``trials.csv`` before the ``params_*`` and ``metric_*`` ones.
TRIAL_COLUMNS = ["number", "state", "value", "best_so_far", "duration_s", "fit_s",
                 "reused_from", "reissue_of", "failure", "datetime_start"]


def objective_label(study: optuna.Study) -> str:
    """What the study minimises, e.g. ``"1 − validation macro-F1"`` (``"objective"`` when
    the study does not say)."""
    attrs = study.user_attrs
    label = attrs.get("objective_label")
    if isinstance(label, str) and label:
        return label
    for key in ("objective", "model"):
        if attrs.get(key) in OBJECTIVE_LABELS:
            return OBJECTIVE_LABELS[attrs[key]]
    return "objective"


def maximised(study: optuna.Study) -> bool:
    """Whether ``study`` maximises its objective; ``ValueError`` for a multi-objective study,
    which has no single best trial to report."""
    if len(study.directions) != 1:
        raise ValueError(f"study {study.study_name!r} has {len(study.directions)} objectives; "
                         f"reports are made of single-objective studies only")
    return study.direction == optuna.study.StudyDirection.MAXIMIZE


def versions() -> dict[str, str | None]:
    """Installed versions of metaheur, optuna, torch and numpy (``None`` when absent)."""
    out: dict[str, str | None] = {}
    for name in ("metaheur", "optuna", "torch", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    from metaheur._version import __version__

    out["metaheur"] = __version__
    return out


def _reissues(trials: list[FrozenTrial]) -> dict[int, int]:
    """``{trial number: number of the first trial given the same population row}``, from the
    row records a metaheuristic sampler keeps in the trials' system attributes (untrusted:
    a record whose generation, row or token is not a plain integer or text is ignored)."""
    first: dict[tuple, int] = {}
    out: dict[int, int] = {}
    for t in trials:
        for key, rec in t.system_attrs.items():
            if isinstance(rec, Mapping) and {"run", "gen", "row"} <= set(rec) and all(
                    v is None or isinstance(v, (int, str))
                    for v in (rec["gen"], rec["row"], rec.get("token"))):
                slot = (key, str(rec["run"]), rec["gen"], rec.get("token"), rec["row"])
                if slot in first:
                    out[t.number] = first[slot]
                else:
                    first[slot] = t.number
    return out


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: the :data:`TRIAL_COLUMNS`, ``params_<name>`` and
    ``metric_<name>``. ``best_so_far`` is the best finite value of the complete trials so
    far (the value :func:`best_trial` reports at the end). ``duration_s`` is Optuna's wall
    time of the trial (it includes any wait for a generation), ``fit_s`` the training
    alone; ``reused_from`` names the trial whose result a repeated configuration copied,
    ``reissue_of`` the first trial that was given the same population row (a re-issue after
    a slow or lost trial)."""
    rows = []
    sign = -1.0 if maximised(study) else 1.0  # best-so-far of sign * value is a minimum
    best = math.inf
    trials = study.get_trials(deepcopy=False)
    reissues = _reissues(trials)
    for t in trials:
        value = t.value if t.state == TrialState.COMPLETE else None
        if value is not None and math.isfinite(value):  # as best_trial: finite values only
            best = min(best, sign * value)
        reused = t.user_attrs.get("reused_from")
        fit = t.user_attrs.get("fit_seconds")
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state.name,
            "value": value,
            "best_so_far": sign * best if math.isfinite(best) else None,
            "duration_s": t.duration.total_seconds() if t.duration is not None else None,
            "fit_s": None if reused is not None else fit,
            "reused_from": reused,
            "reissue_of": reissues.get(t.number),
            "failure": _failure(t),
            "datetime_start": t.datetime_start,
        }
        row.update({f"params_{k}": v for k, v in t.params.items()})
        row.update({f"metric_{k}": v for k, v in trial_metrics(t).items()})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=None if rows else TRIAL_COLUMNS)
    for col in ("reused_from", "reissue_of"):  # trial numbers, not 0.0 (pandas' NaN floats)
        raw = [row[col] for row in rows]
        if all(v is None or (isinstance(v, int) and not isinstance(v, bool)
                             and -2**63 <= v < 2**63) for v in raw):
            frame[col] = pd.array(raw, dtype="Int64")
    return frame


def _failure(trial: FrozenTrial) -> str | None:
    """Why the training of ``trial`` failed (the user attribute ``failure`` the models store
    when they end a trial as pruned), or ``None``."""
    failure = trial.user_attrs.get("failure")
    return None if failure is None else str(failure)


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The complete trial with the best value (the lowest, or the highest in a study that
    maximises; the first of equals), or ``None`` when none completed."""
    sign = -1.0 if maximised(study) else 1.0
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.value is not None and math.isfinite(t.value)]
    return min(done, key=lambda t: (sign * t.value, t.number)) if done else None


def trial_metrics(trial: FrozenTrial) -> dict[str, Any]:
    """Validation metrics of a trial, whichever way its study stored them: scalar
    ``val_<name>`` user attributes (current), a ``metrics`` dict (studies written before
    they were split) or ``metric_<name>`` attributes. Only numbers (and None) are kept."""
    found: dict[str, Any] = {}
    old = trial.user_attrs.get("metrics")
    if isinstance(old, Mapping):
        found.update(old)
    for prefix in ("metric_", "val_"):
        found.update({k[len(prefix):]: v for k, v in trial.user_attrs.items()
                      if k.startswith(prefix)})
    return {k: v for k, v in found.items()
            if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))}


def summary_text(study: optuna.Study) -> str:
    """The best trial's hyper-parameters and validation metrics as a plain-text table."""
    best = best_trial(study)
    if best is None:
        done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        if done:  # a failed configuration scores inf (docs/models.md)
            return f"no complete trial with a finite value yet ({done} complete, none finite)"
        return "no complete trial yet"
    metrics = trial_metrics(best)
    width = max([len(k) for k in (*best.params, *metrics)] + [len("validation metric")])

    def fmt(v: Any, spec: str) -> str:
        return format(v, spec) if isinstance(v, float) else str(v)

    goal = "maximised" if maximised(study) else "minimised"
    lines = [f"best trial #{best.number}: {objective_label(study)} = {best.value:.6g} "
             f"({goal})",
             f"  {'hyper-parameter':<{width}}  value"]
    lines += [f"  {k:<{width}}  {fmt(v, '.6g')}" for k, v in best.params.items()]
    if metrics:
        lines.append(f"  {'validation metric':<{width}}  value")
        lines += [f"  {k:<{width}}  {fmt(v, '.4f')}" for k, v in metrics.items()]
    return "\n".join(lines)


#: best.json's own entries: study user attributes of these names go under "user_attrs".
_REPORT_KEYS = frozenset({"note", "study", "runs", "objective_label", "trials", "best",
                          "versions", "user_attrs"})


def write_report(
    study: optuna.Study,
    out: str | Path,
    *,
    extra: Mapping[str, Any] | None = None,
    plots: bool = True,
    artifact_dir: str | Path | Sequence[str | Path] | None = None,
) -> dict[str, Path]:
    """Write ``trials.csv``, ``best.json`` and the PNG plots of ``study`` into ``out``.

    ``best.json`` holds the study's user attributes (the configuration ``tune`` stored, and
    as ``runs`` the records of every tune run, see :data:`RUN_PREFIX`), then ``extra``
    (which wins; never put an unmasked storage URL in it), the best trial and the versions.
    ``plots=False`` writes the two files only (seconds count after a stop).
    The best trial's validation predictions are read from the first of the folders
    ``artifact_dir`` that has them (default: :func:`artifact_dirs` of the study and
    ``out``). A plot of :data:`PLOTS` that is not drawn this time (``plots=False``, no
    readable predictions, too few trials) is removed from ``out`` where an earlier report
    left it, and the removal is logged: it would describe other trials. Only a plot that
    :data:`MANIFEST` says a report wrote, with the same bytes, is removed; a file of that
    name the user put there (or replaced) is kept. Each file is replaced whole (a failure
    keeps the earlier one and raises). Returns the written paths by name.
    """
    maximised(study)  # a multi-objective study: ValueError before anything is written
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame = trials_frame(study)
    label = objective_label(study)
    written: dict[str, Path] = {}
    with atomic_path(out / "trials.csv") as tmp:
        frame.to_csv(tmp, index=False)
    written["trials"] = out / "trials.csv"

    best = best_trial(study)
    counts = _counts(frame)
    info: dict[str, Any] = {"note": DISCLAIMER, "study": study.study_name}
    attrs = study.user_attrs
    plain = {k: v for k, v in attrs.items() if not k.startswith(RUN_PREFIX)}
    info.update({k: v for k, v in plain.items() if k not in _REPORT_KEYS})
    if clashes := {k: v for k, v in plain.items() if k in _REPORT_KEYS
                   and not (k == "objective_label" and v == label)}:  # (tune's: read)
        info["user_attrs"] = clashes  # the study's own attributes named like ours
    runs = [attrs[k] for k in sorted(attrs) if k.startswith(RUN_PREFIX)]
    if runs:
        info["runs"] = runs
    info.update(dict(extra or {}))
    info["objective_label"] = label
    info["trials"] = {"total": len(frame), **counts}
    info["best"] = None if best is None else {
        "number": best.number,
        "value": best.value,
        "params": best.params,
        "metrics": trial_metrics(best),
    }
    info["versions"] = versions()
    with atomic_path(out / "best.json") as tmp, open(tmp, "w") as fh:
        json.dump(json_safe(info, inf_as_text=False), fh, indent=2, allow_nan=False)
    written["best"] = out / "best.json"

    ours = read_manifest(out, PLOTS.values())
    try:
        if plots:
            dirs = (dirs_of(artifact_dir) if artifact_dir is not None
                    else artifact_dirs(study, out=out))
            _draw(study, frame, out, label, best, dirs, written)
        _remove_stale(out, written, plots, ours)
    finally:  # also the plots drawn before one failed
        write_manifest(out, [p.name for k, p in written.items() if k in PLOTS], ours)
    return written


def _counts(frame: pd.DataFrame) -> dict[str, int]:
    """Trials by state: ``complete``, ``pruned`` (by the pruner), ``failed_training``
    (ended as pruned by the model because its training failed: a ``failure`` is recorded),
    ``fail`` (the objective raised, or the run was stopped), ``running`` and ``waiting``
    (not finished yet, or queued): the counts add up to the total."""
    if not len(frame):
        return dict.fromkeys(("complete", "pruned", "failed_training", "fail", "running",
                              "waiting"), 0)
    state = frame["state"]
    pruned = state == TrialState.PRUNED.name
    failed = pruned & frame["failure"].notna()
    return {"complete": int((state == TrialState.COMPLETE.name).sum()),
            "pruned": int((pruned & ~failed).sum()), "failed_training": int(failed.sum()),
            "fail": int((state == TrialState.FAIL.name).sum()),
            "running": int((state == TrialState.RUNNING.name).sum()),
            "waiting": int((state == TrialState.WAITING.name).sum())}


#: The plots :func:`write_report` draws, by name.
PLOTS = {"history": "history.png", "importances": "importances.png",
         "confusion_matrix": "confusion_matrix.png", "roc": "roc.png"}


def _draw(study: optuna.Study, frame: pd.DataFrame, out: Path, label: str,
          best: FrozenTrial | None, dirs: list[Path], written: dict[str, Path]) -> None:
    """Draw the plots of :func:`write_report` that can be drawn, each added to ``written``
    by name once it is written."""
    title = f"{study.study_name}: {label}"
    history = plot_history(frame, out / PLOTS["history"], title, objective=label,
                           maximise=maximised(study))
    if history is not None:
        written["history"] = history
    imp = plot_importances(study, out / PLOTS["importances"])
    if imp is not None:
        written["importances"] = imp
    try:
        pred = val_predictions(best, dirs) if best is not None else None
    except PredictionsError as exc:
        logger.warning("%s; no confusion matrix / ROC", exc)
        return
    if pred is not None:
        y_true, y_score, names = pred
        y_pred = (y_score >= 0.5).astype(int) if y_score.ndim == 1 else y_score.argmax(axis=1)
        written["confusion_matrix"] = plot_confusion_matrix(
            y_true, y_pred, names, out / PLOTS["confusion_matrix"])
        written["roc"] = plot_roc(y_true, y_score, names, out / PLOTS["roc"])
    elif best is not None and "val_predictions_artifact" in best.user_attrs:
        art = best.user_attrs["val_predictions_artifact"]
        stored = study.user_attrs.get("artifact_dir")
        recorded = (f"the recorded folder {stored} is not here" if isinstance(stored, str)
                    and stored else "no artifact folder recorded")
        where = (f"artifact {art} is in none of {', '.join(map(str, dirs))}" if dirs else
                 f"{recorded}, none beside the database or in the output folder")
        logger.warning("the validation predictions of trial #%d cannot be read (%s); no "
                       "confusion matrix / ROC (copy the artifacts folder of the worker "
                       "that ran it to %s)", best.number, where, out / "artifacts")
    elif best is not None:
        logger.info("best trial stored no validation predictions; no confusion matrix / ROC")


def _remove_stale(out: Path, written: Mapping[str, Path], plots: bool,
                  ours: Mapping[str, str] | None) -> list[Path]:
    """Remove the plots of :data:`PLOTS` in ``out`` that this report did not draw (an
    earlier report's, of other trials) where ``ours`` (:func:`read_manifest`) has their
    current bytes; logged (a warning where plots were asked for). A file of such a name
    that is not ours (the user's own, or changed since) is kept, with an info log."""
    stale = []
    for key, name in PLOTS.items():
        if key not in written and (out / name).is_file():
            known = None if ours is None else ours.get(name)
            try:
                mine = known is not None and sha256_file(out / name) == known
            except FileNotFoundError:
                continue  # another worker's report removed it
            except OSError as exc:
                logger.warning("could not read the stale plot %s: %s; kept", out / name, exc)
                continue
            if not mine:
                why = ("the report manifest cannot be read" if ours is None else
                       "changed since a metaheur report wrote it" if name in ours else
                       f"not written by a metaheur report (not in {MANIFEST})")
                logger.info("kept %s in %s: %s", name, out, why)
                continue
            try:
                (out / name).unlink(missing_ok=True)  # another worker's report may race us
            except OSError as exc:
                logger.warning("could not remove the stale plot %s: %s", out / name, exc)
                continue
            stale.append(out / name)
    if stale:
        logger.log(logging.WARNING if plots else logging.INFO,
                   "removed %s from %s: left by an earlier report, %s", ", ".join(
                       p.name for p in stale), out,
                   "they would describe other trials" if plots else
                   "they showed other trials (`metaheur report` draws them)")
    return stale
