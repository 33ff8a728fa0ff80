"""What a cached video is: its parameters, its frame size, the source frames, and the two writers.

    jpeg   TSN rawframes: `<id>/img_00001.jpg` ... at short side `short_side`, OpenCV JPEG at `jpeg_quality`
           (4:2:0 chroma, OpenCV's default); read by `rlx.data.decode.read_rawframes`.
    h264   `<id>.mp4`: libx264 at `crf`, a keyframe every `gop` frames (fixed: no scene-cut keyframes), no
           B-frames, x264's `fastdecode` tune, so a seeking decoder reaches any frame after decoding at most
           `gop` frames; sides rounded to even (4:2:0 needs it, as FFmpeg's `scale=-2:256` in mmaction2's
           re-encode).

Frames come from PyAV, decoded in order (the tests' reference decoder), so the
cache holds exactly the source's decodable frames in display order: frame k
of the cache is frame k of the original, and the index's sampled indices mean
the same frames. Resizing: cv2.INTER_AREA when shrinking (it averages, no
aliasing), cv2.INTER_CUBIC when enlarging (UCF-101's 320x240 becomes 341x256,
as FFmpeg's bicubic scaler would).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal, get_args

import av
import cv2
import numpy as np

from rlx.data.decode import RGB_TEMPLATE, DecodeError, rawframes_count, read_rawframes
from rlx.data.decode.common import short

CacheFormat = Literal["jpeg", "h264"]
FORMATS: tuple[str, ...] = get_args(CacheFormat)
CHUNK_FRAMES = 64  # rawframes sources are read this many frames at a time
DEFAULT_FPS = 25.0  # for an H.264 cache of a source without a frame rate (rawframes folders, some AVIs)


@dataclass(frozen=True)
class CacheParams:
    """How videos are cached; stored in `<out>/cache.json` so a resumed job cannot mix two settings."""

    format: CacheFormat = "jpeg"
    short_side: int = 256  # 0 = the stored size
    jpeg_quality: int = 95  # OpenCV's default and denseflow's
    gop: int = 8  # h264: frames per keyframe interval
    crf: int = 18  # h264: constant rate factor (x264: 0 lossless .. 51; 18 ~ visually lossless)

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"cache format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.short_side < 0:
            raise ValueError(f"short side must be >= 0 (0 = stored size), got {self.short_side}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"JPEG quality must be in [1, 100], got {self.jpeg_quality}")
        if self.gop < 1:
            raise ValueError(f"gop must be >= 1, got {self.gop}")
        if not 0 <= self.crf <= 51:
            raise ValueError(f"crf must be in [0, 51], got {self.crf}")

    def as_dict(self) -> dict:
        keys = ("format", "short_side") + (("jpeg_quality",) if self.format == "jpeg" else ("gop", "crf"))
        return {key: getattr(self, key) for key in keys}


def cached_size(height: int, width: int, params: CacheParams) -> tuple[int, int]:
    """(height, width) of the cached frames of a (height, width) source."""
    if params.short_side:
        short_side = params.short_side
        if height <= width:
            height, width = short_side, max(1, round(width * short_side / height))
        else:
            height, width = max(1, round(height * short_side / width)), short_side
    if params.format == "h264":  # yuv420p needs even sides
        height, width = max(2, height + height % 2), max(2, width + width % 2)
    return height, width


def resize_to(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) -> (h, w, 3): area when shrinking, bicubic when enlarging (see module doc)."""
    if frame.shape[:2] == size:
        return frame
    shrink = size[0] * size[1] < frame.shape[0] * frame.shape[1]
    return cv2.resize(frame, (size[1], size[0]), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def source_frames(source: str) -> Iterator[np.ndarray]:
    """Every decodable frame of a video file (PyAV, in order) or an `img_` rawframes folder, (H, W, 3) RGB."""
    if os.path.isdir(source):
        yield from _rawframes(source)
        return
    if not os.path.isfile(source):
        raise DecodeError(source, "file not found")
    try:
        with av.open(source) as container:
            if not container.streams.video:
                raise DecodeError(source, "no video stream")
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1  # one core per task: parallelism comes from tasks
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")
    except DecodeError:
        raise
    except Exception as err:  # noqa: BLE001 - PyAV/FFmpeg errors -> the file's DecodeError
        raise DecodeError(source, f"PyAV cannot decode: {short(err)}") from err


def source_fps(source: str) -> float:
    """The source's frame rate, DEFAULT_FPS when it has none (rawframes, AVIs without a rate)."""
    if os.path.isdir(source):
        return DEFAULT_FPS
    try:
        with av.open(source) as container:
            rate = container.streams.video[0].average_rate
    except Exception:  # noqa: BLE001 - a broken file fails in `source_frames`, with its reason
        return DEFAULT_FPS
    return float(rate) if rate else DEFAULT_FPS


def _rawframes(folder: str) -> Iterator[np.ndarray]:
    count = rawframes_count(folder, "rgb")
    if count == 0:
        raise DecodeError(folder, "no img_*.jpg frames (flow folders are not cached: the cache is for RGB)")
    for start in range(0, count, CHUNK_FRAMES):
        yield from read_rawframes(folder, list(range(start, min(start + CHUNK_FRAMES, count))), "rgb")


# --------------------------------------------------------------------------- writers


def write_jpeg(frames: Iterator[np.ndarray], folder: Path, params: CacheParams) -> int:
    """`img_00001.jpg` ... into `folder` (exists); the number written."""
    count = 0
    for count, frame in enumerate(frames, start=1):
        image = resize_to(frame, cached_size(*frame.shape[:2], params))
        path = folder / RGB_TEMPLATE.format(count)
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        if not cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, params.jpeg_quality]):
            raise OSError(f"cannot write {path}")
    return count


def write_h264(frames: Iterator[np.ndarray], path: Path, fps: float, params: CacheParams) -> int:
    """An H.264 MP4 of `frames` at `path`; the number written. Fixed GOP, no B-frames (see module doc)."""
    count = 0
    with av.open(str(path), "w") as out:
        stream = None
        for frame in frames:
            count += 1
            if stream is None:
                size = cached_size(*frame.shape[:2], params)
                stream = _h264_stream(out, size, fps, params)
            image = resize_to(frame, (stream.height, stream.width))
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                out.mux(packet)
        if stream is not None:
            for packet in stream.encode():  # flush
                out.mux(packet)
    return count


def _h264_stream(out: av.container.OutputContainer, size: tuple[int, int], fps: float, params: CacheParams):
    stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
    stream.height, stream.width = size
    stream.pix_fmt = "yuv420p"
    stream.codec_context.thread_count = 1  # one core per task
    gop = params.gop
    stream.codec_context.options = {
        "crf": str(params.crf),
        "preset": "medium",
        # No CABAC, no deblocking: measured 1.4x the train path's videos/s with decord for 11 % more bytes.
        "tune": "fastdecode",
        "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0",
    }
    return stream


def h264_frame_count(path: Path) -> int:
    """Frames of a finished H.264 cache file, from its MP4 header (exact: one sample per frame)."""
    with av.open(str(path)) as container:
        return int(container.streams.video[0].frames)
