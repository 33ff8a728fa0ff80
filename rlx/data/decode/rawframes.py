"""TSN/mmaction2 rawframes folders (`img_00001.jpg`, `flow_x_00001.jpg`/`flow_y_00001.jpg`), read with OpenCV."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import get_args

import cv2
import numpy as np

from rlx.config import Modality
from rlx.data.decode.common import DecodeError, as_indices

MODALITIES: tuple[str, ...] = get_args(Modality)
RGB_TEMPLATE = "img_{:05d}.jpg"
FLOW_TEMPLATES = ("flow_x_{:05d}.jpg", "flow_y_{:05d}.jpg")


def read_rawframes(folder: str | os.PathLike, indices: Sequence[int], modality: str) -> np.ndarray:
    """Frames of a TSN/mmaction2 rawframes folder: (N, H, W, 3) RGB or (N, H, W, 2) flow x/y.

    Indices are 0-based, file numbers 1-based (`img_00001.jpg` is frame 0).
    """
    wanted = as_indices(indices)
    check_modality(modality)
    unique, inverse = np.unique(wanted, return_inverse=True)
    if unique[0] < 0:
        raise DecodeError(folder, f"frame index {int(unique[0])} is negative")
    images = [_read_rawframe(Path(folder), int(i), modality) for i in unique]
    if len({image.shape for image in images}) > 1:
        raise DecodeError(folder, f"frames differ in size: {sorted({image.shape for image in images})}")
    return np.stack(images)[inverse]  # (N, H, W, 3) rgb or (N, H, W, 2) flow


def rawframes_count(folder: str | os.PathLike, modality: str) -> int:
    """Number of frames in a rawframes folder (flow: x/y pairs; their counts must agree)."""
    check_modality(modality)
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


def check_modality(modality: str) -> None:
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
