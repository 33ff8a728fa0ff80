"""One whole training run as a plain function: `fit`.

`fit` owns a run from start to finish — build the model, resume from the
latest checkpoint, the epoch loop, a checkpoint every epoch, the paper's test
protocol at the end — and knows nothing of Ray or MLflow. What differs
between running it in a Ray Train worker and in the calling process is
injected through three small interfaces (rlx.train.interfaces):

    BatchSource      the run's data: per-epoch train batches, validation and
                     final-evaluation batches (`rlx.train.data.TrialData`
                     streams them through Ray Data or decodes in-process)
    CheckpointStore  where epochs are saved and found again (`FolderStore`
                     in rlx.train.checkpoint; Ray Train's in rlx.train.worker)
    Tracker          where metrics and artifacts go on rank 0
                     (`rlx.tracking.RunTracker`, or None)

plus a `Replica`: this process's rank, world size, device and how its model
is wrapped for data parallelism (DDP under Ray Train, nothing locally).
`python -m rlx.train --local` calls `fit` directly, so a run can be stepped
through with pdb.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rlx.config import OptimConfig, RunConfig
from rlx.models import build_model
from rlx.models.backbones import sync_batch_statistics
from rlx.train.checkpoint import restore, save_state
from rlx.train.diagnostics import AttentionMonitor
from rlx.train.evaluation import evaluation_metrics, final_evaluation
from rlx.train.init_from import init_and_record
from rlx.train.interfaces import BatchSource, CheckpointStore, Tracker
from rlx.train.loop import StepOptions, gather_predictions, predict, train_one_epoch
from rlx.train.progress import Heartbeat, epoch_line, write_line

log = logging.getLogger(__name__)


def _no_wrap(model: nn.Module) -> nn.Module:
    return model


@dataclass(frozen=True)
class Replica:
    """This process's place in a data-parallel run."""

    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    wrap_model: Callable[[nn.Module], nn.Module] = _no_wrap  # DDP under Ray Train


def seed_everything(seed: int, epoch: int, rank: int) -> None:
    """Reseed from (seed, epoch, rank): a resumed epoch replays exactly."""
    value = (seed * 1_000_003 + epoch * 1_009 + rank) % (2**31)
    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)


def make_optimizer(model: nn.Module, optim: OptimConfig) -> tuple[torch.optim.Optimizer, Any]:
    """The paper's recipe: SGD with momentum and weight decay, lr ×0.1 at each milestone."""
    optimizer = torch.optim.SGD(
        model.parameters(), lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(optim.milestones), gamma=0.1)
    return optimizer, scheduler


def fit(
    cfg: RunConfig,
    data: BatchSource,
    store: CheckpointStore,
    tracker: Tracker | None = None,
    replica: Replica | None = None,
    name: str = "run",
) -> dict[str, float]:
    """Train `cfg` on `data` to its last epoch (resuming from `store`), test, and return the final metrics."""
    replica = replica or Replica()
    rank, world = replica.rank, replica.world
    opts = StepOptions(
        device=replica.device, multilabel=cfg.data.multilabel, grad_clip=cfg.optim.grad_clip, amp=cfg.train.amp
    )
    state = store.latest()  # a resumed run continues from its own checkpoint, not from model.init_from
    epochs, start_epoch = cfg.optim.epochs, state.epochs_done if state is not None else 0
    # Asked for now, the first epoch's batches start decoding while the model and optimizer are built (the
    # first optimizer imports torch._dynamo: 1-2 s a process) instead of after: the data's start-up
    # (Ray Data's ~2 s on 2 cores) overlaps them.
    first = data.train_batches(start_epoch, rank, world) if start_epoch < epochs else None
    seed_everything(cfg.train.seed, 0, 0)  # identical initial weights on every rank
    model = build_model(cfg.model, data.num_classes, cfg.data.in_channels)
    if state is None and cfg.model.init_from:
        init_and_record(model, cfg.model, store.folder, tracker, rank)
    if cfg.train.channels_last and replica.device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    if cfg.train.sync_bn and world > 1:
        sync_batch_norms(model, replica.device)
    monitor = AttentionMonitor.attach(model) if tracker is not None else None  # before DDP wraps it
    model = replica.wrap_model(model)
    optimizer, scheduler = make_optimizer(model, cfg.optim)

    metrics: dict[str, Any] = {}
    if state is not None:
        restore(state, model, optimizer, scheduler)
        metrics = dict(state.metrics or {})
        log.info("resuming %s from its checkpoint after epoch %d", name, start_epoch)

    started = time.perf_counter()
    for epoch in range(start_epoch + 1, epochs + 1):  # 1-based: checkpoints and MLflow steps count epochs done
        seed_everything(cfg.train.seed, epoch, rank)
        if rank == 0:
            note(store.folder, f"epoch {epoch} started")
        beat = heartbeat(rank, f"[{name}] epoch {epoch}/{epochs}", len(data.train_rows()) // world)
        batches = first if epoch == start_epoch + 1 else data.train_batches(epoch - 1, rank, world)
        stats = train_one_epoch(model, batches, optimizer, data.normalizer, opts, on_step=beat)
        scheduler.step()
        maybe_inject_fault(cfg.train.fail_at_epoch, epoch, rank, store)
        val = gather_predictions(predict(model, data.val_batches(rank, world), data.normalizer, opts))
        metrics = {
            "epoch": epoch,
            **stats.as_metrics("train"),
            **evaluation_metrics(val, "val", cfg.data.multilabel),
            "train/lr": scheduler.get_last_lr()[0],
            "data/skipped": stats.skipped,
            "data/decoder_messages": stats.decoder_messages,
            "data/wait_fraction": stats.data_wait_fraction,
            "time/epoch_s": stats.seconds,
        }
        if tracker is not None:
            tracker.log_metrics({**metrics, **(monitor.metrics() if monitor else {})}, step=epoch)
        if rank == 0 and stats.decoder_log:  # the decoders' C output: in the run's folder, not on the console
            note(store.folder, f"epoch {epoch}\n" + "\n".join(stats.decoder_log), "decoder.log")
        if rank == 0:
            write_line(epoch_line(name, metrics, epochs, epoch - start_epoch, time.perf_counter() - started))
        if epoch == epochs:
            # The test rides on the last epoch's report: under Ray Train each report waits for the
            # controller's poll (~2 s), and a Tune scheduler expects its metric in every report anyway.
            beat = heartbeat(rank, f"[{name}] test", _final_videos(data) // world)
            metrics = {**metrics, **final_evaluation(model, data, cfg, opts, rank, world, tracker, beat)}
        write = _state_writer(model, optimizer, scheduler, epoch, metrics) if rank == 0 else None
        store.save(epoch, metrics, write)

    if start_epoch >= epochs:  # restarted after the last checkpoint: test again, report once
        beat = heartbeat(rank, f"[{name}] test", _final_videos(data) // world)
        final = final_evaluation(model, data, cfg, opts, rank, world, tracker, beat)
        metrics = {**metrics, "epoch": epochs, **final}
        store.report(metrics)
    if tracker is not None:
        tracker.set_tags({"rlx.checkpoint": store.location(epochs)})
        tracker.finish("FINISHED")
    return metrics


def sync_batch_norms(model: nn.Module, device: torch.device) -> None:
    """`train.sync_bn` with several workers: the BNs that use batch statistics become SyncBatchNorm.

    Only on GPUs: PyTorch's SyncBatchNorm has no CPU (gloo) kernel, so CPU
    workers keep per-worker batch statistics, and say so.
    """
    if device.type != "cuda":
        log.warning("train.sync_bn: no SyncBatchNorm on %s workers; batch statistics stay per worker", device.type)
        return
    log.info("train.sync_bn: %d BatchNorm layers synchronised across workers", sync_batch_statistics(model))


def heartbeat(rank: int, label: str, total: int) -> Callable[..., None] | None:
    """Rank 0's progress callback for a long phase (lines every HEARTBEAT_S seconds); None on other ranks."""
    return Heartbeat(label, total).tick if rank == 0 else None


def _final_videos(data: BatchSource) -> int:
    return len(data.rows("test")) + len(data.rows("val"))


def _state_writer(model, optimizer, scheduler, epoch: int, metrics: dict[str, float]) -> Callable[[Path], Path]:
    return lambda folder: save_state(folder, model, optimizer, scheduler, epoch, metrics)


def note(folder: Path, line: str, log_file: str = "progress.log") -> None:
    """Append to a log of the run's folder: `progress.log` (what ran, across restarts), `decoder.log`, ..."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / log_file).open("a") as fh:
        fh.write(line + "\n")


def maybe_inject_fault(fail_at_epoch: int, epoch: int, rank: int, store: CheckpointStore) -> None:
    """Test hook (`train.fail_at_epoch`): rank 0 dies once, after training `epoch` but before its checkpoint."""
    marker = store.folder / "fault_injected"
    if fail_at_epoch != epoch or rank != 0 or marker.exists():
        return
    # Every earlier checkpoint must be registered first, so the failure always lands after the last one.
    store.wait_until_saved()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"fault injected in epoch {epoch}\n")
    log.warning("fault injection: exiting worker process in epoch %d", epoch)
    os._exit(1)
