"""The per-worker function of Ray Train: `fit` on Ray, and the one place a training run meets Ray.

It converts the flat config to the typed `RunConfig` once, and gives `fit`
Ray's side of each interface: batches streamed by Ray Data, checkpoints
reported to Ray Train (which restarts a failed worker group from the
latest), DDP through `prepare_model`, on rank 0 an MLflow run opened in
the background, and on every rank the machine's system metrics logged to
that run as `system/rank_<rank>/...` while the worker lives.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ray.data
import ray.train
import ray.train.torch
import torch
from ray.train.v2._internal.execution import context as train_context  # private, for its logger: Ray is pinned

from rlx.config import RunConfig
from rlx.train.background import BackgroundTracker, in_background
from rlx.train.checkpoint import TrainState, epoch_folder_name, load_state
from rlx.train.context import RunContext
from rlx.train.data import TrialData, ray_stream
from rlx.train.fit import Replica, fit


class RayTrainStore:
    """`CheckpointStore` on Ray Train: every rank reports each epoch; rank 0's state becomes the checkpoint."""

    def __init__(self, ctx: RunContext) -> None:
        self.folder = ctx.run_folder
        self.root = ctx.checkpoint_root

    def latest(self) -> TrainState | None:
        checkpoint = ray.train.get_checkpoint()
        if checkpoint is None:
            return None
        with checkpoint.as_directory() as folder:
            return load_state(Path(folder))

    def save(self, epoch: int, metrics: Mapping[str, float], write: Callable[[Path], Any] | None) -> None:
        if write is None:
            ray.train.report(dict(metrics), checkpoint_dir_name=epoch_folder_name(epoch))
            return
        # Copied to storage by a Ray thread while the next epoch trains (30 MB an epoch for the smoke model),
        # then deleted by Ray. Ray Train keeps the reports in order, a report that waits for its checkpoints
        # (`wait_until_saved`) waits for the copy, and the worker's end waits for the last one.
        folder = tempfile.mkdtemp(prefix=f"{epoch_folder_name(epoch)}-")
        try:
            write(Path(folder))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # no report, so Ray will not delete it
            raise
        ray.train.report(
            dict(metrics),
            checkpoint=ray.train.Checkpoint.from_directory(folder),
            checkpoint_dir_name=epoch_folder_name(epoch),
            checkpoint_upload_mode=ray.train.CheckpointUploadMode.ASYNC,
            delete_local_checkpoint_after_upload=True,
        )

    def report(self, metrics: Mapping[str, float]) -> None:
        ray.train.report(dict(metrics))

    def wait_until_saved(self) -> None:
        ray.train.get_all_reported_checkpoints()  # reports are polled (RAY_NOTES.md): wait for the last one

    def location(self, epoch: int) -> str:
        return f"{self.root}/{epoch_folder_name(epoch)}"


def train_fn_per_worker(config: dict[str, Any]) -> None:
    cfg = RunConfig.from_flat(config["flat"])  # the one conversion from flat to typed
    ctx = RunContext(**config["context"])
    torch.set_num_threads(cfg.train.worker_threads)  # explicit: Ray's OMP_NUM_THREADS misses a preloaded PyTorch
    configure_ray_data()
    context = ray.train.get_context()
    replica = Replica(
        context.get_world_rank(), context.get_world_size(), ray.train.torch.get_device(), ray.train.torch.prepare_model
    )
    data = TrialData.open(Path(ctx.dataset_dir), cfg, stream=ray_stream)
    tracker = BackgroundTracker(lambda: _open_tracker(cfg, ctx)) if replica.rank == 0 else None
    system = in_background(lambda: _system_metrics(ctx, replica.rank), name="system-metrics")
    fit(cfg, data, RayTrainStore(ctx), tracker, replica, name=ctx.name)
    # Only after a finished fit: stopping flushes to the MLflow store, which must not delay a failing worker's
    # error report to Ray Train; the monitor's thread is a daemon and ends with the worker process.
    system.result().stop()


def _open_tracker(cfg: RunConfig, ctx: RunContext):
    # Imported in the tracker's thread: MLflow's import (~1.4 s) then overlaps the first epoch.
    from rlx.train.tracker import open_run_tracker  # noqa: PLC0415

    return open_run_tracker(cfg, ctx, runner="ray")


def _system_metrics(ctx: RunContext, rank: int):
    from rlx.tracking import SystemMetrics  # noqa: PLC0415  (MLflow, in a thread: see _open_tracker)

    return SystemMetrics(ctx.experiment, ctx.name, node_id=f"rank_{rank}", tracking_uri=ctx.tracking_uri)


def configure_ray_data() -> None:
    """Ordered blocks (reproducible batches) and one progress line per epoch instead of Ray's chatter."""
    data_context = ray.data.DataContext.get_current()
    # Blocks in index order whatever task finishes first: the same seed gives the same batches.
    data_context.execution_options.preserve_order = True
    data_context.enable_progress_bars = False
    # Ray Data announces every epoch's execution plan and Train every report at INFO: in a search of many
    # trials that buries the per-epoch progress lines, so keep only their warnings.
    data_context.print_on_execution_start = False
    logging.getLogger("ray.data._internal.execution.streaming_executor").setLevel(logging.WARNING)  # "finished in"
    logging.getLogger(train_context.__file__).setLevel(logging.WARNING)  # each report's metrics dict
    logging.getLogger("ray.train.v2._internal.execution.storage").setLevel(logging.WARNING)  # "Checkpoint created at"
