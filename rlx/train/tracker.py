"""The MLflow run of one training run: opened with its params and tags, possibly in the background.

Opening a run (importing MLflow, connecting to the store, logging ~50
params) takes a second or two; `BackgroundTracker` does it in a thread
while the first epoch trains and waits for it at first use, where an error
(e.g. an unreachable server) surfaces.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import torch
import yaml

from rlx.config import RunConfig
from rlx.tracking import RunTracker, open_run
from rlx.train.context import RunContext


def open_run_tracker(cfg: RunConfig, ctx: RunContext, runner: Literal["ray", "local"] = "ray") -> RunTracker:
    """The run's MLflow run (created, or continued when resumed), with params, system tags and the config.

    `runner` is "ray" (Ray Train workers) or "local" (one process, `python -m rlx.train --local`).
    """
    tracker = open_run(
        ctx.experiment,
        ctx.name,
        parent_run_id=ctx.parent_run_id or None,
        tracking_uri=ctx.tracking_uri,
        tags={"rlx.kind": "trial" if ctx.parent_run_id else "run", "rlx.dataset": cfg.data.dataset},
    )
    flat = cfg.to_flat()
    tracker.log_params(flat)
    tracker.set_tags(
        {
            "rlx.torch": torch.__version__,
            "rlx.ray": version("ray"),
            "rlx.device": torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or "cpu",
            "rlx.num_workers": cfg.train.num_workers if runner == "ray" else 1,
            "rlx.runner": runner,
            "rlx.storage": str(Path(ctx.storage) / ctx.name),
            **({"rlx.group": ctx.group} if ctx.parent_run_id else {}),
            **({"rlx.command": ctx.command} if ctx.command else {}),
        }
    )
    tracker.log_text(yaml.safe_dump(flat, sort_keys=True), "config/resolved.yaml")
    return tracker


class BackgroundTracker:
    """A `Tracker` whose run is opened in a thread; each call waits for it (only the first one can block)."""

    def __init__(self, open_tracker: Callable[[], Any]) -> None:
        self._future: Future = ThreadPoolExecutor(1, thread_name_prefix="mlflow").submit(open_tracker)

    def _tracker(self) -> Any:
        return self._future.result()

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        self._tracker().log_metrics(metrics, step)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self._tracker().log_artifact(path, artifact_path)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._tracker().set_tags(tags)

    def finish(self, status: str = "FINISHED") -> None:
        self._tracker().finish(status)
