"""PyTorch objectives for the metaheuristics: LSTM-ELU on 2-D CT slices and the IFM ensemble on
3-D nodule patches (spec: docs/models.md).

Research benchmark, not for clinical use. Importing this package does not import torch; the
submodules that need it import it themselves.
"""
