"""Plots of benchmark runs and of tuning studies (matplotlib on the Agg backend; nothing is
shown, every function writes one PNG and returns its path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plot_convergence", "plot_boxes"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


_FLOOR = 1e-16  # errors below this are drawn at the floor on log axes


def plot_convergence(conv: pd.DataFrame, function: str, dim: int, path: Path) -> Path:
    """Median and inter-quartile band of the best-so-far error vs evaluations, per algorithm."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    sub = conv[(conv["function"] == function) & (conv["dim"] == dim)]
    for i, (algo, g) in enumerate(sub.groupby("algo", sort=False)):
        q = g.replace(np.inf, np.nan).groupby("nfev")["error"].quantile([0.25, 0.5, 0.75])
        q = q.unstack().clip(lower=_FLOOR)
        ax.plot(q.index, q[0.5], label=algo, color=f"C{i}")
        ax.fill_between(q.index, q[0.25], q[0.75], color=f"C{i}", alpha=0.2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("best-so-far error (median, IQR)")
    ax.set_title(f"{function}, d={dim}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


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
    ax.set_ylabel("final error")
    ax.set_title(f"{function}, d={dim}")
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
