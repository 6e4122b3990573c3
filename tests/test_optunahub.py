"""The OptunaHub package in ``optunahub/metaheur/``: the registry's layout, loaded as the hub
loads it.

OptunaHub imports a package with ``optunahub.load_local_module`` (``load_module`` after
downloading it), as ``optunahub_registry.package.<name>``; the registry asks for a README
with front matter, a LICENSE, an ``__init__.py`` and usually ``example.py`` and
``requirements.txt``.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import optuna
import pytest

import metaheur.optuna

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / "optunahub"
PACKAGE = HUB / "metaheur"
SAMPLERS = ["MetaheuristicSampler", "AOASampler", "DLFAOASampler", "PSOSampler",
            "ACOSampler", "GWOSampler", "POASampler"]


def _optunahub():
    """The installed optunahub, not the repository's ``optunahub/`` folder (a namespace)."""
    hub = pytest.importorskip("optunahub")
    if getattr(hub, "load_local_module", None) is None:
        pytest.skip("optunahub is not installed (only the repository's optunahub/ folder)")
    return hub


def _front_matter() -> dict[str, object]:
    yaml = pytest.importorskip("yaml")  # PyYAML: an Optuna dependency
    text = (PACKAGE / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n"), "README.md must open with the hub's front matter"
    return yaml.safe_load(text.split("---\n", 2)[1])


def test_registry_layout() -> None:
    for name in ("__init__.py", "README.md", "LICENSE", "example.py", "requirements.txt"):
        assert (PACKAGE / name).is_file(), f"optunahub/metaheur/{name} is missing"
    reqs = (PACKAGE / "requirements.txt").read_text(encoding="utf-8").split()
    assert any(r.startswith("metaheur") for r in reqs)
    assert (PACKAGE / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()


def test_front_matter_has_the_registry_keys() -> None:
    meta = _front_matter()
    assert set(meta) == {"author", "title", "description", "tags", "optuna_versions",
                         "license"}
    assert "sampler" in meta["tags"], "a package under samplers/ must carry the sampler tag"
    assert all(isinstance(v, str) for v in meta["optuna_versions"])
    assert meta["license"] == "MIT License"
    for key in ("author", "title", "description"):
        assert isinstance(meta[key], str) and meta[key]


def test_load_local_module_gives_our_samplers() -> None:
    hub = _optunahub()
    module = hub.load_local_module("metaheur", registry_root=str(HUB))
    assert module.__name__ == "optunahub_registry.package.metaheur"
    assert sorted(module.__all__) == sorted(SAMPLERS)
    for name in SAMPLERS:
        assert getattr(module, name) is getattr(metaheur.optuna, name)
    sampler = module.GWOSampler(seed=0, n_trials=30)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2, n_trials=30)
    assert study.best_value < 1.0


def test_example_runs_with_the_local_package(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture) -> None:
    hub = _optunahub()
    monkeypatch.setattr(hub, "load_module", lambda package, **_: hub.load_local_module(
        package.removeprefix("samplers/"), registry_root=str(HUB)))
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        runpy.run_path(str(PACKAGE / "example.py"), run_name="__main__")
    finally:
        optuna.logging.set_verbosity(verbosity)
    assert "{'x':" in capsys.readouterr().out


def test_readme_documents_every_sampler_option() -> None:
    """The hub's API list names every keyword of ``MetaheuristicSampler`` with its default
    (it missed ``skip_evaluated``, ``speculative`` and ``union_space``, and called the
    intersection search space the default, where the union is)."""
    import inspect

    text = (PACKAGE / "README.md").read_text(encoding="utf-8")
    api = text.split("## APIs", 1)[1].split("## Installation", 1)[0]
    params = inspect.signature(metaheur.optuna.MetaheuristicSampler.__init__).parameters
    for name, p in params.items():
        if p.kind is p.KEYWORD_ONLY:
            assert f"{name}={p.default!r}" in api.splitlines()[2], name  # the signature line
            assert f"  - `{name}`:" in api, name  # and its bullet
    assert "union" in api and "intersection search space is used" not in api
