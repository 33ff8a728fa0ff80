"""Drawing the synthetic benchmark's clips: class tracks -> (F, S, S, 3) uint8 RGB frames, before encoding.

Every clip has per-video randomness on top of its class's tracks: a smooth
random background texture, distractor shapes and per-frame pixel noise.

Determinism: each clip draws from its own generator seeded with (seed,
class index, clip index) (`clip_rng`), so the output does not depend on
generation order.
"""

from __future__ import annotations

import cv2
import numpy as np

from rlx.data.synthetic.scenes import Colour, Track, class_spec, distractor_tracks

BENCHMARK_VERSION = 1  # bump when the rendering changes: ensure_benchmark caches are keyed by it


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth, dull random texture (S, S, 3) uint8: a 5x5 colour grid upsampled bicubically."""
    grid = rng.uniform(25.0, 115.0, (5, 5, 3)).astype(np.float32)
    texture = cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(texture, 0, 255).astype(np.uint8)


_SHIFT = 4  # cv2 fixed-point bits: sub-pixel positions give smooth motion
_ONE = 1 << _SHIFT


def polygon(kind: str, cx: float, cy: float, r: float) -> np.ndarray:
    """(corners, 2) int32 vertices of a square, diamond or triangle of radius `r` at (cx, cy), in cv2 fixed point."""
    if kind == "square":
        corners = [(-r, -r), (r, -r), (r, r), (-r, r)]
    elif kind == "diamond":
        d = r * 1.35
        corners = [(0, -d), (d, 0), (0, d), (-d, 0)]
    elif kind == "triangle":
        d = r * 1.3
        corners = [(0, -d), (d * 0.866, d * 0.5), (-d * 0.866, d * 0.5)]
    else:
        raise ValueError(f"unknown shape {kind!r}")
    return np.array([[(cx + dx) * _ONE, (cy + dy) * _ONE] for dx, dy in corners], dtype=np.int32)


def _draw(image: np.ndarray, kind: str, cx: float, cy: float, r: float, colour: Colour) -> None:
    """Draw one filled, anti-aliased shape in place."""
    if kind == "circle":
        centre = (int(round(cx * _ONE)), int(round(cy * _ONE)))
        cv2.circle(image, centre, int(round(r * _ONE)), colour, -1, cv2.LINE_AA, _SHIFT)
    else:
        cv2.fillPoly(image, [polygon(kind, cx, cy, r)], colour, cv2.LINE_AA, _SHIFT)


def _render_tracks(background: np.ndarray, tracks: list[Track], rng: np.random.Generator) -> np.ndarray:
    """(F, S, S, 3) uint8: background, tracks drawn in list order, then per-frame Gaussian noise."""
    frames = len(tracks[0].xy) if tracks else 0
    video = np.repeat(background[None], frames, axis=0)  # (S, S, 3) -> (F, S, S, 3)
    for f in range(frames):
        frame = np.ascontiguousarray(video[f])
        for track in tracks:
            if track.visible[f]:
                _draw(frame, track.style.kind, track.xy[f, 0], track.xy[f, 1], track.radius, track.style.colour)
        video[f] = frame
    noise = rng.normal(0.0, 4.0, video.shape)
    return np.clip(video + noise, 0, 255).astype(np.uint8)


def render_clip(name: str, rng: np.random.Generator, frames: int, size: int) -> np.ndarray:
    """The frames (F, S, S, 3) uint8 RGB of one clip of class `name`, before encoding.

    The second class of an order pair is the time reversal of what the first
    class's generator draws from the same `rng`: the design property the
    benchmark rests on, and what tests check exactly.
    """
    spec = class_spec(name)
    background = _background(rng, size)
    tracks = distractor_tracks(rng, frames, size) + spec.make_tracks(rng, frames, size)
    video = _render_tracks(background, tracks, rng)
    return video[::-1].copy() if spec.reverse else video


def clip_rng(seed: int, class_index: int, clip_index: int) -> np.random.Generator:
    """Each clip's own generator: output is independent of generation order."""
    return np.random.default_rng([seed, class_index, clip_index])
