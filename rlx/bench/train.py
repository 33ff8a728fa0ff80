"""`python -m rlx.bench train`: the training step, with and without the data path.

- train.steps_with_data_vs_compute_only: SGD steps/s of the real epoch loop
  fed by the real data path (synthetic benchmark videos → sample → decode →
  augment, in process) over the same loop on the same batches pre-decoded in
  memory (the compute ceiling). 1.0 means decoding costs nothing; the data
  wait fraction is in the details.
- train.smoke_run_wall_vs_epoch_time (not --quick): wall time of
  `python -m rlx.train --config configs/smoke.yaml` over the time spent in
  its training epochs (what data preparation, Ray, testing and MLflow add).
- train.two_branch_vs_tsn_videos_per_s (CUDA only): ResNet-101-v2, batch 24,
  T = 8, bf16, with peak memory — the paper-size step.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from rlx.bench.common import BenchResult
from rlx.config import ModelConfig, RunConfig, load_flat_yaml
from rlx.data.pipeline import iter_local
from rlx.models import build_model
from rlx.tracking import find_run
from rlx.train.data import TrialData
from rlx.train.loop import EpochStats, StepOptions, train_one_epoch
from rlx.train.prepare import prepare_dataset


def _smoke_data(quick: bool) -> tuple[RunConfig, TrialData]:
    flat = load_flat_yaml("configs/smoke.yaml") if not quick else {}
    flat.update({"data.dataset": "synthetic", "model.backbone": "resnetv2_small", "model.bn_mode": "batch"})
    if quick:
        flat.update(
            {
                "data.synthetic_videos_per_class": 4,
                "data.synthetic_frames": 16,
                "data.synthetic_size": 64,
                "data.input_size": 64,
                "data.short_side": 64,
                "data.num_segments": 4,
                "optim.batch_size": 4,
            }
        )
    cfg = RunConfig.from_flat(flat)
    return cfg, TrialData.open(prepare_dataset(cfg.data), cfg)


def bench_data_path(quick: bool) -> BenchResult:
    cfg, data = _smoke_data(quick)
    rows = data.rows("train")[: 16 if quick else 96]
    spec = data.spec("train")
    opts = StepOptions(device=torch.device("cpu"))
    torch.manual_seed(0)
    model = build_model(cfg.model, data.num_classes, cfg.data.in_channels)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    batch = cfg.optim.batch_size

    train_one_epoch(model, iter_local(spec, rows[:batch], 0, batch), opt, data.normalizer, opts)  # warm-up
    with_data = train_one_epoch(model, iter_local(spec, rows, 1, batch), opt, data.normalizer, opts)
    cached = list(iter_local(spec, rows, 1, batch))
    compute = train_one_epoch(model, cached, opt, data.normalizer, opts)

    def rate(stats: EpochStats) -> float:
        return stats.steps / stats.seconds

    return BenchResult(
        name="train.steps_with_data_vs_compute_only",
        value=round(rate(with_data) / rate(compute), 3),
        unit="x",
        baseline="epoch loop on pre-decoded batches (compute only)",
        candidate="epoch loop fed by sample+decode+augment in process",
        details={
            "config": f"{cfg.model.arch} {cfg.model.backbone} B={batch} T={cfg.data.num_segments} "
            f"{cfg.data.input_size}px cpu",
            "steps_per_s_with_data": round(rate(with_data), 3),
            "steps_per_s_compute_only": round(rate(compute), 3),
            "data_wait_fraction": round(with_data.data_wait_fraction, 3),
            "videos": len(rows),
            "threads": torch.get_num_threads(),
        },
    )


def bench_cuda_step(batch: int = 24, steps: int = 8, size: int = 224, repeats: int = 5) -> BenchResult:
    device = torch.device("cuda")
    rates, peaks = {}, {}
    for arch in ("tsn", "two_branch"):
        torch.manual_seed(0)
        model = build_model(ModelConfig(arch=arch), num_classes=101).to(device).to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(model.parameters(), lr=5e-4, momentum=0.9)
        x = torch.randn(batch, steps, 3, size, size, device=device)
        y = torch.randint(0, 101, (batch,), device=device)
        torch.cuda.reset_peak_memory_stats()
        for i in range(repeats + 2):
            if i == 2:
                torch.cuda.synchronize()
                start = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = torch.nn.functional.cross_entropy(model(x).float(), y)
            loss.backward()
            opt.step()
        torch.cuda.synchronize()
        rates[arch] = batch * repeats / (time.perf_counter() - start)
        peaks[arch] = torch.cuda.max_memory_allocated() / 2**30
        del model, opt
        torch.cuda.empty_cache()
    return BenchResult(
        name="train.two_branch_vs_tsn_videos_per_s",
        value=round(rates["two_branch"] / rates["tsn"], 3),
        unit="x",
        baseline="tsn train step, videos/s",
        candidate="two_branch train step, videos/s",
        details={
            "shape": f"resnetv2_101 B={batch} T={steps} {size}px bf16 channels_last",
            "tsn_videos_per_s": round(rates["tsn"], 1),
            "two_branch_videos_per_s": round(rates["two_branch"], 1),
            "tsn_peak_gib": round(peaks["tsn"], 2),
            "two_branch_peak_gib": round(peaks["two_branch"], 2),
            "device": torch.cuda.get_device_name(),
        },
    )


def bench_smoke_run() -> BenchResult:
    """`python -m rlx.train --config configs/smoke.yaml` in a scratch folder: wall time vs time in epochs."""
    config = Path("configs/smoke.yaml").resolve()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "rlx.train", "--config", str(config), "--name", "bench-smoke"],
            cwd=tmp,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - start
        run = find_run("rlx-train", "bench-smoke", f"sqlite:///{Path(tmp) / 'mlruns.db'}")
        metrics = run.client.get_run(run.run_id).data.metrics
        epoch_s = sum(v for _, v in run.metric_history("time/epoch_s"))
    return BenchResult(
        name="train.smoke_run_wall_vs_epoch_time",
        value=round(wall / epoch_s, 3),
        unit="x",
        baseline="time inside training epochs (sum of time/epoch_s)",
        candidate="wall time of `python -m rlx.train --config configs/smoke.yaml` (data prep, Ray start, test, MLflow)",
        details={
            "wall_s": round(wall, 1),
            "epochs_s": round(epoch_s, 1),
            **{k: round(v, 4) for k, v in metrics.items() if k.startswith(("test/", "val/top1"))},
        },
    )


def run(quick: bool = False) -> list[BenchResult]:
    results = [bench_data_path(quick)]
    if not quick:
        results.append(bench_smoke_run())
    if torch.cuda.is_available() and not quick:
        results.append(bench_cuda_step())
    return results
