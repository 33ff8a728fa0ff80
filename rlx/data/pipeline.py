"""Index rows -> decoded, sampled, augmented uint8 batches: on Ray Data, or in-process.

One function, `decode_batch`, turns a batch of index rows (only paths and
labels) into model input; `build_dataset` runs it in Ray Data tasks
(`map_batches`, `TaskPoolStrategy`) and `iter_local` runs it in the calling
process (unit tests, the CPU benchmark). Same code, same output.

Output batches (numpy, one row per video that decoded):
    frames     uint8   train/val (B, T, L·C, S, S)
               test          (B, V, T, L·C, S, S), V = clips × groups × crops
    label      int64   (B,)  class id; -1 for multi-label rows
    labels     float32 (B, K) multi-hot, only when `spec.multilabel`
    video_id   str     (B,)
    skipped    int32   (B,)  videos of the same decode batch that failed (see below)
L·C channels are snippet-frame-major: RGB L=1 gives (R, G, B); flow gives
(x0, y0, x1, y1, …) as TSN stacks them. Frames stay uint8 (4× less to move)
and are meant to be normalised on the device, e.g. by
`rlx.train.loop.Normalizer(*NORM_STATS[modality])` (rlx.data.transforms).

Test views (the 20-view protocol): a `views` axis, ordered clip-major, then
group, then crop — view v = (clip·G + group)·K + crop, crops in the order
TL, TR, BL, BR, centre. Non-Charades data has one clip: 4 groups × 5 crops.
Charades (`num_clips` = 10) usually runs with 1 group × 1 crop so that the
loop's max over views is the paper's max over clips.

Randomness: each video's generator is seeded from (seed, epoch, crc32(video
id)) — reproducible for a seed, fresh every epoch, independent of which task
or worker decodes the video and of batch composition. It draws the segment
starts first, then the crop and flip. Video *order* is reshuffled per epoch
by `epoch_rows` (a permutation of the rows in the driver, where only paths
live); Ray Data is never asked to shuffle or materialize decoded frames.
Build a new dataset per epoch (`build_dataset(spec, rows, epoch)`): a
dataset executes lazily each time it is iterated.

Corrupt or missing videos: a `DecodeError` while reading a video drops its
row, logs a warning naming the file, and is counted twice over:
  * `skipped` column — per output row; a decode batch that lost k videos puts
    k on its first surviving row (0 elsewhere), so summing the column over an
    epoch counts each loss once. The training loop sums it into
    `data/skipped`. A decode batch in which *every* video failed has no row
    to carry its count: keep `decode_batch_size` ≥ 4 so that is rare, and use
    the log below when an exact figure matters.
  * `SkipLog` — exact: every failure with its video id and reason; pass a
    `SkipLog` to `iter_local` or `skip_log_actor()` to `build_dataset`.
Any other exception is a bug and propagates.
"""
from __future__ import annotations

import logging
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, Mapping, Sequence

import numpy as np

from rlx.data import sampling
from rlx.data.decode import DecodeError, rawframes_count, read_frames, video_info
from rlx.data.transforms import CHANNELS, TSN_SCALES, Augment, Modality

log = logging.getLogger(__name__)

Mode = Literal["train", "val", "test"]
Batch = dict[str, np.ndarray]
BAD_STATUSES = ("missing", "corrupt", "too_short")


@dataclass(frozen=True)
class PipelineSpec:
    """Everything that decides what one video becomes; built once per run from DataConfig/EvalConfig."""

    videos_root: str
    mode: Mode = "train"
    modality: Modality = "rgb"
    num_segments: int = 8  # T
    new_length: int = 1  # L: 1 RGB frame or 10 flow fields per snippet
    input_size: int = 224  # S: side of the square crop given to the model
    short_side: int = 256  # frames are resized to this short side before cropping; 0 = as decoded
    scales: tuple[float, ...] = TSN_SCALES
    max_distort: int = 1
    more_fix_crop: bool = True
    flip: bool = True
    num_groups: int = 4  # test: snippet groups at equally spaced positions
    num_crops: int = 5  # test: 5 = four corners + centre, 1 = centre
    num_clips: int = 0  # test: > 0 = Charades protocol, clips of clip_len frames
    clip_len: int = 256
    multilabel: bool = False
    num_classes: int = 0  # width of the multi-hot `labels` (multi-label only)
    seed: int = 0
    decode_batch_size: int = 4  # videos per map_batches call
    num_tasks: int = 2  # Ray Data tasks decoding in parallel
    num_cpus: float = 1.0  # CPUs each decode task reserves (fractions let decoding share a small machine with training)

    def __post_init__(self) -> None:
        if self.mode not in ("train", "val", "test"):
            raise ValueError(f"mode must be train, val or test, got {self.mode!r}")
        if self.modality not in CHANNELS:
            raise ValueError(f"modality must be rgb or flow, got {self.modality!r}")
        if min(self.num_segments, self.new_length, self.input_size, self.num_groups, self.decode_batch_size) < 1:
            raise ValueError("num_segments, new_length, input_size, num_groups, decode_batch_size must be >= 1")
        if self.num_crops not in (1, 5):
            raise ValueError(f"num_crops must be 1 or 5, got {self.num_crops}")
        if 0 < self.short_side < self.input_size:
            raise ValueError(f"short_side {self.short_side} is smaller than input_size {self.input_size}")
        if self.multilabel and self.num_classes < 1:
            raise ValueError("multilabel needs num_classes >= 1")

    @classmethod
    def from_config(
        cls, data: Any, mode: Mode, videos_root: str, num_classes: int = 0, seed: int = 0, evaluation: Any = None
    ) -> "PipelineSpec":
        """From `rlx.config.DataConfig` (+ `EvalConfig` for test views): the one place their fields map here.

        Charades (`data.multilabel`) tests on `evaluation.num_clips` clips of
        `evaluation.clip_length` frames with 1 group × 1 crop each (the loop's
        max over views is then the paper's max over clips); other datasets on
        one clip with `evaluation.num_groups` × `evaluation.num_crops` views.
        """
        views: dict[str, Any] = {}
        if evaluation is not None and mode == "test":
            views = {"num_groups": evaluation.num_groups, "num_crops": evaluation.num_crops}
            if data.multilabel:
                views = {"num_groups": 1, "num_crops": 1, "num_clips": evaluation.num_clips, "clip_len": evaluation.clip_length}
        return cls(
            videos_root=str(videos_root),
            mode=mode,
            modality=data.modality,
            num_segments=data.num_segments,
            new_length=data.new_length,
            input_size=data.input_size,
            short_side=data.short_side,
            multilabel=data.multilabel,
            num_classes=num_classes if data.multilabel else 0,
            seed=seed,
            num_tasks=data.loader_tasks,
            num_cpus=data.loader_cpus,
            flip=data.flip,
            **views,
        )

    @property
    def channels(self) -> int:
        """L·C input channels of one snippet."""
        return self.new_length * CHANNELS[self.modality]

    @property
    def num_views(self) -> int:
        """V in test mode: clips × groups × crops."""
        return max(self.num_clips, 1) * self.num_groups * self.num_crops

    @property
    def augment(self) -> Augment:
        return Augment(
            self.input_size, self.short_side, self.modality, self.scales, self.max_distort, self.more_fix_crop, self.flip
        )

    def frame_shape(self) -> tuple[int, ...]:
        """Shape of one video's `frames` row."""
        per_view = (self.num_segments, self.channels, self.input_size, self.input_size)
        return (self.num_views, *per_view) if self.mode == "test" else per_view


# --------------------------------------------------------------------------- rows


def index_rows(df: Any, split: str | None = None, drop_bad: bool = True) -> list[dict[str, Any]]:
    """Index DataFrame -> the small dicts that travel to decode tasks (paths, never frames).

    Rows a probe marked missing/corrupt/too_short are left out when
    `drop_bad` (they are known before training and reported by the probe);
    `num_frames` is -1 when not probed (the decoder then opens the video to
    count). Keys: video_id, path, label, labels, num_frames.
    """
    if split is not None:
        df = df[df["split"] == split]
    if drop_bad and "status" in df:
        df = df[~df["status"].isin(BAD_STATUSES)]
    rows = []
    for rec in df.itertuples(index=False):
        frames = getattr(rec, "num_frames", None)
        labels = getattr(rec, "labels", None)
        rows.append(
            {
                "video_id": str(rec.video_id),
                "path": str(rec.path),
                "label": int(rec.label),
                "labels": [int(v) for v in labels] if labels is not None else [int(rec.label)],
                "num_frames": -1 if frames is None or _isna(frames) else int(frames),
            }
        )
    return rows


def _isna(value: Any) -> bool:
    try:
        return bool(np.isnan(value))
    except TypeError:
        return value is None or str(value) == "<NA>"


def epoch_rows(
    rows: Sequence[Mapping[str, Any]], epoch: int, seed: int, rank: int = 0, world: int = 1, shuffle: bool = True
) -> list[Mapping[str, Any]]:
    """This rank's rows of one epoch: a permutation seeded by (seed, epoch), then every world-th row.

    Every rank computes the same permutation, so the shards are disjoint and
    cover the epoch; shards differ in size by at most one row.
    """
    order = np.arange(len(rows))
    if shuffle:
        order = np.random.default_rng([seed, epoch, 0x5EED]).permutation(len(rows))
    return [rows[i] for i in order[rank::world]]


def video_rng(seed: int, epoch: int, video_id: str) -> np.random.Generator:
    """The generator of one video in one epoch (crc32: Python's str hash differs per process)."""
    return np.random.default_rng([seed, epoch, zlib.crc32(video_id.encode("utf-8"))])


# --------------------------------------------------------------------------- one video


def sample_indices(spec: PipelineSpec, num_frames: int, rng: np.random.Generator) -> np.ndarray:
    """(P, T, L) frame indices: P = 1 for train/val, clips × groups for test."""
    t, length = spec.num_segments, spec.new_length
    if spec.mode == "train":
        return sampling.train_indices(num_frames, t, length, rng)[None]  # (T, L) -> (1, T, L)
    if spec.mode == "val":
        return sampling.center_indices(num_frames, t, length)[None]  # (T, L) -> (1, T, L)
    if spec.num_clips > 0:
        idx = sampling.clip_test_indices(num_frames, t, length, spec.num_groups, spec.num_clips, spec.clip_len)
        return idx.reshape(-1, t, length)  # (C, G, T, L) -> (C·G, T, L)
    return sampling.test_indices(num_frames, t, length, spec.num_groups)  # (G, T, L)


def count_frames(source: Path, modality: Modality) -> int:
    """Frames of a rawframes folder (a directory listing) or a video file (opens it)."""
    if source.is_dir():
        return rawframes_count(source, modality)
    return video_info(source).num_frames


def load_video(spec: PipelineSpec, path: str, num_frames: int, rng: np.random.Generator) -> np.ndarray:
    """Sample, decode and augment one video -> uint8 `spec.frame_shape()`; raises DecodeError.

    All snippet frames are decoded in one call (each distinct frame once) and
    augmented as one array, so one crop/flip draw covers every snippet.
    """
    source = Path(spec.videos_root) / path
    n = num_frames if num_frames > 0 else count_frames(source, spec.modality)
    if n < 1:
        raise DecodeError(source, "no frames")
    idx = sample_indices(spec, n, rng)  # (P, T, L)
    # Decoded at stored size: decord's decode-time scaling (read_frames(resize=...)) measured 2-3x
    # slower on 320x240 AVIs (it scales every frame of a keyframe run); crops are resized once instead.
    frames = read_frames(source, idx.ravel(), spec.modality)  # (P·T·L, H, W, C)
    t, length = spec.num_segments, spec.new_length
    aug = spec.augment
    if spec.mode == "train":
        return _model_layout(aug.train(frames, rng)[None], 1, t, length)[0]  # (T, L·C, S, S)
    if spec.mode == "val":
        return _model_layout(aug.val(frames)[None], 1, t, length)[0]  # (T, L·C, S, S)
    crops = aug.test(frames, spec.num_crops)  # (K, P·T·L, S, S, C)
    return _views_layout(crops, idx.shape[0], t, length)  # (P·K, T, L·C, S, S)


def _model_layout(frames: np.ndarray, views: int, t: int, length: int) -> np.ndarray:
    """(V, T·L, S, S, C) -> (V, T, L·C, S, S), contiguous."""
    v, _, height, width, channels = frames.shape
    x = frames.reshape(v, t, length, height, width, channels)  # (V, T·L, S, S, C) -> (V, T, L, S, S, C)
    x = x.transpose(0, 1, 2, 5, 3, 4)  # -> (V, T, L, C, S, S)
    return np.ascontiguousarray(x).reshape(v, t, length * channels, height, width)  # -> (V, T, L·C, S, S)


def _views_layout(crops: np.ndarray, positions: int, t: int, length: int) -> np.ndarray:
    """(K, P·T·L, S, S, C) crops of P snippet positions -> (P·K, T, L·C, S, S), position-major."""
    k, _, height, width, channels = crops.shape
    x = crops.reshape(k, positions, t * length, height, width, channels)  # -> (K, P, T·L, S, S, C)
    x = x.transpose(1, 0, 2, 3, 4, 5).reshape(positions * k, t * length, height, width, channels)  # -> (P·K, T·L, S, S, C)
    return _model_layout(x, positions * k, t, length)


# --------------------------------------------------------------------------- skip log


@dataclass
class SkipLog:
    """Every video dropped for a DecodeError: (video_id, reason). Plain object or a Ray actor (`skip_log_actor`)."""

    entries: list[tuple[str, str]] = field(default_factory=list)

    def add(self, failures: list[tuple[str, str]]) -> int:
        self.entries.extend(failures)
        return len(self.entries)

    def total(self) -> int:
        return len(self.entries)

    def get_entries(self) -> list[tuple[str, str]]:
        return list(self.entries)


def skip_log_actor(name: str | None = None) -> Any:
    """A `SkipLog` living in a Ray actor (0 CPUs), so decode tasks in any process can record to it.

    Read it with `ray.get(actor.total.remote())` / `actor.get_entries.remote()`.
    """
    import ray

    options: dict[str, Any] = {"num_cpus": 0}
    if name:
        options["name"] = name
    return ray.remote(SkipLog).options(**options).remote()


def _record(skip_log: Any, failures: list[tuple[str, str]]) -> None:
    if skip_log is None or not failures:
        return
    if hasattr(skip_log, "add") and hasattr(skip_log.add, "remote"):
        import ray

        ray.get(skip_log.add.remote(failures))  # recorded before this batch's rows are visible
    else:
        skip_log.add(failures)


# --------------------------------------------------------------------------- batches


def decode_batch(batch: Mapping[str, Any], spec: PipelineSpec, epoch: int = 0, skip_log: Any = None) -> Batch:
    """Index rows (columns video_id, path, label, labels, num_frames) -> model input rows; the map_batches fn."""
    kept: list[int] = []
    frames: list[np.ndarray] = []
    failures: list[tuple[str, str]] = []
    ids = [str(v) for v in batch["video_id"]]
    for i, video_id in enumerate(ids):
        rng = video_rng(spec.seed, epoch, video_id)
        try:
            frames.append(load_video(spec, str(batch["path"][i]), int(batch["num_frames"][i]), rng))
            kept.append(i)
        except DecodeError as err:
            log.warning("skipping video %s: %s", video_id, err)
            failures.append((video_id, str(err)))
    _record(skip_log, failures)
    return _assemble(batch, spec, kept, frames, ids, len(failures))


def _assemble(
    batch: Mapping[str, Any], spec: PipelineSpec, kept: list[int], frames: list[np.ndarray], ids: list[str], skipped: int
) -> Batch:
    b = len(kept)
    out: Batch = {
        "frames": np.stack(frames) if frames else np.zeros((0, *spec.frame_shape()), np.uint8),  # (B, [V,] T, L·C, S, S)
        "label": np.asarray([int(batch["label"][i]) for i in kept], dtype=np.int64).reshape(b),
        "video_id": np.asarray([ids[i] for i in kept], dtype=object).reshape(b),
        "skipped": np.zeros(b, dtype=np.int32),
    }
    if b:
        out["skipped"][0] = skipped
    if spec.multilabel:
        hot = np.zeros((b, spec.num_classes), dtype=np.float32)  # (B, K)
        for row, i in enumerate(kept):
            hot[row, np.asarray(batch["labels"][i], dtype=np.int64)] = 1.0
        out["labels"] = hot
    return out


def _columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Row dicts -> the column batch Ray Data would hand `decode_batch`."""
    return {
        "video_id": np.asarray([r["video_id"] for r in rows], dtype=object),
        "path": np.asarray([r["path"] for r in rows], dtype=object),
        "label": np.asarray([r["label"] for r in rows], dtype=np.int64),
        "labels": _object_array([np.asarray(r["labels"], np.int32) for r in rows]),
        "num_frames": np.asarray([r["num_frames"] for r in rows], dtype=np.int64),
    }


def _object_array(items: list[Any]) -> np.ndarray:
    """A 1-D object array of `items` (np.asarray would build a 2-D array from equal-length lists)."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def iter_local(
    spec: PipelineSpec,
    rows: Sequence[Mapping[str, Any]],
    epoch: int = 0,
    batch_size: int = 8,
    skip_log: SkipLog | None = None,
) -> Iterator[Batch]:
    """In-process batches of `rows` in the given order: no Ray, same output as `build_dataset`.

    Each batch is one `decode_batch` call of `batch_size` rows, so it may hold
    fewer rows when videos were skipped (an all-failed batch is not yielded).
    """
    for start in range(0, len(rows), batch_size):
        out = decode_batch(_columns(rows[start : start + batch_size]), spec, epoch, skip_log)
        if len(out["frames"]):
            yield out


def build_dataset(spec: PipelineSpec, rows: Iterable[Mapping[str, Any]], epoch: int = 0, skip_log: Any = None):
    """A lazy Ray Dataset of decoded batches for one epoch (call again for the next epoch).

    `rows` are `index_rows` dicts, already ordered/sharded by `epoch_rows`.
    Decoding runs in `spec.num_tasks` CPU tasks of `spec.decode_batch_size`
    videos each; nothing is materialized. Iterate with
    `iter_batches(batch_size=..., batch_format="numpy")` (the `video_id`
    column is strings, which `iter_torch_batches` cannot turn into tensors).
    """
    import ray.data

    items = [_plain(r) for r in rows]
    if not items:
        raise ValueError("no rows to build a dataset from")
    # One block per decode batch -> one short task each: tasks of whole blocks (Ray runs a block per
    # task) of a few long videos left one CPU idle at the end of an epoch.
    blocks = -(-len(items) // spec.decode_batch_size)  # ceil
    ds = ray.data.from_items(items, override_num_blocks=blocks)
    return ds.map_batches(
        _ray_decode_batch,
        fn_kwargs={"spec": spec, "epoch": epoch, "skip_log": skip_log},
        batch_size=spec.decode_batch_size,
        batch_format="numpy",
        compute=ray.data.TaskPoolStrategy(size=spec.num_tasks),
        num_cpus=spec.num_cpus,
    )


def _ray_decode_batch(batch: Mapping[str, Any], spec: PipelineSpec, epoch: int, skip_log: Any) -> Batch:
    """`decode_batch` in a Ray task: OpenCV single-threaded (parallelism comes from tasks), ids as str."""
    import cv2

    cv2.setNumThreads(1)
    out = decode_batch(batch, spec, epoch, skip_log)
    out["video_id"] = out["video_id"].astype(str)  # arrow string column
    return out


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """Only what decoding needs, as plain Python types (arrow-friendly)."""
    return {
        "video_id": str(row["video_id"]),
        "path": os.fspath(row["path"]),
        "label": int(row["label"]),
        "labels": [int(v) for v in row.get("labels", [row["label"]])],
        "num_frames": int(row.get("num_frames", -1)),
    }
