"""Frame readers: decord for video files, OpenCV for TSN/mmaction2 rawframes.

Every failure to read a file becomes a `DecodeError` carrying the path, so a
data pipeline can report *which* video is broken instead of a bare decord or
FFmpeg message. Readers open files with one decoding thread: parallelism
comes from Ray tasks / probe processes, and per-reader thread pools would
oversubscribe the cores.

Three decord 0.6.0 facts shape `read_video_frames` (measured on the clips in
shared/datasets-meta/videos and on clips the tests write; see
tests/test_data_decode.py):

* **Seeking in AVI returns wrong frames.** decord reaches a non-consecutive
  frame by seeking to its keyframe and skipping frames counted by
  timestamp. With B-frames that count goes wrong in AVI, which stores no
  presentation order: Xvid AVIs with packed B-frames (mmaction2 test.avi,
  UCF-101 v_BabyCrawling_g08_c01.avi) give a stale frame for the last
  frame (frame n-2 for a fresh reader, frame 0 for ``get_batch([0, n-1])``),
  H.264-in-AVI gives neighbours near the end. Decoding *consecutive*
  frames matched PyAV on every AVI tried, so for AVI we request every frame from each
  wanted frame's keyframe on (decord decodes those anyway; we pay only their
  RGB conversion). Other containers use decord's seeking, plus frame n-2
  whenever n-1 is wanted. See also dmlc/decord#195. Known gap: MPEG-4 Part 2
  with *unpacked* B-frames (as FFmpeg's own mpeg4 encoder writes with
  max_b_frames > 0) decodes wrongly in decord even consecutively; the
  UCF-101 sample clips are packed Xvid and unaffected (no HMDB-51 clip was
  available to check its DivX files).
* **Not bit-exact with PyAV on some Xvid clips.** decord bundles FFmpeg 4.1
  (libavcodec 58.35) while PyAV 18 and OpenCV 5 bundle FFmpeg 8.1; their
  MPEG-4 Part 2 decoders differ by at most 2 levels on a handful of pixels
  of some P-frames (2 of the 8 Xvid sample clips). H.264 is bit-exact, and
  OpenCV equals PyAV exactly, so this is the libavcodec version, not colour
  conversion or seeking.
* **Some frame widths fail.** decord raises for frame widths 8, 12, 16, 24,
  48 and 72 px (native or scaled); those frames come from PyAV instead
  (exact), scaled with OpenCV when a size was asked for.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple, get_args

import av
import cv2
import decord
import numpy as np

from rlx.config import Modality

MODALITIES: tuple[str, ...] = get_args(Modality)
RGB_TEMPLATE = "img_{:05d}.jpg"
FLOW_TEMPLATES = ("flow_x_{:05d}.jpg", "flow_y_{:05d}.jpg")

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


# --------------------------------------------------------------------------- videos


def video_info(path: str | os.PathLike) -> VideoInfo:
    """Frame count, fps and frame size; decodes frame 0 so a file that opens but cannot decode fails here."""
    reader = _open_video(path)
    first = _frames(reader, path, [0])
    return VideoInfo(len(reader), _fps(reader), int(first.shape[1]), int(first.shape[2]))


def verify_video(path: str | os.PathLike) -> VideoInfo:
    """Like `video_info` but also decodes the last frame: what `probe_index` calls.

    A truncated file whose container still lists every frame fails here, not
    in the middle of training.
    """
    reader = _open_video(path)
    n = len(reader)
    frames = _frames(reader, path, sorted({0, n - 1}))
    return VideoInfo(n, _fps(reader), int(frames.shape[1]), int(frames.shape[2]))


def read_video_frames(path: str | os.PathLike, indices: Sequence[int], resize: Resize = None) -> np.ndarray:
    """Frames `indices` of a video as (N, H, W, 3) uint8 RGB, in the requested order.

    Indices may repeat and come unsorted; each distinct frame is decoded once,
    in increasing order. `resize` is a short side (aspect kept) or an exact
    (height, width), done by decord while decoding (cheaper than resizing
    full frames afterwards).
    """
    wanted = _as_indices(indices)
    size = _target_size(path, resize)
    reader = _open_video(path, size)
    n = len(reader)
    bad = wanted[(wanted < 0) | (wanted >= n)]
    if bad.size:
        raise DecodeError(path, f"frame index {int(bad[0])} out of range [0, {n})")
    unique, inverse = np.unique(wanted, return_inverse=True)
    return _frames(reader, path, unique.tolist(), size)[inverse]  # (N, H, W, 3)


_DECORD_SIZE_BUG = "must exactly match"


def _frames(reader, path: str | os.PathLike, unique: list[int], size: tuple[int, int] | None = None) -> np.ndarray:
    """Frames at sorted distinct indices from decord; from PyAV where decord cannot lay out the width.

    decord 0.6.0 fails ("DECORDArrayCopyFromTo: The size must exactly match")
    for frame widths 8, 12, 16, 24, 48 and 72 px, native or scaled. PyAV is
    the reference decoder of the tests, so the fallback is exact; a requested
    size is then made with OpenCV's bicubic (FFmpeg's default scaler is bicubic).
    """
    try:
        return _decode_sorted(reader, unique, path)
    except DecodeError as err:
        if _DECORD_SIZE_BUG not in err.reason:
            raise
    frames = _pyav_frames(path, unique)
    if size is None:
        return frames
    height, width = size
    return np.stack([cv2.resize(frame, (width, height), interpolation=cv2.INTER_CUBIC) for frame in frames])


def _pyav_frames(path: str | os.PathLike, unique: list[int]) -> np.ndarray:
    """Decode from the start up to the last wanted frame (display order), keeping the wanted ones."""
    keep = set(unique)
    found: dict[int, np.ndarray] = {}
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            for index, frame in enumerate(container.decode(stream)):
                if index in keep:
                    found[index] = frame.to_ndarray(format="rgb24")
                if index >= unique[-1]:
                    break
    except Exception as err:  # noqa: BLE001 - PyAV/FFmpeg errors -> the file's DecodeError
        raise DecodeError(path, f"PyAV cannot decode: {_short(err)}") from err
    if len(found) != len(keep):
        raise DecodeError(path, f"stream ended before frame {unique[-1]}")
    return np.stack([found[i] for i in unique])


def _decode_sorted(reader, unique: list[int], path: str | os.PathLike) -> np.ndarray:
    """Frames at sorted distinct indices, by the strategy that is exact for the container."""
    if _is_avi(path):
        return _decode_keyframe_runs(reader, unique, path)
    return _decode_random_access(reader, unique, path)


def _is_avi(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(".avi")


def _decode_random_access(reader, unique: list[int], path: str | os.PathLike) -> np.ndarray:
    """decord's own seeking (MP4, MKV, ...: containers whose timestamps it can trust)."""
    decode_list = _with_last_frame_fix(unique, len(reader))
    frames = _decode(reader, decode_list, path)
    return frames[np.searchsorted(np.asarray(decode_list), unique)]


def _decode_keyframe_runs(reader, unique: list[int], path: str | os.PathLike) -> np.ndarray:
    """AVI: decode forward from each index's keyframe, never letting decord skip by timestamp.

    decord reaches a non-consecutive frame by seeking to its keyframe and then
    skipping frames counted by timestamp; AVI indexes frames in decode order
    only, so with B-frames that count goes wrong (H.264-in-AVI: neighbours
    near the end; packed Xvid: the last frame). Asking for every frame from
    the keyframe on makes decord decode consecutively, which matched PyAV on
    every AVI we tried. Costs only the RGB conversion of the frames in
    between: decord decodes them anyway. Runs are fetched `_RUN_CHUNK` frames
    at a time to bound memory.
    """
    keep = set(unique)
    found: dict[int, np.ndarray] = {}
    for start, stop in _keyframe_runs(unique, _key_indices(reader)):
        for chunk_start in range(start, stop + 1, _RUN_CHUNK):
            chunk = list(range(chunk_start, min(chunk_start + _RUN_CHUNK, stop + 1)))
            frames = _decode(reader, chunk, path)
            found.update((i, frames[k]) for k, i in enumerate(chunk) if i in keep)
    return np.stack([found[i] for i in unique])


_RUN_CHUNK = 32


def _keyframe_runs(unique: list[int], keyframes: list[int]) -> list[tuple[int, int]]:
    """Merged [keyframe(i), i] ranges covering every sorted index."""
    runs: list[list[int]] = []
    for index in unique:
        start = keyframes[bisect.bisect_right(keyframes, index) - 1] if keyframes and keyframes[0] <= index else 0
        if runs and start <= runs[-1][1] + 1:
            runs[-1][1] = index
        else:
            runs.append([start, index])
    return [(a, b) for a, b in runs]


def _key_indices(reader) -> list[int]:
    try:
        return sorted(int(k) for k in np.asarray(reader.get_key_indices()).ravel())
    except Exception:  # noqa: BLE001 - without an index, decode from the start
        return [0]


def _with_last_frame_fix(sorted_indices: list[int], n: int) -> list[int]:
    """Add frame n-2 before n-1 so decord decodes into the last frame (see module doc)."""
    if n >= 2 and sorted_indices and sorted_indices[-1] == n - 1 and (n - 2) not in sorted_indices[-2:]:
        return sorted_indices[:-1] + [n - 2, n - 1]
    return sorted_indices


def _open_video(path: str | os.PathLike, size: tuple[int, int] | None = None):
    """A decord VideoReader; decord raises a zoo (DECORDError, RuntimeError, AssertionError) -> DecodeError."""
    if not os.path.isfile(path):
        raise DecodeError(path, "file not found")
    if os.path.getsize(path) == 0:
        raise DecodeError(path, "empty file (0 bytes)")
    height, width = size or (-1, -1)
    try:
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0), width=width, height=height, num_threads=1)
    except Exception as err:  # noqa: BLE001 - decord's error types are not a stable API
        raise DecodeError(path, f"cannot open: {_short(err)}") from err
    if len(reader) <= 0:
        raise DecodeError(path, "no video frames")
    return reader


def _decode(reader, indices: list[int], path: str | os.PathLike) -> np.ndarray:
    try:
        batch = reader.get_batch(indices)
    except Exception as err:  # noqa: BLE001
        raise DecodeError(path, f"cannot decode frames {indices[:4]}...: {_short(err)}") from err
    # A global decord bridge (torch, tf) may have been set by someone else.
    frames = batch.asnumpy() if hasattr(batch, "asnumpy") else np.asarray(batch)
    if frames.ndim != 4 or frames.shape[0] != len(indices):
        raise DecodeError(path, f"decoder returned shape {frames.shape} for {len(indices)} frames")
    return frames


def _fps(reader) -> float:
    try:
        return float(reader.get_avg_fps())
    except Exception:  # noqa: BLE001 - a missing rate is not a reason to reject the video
        return float("nan")


def _target_size(path: str | os.PathLike, resize: Resize) -> tuple[int, int] | None:
    """(height, width) for decord; a short side needs the stream size, read from the header by PyAV."""
    if resize is None:
        return None
    if isinstance(resize, tuple):
        height, width = resize
        return int(height), int(width)
    height, width = _stream_size(path)
    short = int(resize)
    if height <= width:
        return short, max(1, round(width * short / height))
    return max(1, round(height * short / width)), short


def _stream_size(path: str | os.PathLike) -> tuple[int, int]:
    try:
        with av.open(str(path)) as container:
            context = container.streams.video[0].codec_context
            return int(context.height), int(context.width)
    except Exception as err:  # noqa: BLE001
        raise DecodeError(path, f"cannot read the frame size: {_short(err)}") from err


def _as_indices(indices: Sequence[int]) -> np.ndarray:
    wanted = np.asarray(indices)
    if wanted.ndim != 1 or wanted.size == 0:
        raise ValueError(f"frame indices must be a non-empty 1-D sequence, got shape {wanted.shape}")
    if not np.issubdtype(wanted.dtype, np.integer):
        raise ValueError(f"frame indices must be integers, got dtype {wanted.dtype}")
    return wanted.astype(np.int64)


def _short(err: BaseException) -> str:
    """decord errors carry a timestamp, a source path and a C++ stack; keep the message."""
    lines = str(err).strip().splitlines()
    first = _DECORD_PREFIX.sub("", lines[0]) if lines else type(err).__name__
    return first[:300]


_DECORD_PREFIX = re.compile(r"^\[[\d:]+\] \S+:\d+: ")


# --------------------------------------------------------------------------- rawframes


def read_rawframes(folder: str | os.PathLike, indices: Sequence[int], modality: str) -> np.ndarray:
    """Frames of a TSN/mmaction2 rawframes folder: (N, H, W, 3) RGB or (N, H, W, 2) flow x/y.

    Indices are 0-based, file numbers 1-based (`img_00001.jpg` is frame 0).
    """
    wanted = _as_indices(indices)
    _check_modality(modality)
    unique, inverse = np.unique(wanted, return_inverse=True)
    if unique[0] < 0:
        raise DecodeError(folder, f"frame index {int(unique[0])} is negative")
    images = [_read_rawframe(Path(folder), int(i), modality) for i in unique]
    if len({image.shape for image in images}) > 1:
        raise DecodeError(folder, f"frames differ in size: {sorted({image.shape for image in images})}")
    return np.stack(images)[inverse]  # (N, H, W, 3) rgb or (N, H, W, 2) flow


def rawframes_count(folder: str | os.PathLike, modality: str) -> int:
    """Number of frames in a rawframes folder (flow: x/y pairs; their counts must agree)."""
    _check_modality(modality)
    if not os.path.isdir(folder):
        raise DecodeError(folder, "rawframes folder not found")
    # os.scandir, not glob: HMDB-51 names contain '[' and ']' that glob reads as patterns.
    names = [entry.name for entry in os.scandir(folder)]
    if modality == "rgb":
        return sum(1 for name in names if name.startswith("img_") and name.endswith(".jpg"))
    count_x = sum(1 for name in names if name.startswith("flow_x_") and name.endswith(".jpg"))
    count_y = sum(1 for name in names if name.startswith("flow_y_") and name.endswith(".jpg"))
    if count_x != count_y:
        raise DecodeError(folder, f"{count_x} flow_x images but {count_y} flow_y images")
    return count_x


def _read_rawframe(folder: Path, index: int, modality: str) -> np.ndarray:
    if modality == "rgb":
        bgr = _imread(folder / RGB_TEMPLATE.format(index + 1), cv2.IMREAD_COLOR)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)  # (H, W, 3)
    x, y = (_imread(folder / name.format(index + 1), cv2.IMREAD_GRAYSCALE) for name in FLOW_TEMPLATES)
    if x.shape != y.shape:
        raise DecodeError(folder, f"flow_x/flow_y sizes differ at frame {index}: {x.shape} vs {y.shape}")
    return np.stack([x, y], axis=-1)  # (H, W) x2 -> (H, W, 2)


def _imread(path: Path, flags: int) -> np.ndarray:
    if not path.is_file():
        raise DecodeError(path, "frame image not found")
    image = cv2.imread(str(path), flags)
    if image is None:
        raise DecodeError(path, "OpenCV cannot read the image")
    return image


def _check_modality(modality: str) -> None:
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")


# --------------------------------------------------------------------------- dispatch


def read_frames(
    source: str | os.PathLike, indices: Sequence[int], modality: str = "rgb", resize: Resize = None
) -> np.ndarray:
    """Frames of a video file (decord) or a rawframes folder (OpenCV), by what `source` is."""
    _check_modality(modality)
    if os.path.isdir(source):
        if resize is not None:
            raise ValueError("resize is only supported for video files (rawframes are read at stored size)")
        return read_rawframes(source, indices, modality)
    if modality != "rgb":
        raise ValueError(f"{source} is a video file: flow must be read from a flow_x_/flow_y_ folder")
    return read_video_frames(source, indices, resize=resize)
