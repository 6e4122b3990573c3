"""Statistics of benchmark runs: summary per problem, rank-sum (or, for runs paired by
``run``, signed-rank) tests with Holm's correction against a reference algorithm, Friedman
average ranks, and markdown tables.

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

__all__ = ["summary_table", "holm", "rank_sum", "paired_differences", "signed_rank",
           "wilcoxon_holm", "friedman_note",
           "friedman_table", "friedman_notes", "friedman_ranks", "markdown_table"]


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, std, median, best, worst of the final error per function, dim and algorithm."""
    g = runs.groupby(["function", "dim", "algo"], sort=False)["final_error"]
    out = g.agg(mean="mean", std="std", median="median", best="min", worst="max").reset_index()
    return out


def holm(p: NDArray) -> NDArray:
    """Holm–Bonferroni adjusted p-values (monotone, capped at 1). A NaN (a test that could
    not be made) stays NaN and is not counted among the tests."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.size, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    order = ok[np.argsort(p[ok])]
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adj, 1.0)
    return out


def rank_sum(x: NDArray, y: NDArray) -> tuple[float, float]:
    """Two-sided Wilcoxon rank-sum (Mann-Whitney U) test of ``x`` against ``y``, with the tie
    correction (``scipy.stats.mannwhitneyu``; ties are common when runs reach exactly zero
    error): ``(U of x, p)``. Identical samples give ``p = 1``."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if np.ptp(np.r_[x, y]) == 0:  # all values equal: no evidence either way
        return x.size * y.size / 2.0, 1.0
    res = stats.mannwhitneyu(x, y, alternative="two-sided")
    return float(res.statistic), float(res.pvalue)


#: Differences closer than this fraction of the samples' largest magnitude are equal.
DIFFERENCE_RTOL = 1e-9


def paired_differences(x: NDArray, y: NDArray) -> NDArray:
    """``x − y`` with equal values giving 0 (equal infinities included), and magnitudes
    that differ by less than :data:`DIFFERENCE_RTOL` of the largest finite value (a chain
    of such steps included) made equal, to the smallest of them; below it, 0.

    Two differences that are equal in exact arithmetic (say 3/600 − 1/600 and 2/600 − 0, or
    scores rounded to 12 digits) differ in their last bits, and a signed-rank test would
    then rank them apart instead of giving them their shared (average) rank."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    with np.errstate(invalid="ignore"):  # inf − inf: a tie, set to 0 here
        d = np.where(x == y, 0.0, x - y)
    both = np.abs(np.concatenate([x.ravel(), y.ravel()]))
    both = both[np.isfinite(both)]
    tol = DIFFERENCE_RTOL * (float(both.max()) if both.size and both.max() > 0 else 1.0)
    idx = np.flatnonzero(np.isfinite(d))
    if not idx.size:
        return d
    idx = idx[np.argsort(np.abs(d[idx]), kind="stable")]  # by magnitude
    mag = np.abs(d[idx])
    group = np.cumsum(np.diff(mag, prepend=0.0) > tol)  # a new group after each real gap
    starts = np.r_[True, np.diff(group) > 0]
    rep = np.zeros(group[-1] + 1)  # group 0: within tol of 0
    rep[group[starts]] = mag[starts]
    rep[0] = 0.0
    d[idx] = np.sign(d[idx]) * rep[group]
    return d


#: Up to this many nonzero differences :func:`signed_rank` counts its null law exactly.
EXACT_SIGNED_RANK_MAX = 200


def signed_rank(x: NDArray, y: NDArray) -> tuple[float, float]:
    """Two-sided Wilcoxon signed-rank test of the pairs ``(x[i], y[i])``: ``(W, p)``.

    ``W`` is the sum of the signed ranks of ``x − y`` (negative: ``x`` lower on the pairs
    that differ). Tie-aware: tied magnitudes (to :func:`paired_differences`' digits) share
    their average rank, and zero differences (equal values, equal infinities included) take
    the lowest ranks, split evenly between the two signs (Pratt's "zsplit"), so they never
    move ``W``. A pair with a NaN is left out. ``p`` is exact and conditional on these
    ranks: under the null hypothesis each nonzero difference is equally likely to have
    either sign, and the 2^n sign patterns are counted (up to
    :data:`EXACT_SIGNED_RANK_MAX` of them, then the normal law with variance ``Σ rank²``).
    Computed here rather than by ``scipy.stats.wilcoxon``, whose p-value with ties or zeros
    depends on the SciPy version (exact since 1.15, normal before). No difference at all
    gives ``(0, 1)``."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"signed_rank needs two 1-D samples of the same shape (pairs); got "
                         f"{x.shape} and {y.shape}")
    keep = ~(np.isnan(x) | np.isnan(y))
    d = paired_differences(x[keep], y[keep])
    if not d.any():
        return 0.0, 1.0
    ranks = stats.rankdata(np.abs(d))
    r = ranks[d != 0]
    w = float(np.sum(np.sign(d) * ranks))
    if r.size > EXACT_SIGNED_RANK_MAX:
        return w, float(min(1.0, 2.0 * stats.norm.sf(abs(w) / math.sqrt(np.sum(r**2)))))
    # W = 2·S − Σr, S the rank sum of the positive signs; with the ranks doubled (average
    # ranks are multiples of 1/2) S is an integer sum, and its law is a subset-sum count
    r2 = np.rint(2.0 * r).astype(np.int64)
    law = np.zeros(int(r2.sum()) + 1)
    law[0] = 1.0
    for k in r2:  # each sign flips with probability 1/2
        law[k:] = 0.5 * (law[k:] + law[:-k])  # the right side is evaluated first
        law[:k] *= 0.5
    t = np.abs(2.0 * np.arange(law.size) - r2.sum())  # index 2S: |2·2S − 2Σr| = 2|W|
    return w, float(min(1.0, law[t >= 2.0 * abs(w) - 1e-9].sum()))


def _compare(x: pd.Series, y: pd.Series, paired: bool) -> tuple[float, float, bool]:
    """``(statistic, p, x lower)`` of :func:`signed_rank` on the runs both have (``paired``)
    or of :func:`rank_sum`."""
    if paired:
        common = x.index.intersection(y.index)
        if common.empty:
            return math.nan, math.nan, False
        w, p = signed_rank(x[common].to_numpy(), y[common].to_numpy())
        return w, p, w < 0
    u, p = rank_sum(x.to_numpy(), y.to_numpy())
    # U below its mean n1 n2 / 2: the reference's errors rank lower (better)
    return u, p, u < x.size * y.size / 2.0


def wilcoxon_holm(runs: pd.DataFrame, ref: str, alpha: float = 0.05, *,
                  paired: bool = False) -> pd.DataFrame:
    """Rank-sum test (:func:`rank_sum`) of each algorithm against ``ref`` on each function
    and dim; with ``paired=True`` a signed-rank test (:func:`signed_rank`) on the runs that
    both have, matched by the ``run`` column (for designs in which a run number fixes what
    every algorithm sees, e.g. the data split of a seed).

    Columns: function, dim, algo, statistic (U of the reference, or W of reference − other),
    p, p_holm (Holm over the algorithms compared on that problem) and ``result``: ``+`` the
    reference is significantly better (lower errors), ``-`` significantly worse, ``=`` no
    significant difference at ``alpha``.
    """
    if ref not in set(runs["algo"]):
        raise ValueError(f"reference {ref!r} is not among the algorithms run: "
                         f"{', '.join(runs['algo'].unique())}")
    if paired and "run" not in runs.columns:
        raise ValueError("paired tests match runs by their 'run' column, which is missing")
    rows = []
    for (fun, dim), grp in runs.groupby(["function", "dim"], sort=False):
        if paired:
            grp = grp.drop_duplicates(["algo", "run"], keep="last").set_index("run")
        x = grp.loc[grp["algo"] == ref, "final_error"]
        part = []
        for algo, sub in grp.groupby("algo", sort=False):
            if algo == ref:
                continue
            stat, p, lower = _compare(x, sub["final_error"], paired)
            part.append({"function": fun, "dim": dim, "algo": algo, "statistic": stat, "p": p,
                         "_ref_lower": lower})
        if part:
            adj = holm(np.array([r["p"] for r in part]))
            for r, pa in zip(part, adj, strict=True):
                r["p_holm"] = float(pa)
                lower = r.pop("_ref_lower")
                # NaN (no runs to compare) is no evidence either way
                r["result"] = ("+" if lower else "-") if pa < alpha else "="
            rows.extend(part)
    return pd.DataFrame(rows, columns=["function", "dim", "algo", "statistic", "p", "p_holm",
                                       "result"])


def friedman_note(n_algos: int, n_functions: int,
                  means: pd.DataFrame | None = None) -> str | None:
    """Why the Friedman test cannot be computed for this many algorithms and functions, or,
    given ``means`` (the function × algorithm table of mean final errors,
    :func:`friedman_table`), for these values (``None`` when it can).

    With every function's algorithms all tied (e.g. every run solved every function) the
    statistic is 0/0: each block's tie correction takes away all of its rank variance."""
    if n_algos < 3 or n_functions < 2:
        return (f"the Friedman test needs at least 3 algorithms and 2 functions; "
                f"here {n_algos} algorithm(s) and {n_functions} function(s)")
    if means is None:
        return None
    missing = [f"{a} on {f}" for f in means.index for a in means.columns
               if pd.isna(means.at[f, a])]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        return f"no final error (no run, or NaN) for {', '.join(missing[:5])}{more}"
    if (means.nunique(axis=1) <= 1).all():
        return (f"every algorithm has the same mean final error on each of the "
                f"{n_functions} functions (all tied, e.g. all solved): the Friedman "
                f"statistic is undefined (0/0), and no algorithm ranks better")
    return None


def friedman_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The function × algorithm table of mean final errors of ``runs`` (one dimension),
    algorithms in order of appearance: the blocks of the Friedman test."""
    table = runs.pivot_table(index="function", columns="algo", values="final_error",
                             aggfunc="mean", dropna=False)
    return table[[a for a in runs["algo"].unique() if a in table.columns]]


def friedman_notes(runs: pd.DataFrame) -> dict[Any, str]:
    """``{dim: why}`` for each dimension of ``runs`` whose Friedman test is NaN in
    :func:`friedman_ranks` (:func:`friedman_note`)."""
    out = {}
    for dim, grp in runs.groupby("dim", sort=False):
        table = friedman_table(grp)
        why = friedman_note(table.shape[1], table.shape[0], table)
        if why is not None:
            out[dim] = why
    return out


def friedman_ranks(runs: pd.DataFrame) -> pd.DataFrame:
    """Average rank (1 = best mean final error) of each algorithm over the functions of each
    dimension, with the Friedman chi-square statistic and p-value of that dimension (NaN with
    fewer than 3 algorithms or 2 functions, with all algorithms tied on every function, or with
    a missing cell:
    :func:`friedman_notes` says why)."""
    rows = []
    for dim, grp in runs.groupby("dim", sort=False):
        table = friedman_table(grp)
        ranks = table.rank(axis=1, method="average").mean(axis=0)
        chi2, p = math.nan, math.nan
        if friedman_note(table.shape[1], table.shape[0], table) is None:
            chi2, p = stats.friedmanchisquare(*[table[c].to_numpy() for c in table.columns])
        for algo, r in ranks.items():
            rows.append({"dim": dim, "algo": algo, "mean_rank": float(r),
                         "n_functions": int(table.shape[0]), "friedman_chi2": float(chi2),
                         "friedman_p": float(p)})
    out = pd.DataFrame(rows)
    return out.sort_values(["dim", "mean_rank"], kind="stable").reset_index(drop=True)


def markdown_table(frame: pd.DataFrame, floatfmt: str = ".3e") -> str:
    """A GitHub markdown table (no ``tabulate`` dependency); a missing number (NaN: no
    test, no reference) is shown as "—", as a reader expects of a report."""
    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return "—" if math.isnan(v) else format(float(v), floatfmt)
        return str(v)

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    sep = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join([head, sep, *body])
