"""What the models package offers, importable without torch (for CLIs and help texts).

:data:`MODELS` names the objectives, :data:`FORMATS` maps each data format to the model it
feeds, and :func:`quick_kwargs` gives the constructor keywords of a tiny configuration (tests,
smoke runs: seconds per trial).
"""

from __future__ import annotations

from typing import Any

__all__ = ["MODELS", "FORMATS", "TRIALS_PER_GPU", "quick_kwargs", "model_for_format"]

MODELS = ("lstm-elu", "ifm")

#: Data formats and the model each one feeds (``None``: the synthetic data of either model).
FORMATS: dict[str, str | None] = {
    "synthetic": None,
    "digits": "lstm-elu",
    "iqothnccd": "lstm-elu",
    "chestct": "lstm-elu",
    "nodulemnist3d": "ifm",
    "lidc": "ifm",
}


def model_for_format(fmt: str) -> str | None:
    """The model that ``fmt`` feeds (``None`` for synthetic data); ValueError if unknown."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown data format {fmt!r}; allowed: {', '.join(FORMATS)}")
    return FORMATS[fmt]


def quick_kwargs(model: str, source: str = "synthetic") -> dict[str, Any]:
    """Constructor keywords of the tiny configuration of ``model`` on ``source`` data."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; allowed: {', '.join(MODELS)}")
    kw: dict[str, Any] = {"fixed": {"epochs": 1}}
    if model == "lstm-elu":
        if source != "digits":
            kw["trunk_config"] = {"epochs": 1}
        if source == "synthetic":
            kw.update(n=(64, 32, 32), image_size=32)
    elif model == "ifm":
        kw["scales"] = (32,)
        if source == "synthetic":
            kw.update(n=(48, 24, 24), size=16, spacing_mm=4.0, input_size=8)
    # any other model: one epoch is its whole quick configuration
    return kw


#: Trials run at once on one GPU by default (separate processes): the CPU-side work of one
#: small trial (Python loop, metrics) leaves a GPU mostly idle (docs/models.md §9).
TRIALS_PER_GPU = 4
