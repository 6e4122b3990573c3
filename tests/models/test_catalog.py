"""The model registry (models/catalog.py): what ``metaheur tune --model`` can name."""

from __future__ import annotations

import pytest

from metaheur.models import catalog


@pytest.fixture(autouse=True)
def _own_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "MODELS", dict(catalog.MODELS))
    monkeypatch.setattr(catalog, "FORMATS", dict(catalog.FORMATS))


def test_formats_given_as_one_string_are_refused():
    """Regression: ``formats="myscans"`` registered the letters m, y, s, c, a, n as formats."""
    with pytest.raises(ValueError, match=r"formats must be a tuple of data format names"):
        catalog.register_model("mine", "pkg.mod:Cls", formats="myscans")
    assert "mine" not in catalog.MODELS and "m" not in catalog.FORMATS
    with pytest.raises(ValueError, match=r"formats must be a tuple of data format names"):
        catalog.register_model("mine", "pkg.mod:Cls", formats=("ok", ""))
    catalog.register_model("mine", "pkg.mod:Cls", formats=["myscans"])
    assert catalog.model_for_format("myscans") == "mine"


@pytest.mark.parametrize("target", ["pkg.mod.Cls", "pkg.mod:", ":Cls", 42])
def test_a_target_that_is_no_class_and_no_module_colon_class_path_is_refused(target):
    """Regression: ``"pkg.mod.Cls"`` was registered and failed on first use with
    'No module named pkg' (or ``getattr(module, '')``), far from the registration."""
    with pytest.raises(ValueError, match=r"'module:Class' path"):
        catalog.register_model("mine", target)
    assert "mine" not in catalog.MODELS


def test_an_entry_point_path_without_a_class_is_named_on_use():
    catalog.MODELS["plug"] = "metaheur.models.catalog"  # as an entry point could declare it
    with pytest.raises(ValueError, match=r"model 'plug': .*'module:Class' path"):
        catalog.objective_class("plug")
