"""`data.decoder: pyav` — PyAV (bundled FFmpeg 8.1), the reference decoder of the tests.

Frames are decoded in order from the start up to the last wanted frame and
only the wanted ones converted to RGB: no seeking, so the frames are PyAV's
own by construction, whatever the container (AVI without presentation
timestamps included). The price is decoding every frame before the last
wanted one, which the data benchmark measures against the seeking backends.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from rlx.data.decode.common import DecodeError, VideoInfo, check_file, check_range, resize_frames, short


def info(path: str | os.PathLike, verify: bool = False) -> VideoInfo:
    """Frame count, fps and size; decodes frame 0. The count is the header's, or, when `verify` (or the
    header has none), the frames that actually decode: every frame is decoded, so a file truncated under
    its header reports what survives (as decord, which rebuilds the index from the packets it finds)."""
    n, fps = _header(path, count=not verify)
    first = read_from_start(path, [0])
    if verify:
        n = _count_frames(path)
    return VideoInfo(n, fps, int(first.shape[1]), int(first.shape[2]))


def read(path: str | os.PathLike, unique: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Frames at sorted distinct `unique` as (N, H, W, 3) RGB, scaled to `size` with OpenCV."""
    check_range(path, unique, _header(path)[0])
    return resize_frames(read_from_start(path, unique.tolist()), size)


def read_from_start(path: str | os.PathLike, unique: Sequence[int]) -> np.ndarray:
    """Decode from the start up to the last wanted frame (display order), keeping the wanted ones."""
    keep = set(unique)
    found: dict[int, np.ndarray] = {}
    # One swscale context for the video's frames: `frame.to_ndarray(format=...)` builds a new one per frame,
    # a third of decoding a 64 px synthetic clip (6.1 -> 4.0 ms for 8 of its 40 frames, bit-identical).
    rgb = VideoReformatter()
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            for index, frame in enumerate(container.decode(stream)):
                if index in keep:
                    found[index] = rgb.reformat(frame, format="rgb24").to_ndarray()
                if index >= unique[-1]:
                    break
    except Exception as err:  # noqa: BLE001 - PyAV/FFmpeg errors -> the file's DecodeError
        raise DecodeError(path, f"PyAV cannot decode: {short(err)}") from err
    if len(found) != len(keep):
        raise DecodeError(path, f"stream ended before frame {unique[-1]}")
    return np.stack([found[i] for i in unique])


def _count_frames(path: str | os.PathLike) -> int:
    """Frames of a stream whose header has no count (MKV, WebM): decoded, not converted."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            return sum(1 for _ in container.decode(stream))
    except Exception as err:  # noqa: BLE001
        raise DecodeError(path, f"PyAV cannot decode: {short(err)}") from err


def _header(path: str | os.PathLike, count: bool = True) -> tuple[int, float]:
    """(frame count, fps) from the container; the count is decoded when the header has none (and `count`)."""
    check_file(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DecodeError(path, "no video stream")
            stream = container.streams.video[0]
            n, rate = int(stream.frames), stream.average_rate
    except DecodeError:
        raise
    except Exception as err:  # noqa: BLE001 - PyAV/FFmpeg errors -> the file's DecodeError
        raise DecodeError(path, f"cannot open: {short(err)}") from err
    return (n if n > 0 or not count else _count_frames(path)), (float(rate) if rate else float("nan"))
