"""Evaluation metrics at threshold 0.5 (docs/models.md §6.3), on scikit-learn's metrics.

Binary (IFM, positive = malignant) and macro one-vs-rest multi-class (LSTM-ELU) versions of
accuracy, sensitivity = recall, specificity, precision, F1, error rate and ROC AUC. Precision,
recall, F1 and AUC are scikit-learn's (``precision_recall_fscore_support``, ``roc_auc_score``);
specificity, which scikit-learn lacks, is computed from its confusion matrix. A zero
denominator gives 0 with one :class:`UndefinedMetricWarning` per metric and call (scikit-learn's
own warning is not raised), and an AUC without both classes is 0 instead of an error.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import confusion_matrix as _sk_confusion_matrix
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

__all__ = [
    "UndefinedMetricWarning",
    "roc_auc",
    "confusion_matrix",
    "binary_metrics",
    "multiclass_metrics",
    "argmax_score",
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


def _integer_labels(y_true: ArrayLike) -> NDArray:
    """``y_true`` as a flat int64 array; a label that is not a whole number is an error."""
    raw = np.asarray(y_true).reshape(-1)
    if raw.dtype == bool:
        return raw.astype(np.int64)
    if raw.dtype.kind == "f" and not np.isfinite(raw).all():
        raise ValueError("y_true must hold integer class labels, got NaN or inf")
    y = raw.astype(np.int64)
    if raw.dtype.kind not in "iu" and not np.array_equal(y, raw):
        raise ValueError("y_true must hold integer class labels, got values such as "
                         f"{raw[y != raw][:3].tolist()}")
    return y


def _binary_labels(y_true: ArrayLike) -> NDArray:
    """Binary labels, 0 (negative) or 1 (positive; bools allowed) as int64."""
    y = _integer_labels(y_true)
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError(f"binary y_true must be 0 or 1, got the values "
                         f"{np.unique(y)[:5].tolist()}")
    return y


def _finite(a: NDArray, name: str) -> NDArray:
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite (NaN or inf found): a diverged model")
    return a


def roc_auc(y_true: ArrayLike, score: ArrayLike, *, warn: bool = True) -> float:
    """Binary ROC AUC (scikit-learn's ``roc_auc_score``: Mann-Whitney, ties counted 1/2).

    Returns 0 (with a warning when ``warn``) if ``y_true`` has no positives or no negatives,
    where scikit-learn raises.
    """
    y = _binary_labels(y_true) == 1
    s = _finite(np.asarray(score, dtype=float).reshape(-1), "score")
    if y.all() or not y.any():
        if warn:
            warnings.warn("auc: only one class in y_true; set to 0", UndefinedMetricWarning, 2)
        return 0.0
    return float(roc_auc_score(y, s))


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> NDArray:
    """``C[i, j]`` = number of samples of true class i predicted as j."""
    return _sk_confusion_matrix(np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1),
                                labels=np.arange(n_classes))  # fmt: skip


def _per_class(y: NDArray, pred: NDArray, n_classes: int, labels: NDArray,
               warned: set[str]) -> dict:  # fmt: skip
    """Precision, recall, F1 (scikit-learn) and specificity (one-vs-rest, from the confusion
    matrix; scikit-learn has none) of the classes ``labels``, averaged (macro)."""
    C = confusion_matrix(y, pred, n_classes)
    tp = np.diag(C).astype(float)
    fp, fn = C.sum(axis=0) - tp, C.sum(axis=1) - tp
    tn = C.sum() - tp - fp - fn
    tp, fp, fn, tn = tp[labels], fp[labels], fn[labels], tn[labels]
    for name, den in (("sensitivity", tp + fn), ("precision", tp + fp),
                      ("f1", 2 * tp + fp + fn)):  # fmt: skip
        _safe_div(0, den, name, warned)  # the warning only; values come from scikit-learn
    prec, rec, f1, _ = precision_recall_fscore_support(
        y, pred, labels=labels, average=None, zero_division=0.0)
    spec = _safe_div(tn, tn + fp, "specificity", warned)
    return {
        "sensitivity": float(rec.mean()),
        "recall": float(rec.mean()),
        "specificity": float(spec.mean()),
        "precision": float(prec.mean()),
        "f1": float(f1.mean()),
    }


def binary_metrics(y_true: ArrayLike, prob: ArrayLike, threshold: float = 0.5) -> dict[str, float]:
    """All §6.3 metrics for a binary task from positive-class probabilities ``prob`` (N,)."""
    y = _binary_labels(y_true)
    p = _finite(np.asarray(prob, dtype=float).reshape(-1), "prob")
    if y.shape != p.shape:
        raise ValueError(f"y_true and prob must have the same length, got {y.shape}, {p.shape}")
    pred = (p >= threshold).astype(np.int64)
    warned: set[str] = set()
    out = {"accuracy": float(_safe_div(np.sum(pred == y), len(y), "accuracy", warned))}
    out.update(_per_class(y, pred, 2, np.array([1]), warned))  # positive class = malignant
    out["error_rate"] = 1.0 - out["accuracy"]
    out["auc"] = roc_auc(y, p)
    return out


def _labels_and_proba(y_true: ArrayLike, proba: ArrayLike) -> tuple[NDArray, NDArray]:
    """``y_true`` as int64 labels in [0, K) and ``proba`` as a float (N, K) array, checked."""
    y = _integer_labels(y_true)
    P = _finite(np.asarray(proba, dtype=float), "proba")
    if P.ndim != 2 or P.shape[0] != y.shape[0]:
        raise ValueError(f"proba must be (N, K) with N = len(y_true), got {P.shape}")
    K = P.shape[1]
    if y.size and (y.min() < 0 or y.max() >= K):
        raise ValueError(f"y_true must lie in [0, {K}), got range [{y.min()}, {y.max()}]")
    return y, P


def multiclass_metrics(y_true: ArrayLike, proba: ArrayLike) -> dict[str, float]:
    """All §6.3 metrics for K classes from probabilities ``proba`` (N, K); macro averages.

    Prediction is the argmax; AUC is the macro one-vs-rest mean over classes.
    """
    y, P = _labels_and_proba(y_true, proba)
    K, pred = P.shape[1], P.argmax(axis=1)
    warned: set[str] = set()
    out = {"accuracy": float(_safe_div(np.sum(pred == y), len(y), "accuracy", warned))}
    out.update(_per_class(y, pred, K, np.arange(K), warned))
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


def argmax_score(y_true: ArrayLike, proba: ArrayLike, metric: str = "f1") -> float:
    """``multiclass_metrics(y_true, proba)[metric]`` for ``"f1"`` or ``"accuracy"`` alone, bit
    for bit and without warnings: the per-epoch validation score of a tuning run, which needs
    none of the one-vs-rest AUCs (they cost more than an epoch of the 8x8 digits).

    The macro F1 is scikit-learn's per-class F1 (0 where a class is neither true nor
    predicted) averaged over the K classes (docs/models.md §6.3), from the same call as
    :func:`multiclass_metrics`, so it rounds alike on every scikit-learn version (1.3 and 1.4
    compute it by different formulas). About 2 ms against 45 ms for every metric.
    """
    y, P = _labels_and_proba(y_true, proba)
    K, pred = P.shape[1], P.argmax(axis=1)
    if metric == "accuracy":
        return float(_safe_div(np.sum(pred == y), len(y), "accuracy", None))
    if metric != "f1":
        raise ValueError(f"metric must be 'f1' or 'accuracy', got {metric!r}")
    f1 = precision_recall_fscore_support(y, pred, labels=np.arange(K), average=None,
                                         zero_division=0.0)[2]
    return float(f1.mean())  # the call _per_class makes: the same bits on every version
