"""The epoch loop: plain PyTorch, no Ray and no MLflow, so it runs (and is
tested) on its own. Ray Train's worker function feeds it batches and reports
what it returns.

Batches are mappings with
    frames  uint8 (B, T, L·C, H, W)  or, for multi-view testing, (B, V, T, L·C, H, W)
    label   int64 (B,)               single-label datasets
    labels  float32 (B, K)           multi-label (Charades): multi-hot
    video_id  sequence of B strings  (evaluation only)
uint8 frames travel to the device and are normalised there: 4× less to copy.
Metrics are summed over DDP ranks when torch.distributed is initialised.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

Batch = Mapping[str, Any]
ViewReduce = Literal["mean", "max"]


@dataclass(frozen=True)
class Normalizer:
    """Per-channel (x/255 - mean)/std; mean/std repeat over the L·C stacked channels."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __call__(self, frames: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        channels = frames.shape[-3]
        reps = channels // len(self.mean)
        mean = torch.tensor(self.mean * reps, device=frames.device, dtype=dtype).view(channels, 1, 1)
        std = torch.tensor(self.std * reps, device=frames.device, dtype=dtype).view(channels, 1, 1)
        return (frames.to(dtype) / 255.0 - mean) / std


@dataclass(frozen=True)
class StepOptions:
    device: torch.device
    multilabel: bool = False
    grad_clip: float = 0.0  # max global gradient norm; 0 = off
    amp: bool = False  # bf16 autocast (CUDA only)


@dataclass
class EpochStats:
    loss: float = 0.0
    top1: float | None = None
    videos: int = 0
    steps: int = 0
    seconds: float = 0.0
    data_wait_seconds: float = 0.0
    skipped: int = 0
    decoder_messages: int = 0  # lines the decoders printed from C, all ranks
    decoder_log: list[str] = field(default_factory=list)  # their text, this rank's batches

    @property
    def data_wait_fraction(self) -> float:
        return self.data_wait_seconds / self.seconds if self.seconds > 0 else 0.0

    def as_metrics(self, prefix: str) -> dict[str, float]:
        metrics = {f"{prefix}/loss": self.loss}
        if self.top1 is not None:
            metrics[f"{prefix}/top1"] = self.top1
        return metrics


@dataclass
class Predictions:
    """Video-level scores (pre-softmax logits) of one evaluation pass."""

    video_ids: list[str] = field(default_factory=list)
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # (N, K)
    labels: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))  # (N,) or (N, K) multi-hot
    loss: float = 0.0
    skipped: int = 0


def loss_fn(logits: torch.Tensor, batch: Batch, multilabel: bool, device: torch.device) -> torch.Tensor:
    """Cross-entropy for single-label data; BCE-with-logits for multi-label (never a softmax)."""
    if multilabel:
        # from_dlpack: zero-copy of Ray Data's read-only arrays without as_tensor's "not writable" warning
        return F.binary_cross_entropy_with_logits(logits.float(), torch.from_dlpack(batch["labels"]).to(device).float())
    return F.cross_entropy(logits.float(), torch.from_dlpack(batch["label"]).to(device).long())


def _autocast(opts: StepOptions):
    if opts.amp and opts.device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def _inputs(frames: Any, normalize: Normalizer, opts: StepOptions) -> torch.Tensor:
    # channels_last is set on the model's weights (worker); convolutions then keep NHWC outputs.
    # from_dlpack: zero-copy of Ray Data's read-only arrays (never written) without as_tensor's warning.
    return normalize(torch.from_dlpack(frames).to(opts.device, non_blocking=True))


def _timed(batches: Iterable[Batch]) -> Iterator[tuple[Batch, float]]:
    """Yield (batch, seconds spent waiting for it)."""
    iterator = iter(batches)
    while True:
        start = time.perf_counter()
        try:
            batch = next(iterator)
        except StopIteration:
            return
        yield batch, time.perf_counter() - start


def _global_sum(values: list[float], device: torch.device) -> list[float]:
    if not (dist.is_available() and dist.is_initialized()):
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def train_one_epoch(
    model: nn.Module,
    batches: Iterable[Batch],
    optimizer: torch.optim.Optimizer,
    normalize: Normalizer,
    opts: StepOptions,
    on_step: Callable[[int, float], None] | None = None,
) -> EpochStats:
    """One pass over `batches`; returns metrics summed over all ranks.

    `on_step(videos, loss)` is called after every step with this rank's videos so far and the step's loss.
    """
    model.train()
    start = time.perf_counter()
    loss_sum = correct = videos = steps = skipped = messages = 0.0
    wait = 0.0
    decoder_log: list[str] = []
    for batch, waited in _timed(batches):
        wait += waited
        skipped += int(np.sum(batch.get("skipped", 0)))
        messages += int(np.sum(batch.get("decoder_messages", 0)))
        decoder_log.extend(str(text) for text in batch.get("decoder_log", ()) if text)
        frames = batch["frames"]
        if len(frames) == 0:
            continue
        x = _inputs(frames, normalize, opts)
        with _autocast(opts):
            logits = model(x)
        loss = loss_fn(logits, batch, opts.multilabel, opts.device)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if opts.grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), opts.grad_clip)
        optimizer.step()
        n = x.shape[0]
        loss_sum += loss.item() * n
        if not opts.multilabel:
            correct += (logits.argmax(dim=1).cpu() == torch.from_dlpack(batch["label"])).sum().item()
        videos += n
        steps += 1
        if on_step is not None:
            on_step(int(videos), loss.item())
    loss_sum, correct, videos, skipped, messages = _global_sum(
        [loss_sum, correct, videos, skipped, messages], opts.device
    )
    return EpochStats(
        loss=loss_sum / max(videos, 1),
        top1=None if opts.multilabel else correct / max(videos, 1),
        videos=int(videos),
        steps=int(steps),
        seconds=time.perf_counter() - start,
        data_wait_seconds=wait,
        skipped=int(skipped),
        decoder_messages=int(messages),
        decoder_log=decoder_log,
    )


@torch.no_grad()
def predict(
    model: nn.Module,
    batches: Iterable[Batch],
    normalize: Normalizer,
    opts: StepOptions,
    view_budget: int = 20,
    reduce: ViewReduce = "mean",
    on_batch: Callable[[int], None] | None = None,
    clips: int | None = None,
) -> Predictions:
    """Video-level logits on this rank's share of the data.

    Multi-view batches (B, V, T, C, H, W) are run `view_budget` views per
    forward pass (chunks of the flattened B·V views, which may split a clip
    or a video: views are reduced only once the whole batch is through), so
    20-view testing of a large model never needs 20× the memory, and reduced
    over views by `reduce_views`: `clips` consecutive groups of views (None:
    each view its own clip) are each averaged, then reduced over clips by the
    mean (the paper's 20-view protocol averages scores before softmax) or the
    max (Charades: max over clips of the clips' mean logits).
    `on_batch(videos)` is called after each batch with this rank's videos so far.
    """
    model.eval()
    ids: list[str] = []
    scores: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    loss_sum = videos = skipped = 0.0
    for batch in batches:
        skipped += int(np.sum(batch.get("skipped", 0)))
        frames = torch.from_dlpack(batch["frames"])  # zero-copy of a read-only array, see `_inputs`
        if len(frames) == 0:
            continue
        views = frames.dim() == 6
        flat = frames.flatten(0, 1) if views else frames  # (B, V, T, C, H, W) -> (B·V, T, C, H, W)
        chunks = []
        for chunk in flat.split(max(1, view_budget)):
            with _autocast(opts):
                chunks.append(model(_inputs(chunk, normalize, opts)).float())
        logits = torch.cat(chunks)
        if views:
            logits = logits.view(frames.shape[0], frames.shape[1], -1)  # (B·V, K) -> (B, V, K)
            logits = reduce_views(logits, reduce, clips)  # (B, V, K) -> (B, K)
        loss_sum += loss_fn(logits, batch, opts.multilabel, opts.device).item() * len(logits)
        videos += len(logits)
        if on_batch is not None:
            on_batch(int(videos))
        ids.extend(str(v) for v in batch["video_id"])
        scores.append(logits.cpu().numpy())
        labels.append(np.asarray(batch["labels"] if opts.multilabel else batch["label"]))
    loss_sum, videos, skipped = _global_sum([loss_sum, videos, skipped], opts.device)
    if not scores:
        return Predictions(loss=0.0, skipped=int(skipped))
    return Predictions(ids, np.concatenate(scores), np.concatenate(labels), loss_sum / max(videos, 1), int(skipped))


def reduce_views(logits: torch.Tensor, reduce: ViewReduce = "mean", clips: int | None = None) -> torch.Tensor:
    """(B, V, K) view logits -> (B, K): the mean over each clip's views, then `reduce` over clips.

    Views are clip-major (`rlx.data.pipeline`): clip c holds views
    c·V/clips … (c+1)·V/clips - 1. `clips` None means V clips of one view.
    """
    b, v, k = logits.shape
    clips = v if clips is None else clips
    if clips < 1 or v % clips:
        raise ValueError(f"{v} views per video do not split into {clips} clips")
    per_clip = logits.view(b, clips, v // clips, k).mean(dim=2)  # (B, V, K) -> (B, clips, V/clips, K) -> (B, clips, K)
    if reduce == "mean":
        return per_clip.mean(dim=1)
    if reduce == "max":
        return per_clip.amax(dim=1)
    raise ValueError(f"reduce must be one of {get_args(ViewReduce)}, got {reduce!r}")


def subset_predictions(pred: Predictions, keep: Collection[str], expected: int, multilabel: bool) -> Predictions:
    """The predictions of the videos in `keep`, from a pass over several subsets.

    The loss is recomputed on those videos' logits (the same mean over videos that `predict` takes);
    `skipped` is what the subset is missing: `expected` videos minus those predicted.
    """
    rows = [i for i, video_id in enumerate(pred.video_ids) if video_id in keep]
    if not rows:
        return Predictions(skipped=expected)
    scores, labels = pred.scores[rows], pred.labels[rows]
    batch = {"labels" if multilabel else "label": labels}
    loss = loss_fn(torch.as_tensor(scores), batch, multilabel, torch.device("cpu")).item()
    return Predictions([pred.video_ids[i] for i in rows], scores, labels, loss, expected - len(rows))


def gather_predictions(local: Predictions) -> Predictions:
    """All ranks' predictions on every rank (torch.distributed), sorted by video id."""
    parts = [local]
    if dist.is_available() and dist.is_initialized():
        parts = [None] * dist.get_world_size()  # type: ignore[list-item]
        dist.all_gather_object(parts, local)
    ids = [v for p in parts for v in p.video_ids]
    if not ids:
        return Predictions(loss=local.loss, skipped=local.skipped)
    scores = np.concatenate([p.scores for p in parts if len(p.video_ids)])
    labels = np.concatenate([p.labels for p in parts if len(p.video_ids)])
    # A video may appear on two ranks when a split pads shards to equal size: keep the first.
    order, seen = [], set()
    for i in np.argsort(np.asarray(ids), kind="stable"):
        if ids[i] not in seen:
            seen.add(ids[i])
            order.append(i)
    return Predictions([ids[i] for i in order], scores[order], labels[order], local.loss, local.skipped)
