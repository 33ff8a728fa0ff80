"""A training run in the calling process: `fit` with in-process decoding, no Ray.

`python -m rlx.train --local` runs this: the same model, loop, checkpoints
(`<storage>/<name>/epoch_NNNN/`, the layout a Ray Train run leaves, so
either can resume the other), MLflow run and system metrics (as rank 0's,
`system/rank_0/...`) as on Ray Train, in one process that a debugger can
step through. Same seed, same metrics as on Ray (the batches are the same;
float sums can differ in the last bits when the two use different numbers
of threads).
"""

from __future__ import annotations

from pathlib import Path

import torch

from rlx.config import RunConfig
from rlx.tracking import SystemMetrics
from rlx.train.checkpoint import FolderStore
from rlx.train.context import RunContext
from rlx.train.data import TrialData, local_stream
from rlx.train.fit import Replica, fit
from rlx.train.tracker import open_run_tracker


def run_local(cfg: RunConfig, ctx: RunContext, track: bool = True) -> dict[str, float]:
    """Train and test one run here; returns its final metrics. `track=False` leaves MLflow out."""
    if "://" in ctx.storage:
        raise ValueError(f"a local run keeps its checkpoints in a folder, not at {ctx.storage}")
    data = TrialData.open(Path(ctx.dataset_dir), cfg, stream=local_stream)
    tracker = open_run_tracker(cfg, ctx, runner="local") if track else None
    system = SystemMetrics(ctx.experiment, ctx.name, node_id="rank_0", tracking_uri=ctx.tracking_uri) if track else None
    store = FolderStore(ctx.run_folder, keep=cfg.train.keep_checkpoints)
    device = torch.device("cuda" if cfg.train.use_gpu and torch.cuda.is_available() else "cpu")
    try:
        return fit(cfg, data, store, tracker, Replica(device=device), name=ctx.name)
    finally:
        if system is not None:
            system.stop()
