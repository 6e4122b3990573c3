"""The written results of a benchmark (:mod:`metaheur.harness.bench`): raw CSVs, one
markdown table and two plots per function and dimension, the statistics of
:mod:`metaheur.harness.stats` and ``report.md``. A rerun into the same folder first removes
what an earlier benchmark wrote there, and nothing else; a rerun that is stopped keeps them,
and writes its finished runs into ``raw-partial/``.
"""

from __future__ import annotations

import contextlib
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metaheur.harness.atomic import atomic_path
from metaheur.harness.plots import plot_boxes, plot_convergence
from metaheur.harness.stats import (
    friedman_notes,
    friedman_ranks,
    markdown_table,
    summary_table,
    wilcoxon_holm,
)

if TYPE_CHECKING:
    import pandas as pd

    from metaheur.harness.bench import BenchResult

__all__ = ["PlottingStopped", "write_outputs", "write_raw"]


class PlottingStopped(KeyboardInterrupt):
    """Ctrl-C or SIGTERM (``cause``, re-raise it) while :func:`write_outputs` drew the plots:
    the raw results, tables, statistics and report were written; some plots were not."""

    def __init__(self, cause: KeyboardInterrupt) -> None:
        super().__init__()
        self.cause = cause

#: What a benchmark writes into its folder, cleared before it writes again there: these
#: files, and per function and dimension ``tables/<function>_d<dim>.md``,
#: ``plots/convergence_<function>_d<dim>.png`` and ``plots/box_<function>_d<dim>.png``.
_OUTPUTS = ("report.md", "summary.csv", "friedman.csv", "wilcoxon.csv", "raw/runs.csv",
            "raw/convergence.csv", "raw-partial/runs.csv", "raw-partial/convergence.csv")
#: Where a stopped benchmark puts its finished runs when ``out`` holds an earlier
#: benchmark's results, which are kept (:func:`write_raw` with ``partial=True``).
PARTIAL = "raw-partial"
_PER_PROBLEM = re.compile(
    r"(?:tables/(?P<t>.+)_d\d+\.md|plots/(?:convergence|box)_(?P<p>.+)_d\d+\.png)")


def _old_outputs(out: Path) -> list[Path]:
    """The files of an earlier benchmark in ``out``: only names it writes, with a function
    it knows (a registry name or a bbob id), never a user's ``tables/my_data.md``."""
    from metaheur import functions as fn

    names = set(fn.available()) | {f"f{i}" for i in range(1, 25)}
    found = [out / name for name in _OUTPUTS if (out / name).is_file()]
    for sub in ("tables", "plots"):
        for path in (out / sub).glob("*") if (out / sub).is_dir() else ():
            match = _PER_PROBLEM.fullmatch(f"{sub}/{path.name}")
            if match and (match["t"] or match["p"]) in names and path.is_file():
                found.append(path)
    return found


def _csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as CSV at ``path``, whole or not at all (a cut-off write, e.g. a full disk,
    left a shorter file that read back as valid CSV with fewer rows)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def _text(text: str, path: Path) -> None:
    """``text`` at ``path``, whole or not at all."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_raw(result: BenchResult, out: str | Path, *, partial: bool = False) -> list[Path]:
    """Clear an earlier benchmark's results from ``out`` (only the files it writes, see
    :func:`_old_outputs`: no stale table or test beside the new report), then write
    ``raw/runs.csv`` and ``raw/convergence.csv``; returns their paths.

    ``partial=True`` (the finished runs of a stopped benchmark): an earlier benchmark's
    results in ``out`` are kept, and these go to ``raw-partial/`` instead (replacing those
    of an earlier stopped one); into ``raw/`` when there are none."""
    out = Path(out)
    old = _old_outputs(out)
    raw = out / "raw"
    if partial and any(path.parent != out / PARTIAL for path in old):
        raw = out / PARTIAL  # a stopped rerun must not cost the results it would replace
    else:
        for path in old:
            path.unlink()
        with contextlib.suppress(OSError):  # empty now, unless a user's file is in it
            (out / PARTIAL).rmdir()
    raw.mkdir(parents=True, exist_ok=True)
    _csv(result.runs, raw / "runs.csv")
    _csv(result.convergence, raw / "convergence.csv")
    return [raw / "runs.csv", raw / "convergence.csv"]


def write_outputs(result: BenchResult, out: str | Path, *, ref: str | None = None
                  ) -> dict[str, Any]:
    """Write raw CSVs, markdown tables, statistics and plots into ``out``; returns
    ``{"summary": DataFrame, "wilcoxon": DataFrame | None, "friedman": DataFrame,
    "markdown": str, "paths": [...], "notes": [...]}``; ``notes`` says which statistics
    could not be computed and why (also written in the markdown)."""
    out = Path(out)
    paths: list[Path] = write_raw(result, out)
    for sub in ("tables", "plots"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    runs, conv = result.runs, result.convergence
    summary = summary_table(runs)
    _csv(summary, out / "summary.csv")
    notes: list[str] = []
    algos_run = list(runs["algo"].unique())
    if ref is not None and ref not in algos_run:
        notes.append(f"no rank-sum tests: the reference algorithm {ref} is not among the "
                     f"algorithms run ({', '.join(algos_run)})")
        ref = None
    elif ref is not None and len(algos_run) < 2:
        notes.append(f"no rank-sum tests: {ref} is the only algorithm run")
        ref = None
    wil = wilcoxon_holm(runs, ref) if ref is not None else None
    fried = friedman_ranks(runs)
    for dim, why in friedman_notes(runs).items():
        notes.append(f"no Friedman test for d={dim}: {why}")
    s = result.settings
    parts = [f"# Benchmark: suite {s['suite']}, {s['runs']} runs, budget {s['budget']}, "
             f"pop_size {', '.join(f'{a} {n}' for a, n in s['pop_sizes'].items())}, "
             f"seed {s['seed']}", ""]
    problems: list[tuple[Any, Any, str]] = []  # drawn last: the slow part
    for (fun, dim), grp in summary.groupby(["function", "dim"], sort=False):
        table = grp.drop(columns=["function", "dim"])
        if wil is not None:
            w = wil[(wil["function"] == fun) & (wil["dim"] == dim)].set_index("algo")
            table = table.assign(
                p_holm=[w["p_holm"].get(a, math.nan) for a in table["algo"]],
                vs_ref=[w["result"].get(a, "ref" if a == ref else "") for a in table["algo"]])
        md = f"## {fun}, d={dim}\n\nFinal error f(best) − f_opt over {s['runs']} runs"
        if wil is not None:
            md += (f"; rank-sum test vs {ref} with Holm correction (`+`: {ref} significantly "
                   f"better, `-`: worse, `=`: no significant difference at 0.05)")
        md += "\n\n" + markdown_table(table) + "\n"
        name = f"{fun}_d{dim}"
        _text(md, out / "tables" / f"{name}.md")
        parts.append(md)
        paths.append(out / "tables" / f"{name}.md")
        problems.append((fun, dim, name))
    parts.append("## Friedman average ranks (1 = best mean final error)\n\n"
                 + markdown_table(fried, floatfmt=".4g") + "\n")
    _csv(fried, out / "friedman.csv")
    if wil is not None:
        _csv(wil, out / "wilcoxon.csv")
    if notes:
        parts.append("## Notes\n\n" + "\n".join(f"- {n}" for n in notes) + "\n")
    markdown = "\n".join(parts)
    _text(markdown, out / "report.md")
    paths.append(out / "report.md")
    # the plots come after the report and statistics, so that a stop while drawing
    # (PlottingStopped) costs only plots
    try:
        for fun, dim, name in problems:
            paths.append(plot_convergence(conv, fun, dim,
                                          out / "plots" / f"convergence_{name}.png"))
            paths.append(plot_boxes(runs, fun, dim, out / "plots" / f"box_{name}.png"))
    except KeyboardInterrupt as exc:
        raise PlottingStopped(exc) from None
    return {"summary": summary, "wilcoxon": wil, "friedman": fried, "markdown": markdown,
            "paths": paths, "notes": notes}
