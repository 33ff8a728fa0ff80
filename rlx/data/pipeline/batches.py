"""Batches: index-row columns -> decoded model-input columns (`decode_batch`), and batch re-sizing.

`decode_batch` is the one function both runners (`rlx.data.pipeline.runners`)
call: Ray Data's `map_batches` fn, and `iter_local`'s body. A video that
raises `DecodeError` drops its row, is logged with its file, recorded in the
skip log and counted in the `skipped` column of the first surviving row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from rlx.data.decode import DecodeError
from rlx.data.pipeline.skips import record_skips
from rlx.data.pipeline.spec import PipelineSpec
from rlx.data.pipeline.video import load_action, load_video, video_rng

log = logging.getLogger(__name__)

Batch = dict[str, np.ndarray]


def decode_batch(batch: Mapping[str, Any], spec: PipelineSpec, epoch: int = 0, skip_log: Any = None) -> Batch:
    """Index rows (columns video_id, path, label, labels, num_frames) -> model input rows; the map_batches fn.

    Rows of Charades training samples (`action_rows`: columns `actions`,
    `duration`, `action` as well) are sampled inside one action and their
    `labels` output is the classes active at the sampled frames, not the
    video's. Each action of a video has its own generator (key
    `<video_id>#<action>`), so two actions of one video draw independently.

    Rows with an `epoch` column (one run streaming several epochs, `rows.epochs_rows`) are decoded as that
    epoch's rows, each epoch's run of rows on its own: a video draws from its own epoch's generator, a lost
    video is counted on a row of its own epoch, and the output keeps the `epoch` column.
    """
    if "epoch" not in batch:
        return _decode_rows(batch, spec, epoch, skip_log)
    parts = []
    for run in _epoch_runs(batch):
        epoch_of_run = int(run["epoch"][0])
        part = _decode_rows(run, spec, epoch_of_run, skip_log)
        part["epoch"] = np.full(len(part["label"]), epoch_of_run, dtype=np.int64)
        parts.append(part)
    return _concat(parts)


def _epoch_runs(batch: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`batch` cut into its runs of consecutive rows of one `epoch`, in order."""
    column = np.asarray(batch["epoch"])
    starts = [0, *(np.flatnonzero(column[1:] != column[:-1]) + 1), len(column)]
    return [{k: v[lo:hi] for k, v in batch.items()} for lo, hi in zip(starts, starts[1:], strict=False) if hi > lo]


def _decode_rows(batch: Mapping[str, Any], spec: PipelineSpec, epoch: int, skip_log: Any) -> Batch:
    """`decode_batch` for rows of one epoch."""
    kept: list[int] = []
    frames: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    failures: list[tuple[str, str]] = []
    messages: list[str] = []  # what the decoders printed from C: counted and logged by the run, not printed
    ids = [str(v) for v in batch["video_id"]]
    by_action = "action" in batch
    for i, video_id in enumerate(ids):
        path, num_frames = str(batch["path"][i]), int(batch["num_frames"][i])
        try:
            if by_action:
                action = int(batch["action"][i])
                rng = video_rng(spec.seed, epoch, video_id if action < 0 else f"{video_id}#{action}")
                actions, duration = batch["actions"][i], float(batch["duration"][i])
                clip, target = load_action(spec, path, num_frames, rng, actions, action, duration, messages)
                targets.append(target)
            else:
                clip = load_video(spec, path, num_frames, video_rng(spec.seed, epoch, video_id), messages)
            frames.append(clip)
            kept.append(i)
        except DecodeError as err:
            log.warning("skipping video %s: %s", video_id, err)
            failures.append((video_id, str(err)))
    record_skips(skip_log, failures)
    out = _assemble(batch, spec, kept, frames, ids, len(failures), messages)
    if by_action:
        out["labels"] = np.stack(targets) if targets else np.zeros((0, spec.num_classes), np.float32)  # (B, K)
    return out


def _assemble(
    batch: Mapping[str, Any],
    spec: PipelineSpec,
    kept: list[int],
    frames: list[np.ndarray],
    ids: list[str],
    skipped: int,
    messages: list[str],
) -> Batch:
    """The output columns of the `kept` rows; `skipped` and the decoder messages (count and text) go on the first
    row."""
    b = len(kept)
    out: Batch = {
        # (B, [V,] T, L·C, S, S)
        "frames": np.stack(frames) if frames else np.zeros((0, *spec.frame_shape()), np.uint8),
        "label": np.asarray([int(batch["label"][i]) for i in kept], dtype=np.int64).reshape(b),
        "video_id": np.asarray([ids[i] for i in kept], dtype=object).reshape(b),
        "skipped": np.zeros(b, dtype=np.int32),
        "decoder_messages": np.zeros(b, dtype=np.int32),
        "decoder_log": np.asarray([""] * b, dtype=object).reshape(b),
    }
    if b:
        out["skipped"][0] = skipped
        out["decoder_messages"][0] = len(messages)
        out["decoder_log"][0] = "\n".join(messages)
    if spec.multilabel:
        hot = np.zeros((b, spec.num_classes), dtype=np.float32)  # (B, K)
        for row, i in enumerate(kept):
            hot[row, np.asarray(batch["labels"][i], dtype=np.int64)] = 1.0
        out["labels"] = hot
    return out


def to_columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Row dicts -> the column batch Ray Data would hand `decode_batch` (Charades samples: 3 columns more)."""
    columns = {
        "video_id": np.asarray([r["video_id"] for r in rows], dtype=object),
        "path": np.asarray([r["path"] for r in rows], dtype=object),
        "label": np.asarray([r["label"] for r in rows], dtype=np.int64),
        "labels": _object_array([np.asarray(r["labels"], np.int32) for r in rows]),
        "num_frames": np.asarray([r["num_frames"] for r in rows], dtype=np.int64),
    }
    if rows and "epoch" in rows[0]:  # a run over several epochs (`rows.epochs_rows`)
        columns["epoch"] = np.asarray([r["epoch"] for r in rows], dtype=np.int64)
    if rows and "action" in rows[0]:
        columns["actions"] = _object_array([np.asarray(r["actions"], np.float64) for r in rows])
        columns["duration"] = np.asarray([r["duration"] for r in rows], dtype=np.float64)
        columns["action"] = np.asarray([r["action"] for r in rows], dtype=np.int64)
    return columns


def _object_array(items: list[Any]) -> np.ndarray:
    """A 1-D object array of `items` (np.asarray would build a 2-D array from equal-length lists)."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def rebatch(batches: Iterable[Batch], batch_size: int) -> Iterator[Batch]:
    """Batches of exactly `batch_size` rows (the last one partial) from batches of any size, in order.

    Consecutive batches' columns are concatenated along rows, as Ray Data's
    `iter_batches(batch_size=...)` does; empty batches are passed over. All
    batches must have the same columns. The `skipped` column keeps its sum.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    pending: list[Batch] = []
    rows = 0
    for batch in batches:
        n = _num_rows(batch)
        if not n:
            continue
        pending.append(batch)
        rows += n
        while rows >= batch_size:
            merged = _concat(pending)
            yield {name: column[:batch_size] for name, column in merged.items()}
            rows -= batch_size
            pending = [{name: column[batch_size:] for name, column in merged.items()}] if rows else []
    if rows:
        yield _concat(pending)


class EpochSplitter:
    """Each epoch's batches of `batch_size` rows, out of one stream of batches over several epochs.

    The stream's rows carry an `epoch` column, epochs in order (`rows.epochs_rows`, and a runner that keeps
    the order: `build_dataset` does for such rows), and its batches may straddle two epochs. A row of an epoch
    already served (the stream out of order) is an error: it would be lost, or counted in the wrong epoch.
    `epoch(e)` yields epoch e's rows re-batched as a stream of that epoch alone would have given them
    (`rebatch`: full batches, the last partial); epochs are taken one after the other, each wholly:
    `next_epoch` is the one that can come next, None once the stream is spent or an epoch was left half-read.
    """

    def __init__(self, batches: Iterable[Batch], epochs: range, batch_size: int) -> None:
        self._source = iter(batches)
        self._carry: list[Batch] = []  # read from the source, of epochs not served yet, in order
        self._stop = epochs.stop
        self.batch_size = batch_size
        self.next_epoch: int | None = epochs.start if len(epochs) else None

    def epoch(self, epoch: int) -> Iterator[Batch]:
        if epoch != self.next_epoch:
            raise ValueError(f"epoch {epoch} requested, but this stream can give only {self.next_epoch}")
        self.next_epoch = None  # until this epoch is read to its end
        yield from rebatch(self._pieces(epoch), self.batch_size)
        self.next_epoch = epoch + 1 if epoch + 1 < self._stop else None

    def _pieces(self, epoch: int) -> Iterator[Batch]:
        """Epoch `epoch`'s rows in order: the carried pieces, then the source until a later epoch shows."""
        while self._carry:
            if int(self._carry[0]["epoch"][0]) != epoch:
                return
            yield self._carry.pop(0)
        for batch in self._source:
            pieces = _epoch_runs(batch)
            earlier = sorted({int(p["epoch"][0]) for p in pieces if int(p["epoch"][0]) < epoch})
            if earlier:
                raise ValueError(
                    f"rows of epoch {earlier[0]} arrived while epoch {epoch} was being read: the stream must keep "
                    "its rows in order (Ray Data: DataContext.execution_options.preserve_order)"
                )
            later = [p for p in pieces if int(p["epoch"][0]) != epoch]
            yield from (p for p in pieces if int(p["epoch"][0]) == epoch)
            if later:
                self._carry = later
                return


def _num_rows(batch: Batch) -> int:
    return len(next(iter(batch.values()))) if batch else 0


def _concat(batches: list[Batch]) -> Batch:
    if len(batches) == 1:
        return batches[0]
    return {name: np.concatenate([b[name] for b in batches]) for name in batches[0]}
