"""`data.decoder: torchcodec` — PyTorch's decoder on the system's FFmpeg shared libraries.

torchcodec (`pip install torchcodec`, matched to the torch version) loads
libavcodec & co. from the system: on Debian/Ubuntu `apt-get install
libavdevice59 libavfilter8` (FFmpeg 5.1 on Debian 12), which `.ci/run`, the
README's setup and the cluster setup commands do. Without them torchcodec
0.17 still imports but cannot open a video; `require` turns that into an
error naming `data.decoder`, before any video is tried.

Decoders open in torchcodec's "approximate" seek mode — frame positions from
the container's index, no scan of the file; MP4/MKV indexes are exact, and
the frames equal PyAV's on every MP4 and MKV tried, while "exact" mode (a
scan per open) measured ~25 % slower on bikes.mp4 — with one FFmpeg thread
(parallelism comes from decode tasks).

**AVI is refused.** AVI stores no presentation timestamps; with B-frames
torchcodec 0.17 orders frames by decode-order timestamps and returns frame
i-1 (packed Xvid: mmaction2 test.avi, UCF-101 v_BabyCrawling_g08_c01.avi) or
i-2 (H.264 in AVI) for frame i, and cannot reach the last frame at all, in
both seek modes and in range decoding (tests/test_data_decode.py pins it).
Whether an AVI has B-frames is only known after a scan, so every AVI is a
RuntimeError naming `data.decoder` rather than silently shifted frames.
MP4/MKV (timestamped containers) are exact.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import numpy as np

from rlx.data.decode.common import DecodeError, VideoInfo, check_file, check_range, resize_frames, short

SEEK_MODE = "approximate"  # see the module doc
_HOW_TO_GET_IT = (  # require's error, {reason} filled in
    "data.decoder = 'torchcodec' but torchcodec cannot be loaded: {reason}. Install FFmpeg's shared libraries "
    "(Debian/Ubuntu: apt-get install libavdevice59 libavfilter8) and `pip install torchcodec`, "
    "or set data.decoder to decord or pyav."
)


@cache
def require() -> Any:
    """torchcodec's `VideoDecoder` class, or a RuntimeError saying how to get it (or to pick another decoder)."""
    try:
        import torchcodec  # noqa: PLC0415  (3.1 s with torch: only its users pay)
        from torchcodec.decoders import VideoDecoder  # noqa: PLC0415
    except Exception as err:  # noqa: BLE001 - ImportError, or RuntimeError from an older torchcodec
        raise RuntimeError(_HOW_TO_GET_IT.format(reason=str(err).strip().splitlines()[0][:300])) from err
    # torchcodec 0.17 imports without FFmpeg (its image decoders need none) and fails at the first video
    # opened, which would turn every video into a failed one: its import records whether FFmpeg loaded.
    if torchcodec.ffmpeg_major_version is None:
        raise RuntimeError(_HOW_TO_GET_IT.format(reason="FFmpeg's shared libraries (libavcodec & co.) were not found"))
    return VideoDecoder


def info(path: str | os.PathLike, verify: bool = False) -> VideoInfo:
    """Frame count, fps and size; decodes frame 0 (and the last frame when `verify`)."""
    decoder = _open(path)
    n = len(decoder)
    frames = _get(decoder, path, sorted({0, n - 1}) if verify else [0])
    rate = decoder.metadata.average_fps
    return VideoInfo(n, float(rate) if rate else float("nan"), int(frames.shape[1]), int(frames.shape[2]))


def read(path: str | os.PathLike, unique: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Frames at sorted distinct `unique` as (N, H, W, 3) RGB, scaled to `size` with OpenCV."""
    decoder = _open(path)
    check_range(path, unique, len(decoder))
    return resize_frames(_get(decoder, path, unique.tolist()), size)


def _open(path: str | os.PathLike) -> Any:
    video_decoder = require()
    check_file(path)
    if str(path).lower().endswith(".avi"):
        raise RuntimeError(
            f"data.decoder = 'torchcodec' cannot decode AVI files exactly ({path}): torchcodec seeks by "
            "decode-order timestamps in AVI and returns an earlier frame when the video has B-frames. "
            "Set data.decoder to decord or pyav for AVI datasets (UCF-101, HMDB-51)."
        )
    try:
        decoder = video_decoder(str(path), seek_mode=SEEK_MODE, num_ffmpeg_threads=1, dimension_order="NHWC")
    except Exception as err:  # noqa: BLE001 - torchcodec raises RuntimeError/ValueError with C++ context
        raise DecodeError(path, f"cannot open: {short(err)}") from err
    if len(decoder) <= 0:
        raise DecodeError(path, "no video frames")
    return decoder


def _get(decoder: Any, path: str | os.PathLike, indices: list[int]) -> np.ndarray:
    try:
        frames = decoder.get_frames_at(indices).data.numpy()  # (N, H, W, 3) uint8, shares the tensor's memory
    except Exception as err:  # noqa: BLE001
        raise DecodeError(path, f"cannot decode frames {indices[:4]}...: {short(err)}") from err
    if frames.ndim != 4 or frames.shape[0] != len(indices):
        raise DecodeError(path, f"decoder returned shape {frames.shape} for {len(indices)} frames")
    return frames
