"""What every video backend shares: `DecodeError`, `VideoInfo`, index checks, sizes and resizing."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import NamedTuple

import av
import cv2
import numpy as np

Resize = int | tuple[int, int] | None


class DecodeError(Exception):
    """A video or frame folder that cannot be read; `path` names the file."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        super().__init__(str(path), reason)  # args survive pickling across processes
        self.path = str(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"cannot decode {self.path}: {self.reason}"


class VideoInfo(NamedTuple):
    num_frames: int
    fps: float
    height: int
    width: int


def check_file(path: str | os.PathLike) -> None:
    """The two failures every backend reports the same way."""
    if not os.path.isfile(path):
        raise DecodeError(path, "file not found")
    if os.path.getsize(path) == 0:
        raise DecodeError(path, "empty file (0 bytes)")


def check_range(path: str | os.PathLike, unique: np.ndarray, n: int) -> None:
    """Sorted distinct indices must lie in [0, n)."""
    if n <= 0:
        raise DecodeError(path, "no video frames")
    bad = unique[(unique < 0) | (unique >= n)]
    if bad.size:
        raise DecodeError(path, f"frame index {int(bad[0])} out of range [0, {n})")


def as_indices(indices: Sequence[int]) -> np.ndarray:
    wanted = np.asarray(indices)
    if wanted.ndim != 1 or wanted.size == 0:
        raise ValueError(f"frame indices must be a non-empty 1-D sequence, got shape {wanted.shape}")
    if not np.issubdtype(wanted.dtype, np.integer):
        raise ValueError(f"frame indices must be integers, got dtype {wanted.dtype}")
    return wanted.astype(np.int64)


def target_size(path: str | os.PathLike, resize: Resize) -> tuple[int, int] | None:
    """(height, width) to scale to; a short side needs the stream size, read from the header by PyAV."""
    if resize is None:
        return None
    if isinstance(resize, tuple):
        height, width = resize
        return int(height), int(width)
    height, width = stream_size(path)
    short = int(resize)
    if height <= width:
        return short, max(1, round(width * short / height))
    return max(1, round(height * short / width)), short


def stream_size(path: str | os.PathLike) -> tuple[int, int]:
    try:
        with av.open(str(path)) as container:
            context = container.streams.video[0].codec_context
            return int(context.height), int(context.width)
    except Exception as err:  # noqa: BLE001
        raise DecodeError(path, f"cannot read the frame size: {short(err)}") from err


def resize_frames(frames: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """(N, H, W, 3) -> (N, h, w, 3) with OpenCV's bicubic (FFmpeg's default scaler is bicubic too)."""
    if size is None or frames.shape[1:3] == size:
        return frames
    height, width = size
    return np.stack([cv2.resize(frame, (width, height), interpolation=cv2.INTER_CUBIC) for frame in frames])


def short(err: BaseException) -> str:
    """decord/torchcodec errors carry a timestamp, a source path and a C++ stack; keep the message."""
    lines = str(err).strip().splitlines()
    first = _SOURCE_PREFIX.sub("", lines[0]) if lines else type(err).__name__
    return first[:300]


# decord: "[12:00:01] /src/video_reader.cc:83: "; torchcodec: "SingleStreamDecoder, /src/...cpp:41, "
_SOURCE_PREFIX = re.compile(r"^(\[[\d:]+\] \S+:\d+: |\w+, \S+:\d+, )")
