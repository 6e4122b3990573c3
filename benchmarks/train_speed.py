"""Training speed and default-hyper-parameter score of the HPO networks (docs/models.md §8-§9).

For each objective ("lstm-elu", "ifm" with 3 scales, "ifm" with one scale) and each device (CPU,
plus CUDA when available) this runs one tuning trial with the default hyper-parameters of the
chosen profile and prints seconds per epoch, training samples per second, the whole trial's wall
and process CPU time and the validation score reached. ``data_s`` is the one-off preparation:
loading (generation is cached on disk) plus, for "lstm-elu", the feature stage (the trunk is
trained once, or read from the cache when an earlier run trained it).
CPU runs use ``METAHEUR_TORCH_THREADS`` threads (default 1), as trials do.

    python benchmarks/train_speed.py --n 600,300,300 --out results/train_speed
    python benchmarks/train_speed.py --parallel 2     # two trials at once, as `metaheur tune` runs
    python benchmarks/train_speed.py --profile gpu --devices cuda      # paper-sized, on a GPU
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metaheur.models.metrics import UndefinedMetricWarning  # noqa: E402
from metaheur.models.objectives import get_objective  # noqa: E402

CASES = {
    "lstm-elu": ("lstm-elu", {}),  # fixed trunk features, the head trained per trial
    "lstm-elu-e2e": ("lstm-elu", {"features": "end-to-end"}),
    "ifm": ("ifm", {}),
    "ifm-1scale": ("ifm", {"scales": (32,)}),
}


def _sizes(text: str) -> tuple[int, int, int]:
    parts = tuple(int(v) for v in text.split(","))
    if len(parts) != 3 or min(parts) < 2:
        raise argparse.ArgumentTypeError(f"--n needs three sizes >= 2 like 600,300,300, got {text}")
    return parts  # type: ignore[return-value]


def run_case(case: str, device: str, profile: str, n: tuple[int, int, int], epochs: int | None,
             seed: int) -> dict:  # fmt: skip
    warnings.simplefilter("ignore", UndefinedMetricWarning)  # also in --parallel workers
    name, kw = CASES[case]
    fixed = {} if epochs is None else {"epochs": epochs}
    obj = get_objective(name, profile=profile, device=device, n=n, seed=seed, fixed=fixed, **kw)
    t0 = time.perf_counter()
    obj.prepare()
    t_data = time.perf_counter() - t0
    params = obj.defaults()
    n_nets = len(getattr(obj, "scales", (None,)))
    obj.evaluate()  # warm-up (allocator, cuDNN autotuning, first-call overheads); not timed
    if device == "cuda":
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    score = obj.evaluate()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    res = obj.last_result
    ep = params["epochs"]
    # the IFM's coarse fields of view train fewer epochs than the finest one
    net_epochs = sum(res.extra.get("subnet_epochs", [ep] * n_nets))
    per_epoch = res.seconds / net_epochs  # includes the final validation pass, amortised
    metric = "macro_f1" if name == "lstm-elu" else "auc"
    return {
        "network": case,
        "device": device,
        "profile": profile,
        "n_train": n[0],
        "epochs": ep,
        "sub_nets": n_nets,
        "s_per_epoch": round(per_epoch, 3),
        "samples_per_s": round(n[0] / per_epoch, 1),
        "trial_wall_s": round(wall, 2),
        "trial_cpu_s": round(cpu, 2),
        "data_s": round(t_data, 1),
        "val_metric": metric,
        "val_score": round(1.0 - score, 4),
        "accuracy": round(res.metrics["accuracy"], 4),
    }


def _measure(k: int, *case_args: object) -> dict:
    """One trial alone (``k = 1``), or ``k`` identical trials at once in ``k`` processes."""
    if k == 1:
        return {**run_case(*case_args), "parallel": 1}
    from joblib import Parallel, delayed

    runs = Parallel(n_jobs=k)(delayed(run_case)(*case_args) for _ in range(k))
    row = dict(runs[0])
    for key in ("s_per_epoch", "trial_wall_s", "trial_cpu_s"):
        row[key] = round(sum(r[key] for r in runs) / k, 3)
    row["samples_per_s"] = round(case_args[3][0] / row["s_per_epoch"], 1)
    return {**row, "parallel": k}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=_sizes, default=(600, 300, 300), help="train,val,test sizes")
    p.add_argument("--epochs", type=int, default=None, help="override the default epochs")
    p.add_argument("--profile", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--devices", default="auto", help="comma list of cpu,cuda (auto: both if any)")
    p.add_argument("--networks", default=",".join(CASES), help=f"subset of {','.join(CASES)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--parallel", type=int, default=1,
                   help="CPU trials run at once in separate processes (tune's --n-jobs); "
                        "the row reports their mean wall time")
    p.add_argument("--out", type=Path, default=Path("results/train_speed"))
    args = p.parse_args(argv)
    devices = args.devices.split(",") if args.devices != "auto" else (
        ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])  # fmt: skip
    cases = args.networks.split(",")
    bad = [c for c in cases if c not in CASES] + [d for d in devices if d not in ("cpu", "cuda")]
    if bad:
        print(f"unknown network/device {bad}; networks: {list(CASES)}, devices: cpu, cuda")
        return 2
    if "cuda" in devices and not torch.cuda.is_available():
        print("--devices cuda requested but CUDA is not available")
        return 2
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore", UndefinedMetricWarning)
    if args.parallel < 1:
        print(f"--parallel must be >= 1, got {args.parallel}")
        return 2
    rows = []
    for device in devices:
        for case in cases:
            k = args.parallel if device == "cpu" else 1
            rows.append(_measure(k, case, device, args.profile, args.n, args.epochs, args.seed))
            print(f"done: {case} on {device}", file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    print(df.to_string(index=False))
    args.out.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out / "train_speed.csv", index=False)
    print(f"wrote {args.out / 'train_speed.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
