"""Which frames to read: TSN segment sampling, Charades actions (training) and test clips.

Pure functions of the frame count (and, for training, a `numpy.random.Generator`
passed in), so every rule is checked with hand-computed tables in
tests/test_data_sampling.py and the pipeline stays reproducible.

Vocabulary (TSN, Wang et al. 2016):
  n  frames in the video, T segments (`num_segments`), L snippet length
  (`new_length`: 1 RGB frame, or 10 consecutive flow fields).
  A snippet starting at `s` covers frames s, s+1, …, s+L-1.
  Valid starts are 0 … n-L, so the *start range* has n' = n - L + 1 positions
  (at least 1, see "short videos"). Segment k of the start range is the
  half-open interval [⌊k·n'/T⌋, ⌊(k+1)·n'/T⌋): the segments tile the whole
  range, none is more than one frame longer than another.

Rules
  train   one uniformly random start inside each segment (one draw per segment).
  test    group g of G takes the start at relative position (g + ½)/G inside
          every segment: lo + ⌊w·(2g + 1)/(2G)⌋ for segment [lo, lo + w).
          G = 1 is TSN's centre view (`center_indices`, the validation
          view); G = 4 is the paper's test.
  snippet start + arange(L), each frame index clamped to n - 1.

Short videos (never an error while n ≥ 1):
  * n' < T (fewer start positions than segments): some segments are empty
    (⌊k·n'/T⌋ == ⌊(k+1)·n'/T⌋); an empty segment contributes its lower bound
    ⌊k·n'/T⌋, so starts repeat, stay in order and are spread evenly. In
    training such a segment has no randomness.
  * n < L (a video shorter than one snippet): n' is taken as 1, every snippet
    starts at 0 and frames past the end repeat the last frame n - 1 (the
    same clamp TSN applies with `if p < num_frames: p += 1`).

Charades training (the paper trains "on the actions extracted from the
training videos"): an annotated action [start, end] seconds becomes the
frames [⌊start·fps⌋, ⌈end·fps⌉) (at least one, inside the video) with
fps = n / duration (the csv's `length`: the annotation's time axis laid over
the frames there are, whatever the media's own rate), and the TSN train rule
runs on those frames only (`action_train_indices`). The sample's multi-hot
target is every class with an action containing a sampled frame
(`active_classes`, the same frame mapping): the action's own class always,
plus the actions that co-occur with it where the snippets were taken.

Differences from TSN's reference code, on purpose: TSN trains with segments
of length ⌊n'/T⌋ laid from 0 (the last n' mod T starts are never sampled) and
falls back to sorted random starts for short videos; here the segments cover
every start and the short-video rule is deterministic; TSN places test
starts at int(tick/2 + tick·k) with a float tick = n'/T, here they are placed
inside the integer segments, so train and test share one definition of
"segment". When T divides n' both are identical to TSN; otherwise segments
and test starts can differ from TSN's by one frame.
"""

from __future__ import annotations

import numpy as np


def _check(num_frames: int, num_segments: int, new_length: int) -> None:
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if num_segments < 1:
        raise ValueError(f"num_segments must be >= 1, got {num_segments}")
    if new_length < 1:
        raise ValueError(f"new_length must be >= 1, got {new_length}")


def num_starts(num_frames: int, new_length: int) -> int:
    """n' = n - L + 1 positions where a whole snippet fits; 1 when the video is shorter than a snippet."""
    return max(num_frames - new_length + 1, 1)


def segment_bounds(num_frames: int, num_segments: int, new_length: int = 1) -> np.ndarray:
    """(T, 2) half-open [lo, hi) start ranges of the T segments; lo == hi for an empty segment."""
    _check(num_frames, num_segments, new_length)
    starts = num_starts(num_frames, new_length)
    edges = np.arange(num_segments + 1, dtype=np.int64) * starts // num_segments  # (T+1,)
    return np.stack([edges[:-1], edges[1:]], axis=1)  # (T, 2)


def snippets(starts: np.ndarray, new_length: int, num_frames: int) -> np.ndarray:
    """Frame indices start + arange(L), clamped to the last frame: (...,) starts -> (..., L)."""
    frames = np.asarray(starts, dtype=np.int64)[..., None] + np.arange(new_length, dtype=np.int64)  # (..., L)
    return np.minimum(frames, num_frames - 1)


def train_starts(num_frames: int, num_segments: int, new_length: int, rng: np.random.Generator) -> np.ndarray:
    """(T,) snippet starts: one uniform draw inside each segment (an empty segment gives its lower bound)."""
    bounds = segment_bounds(num_frames, num_segments, new_length)  # (T, 2)
    widths = np.maximum(bounds[:, 1] - bounds[:, 0], 1)
    return bounds[:, 0] + rng.integers(0, widths)  # one draw per segment, vectorised


def train_indices(num_frames: int, num_segments: int, new_length: int, rng: np.random.Generator) -> np.ndarray:
    """(T, L) frame indices of one training sample (TSN: a random snippet in each segment)."""
    return snippets(train_starts(num_frames, num_segments, new_length, rng), new_length, num_frames)


def test_starts(num_frames: int, num_segments: int, new_length: int, num_groups: int = 4) -> np.ndarray:
    """(G, T) snippet starts: group g at relative position (g + ½)/G of every segment.

    Segment [lo, hi) of width w gives lo + ⌊w·(2g + 1)/(2G)⌋ (integer
    arithmetic, no float rounding); an empty segment gives lo. Every start
    lies in its `segment_bounds` segment, like the training draws.
    """
    if num_groups < 1:
        raise ValueError(f"num_groups must be >= 1, got {num_groups}")
    bounds = segment_bounds(num_frames, num_segments, new_length)  # (T, 2)
    lo, width = bounds[None, :, 0], (bounds[:, 1] - bounds[:, 0])[None, :]  # (1, T) each
    g = np.arange(num_groups, dtype=np.int64)[:, None]  # (G, 1)
    return lo + width * (2 * g + 1) // (2 * num_groups)  # (G, T)


def test_indices(num_frames: int, num_segments: int, new_length: int, num_groups: int = 4) -> np.ndarray:
    """(G, T, L) frame indices of the G test groups (the paper: G = 4 equally spaced positions)."""
    starts = test_starts(num_frames, num_segments, new_length, num_groups)  # (G, T)
    return snippets(starts, new_length, num_frames)  # (G, T, L)


def center_indices(num_frames: int, num_segments: int, new_length: int) -> np.ndarray:
    """(T, L) the centre snippet of every segment: one deterministic view for validation."""
    return test_indices(num_frames, num_segments, new_length, num_groups=1)[0]


def charades_clips(num_frames: int, num_clips: int = 10, clip_len: int = 256) -> np.ndarray:
    """(num_clips, 2) half-open [start, stop) frame ranges of equally spaced test clips.

    Clip c starts at ⌊c·(n - len)/(num_clips - 1)⌋ (first clip at 0, last ending
    at n). A video shorter than `clip_len` gives num_clips copies of [0, n):
    the clips overlap completely rather than reaching past the end. One clip
    is centred: start ⌊(n - len)/2⌋.
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if num_clips < 1 or clip_len < 1:
        raise ValueError(f"num_clips and clip_len must be >= 1, got {num_clips}, {clip_len}")
    length = min(clip_len, num_frames)
    slack = num_frames - length  # frames the clips can move over
    c = np.arange(num_clips, dtype=np.int64)
    starts = c * slack // (num_clips - 1) if num_clips > 1 else np.array([slack // 2], dtype=np.int64)
    return np.stack([starts, starts + length], axis=1)  # (num_clips, 2)


def clip_test_indices(
    num_frames: int, num_segments: int, new_length: int, num_groups: int = 1, num_clips: int = 10, clip_len: int = 256
) -> np.ndarray:
    """(num_clips, G, T, L) test indices inside each Charades clip: the TSN test rule applied per clip."""
    clips = charades_clips(num_frames, num_clips, clip_len)  # (C, 2)
    per_clip = [start + test_indices(int(stop - start), num_segments, new_length, num_groups) for start, stop in clips]
    return np.stack(per_clip)  # (C, G, T, L)


# Tolerance in frames when mapping seconds to frames: 0.6 s at 25 fps is 15.000000000000002 frames, not 16.
_EPS = 1e-6


def action_frames(start: float, end: float, fps: float, num_frames: int) -> tuple[int, int]:
    """Half-open [first, stop) frames of an action [start, end] in seconds: ⌊start·fps⌋ .. ⌈end·fps⌉.

    Frame i is shown from i/fps to (i+1)/fps. Clipped to the video and never
    empty: an action shorter than a frame, or at the very end, keeps one frame.
    """
    if num_frames < 1 or not fps > 0:
        raise ValueError(f"num_frames must be >= 1 and fps > 0, got {num_frames}, {fps}")
    first = min(max(int(np.floor(start * fps + _EPS)), 0), num_frames - 1)
    stop = min(max(int(np.ceil(end * fps - _EPS)), first + 1), num_frames)
    return first, stop


def action_train_indices(
    num_frames: int, first: int, stop: int, num_segments: int, new_length: int, rng: np.random.Generator
) -> np.ndarray:
    """(T, L) frame indices of a training sample inside frames [first, stop): the TSN rule on the action alone.

    The T segments tile the action's start range; a snippet that does not fit
    in an action shorter than L frames runs on past `stop` (real frames of the
    video), and is clamped at the video's last frame only.
    """
    if not 0 <= first < stop <= num_frames:
        raise ValueError(f"action frames [{first}, {stop}) are not inside a video of {num_frames} frames")
    starts = first + train_starts(stop - first, num_segments, new_length, rng)  # (T,)
    return snippets(starts, new_length, num_frames)  # (T, L)


def active_classes(
    indices: np.ndarray, actions: np.ndarray, fps: float, num_frames: int, num_classes: int
) -> np.ndarray:
    """(K,) float32 multi-hot: the classes with an action that holds a frame of `indices`.

    `actions` are (S, 3) rows [class, start, end] in seconds (or flattened),
    mapped to frames as in `action_frames`; an action none of the sampled
    frames falls in is not in the target (the sample does not show it).
    """
    frames = np.unique(np.asarray(indices, dtype=np.int64))
    target = np.zeros(num_classes, dtype=np.float32)
    for cls, start, end in np.asarray(actions, dtype=np.float64).reshape(-1, 3):
        first, stop = action_frames(start, end, fps, num_frames)
        if np.any((frames >= first) & (frames < stop)):
            target[int(cls)] = 1.0
    return target
