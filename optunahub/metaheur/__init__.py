"""metaheur's Optuna samplers, packaged for OptunaHub.

The samplers themselves live in the ``metaheur`` distribution (``requirements.txt``);
this package only re-exports them under the registry's conventions, so that
``optunahub.load_module("samplers/metaheur")`` gives the same classes as
``import metaheur.optuna``.
"""

from metaheur.optuna import ACOSampler
from metaheur.optuna import AOASampler
from metaheur.optuna import DLFAOASampler
from metaheur.optuna import GWOSampler
from metaheur.optuna import MetaheuristicSampler
from metaheur.optuna import POASampler
from metaheur.optuna import PSOSampler


__all__ = [
    "MetaheuristicSampler",
    "AOASampler",
    "DLFAOASampler",
    "PSOSampler",
    "ACOSampler",
    "GWOSampler",
    "POASampler",
]
