"""Workers of one study given different sampler settings split it into separate
populations: found from the settings each generation record states (docs/distributed.md)."""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from metaheur.optuna._index import TrialIndex
from metaheur.optuna._protocol import Claim, record_key
from metaheur.optuna._runspace import RunSpace
from metaheur.optuna._store import GenerationStore, run_settings

__all__ = ["settings_split"]


def settings_split(index: TrialIndex, run: RunSpace, store: GenerationStore,
                   compared: set[str]) -> tuple[str, str] | None:
    """``(key, warning)``, once per other run (``compared`` keeps them), for a run of this
    algorithm on the same space whose claims interleave with ``run``'s but whose sampler
    settings differ: workers given different
    ``pop_size``, ``n_trials`` or hyper-parameters split the study into separate
    populations (sharing a seed, they even evaluate the same points)."""
    mine = index.claims.get(run.sig)
    if not mine:
        return None
    for sig, numbers in index.claims.items():
        if sig == run.sig or sig in compared or not numbers:
            continue
        if not (_inside(mine, numbers[0], numbers[-1]) and _inside(numbers, mine[0], mine[-1])):
            continue  # one after the other (A, B, then A again): new runs, not a split
        compared.add(sig)
        other = _settings_of(index, store.cls.name, numbers[-1])
        if other is None:
            continue
        params = other.get("algo_params")
        if not isinstance(params, dict):
            continue
        considered = other.get("consider_pruned_trials") is True
        twin = RunSpace(run.space, run_settings(other.get("pop_size"), other.get("n_trials"),
                                                params, considered))
        if twin.sig != sig:
            continue  # another search space: a separate run by design
        ours = store.settings
        diff = [f"{k}={other.get(k)!r} there, {ours[k]!r} here"
                for k in ("pop_size", "n_trials") if other.get(k) != ours[k]]
        if considered != store.pruned_last:
            diff.append(f"consider_pruned_trials={considered} there, {store.pruned_last} here")
        for k in sorted(set(params) | set(ours["algo_params"])):
            if params.get(k) != ours["algo_params"].get(k):
                diff.append(f"{k}={params.get(k)!r} there, "
                            f"{ours['algo_params'].get(k)!r} here")
        return (
            f"settings:{sig}",
            f"another worker of this study runs {store.cls.name} on the same search "
            f"space with other sampler settings ({'; '.join(diff)}; its trial "
            f"#{numbers[-1]}): the workers run separate populations, and with one seed "
            "they evaluate the same points. Give every worker the same settings; "
            "n_trials is the total over all workers (docs/distributed.md).",
        )
    return None


def _settings_of(index: TrialIndex, algo: str, number: int) -> dict[str, Any] | None:
    """The sampler settings stated by the record that trial ``number``'s claim names
    (``None``: unknown, e.g. a record written before records stated them)."""
    info = index.trials.get(number)
    c = None if info is None else info.ticket
    if not isinstance(c, Claim):
        return None
    src = index.trials.get(c.src)
    rec = None if src is None else src.trial.system_attrs.get(record_key(algo, c.gen))
    settings = rec.get("settings") if isinstance(rec, dict) else None
    return settings if isinstance(settings, dict) else None


def _inside(numbers: list[int], low: int, high: int) -> bool:
    """Some of the ascending ``numbers`` lies strictly between ``low`` and ``high``
    (a binary search: this runs at every decision)."""
    i = bisect_right(numbers, low)
    return i < len(numbers) and numbers[i] < high
