"""Plots of benchmark runs and of tuning studies (matplotlib on the Agg backend; nothing is
shown, every function writes one PNG, whole or not at all, and returns its path)."""

from __future__ import annotations

import functools
import logging
import math
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from metaheur.harness.atomic import atomic_path

__all__ = ["plot_convergence", "plot_boxes", "roc_curve", "confusion_counts", "plot_history",
           "history_not_drawn", "plot_importances", "plot_confusion_matrix", "plot_roc"]

logger = logging.getLogger(__name__)
_F = TypeVar("_F", bound=Callable[..., Any])


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, path: Path) -> Path:
    """Write ``fig`` to ``path`` (format from its suffix) through a temporary file, so a
    reader never sees half a PNG and a failed write keeps the earlier one; close ``fig``."""
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, format=Path(path).suffix.lstrip(".").lower() or "png")
    finally:
        plt.close(fig)
    return path


def _plain_text(draw: _F) -> _F:
    """Run ``draw`` with matplotlib's mathtext off: titles, labels and legends hold user text
    (study names, objective labels, parameter, class and algorithm names), where a ``$``
    is a dollar sign, not the start of a formula that may fail to parse."""

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False}), \
                warnings.catch_warnings(record=True) as caught:
            warnings.filterwarnings("always", message=_MISSING_GLYPH)
            out = draw(*args, **kwargs)
        glyphs = [w for w in caught if re.match(_MISSING_GLYPH, str(w.message))]
        for w in caught:  # the others as they came
            if w not in glyphs:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if glyphs:  # one per character and size: a CJK study name gave 8 on stderr
            logger.warning("%s: the font lacks %d character(s) of the text (drawn as boxes)",
                           draw.__name__, len({str(w.message) for w in glyphs}))
        return out

    return wrapper  # type: ignore[return-value]


_MISSING_GLYPH = r"Glyph \d+ .*missing from font"


_FLOOR = 1e-16  # errors below this are drawn at the floor on log axes
_LINESTYLES = ("-", "--", ":", "-.")  # with the ten colours: 40 algorithms told apart


def _plain_log_labels(*axes: Any) -> None:
    """Plain-text tick labels (``1e-05``, ``100``) on log-scaled axes: matplotlib's own are
    mathtext, shown as code where :func:`_plain_text` turned mathtext off."""
    from matplotlib.ticker import LogFormatter, NullFormatter

    for axis in axes:
        axis.set_major_formatter(LogFormatter(labelOnlyBase=True))
        axis.set_minor_formatter(NullFormatter())


@_plain_text
def plot_convergence(conv: pd.DataFrame, function: str, dim: int, path: Path, *,
                     xlabel: str = "evaluations",
                     ylabel: str = "best-so-far error (median, IQR)") -> Path:
    """Median and inter-quartile band of the best-so-far error vs evaluations, per algorithm;
    a NaN or inf error (no value known yet at that checkpoint) is left out."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    sub = conv[(conv["function"] == function) & (conv["dim"] == dim)]
    for i, (algo, g) in enumerate(sub.groupby("algo", sort=False)):
        q = g.replace(np.inf, np.nan).groupby("nfev")["error"].quantile([0.25, 0.5, 0.75])
        q = q.unstack().clip(lower=_FLOOR)
        # the ten colours, then again dashed, dotted, ...: "C10" is "C0", and an 11th
        # algorithm's line looked like the first one's
        color, style = f"C{i % 10}", _LINESTYLES[i // 10 % len(_LINESTYLES)]
        ax.plot(q.index, q[0.5], label=algo, color=color, linestyle=style)
        ax.fill_between(q.index, q[0.25], q[0.75], color=color, alpha=0.2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_labels(ax.xaxis, ax.yaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{function}, d={dim}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(plt, fig, path)


@_plain_text
def plot_boxes(runs: pd.DataFrame, function: str, dim: int, path: Path) -> Path:
    """Box plot of the final error of each algorithm (log scale)."""
    plt = _pyplot()
    sub = runs[(runs["function"] == function) & (runs["dim"] == dim)]
    algos = list(sub["algo"].unique())
    data = [np.maximum(sub.loc[sub["algo"] == a, "final_error"].to_numpy(), _FLOOR)
            for a in algos]
    fig, ax = plt.subplots(figsize=(1.1 * len(algos) + 3, 4.5))
    ax.boxplot(data, tick_labels=algos)
    ax.set_yscale("log")
    _plain_log_labels(ax.yaxis)
    ax.set_ylabel("final error")
    ax.set_title(f"{function}, d={dim}")
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return _save(plt, fig, path)


# ------------------------------------------------------------------- tuning studies
def roc_curve(y_true: ArrayLike, score: ArrayLike) -> tuple[NDArray, NDArray, float]:
    """``(fpr, tpr, auc)`` of a binary score (positive class: true values): scikit-learn's
    ``roc_curve`` and ``roc_auc_score`` where it is installed, else the same step curve
    (tied scores form one step) with the trapezoid area. A single-class ``y_true`` has no
    ROC: ``auc`` is NaN."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(score, dtype=float)
    if y.all() or not y.any():
        return np.array([0.0, 1.0]), np.array([0.0, 1.0]), math.nan
    try:
        from sklearn.metrics import roc_auc_score
        from sklearn.metrics import roc_curve as sk_roc_curve
    except ImportError:
        return _roc_curve(y, s)
    fpr, tpr, _ = sk_roc_curve(y, s, drop_intermediate=False)
    return fpr, tpr, float(roc_auc_score(y, s))


def _roc_curve(y: NDArray, s: NDArray) -> tuple[NDArray, NDArray, float]:
    """The fallback of :func:`roc_curve` without scikit-learn (``y`` bool, both classes)."""
    order = np.argsort(-s, kind="stable")
    y, s = y[order], s[order]
    last = np.r_[np.flatnonzero(np.diff(s)), y.size - 1]  # end of each block of equal scores
    tp, fp = np.cumsum(y)[last], np.cumsum(~y)[last]
    tpr, fpr = np.r_[0.0, tp / y.sum()], np.r_[0.0, fp / (~y).sum()]
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))  # trapezoids; any NumPy
    return fpr, tpr, auc


def confusion_counts(y_true: ArrayLike, y_pred: ArrayLike, k: int) -> NDArray:
    """``(k, k)`` counts of (true, predicted) class; ``ValueError`` for labels outside
    ``0..k-1`` or arrays of different lengths."""
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"true and predicted labels of shapes {y_true.shape} and "
                         f"{y_pred.shape}; two flat lists of one length are allowed")
    if y_true.size and (min(y_true.min(), y_pred.min()) < 0
                        or max(y_true.max(), y_pred.max()) >= k):
        raise ValueError(f"labels outside 0..{k - 1} for {k} classes")
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def history_not_drawn(frame: pd.DataFrame) -> str | None:
    """What :func:`plot_history` leaves out of a ``trials_frame``, for its legend, e.g.
    ``"not drawn: 2 non-finite values, 1 pruned, 1 failed in training, 1 failed"`` (a
    pruned trial with a ``failure`` failed in training); ``None`` when nothing."""
    if not len(frame):
        return None
    state = frame["state"]
    values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
    failed = (state == "PRUNED") & (frame["failure"].notna() if "failure" in frame else False)
    parts = [(int(((state == "COMPLETE").to_numpy() & ~np.isfinite(values)).sum()),
              "non-finite value"),
             (int(((state == "PRUNED") & ~failed).sum()), "pruned"),
             (int(failed.sum()), "failed in training"), (int((state == "FAIL").sum()), "failed")]
    shown = [f"{n} {what}{'s' if what.endswith('value') and n > 1 else ''}"
             for n, what in parts if n]
    return f"not drawn: {', '.join(shown)}" if shown else None


@_plain_text
def plot_history(frame: pd.DataFrame, path: Path, title: str = "",
                 objective: str = "objective", *, maximise: bool = False) -> Path | None:
    """Finite objective value of every complete trial and the best-so-far line (the running
    maximum when ``maximise``; ``trials_frame``'s ``best_so_far``), vs trial number; the
    legend counts the trials not drawn (non-finite values, pruned, failed). ``None``
    (nothing written) without a complete trial of finite value."""
    done = frame[frame["state"] == "COMPLETE"] if len(frame) else frame
    if len(done):
        done = done[np.isfinite(pd.to_numeric(done["value"], errors="coerce")
                                .to_numpy(dtype=float))]
    if not len(done):
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(done["number"], done["value"], s=14, alpha=0.6, label=f"trial ({len(done)})")
    best = done["value"].cummax() if maximise else done["value"].cummin()
    ax.step(done["number"], best, where="post", color="C3",
            label="best so far")
    note = history_not_drawn(frame)
    if note:
        ax.plot([], [], " ", label=note)
    ax.legend()
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{objective} ({'maximised' if maximise else 'minimised'})")
    ax.set_title(title or "optimisation history")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(plt, fig, path)


@_plain_text
def plot_importances(study: Any, path: Path) -> Path | None:
    """Bar chart of ``optuna.importance.get_param_importances``; ``None`` (logged) when there
    are too few complete trials or the evaluator fails."""
    import optuna
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(done) < 2:
        logger.info("parameter importances need at least 2 complete trials; skipped")
        return None
    try:
        with warnings.catch_warnings(record=True) as caught:  # as log lines, not on stderr
            warnings.simplefilter("always")
            imp = optuna.importance.get_param_importances(study)
    except Exception as exc:  # evaluator-specific (constant values, single parameter, ...)
        logger.warning("parameter importances not computed: %s", exc)
        return None
    for w in caught:  # e.g. tied values: "Parameter importances will be equal."
        logger.info("parameter importances: %s", w.message)
    if not imp:
        return None
    plt = _pyplot()
    names, vals = list(imp)[::-1], list(imp.values())[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1.5))
    ax.barh(names, vals, color="C0")
    ax.set_xlabel("importance (Optuna, normalised)")
    ax.set_title("hyper-parameter importances")
    fig.tight_layout()
    return _save(plt, fig, path)


@_plain_text
def plot_confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, class_names: Sequence[str],
                          path: Path) -> Path:
    """Counts of (true, predicted) class with the numbers in the cells (scikit-learn's
    ``ConfusionMatrixDisplay`` where it is installed)."""
    k = len(class_names)
    cm = confusion_counts(y_true, y_pred, k)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * k + 2.5, 1.2 * k + 2))
    try:
        from sklearn.metrics import ConfusionMatrixDisplay
    except ImportError:
        ax.imshow(cm, cmap="Blues")
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                        color="white" if cm[i, j] > cm.max() / 2 else "black")
        ax.set_xticks(range(k), class_names, rotation=30, ha="right")
        ax.set_yticks(range(k), class_names)
    else:
        ConfusionMatrixDisplay(cm, display_labels=list(class_names)).plot(
            ax=ax, cmap="Blues", colorbar=False, xticks_rotation=30)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("best trial: validation confusion matrix")
    fig.tight_layout()
    return _save(plt, fig, path)


@_plain_text
def plot_roc(y_true: ArrayLike, y_score: ArrayLike, class_names: Sequence[str],
             path: Path) -> Path:
    """ROC curve (binary) or one-vs-rest curves per class (multi-class), with AUCs."""
    y_true, y_score = np.asarray(y_true, dtype=int), np.asarray(y_score, dtype=float)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    curves = ([(class_names[-1], y_true == 1, y_score)] if y_score.ndim == 1 else
              [(f"{n} vs rest", y_true == k, y_score[:, k]) for k, n in enumerate(class_names)])
    for label, positive, score in curves:
        fpr, tpr, auc = roc_curve(positive, score)
        ax.plot(fpr, tpr, label=f"{label} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("best trial: validation ROC")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return _save(plt, fig, path)
