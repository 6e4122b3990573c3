"""Statistics of benchmark runs: summary per problem, rank-sum tests with Holm's correction
against a reference algorithm, Friedman average ranks, and markdown tables.

Inputs are the long ``runs`` table of :mod:`metaheur.harness.bench` (columns ``algo``,
``function``, ``dim``, ``run``, ``final_error``); nothing here runs an optimiser or draws.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

__all__ = ["summary_table", "holm", "wilcoxon_holm", "friedman_ranks", "markdown_table"]


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, std, median, best, worst of the final error per function, dim and algorithm."""
    g = runs.groupby(["function", "dim", "algo"], sort=False)["final_error"]
    out = g.agg(mean="mean", std="std", median="median", best="min", worst="max").reset_index()
    return out


def holm(p: NDArray) -> NDArray:
    """Holm–Bonferroni adjusted p-values (monotone, capped at 1)."""
    p = np.asarray(p, dtype=float)
    m = p.size
    order = np.argsort(p)
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def wilcoxon_holm(runs: pd.DataFrame, ref: str, alpha: float = 0.05) -> pd.DataFrame:
    """Rank-sum test of each algorithm against ``ref`` on each function and dim.

    Columns: function, dim, algo, statistic, p, p_holm (Holm over the algorithms compared on
    that problem) and ``result``: ``+`` the reference is significantly better (lower errors),
    ``-`` significantly worse, ``=`` no significant difference at ``alpha``.
    """
    if ref not in set(runs["algo"]):
        raise ValueError(f"reference {ref!r} is not among the algorithms run: "
                         f"{', '.join(runs['algo'].unique())}")
    rows = []
    for (fun, dim), grp in runs.groupby(["function", "dim"], sort=False):
        x = grp.loc[grp["algo"] == ref, "final_error"].to_numpy()
        part = []
        for algo, sub in grp.groupby("algo", sort=False):
            if algo == ref:
                continue
            y = sub["final_error"].to_numpy()
            if np.array_equal(np.sort(x), np.sort(y)) or (np.ptp(np.r_[x, y]) == 0):
                stat, p = 0.0, 1.0
            else:
                stat, p = stats.ranksums(x, y)
            part.append({"function": fun, "dim": dim, "algo": algo, "statistic": float(stat),
                         "p": float(p)})
        if part:
            adj = holm(np.array([r["p"] for r in part]))
            for r, pa in zip(part, adj, strict=True):
                r["p_holm"] = float(pa)
                # statistic < 0: the reference's errors rank lower (better)
                r["result"] = "=" if pa >= alpha else ("+" if r["statistic"] < 0 else "-")
            rows.extend(part)
    return pd.DataFrame(rows, columns=["function", "dim", "algo", "statistic", "p", "p_holm",
                                       "result"])


def friedman_ranks(runs: pd.DataFrame) -> pd.DataFrame:
    """Average rank (1 = best mean final error) of each algorithm over the functions of each
    dimension, with the Friedman chi-square statistic and p-value of that dimension (NaN with
    fewer than 3 algorithms or 2 functions)."""
    rows = []
    for dim, grp in runs.groupby("dim", sort=False):
        table = grp.pivot_table(index="function", columns="algo", values="final_error",
                                aggfunc="mean")
        table = table[[a for a in grp["algo"].unique() if a in table.columns]]
        ranks = table.rank(axis=1, method="average").mean(axis=0)
        chi2, p = math.nan, math.nan
        if table.shape[1] >= 3 and table.shape[0] >= 2:
            chi2, p = stats.friedmanchisquare(*[table[c].to_numpy() for c in table.columns])
        for algo, r in ranks.items():
            rows.append({"dim": dim, "algo": algo, "mean_rank": float(r),
                         "n_functions": int(table.shape[0]), "friedman_chi2": float(chi2),
                         "friedman_p": float(p)})
    out = pd.DataFrame(rows)
    return out.sort_values(["dim", "mean_rank"], kind="stable").reset_index(drop=True)


def markdown_table(frame: pd.DataFrame, floatfmt: str = ".3e") -> str:
    """A GitHub markdown table (no ``tabulate`` dependency)."""
    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return "nan" if math.isnan(v) else format(float(v), floatfmt)
        return str(v)

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    sep = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join([head, sep, *body])
