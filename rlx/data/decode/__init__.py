"""Frame readers: video files by the chosen decoder (`data.decoder`), TSN/mmaction2 rawframes by OpenCV.

One function per question, whatever the backend: `read_frames` (a video
file or a rawframes folder), `read_video_frames`, `video_info`,
`verify_video`. The backend is named by `decoder`, one of
`rlx.config.Decoder`; one module each:

    decord_backend      decord 0.6.0 (bundled FFmpeg 4.1), with its AVI/last-frame/width workarounds
    torchcodec_backend  torchcodec on the system's FFmpeg libraries (imported only when chosen)
    pyav_backend        PyAV (bundled FFmpeg 8.1), decoded in order: the tests' reference
    rawframes           jpg folders, OpenCV
    timeout             the per-video bound that turns a stuck decoder into a DecodeError
    messages            what decoders print from C to stderr, captured per video (logged, not printed)

Every backend returns frames in the requested order as (N, H, W, 3) uint8
RGB, each distinct frame decoded once; tests/test_data_decode*.py check each
against PyAV on the real clips. Every failure to read a file becomes a
`DecodeError` carrying the path, so a data pipeline can report *which*
video is broken instead of a bare decoder message; a decoder that cannot be
loaded at all is a RuntimeError naming `data.decoder`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import ModuleType
from typing import get_args

import numpy as np

from rlx.config import DataConfig, Decoder
from rlx.data.decode import decord_backend, pyav_backend, torchcodec_backend
from rlx.data.decode.common import DecodeError, Resize, VideoInfo, as_indices, target_size
from rlx.data.decode.messages import capture_messages
from rlx.data.decode.rawframes import (
    FLOW_TEMPLATES,
    MODALITIES,
    RGB_TEMPLATE,
    check_modality,
    rawframes_count,
    read_rawframes,
)
from rlx.data.decode.timeout import call_with_timeout

DECODERS: tuple[str, ...] = get_args(Decoder)
DEFAULT_DECODER: Decoder = DataConfig.decoder  # the config's default, chosen by the data benchmark

__all__ = [
    "DECODERS",
    "DEFAULT_DECODER",
    "FLOW_TEMPLATES",
    "MODALITIES",
    "RGB_TEMPLATE",
    "DecodeError",
    "Resize",
    "VideoInfo",
    "backend",
    "call_with_timeout",
    "capture_messages",
    "check_decoder",
    "rawframes_count",
    "read_frames",
    "read_rawframes",
    "read_video_frames",
    "verify_video",
    "video_info",
]


def backend(decoder: str) -> ModuleType:
    """The module that implements `decoder`; ValueError listing the allowed names otherwise."""
    if decoder == "decord":
        return decord_backend
    if decoder == "torchcodec":
        return torchcodec_backend
    if decoder == "pyav":
        return pyav_backend
    raise ValueError(f"data.decoder must be one of {DECODERS}, got {decoder!r}")


def check_decoder(decoder: str) -> None:
    """Fail now, not in the first decode task, when `decoder` is unknown or cannot be loaded here."""
    if backend(decoder) is torchcodec_backend:
        torchcodec_backend.require()


def video_info(path: str | os.PathLike, decoder: str = DEFAULT_DECODER) -> VideoInfo:
    """Frame count, fps and frame size; decodes frame 0 so a file that opens but cannot decode fails here."""
    return backend(decoder).info(path)


def verify_video(path: str | os.PathLike, decoder: str = DEFAULT_DECODER) -> VideoInfo:
    """Like `video_info` but also decodes the last frame: what `probe_index` calls.

    A truncated file whose container still lists every frame fails here, not
    in the middle of training.
    """
    return backend(decoder).info(path, verify=True)


def read_video_frames(
    path: str | os.PathLike, indices: Sequence[int], resize: Resize = None, decoder: str = DEFAULT_DECODER
) -> np.ndarray:
    """Frames `indices` of a video as (N, H, W, 3) uint8 RGB, in the requested order.

    Indices may repeat and come unsorted; each distinct frame is decoded once,
    in increasing order. `resize` is a short side (aspect kept) or an exact
    (height, width): decord scales while decoding, the others with OpenCV's
    bicubic after.
    """
    wanted = as_indices(indices)
    reader = backend(decoder)
    unique, inverse = np.unique(wanted, return_inverse=True)
    return reader.read(path, unique, target_size(path, resize))[inverse]  # (N, H, W, 3)


def read_frames(
    source: str | os.PathLike,
    indices: Sequence[int],
    modality: str = "rgb",
    resize: Resize = None,
    decoder: str = DEFAULT_DECODER,
) -> np.ndarray:
    """Frames of a video file (by `decoder`) or a rawframes folder (OpenCV), by what `source` is."""
    check_modality(modality)
    if os.path.isdir(source):
        if resize is not None:
            raise ValueError("resize is only supported for video files (rawframes are read at stored size)")
        return read_rawframes(source, indices, modality)
    if modality != "rgb":
        raise ValueError(f"{source} is a video file: flow must be read from a flow_x_/flow_y_ folder")
    return read_video_frames(source, indices, resize=resize, decoder=decoder)
