"""Branch repair: what a population row brings into a branch of a conditional space.

In a union space (``MetaheuristicSampler(union_space=True)``, the default) a row holds a
coordinate for every parameter of every branch, and only the active ones are evaluated.
The others drift with the population and are never tested, so a row whose move enters
another branch (``classifier`` turns from ``"logreg"`` to ``"svc"``) evaluates that branch's
parameters at values no trial chose: such trials rarely pay, and the population settles
in the most forgiving branch (docs/algorithms.md §0.3, "What a move into another branch
is worth"). The repair gives the parameters a row brings into play the values of that
branch's best completed trial, moved by the step the algorithm took on them:
``x[d] = clip(x_best[d] + (x[d] - p[d]))`` for each such ``d``, with ``p`` the population
row the algorithm moved (row ``i`` of ``opt.population``).

Which parameters a point activates is read off the study: the parameters of completed
trials whose categorical values all equal the point's (the usual Optuna pattern, a
``suggest_categorical`` deciding what is suggested next). A point that agrees with no
trial activates nothing known and is left as the algorithm proposed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from optuna.distributions import CategoricalDistribution

if TYPE_CHECKING:  # _store imports this module
    from metaheur.optuna._store import Evaluated, RunSpace

__all__ = ["BranchMap", "repaired_rows"]


class BranchMap:
    """The branches a study's completed trials have shown, in one run's space."""

    def __init__(self, run: RunSpace) -> None:
        self._cats = {n for n, d in run.space.items() if isinstance(d, CategoricalDistribution)}
        # per parameter set: its categorical names and the trials that had that set
        self._groups: list[tuple[frozenset[str], tuple[str, ...], list[Evaluated]]] = []
        for names, group in run.groups.items():
            cats = tuple(n for n in names if n in self._cats)
            self._groups.append((frozenset(names), cats, list(group.values())))

    def _agreeing(self, params: Mapping[str, Any]) -> list[tuple[frozenset[str], Evaluated]]:
        """The completed trials whose categorical values all equal ``params``'s."""
        return [(names, e) for names, cats, trials in self._groups for e in trials
                if all(e.params[c] == params[c] for c in cats)]

    def active(self, params: Mapping[str, Any]) -> frozenset[str]:
        """The parameters ``params`` (a full point of the space) makes active, as far as
        the completed trials tell (empty when it agrees with none of them)."""
        return frozenset().union(*(names for names, _ in self._agreeing(params)))

    def donor(self, params: Mapping[str, Any], entering: frozenset[str]) -> Evaluated | None:
        """The best completed trial that agrees with ``params`` and had every parameter
        of ``entering`` active."""
        found = [e for names, e in self._agreeing(params) if entering <= names]
        return min(found, key=lambda e: (e.value, e.number), default=None)


def repaired_rows(run: RunSpace, X: NDArray, P: NDArray, skip: frozenset[int] = frozenset()
                  ) -> dict[int, NDArray]:
    """Row -> repaired point for the rows of the batch ``X`` that enter a branch their
    population row (``P[i]``) was not in; rows in ``skip`` and rows without a population
    row are left alone. Empty unless the space is conditional."""
    if run.plain or P.shape[1:] != X.shape[1:]:
        return {}
    branches = BranchMap(run)
    index = {n: k for k, n in enumerate(run.encoder.names)}
    out: dict[int, NDArray] = {}
    for i in range(min(X.shape[0], P.shape[0])):
        if i in skip:
            continue
        params = run.encoder.decode(X[i])
        entering = branches.active(params) - branches.active(run.encoder.decode(P[i]))
        if not entering:
            continue
        donor = branches.donor(params, entering)
        if donor is None:
            continue
        x = X[i].copy()
        base = run.encoder.encode(donor.params, partial=True)
        cols = [index[n] for n in sorted(entering)]
        x[cols] = np.clip(base[cols] + X[i, cols] - P[i, cols], -1.0, 1.0)
        if not np.array_equal(x, X[i]):
            out[i] = x
    return out
