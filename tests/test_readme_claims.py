"""Claims of README.md (set-up to "Adding an algorithm") and docs/algorithms.md §§0, 8,
12.1 that an audit found the code breaking; each test failed before its fix."""
from __future__ import annotations

from typing import Any

import pytest

import metaheur


def _deep_list(levels: int) -> Any:
    nested: Any = []
    for _ in range(levels):
        nested = [nested]
    return nested


@pytest.mark.parametrize("key", ["format", "algo", "version"])
def test_deeply_nested_top_level_value_is_a_value_error(key: str) -> None:
    """docs/algorithms.md §8: "a few bytes of ``[[[[…]]]]`` are a ``ValueError``, not a
    ``RecursionError``" -- also in the top-level keys that the error messages quote."""
    state = metaheur.get("pso")([(-1, 1)] * 2, pop_size=6, budget=100, seed=0).get_state()
    state[key] = _deep_list(100_000)
    with pytest.raises(ValueError):
        metaheur.Optimizer.from_state(state)


def test_quoted_value_stays_short() -> None:
    """A refused top-level value is quoted in brief, not in full."""
    state = metaheur.get("pso")([(-1, 1)] * 2, pop_size=6, budget=100, seed=0).get_state()
    state["version"] = "9" * 1_000_000
    with pytest.raises(ValueError) as info:
        metaheur.Optimizer.from_state(state)
    assert len(str(info.value)) < 1_000
