"""Shared fixtures. Kept minimal: other test modules rely on pytest defaults."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

import metaheur

# CI (.ci/run sets HYPOTHESIS_PROFILE=ci) draws the same examples on every run, so that no
# landing fails on an example nobody has seen before; a developer's run draws new ones each
# time, which is how property tests keep finding bugs (test_optuna_space.py has one). No
# deadline in CI: Hypothesis's 200 ms per example is a timing assertion on a shared
# machine. (A derandomized property test of test_state_security.py failed once in a full
# minimum-versions run on 7 Dec 2026 and passed on every run alone: a slow example is the
# likeliest cause, since the examples do not change.)
settings.register_profile("ci", derandomize=True, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

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
