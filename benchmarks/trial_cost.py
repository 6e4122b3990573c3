"""The cost of one tuning trial of ``benchmarks/tune_models.py``, before and after its speed-ups.

A trial of the DLF-AOA comparison (and of ``metaheur tune --model lstm-elu``) trains LSTM-ELU
with one configuration, scores the validation split after every epoch (Optuna ``report``) and
the final model on validation and test. Two changes made it cheaper without changing a
single number it computes:

* the per-epoch score is :func:`metaheur.models.metrics.argmax_score` (the macro-F1 alone,
  bit for bit) instead of every metric of :func:`multiclass_metrics`, whose ten one-vs-rest
  AUCs on the digits cost more than the epoch they scored;
* the recurrence takes the recurrent weight ``W_h`` as one view per sequence
  (:meth:`LSTMELUCell.step`) and its inputs ``zx[:, t]`` from one ``unbind``: a slice per
  time step made the backward pass fill a zero copy of ``W`` and one of ``zx`` per step.

(A third, freezing the objects alive before the first trial out of the collection Optuna runs
after each trial, saved about 0.35 s a trial but was withdrawn: the stop-signal tests of
``metaheur tune`` failed more often with it under load, for a reason not found.)

This script runs the same configurations (drawn by a seeded random search over the objective's
CPU space, as ``tune_models.py`` objectives are built: seed, test evaluation, SQLite storage)
through the former code path (``legacy()``, restored in-process) and the current one, in
alternating order so that both see the same load, checks that each pair stored the same
value, validation metrics, test metrics and per-epoch values, and prints seconds per trial,
the ratio and the load average.

    nice -n 10 python benchmarks/trial_cost.py --trials 4          # both datasets, real size
    python benchmarks/trial_cost.py --quick --trials 2             # one epoch, tiny data

Timings compare only within one run of this script (docs: record the load beside them).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hpo_tasks import _quiet_worker  # noqa: E402
from tune_models import DATASETS, MODEL, objective_kwargs  # noqa: E402

logger = logging.getLogger("trial_cost")
PATHS = ("former", "current")


# ------------------------------------------------------------------------- the former code
def _former_run(self: Any, x: Any, B: int, T: int) -> Any:
    """``LSTMELU._run`` before the change: ``W_h`` sliced inside every step, ``zx`` per step."""
    import torch

    seq = x
    for cell in self.cells:
        zx = cell.input_projection(seq)
        h = c = zx.new_zeros(B, self.hidden)
        outs = []
        for t in range(T):
            h, c = cell.step(zx[:, t], h, c)  # no w_h: the step slices W itself
            outs.append(h)
        seq = torch.stack(outs, dim=1)
    return seq[:, -1]


def _former_score(self: Any, y: Any, P: Any) -> float:
    """``LSTMELUObjective._score`` before the change: every metric, AUCs included."""
    from metaheur.models.metrics import UndefinedMetricWarning, multiclass_metrics

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return 1.0 - multiclass_metrics(y, P)[self.metric]


@contextlib.contextmanager
def legacy() -> Iterator[None]:
    """Run the code path as it was before the speed-ups (restored on exit)."""
    from metaheur.models.lstm_elu import LSTMELU
    from metaheur.models.objectives.lstm_elu import LSTMELUObjective

    saved = LSTMELU._run, LSTMELUObjective._score
    LSTMELU._run, LSTMELUObjective._score = _former_run, _former_score
    try:
        yield
    finally:
        LSTMELU._run, LSTMELUObjective._score = saved


# ---------------------------------------------------------------------------------- runs
def draw_params(space: dict[str, Any], n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` configurations of a seeded random search over ``space``."""
    scratch = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = scratch.ask(space)
        out.append(dict(trial.params))
        scratch.tell(trial, 0.0)
    return out


def record(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """What a trial stored that must not move: value, metrics, per-epoch values."""
    attrs = trial.user_attrs
    return {"state": trial.state.name, "value": trial.value,
            "val": {k: v for k, v in attrs.items() if k.startswith("val_")},
            "test": attrs.get("test_metrics"), "steps": dict(trial.intermediate_values)}


def one_trial(obj: Any, params: dict[str, Any], path: str, folder: Path, name: str
              ) -> tuple[float, float, float, dict[str, Any]]:  # fmt: skip
    """Run ``params`` as the only trial of a fresh SQLite study, the way ``tune_models.py``
    does (``metaheur.harness.runs``: Optuna's collection after the trial included). Returns
    (wall seconds, process CPU seconds, Optuna's trial seconds, the record)."""
    from metaheur.harness.runs import _optimize

    study = optuna.create_study(storage=f"sqlite:///{folder / name}.db", study_name=name,
                                pruner=optuna.pruners.NopPruner())
    study.enqueue_trial(params)
    with legacy() if path == "former" else contextlib.nullcontext():
        t0, c0 = time.perf_counter(), time.process_time()
        _optimize(study, obj, 1, None)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    trial = study.get_trials(deepcopy=False)[0]
    return wall, cpu, trial.duration.total_seconds(), record(trial)


def measure(datasets: Sequence[str], trials: int, seed: int, quick: bool) -> pd.DataFrame:
    """One row per (dataset, configuration, path)."""
    from metaheur.models.objectives import get_objective

    rows = []
    with tempfile.TemporaryDirectory(prefix="trial_cost-") as tmp:
        for dataset in datasets:
            obj = get_objective(MODEL, **objective_kwargs(dataset, seed, quick))
            obj.prepare()
            _warm_up(obj)
            for i, params in enumerate(draw_params(obj.search_space(), trials, seed)):
                order = PATHS if i % 2 == 0 else PATHS[::-1]  # alternate: same load for both
                recs = {}
                for path in order:
                    wall, cpu, fit, recs[path] = one_trial(obj, params, path, Path(tmp),
                                                           f"{dataset}-{i}-{path}")
                    rows.append({"dataset": dataset, "config": i, "path": path, "wall_s": wall,
                                 "cpu_s": cpu, "trial_s": fit, "epochs": params.get("epochs"),
                                 "batch_size": params.get("batch_size"),
                                 "hidden": params.get("hidden"), "layers": params.get("layers")})
                    logger.info("%s config %d %s: %.2f s (CPU %.2f s)", dataset, i, path, wall,
                                cpu)
                same = recs["former"] == recs["current"]
                for r in rows[-2:]:
                    r["identical"] = same
    return pd.DataFrame(rows)


def _warm_up(obj: Any) -> None:
    """One tiny training run first, so one-off costs (torch's first deterministic-mode import,
    about 2 s) land on neither path."""
    space = obj.search_space()
    obj.evaluate({"epochs": space["epochs"].low} if "epochs" in space else {})


def table(df: pd.DataFrame) -> pd.DataFrame:
    """Mean seconds per trial of each path, per dataset, and the ratios former / current (of
    the wall time and of the process CPU time, which other processes on the machine disturb
    less)."""
    g = df.pivot_table(index="dataset", columns="path", values=["wall_s", "cpu_s", "trial_s"],
                       aggfunc="mean", sort=False)
    out = pd.DataFrame({
        "trials": df[df["path"] == "current"].groupby("dataset", sort=False).size(),
        "former_s": g[("wall_s", "former")], "current_s": g[("wall_s", "current")],
        "speed-up": g[("wall_s", "former")] / g[("wall_s", "current")],
        "cpu_former_s": g[("cpu_s", "former")], "cpu_current_s": g[("cpu_s", "current")],
        "cpu_speed-up": g[("cpu_s", "former")] / g[("cpu_s", "current")],
        "optuna_former_s": g[("trial_s", "former")], "optuna_current_s": g[("trial_s", "current")],
        "identical": df.groupby("dataset", sort=False)["identical"].all().map(
            {True: "yes", False: "NO"}),
    })
    return out.reset_index()


def main(argv: Sequence[str] | None = None) -> int:
    from metaheur.harness.bench import parse_list

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default=",".join(DATASETS), help=",".join(DATASETS))
    p.add_argument("--trials", type=int, default=4, help="configurations per dataset (4)")
    p.add_argument("--seed", type=int, default=0, help="data seed and search seed (0)")
    p.add_argument("--quick", action="store_true", help="one epoch on tiny data (smoke test)")
    p.add_argument("--csv", default=None, help="also write the per-trial rows here")
    args = p.parse_args(argv)
    datasets = parse_list(args.datasets, "--datasets")
    bad = sorted(set(datasets) - set(DATASETS))
    if bad:
        p.error(f"unknown dataset(s) {bad}; allowed: {', '.join(DATASETS)}")
    if args.trials < 1:
        p.error(f"--trials must be >= 1, got {args.trials}")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    _quiet_worker()  # one thread, as tune_models.py runs its trials
    logger.setLevel(logging.INFO)
    load_start = os.getloadavg()
    df = measure(datasets, args.trials, args.seed, args.quick)
    load_end = os.getloadavg()
    if args.csv:
        df.to_csv(args.csv, index=False)
    with pd.option_context("display.width", 160, "display.precision", 2):
        print(table(df).to_string(index=False))
    print(f"load average (1, 5, 15 min): start {np.round(load_start, 2).tolist()}, end "
          f"{np.round(load_end, 2).tolist()}; {os.cpu_count()} CPUs; former_s / current_s: "
          "wall seconds per trial (Optuna's collection included); cpu_*: this process's CPU "
          "seconds; optuna_*: the trial's own duration as Optuna stores it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
