"""One video -> model input: its random generator, the frames to sample, decoding and augmentation.

Randomness: each video's generator is seeded from (seed, epoch, crc32(video
id)) — reproducible for a seed, fresh every epoch, independent of which task
or worker decodes the video and of batch composition. It draws the segment
starts first, then the crop and flip.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from rlx.config import Modality
from rlx.data import sampling
from rlx.data.decode import DecodeError, rawframes_count, read_frames, video_info
from rlx.data.pipeline.spec import PipelineSpec
from rlx.data.transforms import to_model_layout


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
