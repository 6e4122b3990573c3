"""The built-in algorithms; importing this package registers them."""
from metaheur import restarts  # noqa: F401, E402  (registers "<algo>-ipop" and "ipop")
from metaheur.optimizers import aco, gwo, poa, pso  # noqa: F401
from metaheur.optimizers.aoa import AOA  # noqa: F401
from metaheur.optimizers.dlf_aoa import DLFAOA  # noqa: F401
