"""Flow fields: TV-L1 / Farneback between consecutive frames, and their 8-bit quantisation.

Quantisation (`quantize_flow`), exactly:  q = rint((clip(f, -b, b) + b) * 255 / (2b))
    0 <-> -bound,  255 <-> +bound,  zero flow -> 127.5 -> 128 (round half to even);
    one level is 2b/255 px (0.157 px at b = 20), so a round trip through
    `dequantize_flow` (f = q * 2b/255 - b) is off by at most b/255 (half a
    level) inside [-b, b]. JPEG compression (quality 95) adds a little more.

Flow is computed on grayscale frames: TV-L1 (`cv2.optflow.DualTVL1OpticalFlow`,
the TSN choice, CPU, default parameters) or Farneback (much faster, rougher).
Channel 0 is x (positive = rightwards), channel 1 is y (positive = downwards):
frame_t(y, x) ~ frame_t+1(y + fy, x + fx).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, get_args

import cv2
import numpy as np

FlowAlgorithm = Literal["tvl1", "farneback"]
ALGORITHMS: tuple[str, ...] = get_args(FlowAlgorithm)
DEFAULT_BOUND = 20.0


def compute_flow(frames: np.ndarray, algorithm: str = "tvl1") -> np.ndarray:
    """Flow between consecutive frames: (N, H, W, 3) uint8 RGB -> (N-1, H, W, 2) float32 (x, y) in px."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (N, H, W, 3) uint8 RGB, got {frames.shape} {frames.dtype}")
    if len(frames) < 2:
        raise ValueError(f"need at least 2 frames for flow, got {len(frames)}")
    return flow_between(to_gray(frames), algorithm)


def to_gray(frames: np.ndarray) -> list[np.ndarray]:
    """(N, H, W, 3) RGB -> N arrays (H, W) uint8."""
    return [cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY) for frame in frames]


def flow_between(grays: Sequence[np.ndarray], algorithm: str) -> np.ndarray:
    """(N-1, H, W, 2) float32 flow between consecutive grayscale frames."""
    estimate = estimator(algorithm)
    pairs = zip(grays[:-1], grays[1:], strict=True)
    return np.stack([estimate(a, b) for a, b in pairs]).astype(np.float32, copy=False)


def estimator(algorithm: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """One flow function per call: the TV-L1 object keeps state and is not shared across threads.

    An unknown `algorithm` raises ValueError (what `extract_videos` checks before any work).
    """
    if algorithm == "tvl1":
        tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
        return lambda prev, nxt: tvl1.calc(prev, nxt, None)
    if algorithm == "farneback":
        # OpenCV's documented example parameters (3-level pyramid, 15 px window).
        return lambda prev, nxt: cv2.calcOpticalFlowFarneback(prev, nxt, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    raise ValueError(f"unknown flow algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}")


def quantize_flow(flow: np.ndarray, bound: float = DEFAULT_BOUND) -> np.ndarray:
    """Clip to [-bound, bound] and map linearly to uint8: 0 <-> -bound, 255 <-> +bound, 0 flow -> 128."""
    check_bound(bound)
    scaled = (np.clip(flow, -bound, bound) + bound) * (255.0 / (2.0 * bound))
    return np.rint(scaled).astype(np.uint8)


def dequantize_flow(quantized: np.ndarray, bound: float = DEFAULT_BOUND) -> np.ndarray:
    """Inverse of `quantize_flow` (up to half a level, b/255 px): uint8 -> float32 px."""
    check_bound(bound)
    return (quantized.astype(np.float32) * (2.0 * bound / 255.0) - bound).astype(np.float32)


def check_bound(bound: float) -> None:
    """ValueError unless the quantisation bound is positive."""
    if not bound > 0:
        raise ValueError(f"bound must be > 0, got {bound}")
