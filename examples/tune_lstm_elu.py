"""Tune the LSTM-ELU network with DLF-AOA from Python (what ``metaheur tune`` does).

Uses the embedded synthetic chest-slice data by default; ``--data digits`` uses scikit-learn's
8x8 digits (a small real dataset, LSTM without the ResNet trunk). The study is stored in
SQLite, so running the script again continues it (with the same --data and --seed, and
METAHEUR_EXAMPLE_QUICK as before: other settings are refused, since their trials would score
another objective; use another --out for them). Research benchmark, not for clinical use.

Run:  python examples/tune_lstm_elu.py [--trials 48] [--data synthetic|digits] [--out DIR]
      (METAHEUR_EXAMPLE_QUICK=1: a tiny model and 6 trials)
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import optuna

from metaheur.harness.report import DISCLAIMER, summary_text, write_report
from metaheur.models.objectives import get_objective
from metaheur.optuna import DLFAOASampler

QUICK = os.environ.get("METAHEUR_EXAMPLE_QUICK", "") not in ("", "0")

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--trials", type=int, default=6 if QUICK else 48)
parser.add_argument("--pop-size", type=int, default=3 if QUICK else 8)
parser.add_argument("--data", choices=["synthetic", "digits"], default="synthetic")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--out", default="metaheur-runs/example-tune-lstm-elu")
args = parser.parse_args()

kwargs = {"source": args.data, "seed": args.seed, "device": "auto"}
if QUICK:  # one epoch on a tiny data set: a fraction of a second per trial
    kwargs["fixed"] = {"epochs": 1}
    if args.data == "synthetic":
        kwargs.update(n=(64, 32, 32), image_size=32)
objective = get_objective("lstm-elu", **kwargs)  # minimised: 1 - validation macro-F1

out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
optuna.logging.set_verbosity(optuna.logging.WARNING)
sampler = DLFAOASampler(pop_size=args.pop_size, seed=args.seed, n_trials=args.trials,
                        search_space=objective.search_space())
study = optuna.create_study(study_name="lstm-elu-dlf-aoa", storage=f"sqlite:///{out}/study.db",
                            sampler=sampler, direction="minimize", load_if_exists=True)
# One study, one objective: trials scored on other data, another seed or the quick model
# must not be mixed into it (its best trial would belong to another run).
settings = {"data": args.data, "seed": args.seed, "quick": QUICK}
stored = study.user_attrs.get("example_settings")
if stored is None and study.trials:
    parser.error(f"{out}/study.db holds trials of unknown settings; use another --out")
if stored is not None and stored != settings:
    parser.error(f"{out}/study.db continues only the run it began with {stored}, not {settings}; "
                 "use those settings, or another --out")
study.set_user_attr("example_settings", settings)
done = len([t for t in study.trials if t.state.is_finished()])
study.optimize(objective, n_trials=max(0, args.trials - done))

write_report(study, out, extra={"seed": args.seed, "data": args.data})
print(summary_text(study))
print(f"trials.csv, best.json and plots in {out}/. {DISCLAIMER}")
