"""Is the objective worth optimising? Landscape spread against seed spread, and baselines.

Per model this prints (docs/models.md §6.4, §7):

* **landscape**: the validation score (macro-F1 for LSTM-ELU, AUC for the IFM) of ``--samples``
  configurations drawn uniformly (log-uniform where the space is logarithmic) from the CPU search
  space with a fixed seed: their standard deviation, range and best;
* **seed**: the same at the default configuration over ``--seeds`` training seeds (model
  initialisation, shuffling, dropout; the data and split stay fixed);
* **baselines** on the same split: logistic regression on a few hand-made intensity features
  (2-D: mean, SD, 90th/99th percentiles and fraction above 0.5 of the lung field; 3-D: the mean of
  the central spheres of radius 2, 4, 6, 8 voxels) and gradient boosting on downsampled pixels
  (2-D 16x16; 3-D 8x8x8), both with balanced class weights.

Timing: wall and process CPU seconds per landscape trial and per default trial (one torch
thread; on a shared machine the CPU seconds are the steadier figure). For the IFM the mean
validation AUC of each sub-network at the default is printed too (finest field of view first).

Targets of issue 10: landscape SD >= 5x seed SD; network >= best baseline + 0.05.

    python benchmarks/objective_landscape.py --models lstm-elu,ifm --samples 16 --seeds 4
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metaheur.models.metrics import UndefinedMetricWarning  # noqa: E402
from metaheur.models.objectives import get_objective  # noqa: E402

CASES = {
    "lstm-elu": ("lstm-elu", {}),
    "ifm-1scale": ("ifm", {"scales": (32,)}),
    "ifm": ("ifm", {}),
}


def sample_space(space: dict, k: int, seed: int) -> list[dict]:
    """``k`` configurations drawn independently from ``space`` (optuna distributions)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        cfg = {}
        for name, d in space.items():
            if isinstance(d, CategoricalDistribution):
                cfg[name] = d.choices[int(rng.integers(len(d.choices)))]
                continue
            lo, hi = float(d.low), float(d.high)
            u = np.exp(rng.uniform(np.log(lo), np.log(hi))) if d.log else rng.uniform(lo, hi)
            if isinstance(d, FloatDistribution):
                cfg[name] = float(u)
            else:
                cfg[name] = int(np.clip(round(u), d.low, d.high))
        out.append(cfg)
    return out


def _features_2d(X: np.ndarray) -> np.ndarray:
    x = X.reshape(len(X), -1)
    return np.stack([x.mean(1), x.std(1), np.percentile(x, 90, axis=1),
                     np.percentile(x, 99, axis=1), (x > 0.5).mean(1)], axis=1)  # fmt: skip


def _features_3d(X: np.ndarray) -> np.ndarray:
    s = X.shape[-1]
    c = (np.arange(s) - (s - 1) / 2.0) ** 2
    r = np.sqrt(c[:, None, None] + c[None, :, None] + c[None, None, :])
    return np.stack([X[:, r <= rad].mean(1) for rad in (2, 4, 6, 8)], axis=1)


def _downsample(X: np.ndarray, side: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    t = torch.as_tensor(X, dtype=torch.float32)[:, None]
    pool = F.adaptive_avg_pool2d if t.dim() == 4 else F.adaptive_avg_pool3d
    return pool(t, side).reshape(len(X), -1).numpy()


def baselines(model: str, obj) -> dict[str, float]:
    """Validation score of the two simple baselines on the objective's own split."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    from metaheur.models.metrics import binary_metrics, multiclass_metrics

    ds = obj.dataset() if model == "lstm-elu" else _volumes(obj)
    X = np.asarray(ds.X)
    X = X[:, 0] if X.ndim == 4 and model == "lstm-elu" else X
    y = np.asarray(ds.y)
    idx = obj.parts(ds)
    tr, va = idx["train"], idx["val"]
    hand = _features_2d(X) if model == "lstm-elu" else _features_3d(X)
    pix = _downsample(X, 16 if model == "lstm-elu" else 8)
    out = {}
    for name, feats, clf in (
        ("logreg_hand", hand, make_pipeline(StandardScaler(), LogisticRegression(
            class_weight="balanced", max_iter=2000))),
        ("gboost_pixels", pix, HistGradientBoostingClassifier(
            class_weight="balanced", random_state=0, max_iter=200)),
    ):  # fmt: skip
        with threadpool_limits(1):  # one thread, as the trials (OpenMP spins on a busy box)
            clf.fit(feats[tr], y[tr])
            P = clf.predict_proba(feats[va])
        if model == "lstm-elu":
            out[name] = multiclass_metrics(y[va], P)[obj.metric]
        else:
            out[name] = binary_metrics(y[va], P[:, 1])["auc"]
    return out


def _volumes(obj):
    from metaheur.models.data import load_volumes

    return load_volumes(obj.source, obj.root, seed=obj.seed, n=obj.n, size=obj.size,
                        spacing_mm=obj.spacing_mm, difficulty=obj.difficulty)  # fmt: skip


def run_model(case: str, samples: int, seeds: int, seed: int) -> dict:
    name, kw = CASES[case]
    obj = get_objective(name, device="cpu", seed=seed, **kw)
    t0 = time.perf_counter()
    obj.prepare()
    t_prep = time.perf_counter() - t0
    land, t0, c0 = [], time.perf_counter(), time.process_time()
    for cfg in sample_space(obj.search_space(), samples, seed=1234):
        land.append(1.0 - obj.evaluate(cfg))  # +inf (failed run) -> -inf score
    t_land, c_land = time.perf_counter() - t0, time.process_time() - c0
    land = np.where(np.isfinite(land), land, np.nan)
    seed_scores, subnet_auc = [], []
    t0, c0 = time.perf_counter(), time.process_time()
    for s in range(seeds):
        seed_scores.append(1.0 - obj.evaluate(train_seed=1000 + s))
        if obj.last_result is not None and "subnet_auc" in obj.last_result.extra:
            subnet_auc.append(obj.last_result.extra["subnet_auc"])
    t_def, c_def = time.perf_counter() - t0, time.process_time() - c0
    base = baselines(name, obj)
    net = float(np.mean(seed_scores))
    row = {
        "model": case,
        "metric": "macro-F1" if name == "lstm-elu" else "AUC",
        "landscape_sd": np.nanstd(land),
        "landscape_range": np.nanmax(land) - np.nanmin(land),
        "landscape_best": np.nanmax(land),
        "failed": int(np.isnan(land).sum()),
        "seed_sd": float(np.std(seed_scores)),
        "seed_range": float(np.ptp(seed_scores)),
        "default_mean": net,
        **base,
        "prepare_s": t_prep,
        "s_per_trial": t_land / samples,
        "cpu_s_per_trial": c_land / samples,
        "s_per_default_trial": t_def / seeds,
        "cpu_s_per_default_trial": c_def / seeds,
    }
    if subnet_auc:  # IFM: where the default's score comes from, per field of view
        row["default_subnet_auc"] = " / ".join(f"{a:.3f}" for a in np.mean(subnet_auc, axis=0))
    row["sd_ratio"] = row["landscape_sd"] / max(row["seed_sd"], 1e-12)
    row["margin_vs_best_baseline"] = max(row["landscape_best"], net) - max(base.values())
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="lstm-elu,ifm-1scale", help=f"subset of {','.join(CASES)}")
    p.add_argument("--samples", type=int, default=16, help="random configurations per model")
    p.add_argument("--seeds", type=int, default=4, help="training seeds at the default")
    p.add_argument("--seed", type=int, default=0, help="data seed")
    p.add_argument("--out", type=Path, default=Path("results/objective_landscape"))
    args = p.parse_args(argv)
    cases = args.models.split(",")
    bad = [c for c in cases if c not in CASES]
    if bad or args.samples < 2 or args.seeds < 2:
        print(f"need models from {list(CASES)} (got {bad}), --samples >= 2, --seeds >= 2",
              file=sys.stderr)  # fmt: skip
        return 2
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore", UndefinedMetricWarning)
    rows = []
    for case in cases:
        rows.append(run_model(case, args.samples, args.seeds, args.seed))
        print(f"done: {case}", file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 200):
        print(df.T.to_string(header=False))
    args.out.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out / "objective_landscape.csv", index=False)
    print(f"wrote {args.out / 'objective_landscape.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
