"""One training run = one Ray Train `TorchTrainer` (the per-trial driver).

`run_training` is what `python -m rlx.train` calls for a single run and what
a Ray Tune trial calls for each point of a search (RAY_NOTES.md: Tuner →
driver function → TorchTrainer). Everything a worker needs is resolved here
to absolute paths and passed in `train_loop_config`: workers chdir into their
own folders and see none of the launcher's environment.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rlx.config import RunConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunContext:
    """What a run needs besides its config: where to log, store and find data."""

    name: str  # deterministic: the Ray Train run name and the MLflow run key
    storage: str  # absolute folder (or pyarrow URI) for checkpoints
    tracking_uri: str
    experiment: str
    dataset_dir: str  # absolute: prepared index + class list (see rlx.train.data)
    parent_run_id: str = ""  # MLflow parent (the search run) for Tune trials
    group: str = ""  # the search group (axes point) of a Tune trial, e.g. "data.modality=rgb"
    command: str = ""  # the command line that reproduces this run (reports show it)


def default_storage() -> str:
    return os.environ.get("RLX_STORAGE") or str((Path.cwd() / "runs").resolve())


def run_name_for(flat: dict[str, Any], prefix: str = "run") -> str:
    """A name derived from the config: the same command resumes the same run."""
    digest = hashlib.sha1(json.dumps(flat, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"{prefix}-{digest}"


def run_exists(storage: str, name: str) -> bool:
    return "://" not in storage and (Path(storage) / name).exists()


def build_trainer(cfg: RunConfig, ctx: RunContext, callbacks: list[Any] | None = None):
    """The TorchTrainer of one run (not started)."""
    import ray.train
    from ray.train.torch import TorchTrainer

    from rlx.train.worker import train_fn_per_worker

    resources = {"CPU": cfg.train.cpus_per_worker}
    if cfg.train.use_gpu:
        resources["GPU"] = 1
    return TorchTrainer(
        train_fn_per_worker,
        train_loop_config={"flat": cfg.to_flat(), "context": asdict(ctx)},
        scaling_config=ray.train.ScalingConfig(
            num_workers=cfg.train.num_workers, use_gpu=cfg.train.use_gpu, resources_per_worker=resources,
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


def run_training(cfg: RunConfig, ctx: RunContext, callbacks: list[Any] | None = None):
    """Run (or resume, if `ctx.name` already has checkpoints in `ctx.storage`) one training run."""
    trainer = build_trainer(cfg, ctx, callbacks)
    log.info("training run %s: %s on %s, %d worker(s), storage %s", ctx.name, cfg.model.arch, cfg.data.dataset,
             cfg.train.num_workers, ctx.storage)
    return trainer.fit()
