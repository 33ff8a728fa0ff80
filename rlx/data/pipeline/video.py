"""One video -> model input: its random generator, the frames to sample, decoding and augmentation.

Randomness: each video's generator is seeded from (seed, epoch, crc32(video
id)) — reproducible for a seed, fresh every epoch, independent of which task
or worker decodes the video and of batch composition. It draws the segment
starts first, then the crop and flip (a Charades training sample of
`data.charades_train=videos` draws its action before those).
"""

from __future__ import annotations

import logging
import zlib
from pathlib import Path

import numpy as np

from rlx.config import DataConfig, Modality
from rlx.data import sampling
from rlx.data.decode import (
    DecodeError,
    call_with_timeout,
    capture_messages,
    rawframes_count,
    read_frames,
    video_info,
)
from rlx.data.pipeline.spec import PipelineSpec
from rlx.data.transforms import to_model_layout

log = logging.getLogger("rlx.data.decode")


def video_rng(seed: int, epoch: int, video_id: str) -> np.random.Generator:
    """The generator of one video in one epoch (crc32: Python's str hash differs per process)."""
    return np.random.default_rng([seed, epoch, zlib.crc32(video_id.encode("utf-8"))])


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


def count_frames(source: Path, modality: Modality, decoder: str = DataConfig.decoder) -> int:
    """Frames of a rawframes folder (a directory listing) or a video file (opens it)."""
    if source.is_dir():
        return rawframes_count(source, modality)
    return video_info(source, decoder).num_frames


def load_video(
    spec: PipelineSpec, path: str, num_frames: int, rng: np.random.Generator, messages: list[str] | None = None
) -> np.ndarray:
    """Sample, decode and augment one video -> uint8 `spec.frame_shape()`; raises DecodeError.

    All snippet frames are decoded in one call (each distinct frame once) and
    augmented as one array, so one crop/flip draw covers every snippet. Opening
    and decoding are bounded by `spec.decode_timeout_s` (a stuck decoder is this
    video's DecodeError). What the decoder prints from C is captured: logged at
    INFO with its count (not on the console), and its first line added to the
    video's DecodeError; `messages`, when given, receives them as "<file>: <line>"
    (`decode_batch` counts them and hands them to the run's `decoder.log`).
    """
    source = Path(spec.videos_root) / path
    return _guarded(lambda: _load(spec, source, num_frames, rng), spec, source, messages)


def load_action(
    spec: PipelineSpec,
    path: str,
    num_frames: int,
    rng: np.random.Generator,
    actions: np.ndarray,
    action: int,
    duration: float,
    messages: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One Charades training sample: T snippets inside one annotated action -> (frames, multi-hot target).

    `actions` are the video's actions as (S, 3) rows [class, start, end]
    seconds (or flattened), `action` the one to sample (-1: one drawn with
    `rng`, before the snippets), `duration` the video's length in seconds:
    fps = frames / duration places the actions in frames
    (`rlx.data.sampling.action_frames`). Frames are `spec.frame_shape()` as in
    `load_video`; the target (K,) float32 holds every class with an action at
    a sampled frame (`rlx.data.sampling.active_classes`). Raises DecodeError.
    """
    if spec.mode != "train" or not spec.multilabel:
        raise ValueError(f"load_action samples multi-label training data, not mode={spec.mode!r}")
    source = Path(spec.videos_root) / path
    table = np.asarray(actions, dtype=np.float64).reshape(-1, 3)  # (S·3,) -> (S, 3): class, start, end
    if not len(table) or action >= len(table):
        raise ValueError(f"{source}: action {action} of a video with {len(table)} actions")
    return _guarded(
        lambda: _load_action(spec, source, num_frames, rng, table, action, duration), spec, source, messages
    )


def _guarded(load, spec: PipelineSpec, source: Path, messages: list[str] | None = None):
    """`load()` bounded by `spec.decode_timeout_s`, the decoder's C messages captured and logged."""
    failed: DecodeError | None = None
    with capture_messages() as lines:
        try:
            out = call_with_timeout(load, spec.decode_timeout_s, source)
        except DecodeError as err:
            failed = err
    if lines:
        log.info("%d decoder message(s) while decoding %s: %s", len(lines), source, " | ".join(lines[:5]))
        if messages is not None:
            messages.extend(f"{source}: {line}" for line in lines)
    if failed is not None:
        reason = f"{failed.reason} (decoder: {lines[0]})" if lines else failed.reason
        raise DecodeError(failed.path, reason) from failed
    return out


def _frames_in(spec: PipelineSpec, source: Path, num_frames: int) -> int:
    n = num_frames if num_frames > 0 else count_frames(source, spec.modality, spec.decoder)
    if n < 1:
        raise DecodeError(source, "no frames")
    return n


def _load_action(
    spec: PipelineSpec,
    source: Path,
    num_frames: int,
    rng: np.random.Generator,
    table: np.ndarray,
    action: int,
    duration: float,
) -> tuple[np.ndarray, np.ndarray]:
    n = _frames_in(spec, source, num_frames)
    k = action if action >= 0 else int(rng.integers(len(table)))  # data.charades_train=videos: a fresh draw per epoch
    fps = n / duration
    first, stop = sampling.action_frames(table[k, 1], table[k, 2], fps, n)
    idx = sampling.action_train_indices(n, first, stop, spec.num_segments, spec.new_length, rng)[None]  # (1, T, L)
    target = sampling.active_classes(idx, table, fps, n, spec.num_classes)  # (K,)
    return _decode(spec, source, idx, rng), target


def _load(spec: PipelineSpec, source: Path, num_frames: int, rng: np.random.Generator) -> np.ndarray:
    n = _frames_in(spec, source, num_frames)
    return _decode(spec, source, sample_indices(spec, n, rng), rng)


def _decode(spec: PipelineSpec, source: Path, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Frames `idx` (P, T, L) of `source`, decoded and augmented -> `spec.frame_shape()`."""
    # Decoded at stored size: decord's decode-time scaling (read_frames(resize=...)) measured 2-3x
    # slower on 320x240 AVIs (it scales every frame of a keyframe run); crops are resized once instead.
    frames = read_frames(source, idx.ravel(), spec.modality, decoder=spec.decoder)  # (P·T·L, H, W, C)
    t, length = spec.num_segments, spec.new_length
    aug = spec.augment
    if spec.mode == "train":
        return to_model_layout(aug.train(frames, rng), t, length)  # (T·L, S, S, C) -> (T, L·C, S, S)
    if spec.mode == "val":
        return to_model_layout(aug.val(frames), t, length)  # (T·L, S, S, C) -> (T, L·C, S, S)
    crops = aug.test(frames, spec.num_crops)  # (K, P·T·L, S, S, C)
    return views_layout(crops, idx.shape[0], t, length)  # (P·K, T, L·C, S, S)


def views_layout(crops: np.ndarray, positions: int, t: int, length: int) -> np.ndarray:
    """(K, P·T·L, S, S, C) crops of P snippet positions -> (P·K, T, L·C, S, S), position-major."""
    k, _, height, width, channels = crops.shape
    x = crops.reshape(k, positions, t * length, height, width, channels)  # -> (K, P, T·L, S, S, C)
    x = x.transpose(1, 0, 2, 3, 4, 5)  # -> (P, K, T·L, S, S, C)
    x = x.reshape(positions * k, t * length, height, width, channels)  # -> (P·K, T·L, S, S, C)
    return to_model_layout(x, t, length)  # -> (P·K, T, L·C, S, S)
