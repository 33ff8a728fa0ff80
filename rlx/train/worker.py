"""The per-worker function of Ray Train: the one place a training run meets Ray.

It converts the flat config to the typed `RunConfig` once, builds the model
(DDP through `prepare_model`), restores the latest checkpoint when Ray
restarts the worker group or the user resumes, runs the plain-PyTorch epoch
loop, reports metrics + a checkpoint every epoch, and at the end runs the
paper's test protocol and leaves the scores, metrics and artifacts in MLflow
(rank 0 only).
"""
from __future__ import annotations

import logging
import os
import platform
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from rlx.config import RunConfig
from rlx.models import build_model
from rlx.train.checkpoint import load_state, restore, save_state
from rlx.train.loop import Predictions, StepOptions, gather_predictions, predict, subset_predictions, train_one_epoch

log = logging.getLogger(__name__)


def seed_everything(seed: int, epoch: int, rank: int) -> None:
    """Reseed from (seed, epoch, rank): a resumed epoch replays exactly."""
    value = (seed * 1_000_003 + epoch * 1_009 + rank) % (2**31)
    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)


def maybe_inject_fault(cfg: RunConfig, epoch: int, rank: int, marker: Path) -> None:
    """Test hook (`train.fail_at_epoch`): rank 0 dies once, after training epoch `epoch` but before its checkpoint."""
    if cfg.train.fail_at_epoch == epoch and rank == 0 and not marker.exists():
        import ray.train

        # Block until the controller has registered every earlier report, so the failure
        # always lands after the last checkpoint (reports are polled, RAY_NOTES.md).
        ray.train.get_all_reported_checkpoints()
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"fault injected in epoch {epoch}\n")
        log.warning("fault injection: exiting worker process in epoch %d", epoch)
        os._exit(1)


def _note(run_dir: Path, line: str) -> None:
    """Append to the run's progress log (`<storage>/<name>/progress.log`): what ran, across restarts."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / "progress.log").open("a") as fh:
        fh.write(line + "\n")


def _print_progress(name: str, metrics: dict[str, float], epochs: int, done_here: int, elapsed: float) -> None:
    """One line per epoch with an ETA, in words (Ray forwards worker stdout to the driver)."""
    epoch = int(metrics["epoch"])
    eta = elapsed / done_here * (epochs - epoch)
    parts = [f"{k.split('/')[-1] if k.startswith('train/') else k}={v:.3f}" for k, v in metrics.items()
             if k in ("train/loss", "train/top1", "val/top1", "val/mAP")]
    # Straight to the process's stdout: Train V2 patches print() to log *and* tee when stdout is wrapped,
    # which printed every line twice.
    sys.__stdout__.write(f"[{name}] epoch {epoch}/{epochs}: {' '.join(parts)} ({metrics['time/epoch_s']:.0f} s, "
                         f"data wait {metrics['data/wait_fraction']:.0%}, ETA {eta / 60:.1f} min)\n")
    sys.__stdout__.flush()


def single_label_metrics(pred: Predictions, prefix: str) -> dict[str, float]:
    from rlx.eval.metrics import mean_class_accuracy, top_k_accuracy

    k = min(5, pred.scores.shape[1])
    out = {
        f"{prefix}/top1": top_k_accuracy(pred.scores, pred.labels, 1),
        f"{prefix}/top5": top_k_accuracy(pred.scores, pred.labels, k),
        f"{prefix}/loss": pred.loss,
    }
    if prefix == "test":
        out["test/mean_class_acc"] = mean_class_accuracy(pred.scores, pred.labels)
    return out


def evaluation_metrics(pred: Predictions, prefix: str, multilabel: bool) -> dict[str, float]:
    if not len(pred.video_ids):
        return {}
    if multilabel:
        from rlx.eval.metrics import charades_map

        if not pred.labels.any():  # e.g. a tiny hold-out of label-less videos: mAP is undefined
            return {f"{prefix}/loss": pred.loss}
        mean_ap, _ = charades_map(pred.scores, pred.labels)
        return {f"{prefix}/mAP": mean_ap, f"{prefix}/loss": pred.loss}
    return single_label_metrics(pred, prefix)


def train_fn_per_worker(config: dict[str, Any]) -> None:
    import ray.train
    import ray.train.torch

    from rlx.train.data import TrialData
    from rlx.train.driver import RunContext

    cfg = RunConfig.from_flat(config["flat"])  # the one conversion from flat to typed
    ctx = RunContext(**config["context"])
    train_ctx = ray.train.get_context()
    rank, world = train_ctx.get_world_rank(), train_ctx.get_world_size()
    device = ray.train.torch.get_device()
    opts = StepOptions(device=device, multilabel=cfg.data.multilabel, grad_clip=cfg.optim.grad_clip, amp=cfg.train.amp)

    data = TrialData.open(Path(ctx.dataset_dir), cfg)
    seed_everything(cfg.train.seed, 0, 0)  # identical initial weights on every rank
    model = build_model(cfg.model, data.num_classes, cfg.data.in_channels)
    if cfg.train.channels_last and device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    model = ray.train.torch.prepare_model(model)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=cfg.optim.lr, momentum=cfg.optim.momentum, weight_decay=cfg.optim.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(cfg.optim.milestones), gamma=0.1)

    start_epoch = 0
    resumed_metrics: dict[str, float] = {}
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            state = load_state(Path(folder))
        restore(state, model, optimizer, scheduler)
        start_epoch = state.epochs_done
        resumed_metrics = state.metrics or {}
        log.info("resuming %s from its checkpoint after epoch %d", ctx.name, start_epoch)

    # Opening the MLflow run (import, store connection, params) takes a second or two: rank 0 does it in a
    # thread while the first epoch trains; an error (e.g. the server is unreachable) surfaces at first use.
    opening = ThreadPoolExecutor(1, thread_name_prefix="mlflow").submit(_open_tracker, cfg, ctx, data) if rank == 0 else None
    import ray.data

    data_context = ray.data.DataContext.get_current()
    data_context.enable_progress_bars = False  # one line per epoch instead (below)
    # Ray Data announces every epoch's execution plan and Train every report at INFO: in a search of many
    # trials that buries the per-epoch progress lines, so keep only their warnings.
    data_context.print_on_execution_start = False
    logging.getLogger("ray.data._internal.execution.streaming_executor").setLevel(logging.WARNING)  # "finished in"
    _quiet_train_reports()
    # Blocks in index order whatever task finishes first: the same seed gives the same batches.
    data_context.execution_options.preserve_order = True
    started = time.perf_counter()
    run_dir = Path(ctx.storage) / ctx.name if "://" not in ctx.storage else Path(tempfile.gettempdir()) / ctx.name
    for epoch in range(start_epoch, cfg.optim.epochs):
        seed_everything(cfg.train.seed, epoch + 1, rank)
        if rank == 0:
            _note(run_dir, f"epoch {epoch + 1} started")
        stats = train_one_epoch(model, data.train_batches(epoch, rank, world), optimizer, data.normalizer, opts)
        scheduler.step()
        maybe_inject_fault(cfg, epoch + 1, rank, run_dir / "fault_injected")
        val = gather_predictions(predict(model, data.val_batches(rank, world), data.normalizer, opts))
        metrics = {
            "epoch": epoch + 1,
            **stats.as_metrics("train"),
            **evaluation_metrics(val, "val", cfg.data.multilabel),
            "train/lr": scheduler.get_last_lr()[0],
            "data/skipped": stats.skipped,
            "data/wait_fraction": stats.data_wait_fraction,
            "time/epoch_s": stats.seconds,
        }
        tracker = opening.result() if opening is not None else None
        if tracker is not None:
            tracker.log_metrics(metrics, step=epoch + 1)
            _print_progress(ctx.name, metrics, cfg.optim.epochs, epoch + 1 - start_epoch, time.perf_counter() - started)
        if epoch + 1 == cfg.optim.epochs:
            # The test rides on the last epoch's report: each report waits for Train's controller to poll
            # (~2 s), and a Tune scheduler expects its metric in every report anyway.
            metrics = {**metrics, **_final_evaluation(model, data, cfg, opts, rank, world, tracker)}
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = None
            if rank == 0:
                save_state(Path(tmp), model, optimizer, scheduler, epoch + 1, metrics)
                ckpt = ray.train.Checkpoint.from_directory(tmp)
            ray.train.report(metrics, checkpoint=ckpt, checkpoint_dir_name=f"epoch_{epoch + 1:04d}")

    tracker = opening.result() if opening is not None else None
    if start_epoch >= cfg.optim.epochs:  # restarted after the last checkpoint: test again, report once
        final = _final_evaluation(model, data, cfg, opts, rank, world, tracker)
        ray.train.report({**resumed_metrics, "epoch": cfg.optim.epochs, **final})
    if tracker is not None:
        tracker.set_tags({"rlx.checkpoint": str(run_dir / f"epoch_{cfg.optim.epochs:04d}")})
        tracker.finish("FINISHED")


def _quiet_train_reports() -> None:
    """Ray Train V2 logs each report's full metrics dict at INFO through a logger named after its file."""
    try:
        from ray.train.v2._internal.execution import context as train_context  # private: Ray is pinned
    except ImportError:
        return
    logging.getLogger(train_context.__file__).setLevel(logging.WARNING)
    logging.getLogger("ray.train.v2._internal.execution.storage").setLevel(logging.WARNING)  # "Checkpoint created at"


def _open_tracker(cfg: RunConfig, ctx: Any, data: Any):
    from rlx.tracking import open_run

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
            "rlx.ray": __import__("ray").__version__,
            "rlx.device": torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or "cpu",
            "rlx.num_workers": cfg.train.num_workers,
            "rlx.storage": str(Path(ctx.storage) / ctx.name),
            **({"rlx.group": ctx.group} if ctx.parent_run_id else {}),
            **({"rlx.command": ctx.command} if ctx.command else {}),
        }
    )
    tracker.log_text(yaml.safe_dump(flat, sort_keys=True), "config/resolved.yaml")
    return tracker


def _final_evaluation(model, data, cfg: RunConfig, opts: StepOptions, rank: int, world: int, tracker) -> dict[str, float]:
    """The paper's protocol on test and on the validation hold-out; scores to MLflow."""
    reduce = "max" if cfg.data.multilabel else "mean"
    budget = cfg.eval.view_budget
    both = gather_predictions(predict(model, data.final_batches(rank, world), data.normalizer, opts, budget, reduce))
    test_rows, val_rows = data.rows("test"), data.rows("val")
    test = subset_predictions(both, {r["video_id"] for r in test_rows}, len(test_rows), cfg.data.multilabel)
    val = subset_predictions(both, {r["video_id"] for r in val_rows}, len(val_rows), cfg.data.multilabel)
    metrics = {**evaluation_metrics(test, "test", cfg.data.multilabel), "data/test_skipped": test.skipped}
    if tracker is not None:
        tracker.log_metrics(metrics, step=cfg.optim.epochs)
        _log_score_artifacts(tracker, data, test, val, cfg.data.multilabel)
    return metrics


def _log_score_artifacts(tracker, data, test: Predictions, val: Predictions, multilabel: bool) -> None:
    from rlx.eval.scores import write_scores

    with tempfile.TemporaryDirectory() as tmp:
        for name, pred in (("test", test), ("val", val)):
            if len(pred.video_ids):
                path = write_scores(Path(tmp) / f"{name}.parquet", pred.video_ids, pred.scores, pred.labels, data.class_names)
                tracker.log_artifact(path, "scores")
        if not multilabel and len(test.video_ids):
            from rlx.eval.plots import confusion_matrix_png

            tracker.log_artifact(confusion_matrix_png(Path(tmp) / "confusion_matrix.png", test, data.class_names), "plots")
