"""Evaluation metrics at threshold 0.5 (docs/models.md §6.3), in NumPy.

Binary (IFM, positive = malignant) and macro one-vs-rest multi-class (LSTM-ELU) versions of
accuracy, sensitivity = recall, specificity, precision, F1, error rate and ROC AUC
(Mann-Whitney with ties counted 1/2, as scikit-learn's ``roc_auc_score``). A zero denominator
gives 0 with one :class:`UndefinedMetricWarning` per metric and call.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import rankdata

__all__ = [
    "UndefinedMetricWarning",
    "roc_auc",
    "confusion_matrix",
    "binary_metrics",
    "multiclass_metrics",
    "METRIC_NAMES",
]

METRIC_NAMES = (
    "accuracy",
    "sensitivity",
    "recall",
    "specificity",
    "precision",
    "f1",
    "error_rate",
    "auc",
)


class UndefinedMetricWarning(UserWarning):
    """A metric had a zero denominator and was set to 0."""


def _safe_div(num: ArrayLike, den: ArrayLike, name: str, warned: set[str] | None) -> NDArray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    zero = den == 0
    if zero.any() and warned is not None and name not in warned:
        warned.add(name)
        warnings.warn(
            f"{name}: zero denominator (no samples of some class/prediction); set to 0",
            UndefinedMetricWarning,
            stacklevel=4,
        )
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=~zero)


def roc_auc(y_true: ArrayLike, score: ArrayLike, *, warn: bool = True) -> float:
    """Binary ROC AUC by the Mann-Whitney U statistic, ties counted 1/2.

    Returns 0 (with a warning when ``warn``) if ``y_true`` has no positives or no negatives.
    """
    y = np.asarray(y_true).reshape(-1) == 1
    s = np.asarray(score, dtype=float).reshape(-1)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        if warn:
            warnings.warn("auc: only one class in y_true; set to 0", UndefinedMetricWarning, 2)
        return 0.0
    ranks = rankdata(s)  # average ranks = ties count 1/2
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> NDArray:
    """``C[i, j]`` = number of samples of true class i predicted as j."""
    t = np.asarray(y_true, dtype=np.int64).reshape(-1)
    p = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    return np.bincount(t * n_classes + p, minlength=n_classes**2).reshape(n_classes, n_classes)


def _from_counts(tp: NDArray, fp: NDArray, fn: NDArray, tn: NDArray, warned: set[str]) -> dict:
    recall = _safe_div(tp, tp + fn, "sensitivity", warned)
    spec = _safe_div(tn, tn + fp, "specificity", warned)
    prec = _safe_div(tp, tp + fp, "precision", warned)
    f1 = _safe_div(2 * tp, 2 * tp + fp + fn, "f1", warned)  # = 2PR/(P+R), 0 when P = R = 0
    return {
        "sensitivity": float(recall.mean()),
        "recall": float(recall.mean()),
        "specificity": float(spec.mean()),
        "precision": float(prec.mean()),
        "f1": float(f1.mean()),
    }


def binary_metrics(y_true: ArrayLike, prob: ArrayLike, threshold: float = 0.5) -> dict[str, float]:
    """All §6.3 metrics for a binary task from positive-class probabilities ``prob`` (N,)."""
    y = np.asarray(y_true, dtype=np.int64).reshape(-1)
    p = np.asarray(prob, dtype=float).reshape(-1)
    if y.shape != p.shape:
        raise ValueError(f"y_true and prob must have the same length, got {y.shape}, {p.shape}")
    pred = (p >= threshold).astype(np.int64)
    tp = np.sum((pred == 1) & (y == 1))
    tn = np.sum((pred == 0) & (y == 0))
    fp = np.sum((pred == 1) & (y == 0))
    fn = np.sum((pred == 0) & (y == 1))
    warned: set[str] = set()
    out = {"accuracy": float(_safe_div(tp + tn, len(y), "accuracy", warned))}
    out.update(_from_counts(tp, fp, fn, tn, warned))
    out["error_rate"] = 1.0 - out["accuracy"]
    out["auc"] = roc_auc(y, p)
    return out


def multiclass_metrics(y_true: ArrayLike, proba: ArrayLike) -> dict[str, float]:
    """All §6.3 metrics for K classes from probabilities ``proba`` (N, K); macro averages.

    Prediction is the argmax; AUC is the macro one-vs-rest mean over classes.
    """
    y = np.asarray(y_true, dtype=np.int64).reshape(-1)
    P = np.asarray(proba, dtype=float)
    if P.ndim != 2 or P.shape[0] != y.shape[0]:
        raise ValueError(f"proba must be (N, K) with N = len(y_true), got {P.shape}")
    K = P.shape[1]
    if y.size and (y.min() < 0 or y.max() >= K):
        raise ValueError(f"y_true must lie in [0, {K}), got range [{y.min()}, {y.max()}]")
    C = confusion_matrix(y, P.argmax(axis=1), K)
    tp = np.diag(C).astype(float)
    fp, fn = C.sum(axis=0) - tp, C.sum(axis=1) - tp
    tn = C.sum() - tp - fp - fn
    warned: set[str] = set()
    out = {"accuracy": float(_safe_div(tp.sum(), C.sum(), "accuracy", warned))}
    out.update(_from_counts(tp, fp, fn, tn, warned))
    out["error_rate"] = 1.0 - out["accuracy"]
    aucs = [roc_auc(y == k, P[:, k], warn=False) for k in range(K)]
    missing = [k for k in range(K) if not 0 < np.sum(y == k) < len(y)]
    if missing:
        warnings.warn(
            f"auc: classes {missing} have no positives or no negatives; their AUC set to 0",
            UndefinedMetricWarning,
            stacklevel=2,
        )
    out["auc"] = float(np.mean(aucs))
    return out
