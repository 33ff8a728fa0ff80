"""One training run = one Ray Train `TorchTrainer` (the per-trial driver).

`run_training` is what `python -m rlx.train` calls for a single run and what
a Ray Tune trial calls for each point of a search (RAY_NOTES.md: Tuner →
driver function → TorchTrainer). Everything a worker needs travels in
`train_loop_config`: the flat config and the `RunContext`, with every path
already absolute.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict
from typing import Any

import ray.train
from ray.train.torch import TorchTrainer

from rlx.config import RunConfig
from rlx.tracking import prepare_store
from rlx.train.context import RunContext
from rlx.train.worker import train_fn_per_worker

log = logging.getLogger(__name__)


def build_trainer(cfg: RunConfig, ctx: RunContext, callbacks: list[Any] | None = None) -> TorchTrainer:
    """The TorchTrainer of one run (not started)."""
    resources = {"CPU": cfg.train.cpus_per_worker}
    if cfg.train.use_gpu:
        resources["GPU"] = 1
    return TorchTrainer(
        train_fn_per_worker,
        train_loop_config={"flat": cfg.to_flat(), "context": asdict(ctx)},
        scaling_config=ray.train.ScalingConfig(
            num_workers=cfg.train.num_workers,
            use_gpu=cfg.train.use_gpu,
            resources_per_worker=resources,
            placement_strategy=cfg.train.placement_strategy,
        ),
        run_config=ray.train.RunConfig(
            name=ctx.name,
            storage_path=ctx.storage,
            checkpoint_config=ray.train.CheckpointConfig(num_to_keep=cfg.train.keep_checkpoints),
            failure_config=ray.train.FailureConfig(max_failures=cfg.train.max_failures),
            callbacks=callbacks or [],
        ),
    )


def run_training(cfg: RunConfig, ctx: RunContext, callbacks: list[Any] | None = None) -> ray.train.Result:
    """Run (or resume, if `ctx.name` already has checkpoints in `ctx.storage`) one training run."""
    # Ray Train's PreemptionWatcher only logs node drains (rlx restarts from checkpoints on any failure); Ray
    # creates it with max_restarts=-1 and actor-handle arguments, which core_worker.cc logs as an error line on
    # every run. Off unless the user sets it; V2 propagates RAY_TRAIN_* variables from here to its controller.
    os.environ.setdefault("RAY_TRAIN_ENABLE_PREEMPTION_WATCHER", "0")
    os.environ["RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"] = str(cfg.train.report_poll_s)  # read by the controller
    trainer = build_trainer(cfg, ctx, callbacks)
    prepare_store(ctx.experiment, ctx.tracking_uri)  # here, not in the workers: see prepare_store
    log.info(
        "training run %s: %s on %s, %d worker(s), storage %s",
        ctx.name,
        cfg.model.arch,
        cfg.data.dataset,
        cfg.train.num_workers,
        ctx.storage,
    )
    return trainer.fit()
