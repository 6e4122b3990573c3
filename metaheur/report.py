"""Tables and plots from any stored Optuna study (used by ``metaheur tune`` and ``report``).

:func:`write_report` writes into one folder: ``trials.csv`` (one row per trial: state, value,
duration, parameters and the validation metrics the objective stored in
``trial.user_attrs["metrics"]``), ``best.json`` (best trial, its metrics, the run's
configuration as stored in the study, versions) and PNG plots: ``history.png`` (value and
best-so-far per trial), ``importances.png`` (Optuna's parameter importances), and for the
best trial ``confusion_matrix.png`` and ``roc.png`` when it stored validation predictions.
Matplotlib runs on the Agg backend; nothing is shown.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from optuna.trial import FrozenTrial, TrialState

__all__ = [
    "DISCLAIMER",
    "versions",
    "trials_frame",
    "best_trial",
    "val_predictions",
    "summary_text",
    "roc_curve",
    "plot_history",
    "plot_importances",
    "plot_confusion_matrix",
    "plot_roc",
    "write_report",
]

logger = logging.getLogger(__name__)

DISCLAIMER = "Research benchmark for optimisers, not for clinical use."


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


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


def _json_safe(obj: Any) -> Any:
    """Strict-JSON copy: numpy scalars/arrays to Python, NaN/inf to ``None``."""
    if isinstance(obj, Mapping):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        return _json_safe(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: ``number``, ``state``, ``value``, ``best_so_far``, ``duration_s``,
    ``params_<name>`` and ``metric_<name>`` (from ``user_attrs["metrics"]``)."""
    rows = []
    best = math.inf
    for t in study.get_trials(deepcopy=False):
        value = t.value if t.state == TrialState.COMPLETE else None
        if value is not None:
            best = min(best, value)
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state.name,
            "value": value,
            "best_so_far": best if math.isfinite(best) else None,
            "duration_s": t.duration.total_seconds() if t.duration is not None else None,
            "datetime_start": t.datetime_start,
        }
        row.update({f"params_{k}": v for k, v in t.params.items()})
        row.update({f"metric_{k}": v for k, v in trial_metrics(t).items()
                    if isinstance(v, (int, float)) or v is None})
        rows.append(row)
    return pd.DataFrame(rows)


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The complete trial with the lowest value, or ``None`` when none completed."""
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.value is not None and math.isfinite(t.value)]
    return min(done, key=lambda t: (t.value, t.number)) if done else None


def trial_metrics(trial: FrozenTrial) -> dict[str, Any]:
    """Validation metrics: scalar ``val_<name>`` user attributes, or the ``metrics`` dict of
    studies written before they were split."""
    old = trial.user_attrs.get("metrics")
    if isinstance(old, Mapping):
        return dict(old)
    return {k[4:]: v for k, v in trial.user_attrs.items()
            if k.startswith("val_") and isinstance(v, (int, float)) and not isinstance(v, bool)}


def val_predictions(trial: FrozenTrial, artifact_dir: str | Path | None = None
                    ) -> tuple[NDArray, NDArray, list[str]] | None:  # fmt: skip
    """``(y_true (n,), y_score (n,) or (n, k), class_names)`` stored by the objective as the
    Optuna artifact ``user_attrs["val_predictions_artifact"]`` in ``artifact_dir`` (the
    study's user attribute ``artifact_dir``), or (older
    studies) in ``user_attrs["val_predictions"]`` (keys ``y`` and ``proba``; class names from
    ``user_attrs["class_names"]``), or ``None``."""
    pred = trial.user_attrs.get("val_predictions")
    art = trial.user_attrs.get("val_predictions_artifact")
    if pred is None and art is not None and artifact_dir is not None:
        pred = _read_artifact(Path(artifact_dir), str(art))
    if not isinstance(pred, Mapping):
        return None
    y_true = pred.get("y", pred.get("y_true"))
    y_score = pred.get("proba", pred.get("y_score"))
    if y_true is None or y_score is None or len(y_true) == 0:
        return None
    y_true, y_score = np.asarray(y_true, dtype=int), np.asarray(y_score, dtype=float)
    if y_score.ndim == 2 and y_score.shape[1] == 1:
        y_score = y_score[:, 0]
    k = 2 if y_score.ndim == 1 else y_score.shape[1]
    names = pred.get("class_names") or trial.user_attrs.get("class_names")
    names = [str(n) for n in names] if names and len(names) == k else [
        f"class {i}" for i in range(k)]
    return y_true, y_score, names


def _read_artifact(artifact_dir: Path, artifact_id: str) -> Any:
    """The JSON artifact ``artifact_id`` of a file-system store, or ``None`` if unreadable."""
    from optuna.artifacts import FileSystemArtifactStore

    try:
        with FileSystemArtifactStore(artifact_dir).open_reader(artifact_id) as fh:
            return json.loads(fh.read())
    except (OSError, ValueError, KeyError, optuna.exceptions.OptunaError):
        return None


def summary_text(study: optuna.Study) -> str:
    """The best trial's hyper-parameters and validation metrics as a plain-text table."""
    best = best_trial(study)
    if best is None:
        return "no complete trial yet"
    metrics = trial_metrics(best)
    width = max([len(k) for k in (*best.params, *metrics)] + [len("validation metric")])

    def fmt(v: Any, spec: str) -> str:
        return format(v, spec) if isinstance(v, float) else str(v)

    lines = [f"best trial #{best.number}: objective {best.value:.6g} (minimised)",
             f"  {'hyper-parameter':<{width}}  value"]
    lines += [f"  {k:<{width}}  {fmt(v, '.6g')}" for k, v in best.params.items()]
    if metrics:
        lines.append(f"  {'validation metric':<{width}}  value")
        lines += [f"  {k:<{width}}  {fmt(v, '.4f')}" for k, v in metrics.items()]
    return "\n".join(lines)


def roc_curve(y_true: ArrayLike, score: ArrayLike) -> tuple[NDArray, NDArray, float]:
    """``(fpr, tpr, auc)`` of a binary score (positive class 1), ties handled as one step."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(score, dtype=float)
    order = np.argsort(-s, kind="stable")
    y, s = y[order], s[order]
    last = np.r_[np.flatnonzero(np.diff(s)), y.size - 1]  # end of each block of equal scores
    tp, fp = np.cumsum(y)[last], np.cumsum(~y)[last]
    P, N = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    tpr, fpr = np.r_[0.0, tp / P], np.r_[0.0, fp / N]
    return fpr, tpr, float(np.trapezoid(tpr, fpr))


def plot_history(frame: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Objective value of every complete trial and the best-so-far line, vs trial number."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    done = frame[frame["state"] == "COMPLETE"] if len(frame) else frame
    if len(done):
        ax.scatter(done["number"], done["value"], s=14, alpha=0.6, label="trial")
        ax.step(done["number"], done["value"].cummin(), where="post", color="C3",
                label="best so far")
        ax.legend()
    ax.set_xlabel("trial")
    ax.set_ylabel("objective (minimised)")
    ax.set_title(title or "optimisation history")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_importances(study: optuna.Study, path: Path) -> Path | None:
    """Bar chart of ``optuna.importance.get_param_importances``; ``None`` (logged) when there
    are too few complete trials or the evaluator fails."""
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(done) < 2:
        logger.info("parameter importances need at least 2 complete trials; skipped")
        return None
    try:
        imp = optuna.importance.get_param_importances(study)
    except Exception as exc:  # evaluator-specific (constant values, single parameter, ...)
        logger.warning("parameter importances not computed: %s", exc)
        return None
    if not imp:
        return None
    plt = _pyplot()
    names, vals = list(imp)[::-1], list(imp.values())[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1.5))
    ax.barh(names, vals, color="C0")
    ax.set_xlabel("importance (Optuna, normalised)")
    ax.set_title("hyper-parameter importances")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_confusion_matrix(
    y_true: ArrayLike, y_pred: ArrayLike, class_names: Sequence[str], path: Path
) -> Path:
    """Counts of (true, predicted) class with the numbers written in the cells."""
    k = len(class_names)
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)), 1)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * k + 2.5, 1.2 * k + 2))
    ax.imshow(cm, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_xticks(range(k), class_names, rotation=30, ha="right")
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("best trial: validation confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_roc(y_true: ArrayLike, y_score: ArrayLike, class_names: Sequence[str],
             path: Path) -> Path:
    """ROC curve (binary) or one-vs-rest curves per class (multi-class), with AUCs."""
    y_true, y_score = np.asarray(y_true, dtype=int), np.asarray(y_score, dtype=float)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    if y_score.ndim == 1:
        fpr, tpr, auc = roc_curve(y_true == 1, y_score)
        ax.plot(fpr, tpr, label=f"{class_names[-1]} (AUC {auc:.3f})")
    else:
        for k, name in enumerate(class_names):
            fpr, tpr, auc = roc_curve(y_true == k, y_score[:, k])
            ax.plot(fpr, tpr, label=f"{name} vs rest (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("best trial: validation ROC")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(
    study: optuna.Study,
    out: str | Path,
    *,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``trials.csv``, ``best.json`` and the PNG plots of ``study`` into ``out``.

    ``best.json`` holds the study's user attributes (the configuration ``tune`` stored),
    then ``extra`` (which wins; never put an unmasked storage URL in it), the best trial and
    the versions. Returns the written paths by name.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame = trials_frame(study)
    written: dict[str, Path] = {}
    frame.to_csv(out / "trials.csv", index=False)
    written["trials"] = out / "trials.csv"

    best = best_trial(study)
    counts = {s.name.lower(): int((frame["state"] == s.name).sum()) if len(frame) else 0
              for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)}
    info: dict[str, Any] = {"note": DISCLAIMER, "study": study.study_name}
    info.update({k: v for k, v in study.user_attrs.items()})
    info.update(dict(extra or {}))
    info["trials"] = {"total": len(frame), **counts}
    info["best"] = None if best is None else {
        "number": best.number,
        "value": best.value,
        "params": best.params,
        "metrics": trial_metrics(best),
    }
    info["versions"] = versions()
    with open(out / "best.json", "w") as fh:
        json.dump(_json_safe(info), fh, indent=2, allow_nan=False)
    written["best"] = out / "best.json"

    title = f"{study.study_name}: optimisation history"
    written["history"] = plot_history(frame, out / "history.png", title)
    imp = plot_importances(study, out / "importances.png")
    if imp is not None:
        written["importances"] = imp
    pred = val_predictions(best, study.user_attrs.get("artifact_dir")) if best is not None \
        else None
    if pred is not None:
        y_true, y_score, names = pred
        y_pred = (y_score >= 0.5).astype(int) if y_score.ndim == 1 else y_score.argmax(axis=1)
        written["confusion_matrix"] = plot_confusion_matrix(
            y_true, y_pred, names, out / "confusion_matrix.png")
        written["roc"] = plot_roc(y_true, y_score, names, out / "roc.png")
    elif best is not None:
        logger.info("best trial stored no validation predictions; no confusion matrix / ROC")
    return written
