"""rlx.data.flow.fields: flow values on a known translation, the 8-bit round trip, invalid arguments.

The reference motion: a smooth random texture square on a flat background,
shifted by +2 px in x per frame. TV-L1 runs on 32x32 frames only (it costs
~0.1 s per 96x96 pair on one core).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rlx.data.flow import fields

SIZE, SIDE, DX = 32, 14, 2


def translating_square(n: int = 4, size: int = SIZE, side: int = SIDE, dx: int = DX) -> tuple[np.ndarray, np.ndarray]:
    """(n, S, S, 3) uint8 frames and (n, S, S) masks of a textured square moving +dx px per frame."""
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (side, side)).astype(np.float32), (0, 0), 1.0)
    texture = cv2.normalize(texture, None, 30, 225, cv2.NORM_MINMAX).astype(np.uint8)
    frames = np.full((n, size, size), 128, np.uint8)
    masks = np.zeros((n, size, size), bool)
    top = (size - side) // 2
    for t in range(n):
        left = 3 + dx * t
        frames[t, top : top + side, left : left + side] = texture
        masks[t, top : top + side, left : left + side] = True
    return np.repeat(frames[..., None], 3, axis=-1), masks  # (n, S, S) -> (n, S, S, 3)


def interior(masks: np.ndarray) -> np.ndarray:
    """Masks eroded by 2 px: flow at the square's border mixes with the static background."""
    kernel = np.ones((5, 5), np.uint8)
    return np.stack([cv2.erode(m.astype(np.uint8), kernel).astype(bool) for m in masks])


def mean_flow_on_square(flow: np.ndarray, masks: np.ndarray) -> tuple[float, float]:
    """Mean (x, y) over the square's interior in the earlier frame of each pair; flow (N-1, H, W, 2)."""
    inside = interior(masks[: len(flow)])  # (N-1, H, W)
    return float(flow[..., 0][inside].mean()), float(flow[..., 1][inside].mean())


@pytest.mark.parametrize("algorithm", fields.ALGORITHMS)
def test_compute_flow_recovers_a_known_translation(algorithm: str):
    """In memory both estimators are within 0.01 px on this texture (measured); 0.1 px leaves room."""
    frames, masks = translating_square(4)
    flow = fields.compute_flow(frames, algorithm)
    assert flow.shape == (3, SIZE, SIZE, 2) and flow.dtype == np.float32
    x, y = mean_flow_on_square(flow, masks)
    assert abs(x - DX) < 0.1 and abs(y) < 0.1


def test_quantize_maps_bounds_and_round_trips_within_half_a_level():
    bound = 20.0
    values = np.linspace(-25, 25, 10_001, dtype=np.float32)
    q = fields.quantize_flow(values, bound)
    assert q.dtype == np.uint8
    assert fields.quantize_flow(np.array([-bound, 0.0, bound, -99.0, 99.0]), bound).tolist() == [0, 128, 255, 0, 255]
    back = fields.dequantize_flow(q, bound)
    inside = np.abs(values) <= bound
    # One level is 2*bound/255 px; rounding to the nearest level errs by at most half of it.
    assert np.abs(back[inside] - values[inside]).max() <= bound / 255 + 1e-5
    assert np.allclose(back[~inside], np.sign(values[~inside]) * bound)  # clipped to +-bound
    assert np.all(np.diff(q.astype(int)) >= 0)  # monotone


def test_invalid_arguments_raise():
    frames, _ = translating_square(2)
    with pytest.raises(ValueError, match="algorithm 'lucas_kanade'; expected one of tvl1, farneback"):
        fields.compute_flow(frames, "lucas_kanade")
    with pytest.raises(ValueError, match="at least 2"):
        fields.compute_flow(frames[:1])
    with pytest.raises(ValueError, match="uint8"):
        fields.compute_flow(frames.astype(np.float32))
    with pytest.raises(ValueError, match="bound"):
        fields.quantize_flow(np.zeros(3), bound=0)
