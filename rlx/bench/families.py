"""`rlx.bench.families`: what each arch learns, per class family of the synthetic benchmark.

The synthetic benchmark (`rlx.data.synthetic`) has three families: `appearance_*`
(one frame suffices), `order_*` (two pairs of classes whose clips are exact
time reversals of each other: an order-invariant model is at chance within a
pair) and `interaction_*`. The paper's claim in miniature: the relational
branch (R-LSTM) sees order, the local branch (temporal average) cannot.

`local`, `nonlocal` and `two_branch` are trained in process (no Ray) with the
CPU recipe `RECIPE` on the real data path (`prepare_dataset` → `iter_local`:
sample → decode → augment) and the real epoch loop, for each seed in `SEEDS`,
and tested under the test protocol (`eval.*` views). Results (value = mean
over seeds of candidate minus baseline accuracy, in percentage points):

- families.order_acc_nonlocal_vs_local
- families.order_acc_two_branch_vs_local        (the claim: >= 30 points)
- families.appearance_acc_nonlocal_vs_local
- families.appearance_acc_two_branch_vs_local   (should stay within a few points of 0)

`details` holds every per-family accuracy per arch and seed (plus the
within-pair accuracy of each order pair) and wall times.

Training flip is OFF (`data.flip: false` in `RECIPE`). A horizontal mirror turns an
`order_left_to_right` clip into one drawn exactly from `order_right_to_left`'s
distribution, so with the default TSN flip that pair is label noise and no
model beats chance on it: order accuracy is then capped near 75 % for the
relational archs (25 points over `local`).

`quick=True`: a tiny benchmark (4 clips per class, 16 frames, 64 px, T=4),
one epoch, one seed: it checks the code path in ~20 s; its accuracies mean
nothing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlx.bench.common import BenchResult
from rlx.config import RunConfig, load_flat_yaml
from rlx.data.pipeline import epoch_rows, iter_local
from rlx.eval.families import FAMILIES
from rlx.eval.families import family_accuracy as accuracy
from rlx.models import build_model
from rlx.train.data import TrialData
from rlx.train.fit import make_optimizer, seed_everything
from rlx.train.loop import StepOptions, predict, train_one_epoch
from rlx.train.prepare import prepare_dataset

ARCHS = ("local", "nonlocal", "two_branch")
SEEDS = (0, 1)

# The CPU recipe (flat config keys): configs/smoke.yaml plus these.
RECIPE: dict[str, Any] = {
    "data.dataset": "synthetic",
    "data.modality": "rgb",
    "data.synthetic_videos_per_class": 32,
    "data.synthetic_frames": 40,
    "data.synthetic_size": 64,
    "data.input_size": 64,
    "data.short_side": 64,
    "data.num_segments": 6,
    "data.flip": False,
    "model.backbone": "resnetv2_small",
    "model.insert_after": "conv5_2",
    "model.dropout": 0.5,
    "model.scale_attention": True,  # 1/sqrt(d) logits: unscaled attention stalls the R-LSTM from scratch
    "model.bn_mode": "batch",
    "model.bn_momentum": 0.1,
    "optim.lr": 0.02,
    "optim.epochs": 8,
    "optim.milestones": [6],
    "optim.batch_size": 8,
    "optim.grad_clip": 5.0,
    "eval.num_groups": 2,
    "eval.num_crops": 1,
}
QUICK: dict[str, Any] = {
    "data.synthetic_videos_per_class": 4,
    "data.synthetic_frames": 16,
    "data.synthetic_size": 64,
    "data.num_segments": 4,
    "optim.epochs": 1,
    "optim.milestones": [],
    "optim.batch_size": 4,
    "eval.num_groups": 1,
}


def family_accuracy(scores: np.ndarray, labels: np.ndarray, class_names: list[str]) -> dict[str, float]:
    """`rlx.data.synthetic.family_accuracy`, rounded to 2 decimals for the benchmark's details."""
    return {k: round(v, 2) if not np.isnan(v) else v for k, v in accuracy(scores, labels, class_names).items()}


def train_and_test(arch: str, seed: int, flat: dict[str, Any]) -> dict[str, Any]:
    """Train one arch in process with the real data path and loop; per-family test accuracy and timings."""
    cfg = RunConfig.from_flat({**flat, "model.arch": arch, "train.seed": seed})
    data = TrialData.open(prepare_dataset(cfg.data), cfg)
    train_spec = data.spec("train")
    test_spec = data.spec("test")
    rows, test_rows = data.rows("train"), data.rows("test")
    opts = StepOptions(device=torch.device("cpu"), grad_clip=cfg.optim.grad_clip)

    start = time.perf_counter()
    seed_everything(seed, 0, 0)
    model = build_model(cfg.model, data.num_classes, cfg.data.in_channels)
    optimizer, scheduler = make_optimizer(model, cfg.optim)
    stats = None
    for epoch in range(cfg.optim.epochs):
        seed_everything(seed, epoch + 1, 0)
        batches = iter_local(train_spec, epoch_rows(rows, epoch, seed), epoch, cfg.optim.batch_size)
        stats = train_one_epoch(model, batches, optimizer, data.normalizer, opts)
        scheduler.step()
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    preds = predict(
        model, iter_local(test_spec, test_rows, 0, cfg.optim.batch_size), data.normalizer, opts, cfg.eval.view_budget
    )
    test_s = time.perf_counter() - start
    return {
        "test": family_accuracy(preds.scores, preds.labels, data.class_names),
        "last_epoch_train_top1": round(100.0 * (stats.top1 or 0.0), 2) if stats else None,
        "train_s": round(train_s, 1),
        "test_s": round(test_s, 1),
        "train_videos": len(rows),
        "test_videos": len(test_rows),
    }


def _mean(values: list[float]) -> float:
    return round(float(np.mean(values)), 2)


def run(quick: bool = False) -> list[BenchResult]:
    flat = {**load_flat_yaml(_smoke_yaml()), **RECIPE, **(QUICK if quick else {})}
    seeds = SEEDS[:1] if quick else SEEDS
    start = time.perf_counter()
    trials: dict[str, dict[int, dict[str, Any]]] = {arch: {} for arch in ARCHS}
    for seed in seeds:
        for arch in ARCHS:
            trials[arch][seed] = train_and_test(arch, seed, flat)
    wall = time.perf_counter() - start

    def acc(arch: str, family: str) -> list[float]:
        return [trials[arch][s]["test"][family] for s in seeds]

    details: dict[str, Any] = {
        "recipe": {k: v for k, v in flat.items() if k in RECIPE or k in QUICK},
        "train_flip": flat["data.flip"],
        "seeds": list(seeds),
        "quick": quick,
        "threads": torch.get_num_threads(),
        "wall_s": round(wall, 1),
    }
    for arch in ARCHS:
        for family in ("all", *FAMILIES):
            details[f"{family}_acc_{arch}"] = _mean(acc(arch, family))
        for seed in seeds:
            t = trials[arch][seed]
            details[f"{arch}_seed{seed}"] = {
                **t["test"],
                "train_s": t["train_s"],
                "test_s": t["test_s"],
                "last_epoch_train_top1": t["last_epoch_train_top1"],
            }
    details["train_videos"] = trials[ARCHS[0]][seeds[0]]["train_videos"]
    details["test_videos"] = trials[ARCHS[0]][seeds[0]]["test_videos"]

    results = []
    for family in ("order", "appearance"):
        for arch in ("two_branch", "nonlocal"):
            diffs = [c - b for c, b in zip(acc(arch, family), acc("local", family), strict=True)]
            results.append(
                BenchResult(
                    name=f"families.{family}_acc_{arch}_vs_local",
                    value=_mean(diffs),
                    unit="points",
                    baseline=f"local arch: test top-1 on the {family}_* classes, %",
                    candidate=f"{arch} arch: test top-1 on the {family}_* classes, % (value = candidate - baseline, "
                    f"mean over seeds {list(seeds)})",
                    details={**details, "per_seed_points": [round(d, 2) for d in diffs]},
                )
            )
    return results


def _smoke_yaml() -> str:
    return str(Path(__file__).resolve().parents[2] / "configs" / "smoke.yaml")
