"""`data.decoder: decord` — decord 0.6.0 (bundled FFmpeg 4.1), with the workarounds its seeking needs.

Three decord 0.6.0 facts shape `read` (measured on the clips in
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

Readers decode with one thread: parallelism comes from Ray tasks / probe
processes, and per-reader thread pools would oversubscribe the cores.
"""

from __future__ import annotations

import bisect
import os

import decord
import numpy as np

from rlx.data.decode import pyav_backend
from rlx.data.decode.common import DecodeError, VideoInfo, check_file, check_range, resize_frames, short


def info(path: str | os.PathLike, verify: bool = False) -> VideoInfo:
    """Frame count, fps and size; decodes frame 0 (and the last frame when `verify`)."""
    reader = _open_video(path)
    n = len(reader)
    frames = _frames(reader, path, sorted({0, n - 1}) if verify else [0])
    return VideoInfo(n, _fps(reader), int(frames.shape[1]), int(frames.shape[2]))


def read(path: str | os.PathLike, unique: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Frames at sorted distinct `unique` as (N, H, W, 3) RGB, scaled by decord while decoding to `size`."""
    reader = _open_video(path, size)
    check_range(path, unique, len(reader))
    return _frames(reader, path, unique.tolist(), size)


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
    return resize_frames(pyav_backend.read_from_start(path, unique), size)


def _decode_sorted(reader, unique: list[int], path: str | os.PathLike) -> np.ndarray:
    """Frames at sorted distinct indices, by the strategy that is exact for the container."""
    if str(path).lower().endswith(".avi"):
        return _decode_keyframe_runs(reader, unique, path)
    return _decode_random_access(reader, unique, path)


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
    for start, stop in keyframe_runs(unique, _key_indices(reader)):
        for chunk_start in range(start, stop + 1, _RUN_CHUNK):
            chunk = list(range(chunk_start, min(chunk_start + _RUN_CHUNK, stop + 1)))
            frames = _decode(reader, chunk, path)
            found.update((i, frames[k]) for k, i in enumerate(chunk) if i in keep)
    return np.stack([found[i] for i in unique])


_RUN_CHUNK = 32


def keyframe_runs(unique: list[int], keyframes: list[int]) -> list[tuple[int, int]]:
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
    check_file(path)
    height, width = size or (-1, -1)
    try:
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0), width=width, height=height, num_threads=1)
    except Exception as err:  # noqa: BLE001 - decord's error types are not a stable API
        raise DecodeError(path, f"cannot open: {short(err)}") from err
    if len(reader) <= 0:
        raise DecodeError(path, "no video frames")
    return reader


def _decode(reader, indices: list[int], path: str | os.PathLike) -> np.ndarray:
    try:
        batch = reader.get_batch(indices)
    except Exception as err:  # noqa: BLE001
        raise DecodeError(path, f"cannot decode frames {indices[:4]}...: {short(err)}") from err
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
