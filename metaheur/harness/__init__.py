"""The harness shared by the command line and the benchmark scripts.

- :mod:`~metaheur.harness.study`: algorithm names, samplers and pruners by name, studies;
- :mod:`~metaheur.harness.storage`: storage URLs (opening, masking secrets), output folders;
- :mod:`~metaheur.harness.runs`: running a study's trials in workers, stopping them cleanly;
- :mod:`~metaheur.harness.bench`: benchmark runs on test functions and their written report;
- :mod:`~metaheur.harness.stats`: the benchmark statistics (no runs, no plots);
- :mod:`~metaheur.harness.plots`: benchmark plots;
- :mod:`~metaheur.harness.report`: tables and plots of a stored study;
- :mod:`~metaheur.harness.manifest`: which plots of a report's folder a report wrote;
- :mod:`~metaheur.harness.atomic`: files written whole or not at all;
- :mod:`~metaheur.harness.progress`: the progress bar with a work-based ETA;
- :mod:`~metaheur.harness.algo_params`: hyper-parameters as text (``--algo-param``,
  ``name:KEY=VALUE`` specs of ``metaheur bench`` and the benchmark scripts).

It needs the ``harness`` dependencies (Optuna, pandas, SciPy, matplotlib); the core
(:mod:`metaheur`, :mod:`metaheur.optuna`) never imports it.
"""
