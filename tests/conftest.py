"""Shared fixtures. Kept minimal: other test modules rely on pytest defaults."""

from __future__ import annotations

import pytest

import metaheur

#: Every registered algorithm (built-ins and installed plugins), at collection time.
ALGOS: list[str] = metaheur.available()


@pytest.fixture(params=ALGOS)
def algo(request: pytest.FixtureRequest) -> str:
    """The registry name of each registered algorithm in turn."""
    return request.param


@pytest.fixture
def algo_cls(algo: str) -> type[metaheur.Optimizer]:
    """The optimizer class of :func:`algo`."""
    return metaheur.get(algo)
