"""rlx.data.sampling: TSN segment sampling and Charades clips, against hand-computed tables.

Random training draws are pinned with stub generators that always pick the
first (`LowRng`) or last (`HighRng`) start of a segment, so even the random
rule has written-out expected arrays; property checks then run it with real
seeded generators over many video lengths.
"""

from __future__ import annotations

import numpy as np
import pytest

from rlx.data import sampling


class LowRng:
    """Stands in for numpy.random.Generator: integers(low, high) -> low (first start of each segment)."""

    def integers(self, low, high):
        return np.zeros_like(np.asarray(high)) + low


class HighRng:
    """integers(low, high) -> high - 1 (last start of each segment)."""

    def integers(self, low, high):
        return np.asarray(high) - 1


# --------------------------------------------------------------------------- segments


@pytest.mark.parametrize(
    "num_frames, num_segments, new_length, expected",
    [
        (20, 4, 1, [[0, 5], [5, 10], [10, 15], [15, 20]]),
        (10, 3, 1, [[0, 3], [3, 6], [6, 10]]),  # 10/3: edges 0, 3, 6, 10
        (14, 3, 5, [[0, 3], [3, 6], [6, 10]]),  # n' = 14 - 5 + 1 = 10: same starts as above
        (3, 8, 1, [[0, 0], [0, 0], [0, 1], [1, 1], [1, 1], [1, 2], [2, 2], [2, 3]]),  # n' < T: empty segments
        (4, 2, 10, [[0, 0], [0, 1]]),  # shorter than a snippet: n' = 1
    ],
)
def test_segment_bounds(num_frames, num_segments, new_length, expected):
    np.testing.assert_array_equal(sampling.segment_bounds(num_frames, num_segments, new_length), expected)


# --------------------------------------------------------------------------- training


@pytest.mark.parametrize(
    "num_frames, num_segments, new_length, rng, expected",
    [
        (20, 4, 1, LowRng(), [[0], [5], [10], [15]]),
        (20, 4, 1, HighRng(), [[4], [9], [14], [19]]),
        (10, 3, 1, HighRng(), [[2], [5], [9]]),
        # flow-like snippets: n = 22, L = 3 -> n' = 20, same segments as n = 20, L = 1
        (22, 4, 3, HighRng(), [[4, 5, 6], [9, 10, 11], [14, 15, 16], [19, 20, 21]]),
        # n' = 3 < T = 8: empty segments give their lower bound, so starts repeat in order
        (3, 8, 1, HighRng(), [[0], [0], [0], [1], [1], [1], [2], [2]]),
        # n = 12, L = 10: n' = 3, segments [0, 1) and [1, 3); the last start 2 reaches frame 11 exactly
        (12, 2, 10, HighRng(), [list(range(0, 10)), list(range(2, 12))]),
        # n = 5 < L = 10: one start (0), frames past the end repeat the last frame
        (5, 2, 10, HighRng(), [[0, 1, 2, 3, 4, 4, 4, 4, 4, 4]] * 2),
    ],
)
def test_train_indices_table(num_frames, num_segments, new_length, rng, expected):
    out = sampling.train_indices(num_frames, num_segments, new_length, rng)
    assert out.shape == (num_segments, new_length)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("new_length", [1, 10])
def test_train_indices_properties(new_length):
    """In its segment, in order, consecutive within a snippet, inside the video — over many lengths and seeds."""
    for num_frames in [1, 2, 5, 7, 8, 9, 15, 16, 17, 33, 100, 257]:
        for num_segments in [1, 3, 8, 12]:
            bounds = sampling.segment_bounds(num_frames, num_segments, new_length)
            for seed in range(5):
                out = sampling.train_indices(num_frames, num_segments, new_length, np.random.default_rng(seed))
                starts = out[:, 0]
                assert np.all(starts >= bounds[:, 0])
                assert np.all(starts < np.maximum(bounds[:, 1], bounds[:, 0] + 1))
                assert np.all(np.diff(starts) >= 0)
                assert out.min() >= 0 and out.max() <= num_frames - 1
                steps = np.diff(out, axis=1)
                assert np.all((steps == 1) | ((steps == 0) & (out[:, 1:] == num_frames - 1)))


def test_train_indices_cover_every_start():
    """Over many draws every valid start is used (TSN's floor-sized segments never reach the last n' mod T)."""
    rng = np.random.default_rng(0)
    seen = {int(s) for _ in range(400) for s in sampling.train_indices(23, 4, 1, rng)[:, 0]}
    assert seen == set(range(23))


def test_train_indices_seeded_generator_is_deterministic():
    a = sampling.train_indices(300, 8, 10, np.random.default_rng(7))
    b = sampling.train_indices(300, 8, 10, np.random.default_rng(7))
    c = sampling.train_indices(300, 8, 10, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# --------------------------------------------------------------------------- test / centre views


# Hand-laid tables (one row per group / clip): kept out of the formatter.
# fmt: off
@pytest.mark.parametrize(
    "num_frames, num_segments, new_length, num_groups, expected_starts",
    [
        # segment width 5: lo + ⌊5·(2g + 1)/8⌋ = lo + 0, 1, 3, 4
        (20, 4, 1, 4, [[0, 5, 10, 15], [1, 6, 11, 16], [3, 8, 13, 18], [4, 9, 14, 19]]),
        # G = 1 is TSN's centre: tick = 5, int(2.5 + 5k)
        (20, 4, 1, 1, [[2, 7, 12, 17]]),
        # flow: n = 30, L = 10 -> n' = 21, segments of 7: lo + 3 (TSN: int(3.5 + 7k), the same)
        (30, 3, 10, 1, [[3, 10, 17]]),
        # n' = 6 < T = 8: segments [0,0) [0,1) [1,2) [2,3) [3,3) [3,4) [4,5) [5,6); empty ones give lo
        (6, 8, 1, 1, [[0, 0, 1, 2, 3, 3, 4, 5]]),
        # UCF-like: 165 frames, T = 8, G = 4. Edges ⌊165k/8⌋ = 0 20 41 61 82 103 123 144 165,
        # widths 20 21 20 21 21 20 21 21; offsets ⌊w(2g+1)/8⌋: w=20 -> 2 7 12 17, w=21 -> 2 7 13 18
        (165, 8, 1, 4, [
            [2, 22, 43, 63, 84, 105, 125, 146],
            [7, 27, 48, 68, 89, 110, 130, 151],
            [12, 33, 53, 74, 95, 115, 136, 157],
            [17, 38, 58, 79, 100, 120, 141, 162],
        ]),
    ],
)
# fmt: on
def test_test_starts_table(num_frames, num_segments, new_length, num_groups, expected_starts):
    starts = sampling.test_starts(num_frames, num_segments, new_length, num_groups)
    np.testing.assert_array_equal(starts, expected_starts)


def test_test_indices_snippets_and_shape():
    out = sampling.test_indices(30, 3, 10, num_groups=1)
    assert out.shape == (1, 3, 10)
    np.testing.assert_array_equal(out[0], [range(3, 13), range(10, 20), range(17, 27)])


def test_test_indices_shorter_than_snippet_repeat_last_frame():
    indices = sampling.test_indices(5, 3, 10, num_groups=1)[0]  # (T, L)
    np.testing.assert_array_equal(indices, [[0, 1, 2, 3, 4, 4, 4, 4, 4, 4]] * 3)


def test_center_indices_is_group_of_one():
    np.testing.assert_array_equal(sampling.center_indices(20, 4, 1), [[2], [7], [12], [17]])


def test_test_groups_lie_in_their_segments_in_order():
    for num_frames in [1, 4, 9, 40, 165, 301]:
        bounds = sampling.segment_bounds(num_frames, 8, 1)
        starts = sampling.test_starts(num_frames, 8, 1, 4)  # (G, T)
        assert np.all(starts >= bounds[:, 0]) and np.all(starts < np.maximum(bounds[:, 1], bounds[:, 0] + 1))
        assert np.all(np.diff(starts, axis=0) >= 0) and np.all(np.diff(starts, axis=1) >= 0)


# --------------------------------------------------------------------------- Charades clips


# fmt: off
@pytest.mark.parametrize(
    "num_frames, num_clips, clip_len, expected",
    [
        # slack 744 = 1000 - 256: starts ⌊c·744/9⌋
        (1000, 10, 256, [[0, 256], [82, 338], [165, 421], [248, 504], [330, 586],
                         [413, 669], [496, 752], [578, 834], [661, 917], [744, 1000]]),
        (266, 3, 256, [[0, 256], [5, 261], [10, 266]]),
        (256, 2, 256, [[0, 256], [0, 256]]),
        (100, 3, 256, [[0, 100], [0, 100], [0, 100]]),  # shorter than a clip: all clips are the whole video
        (300, 1, 256, [[22, 278]]),  # one clip: centred
    ],
)
# fmt: on
def test_charades_clips_table(num_frames, num_clips, clip_len, expected):
    np.testing.assert_array_equal(sampling.charades_clips(num_frames, num_clips, clip_len), expected)


def test_clip_test_indices_offsets_each_clip():
    out = sampling.clip_test_indices(1000, 4, 1, num_groups=1, num_clips=2, clip_len=256)
    assert out.shape == (2, 1, 4, 1)
    # inside a 256-frame clip the centres are 256·(2k+1)//8 = 32, 96, 160, 224
    np.testing.assert_array_equal(out[:, 0, :, 0], [[32, 96, 160, 224], [776, 840, 904, 968]])


@pytest.mark.parametrize(
    "call",
    [
        lambda: sampling.train_indices(0, 8, 1, np.random.default_rng(0)),
        lambda: sampling.test_indices(10, 0, 1),
        lambda: sampling.test_indices(10, 8, 0),
        lambda: sampling.test_indices(10, 8, 1, num_groups=0),
        lambda: sampling.charades_clips(0),
        lambda: sampling.charades_clips(10, num_clips=0),
    ],
)
def test_invalid_arguments_raise(call):
    with pytest.raises(ValueError):
        call()


# --------------------------------------------------------------------------- Charades actions (training)


# fmt: off
@pytest.mark.parametrize(
    ("start", "end", "fps", "num_frames", "expected"),
    [
        (0.0, 0.6, 25.0, 16, (0, 15)),  # 0.6·25 = 15.000000000000002 in floats: still 15
        (1.02, 2.5, 10.0, 30, (10, 25)),  # ⌊10.2⌋, ⌈25⌉
        (1.01, 1.02, 10.0, 30, (10, 11)),  # shorter than a frame: the frame it falls in
        (2.0, 5.0, 10.0, 30, (20, 30)),  # past the end: clipped to the video
        (3.0, 3.0, 10.0, 30, (29, 30)),  # empty, at the very end: the last frame
    ],
)
# fmt: on
def test_action_frames_table(start, end, fps, num_frames, expected):
    assert sampling.action_frames(start, end, fps, num_frames) == expected


def test_action_train_indices_tile_the_action_only():
    # action [40, 60) of a 100-frame video, T = 4: segments [40,45) [45,50) [50,55) [55,60)
    low = sampling.action_train_indices(100, 40, 60, 4, 1, LowRng())
    high = sampling.action_train_indices(100, 40, 60, 4, 1, HighRng())
    np.testing.assert_array_equal(low[:, 0], [40, 45, 50, 55])
    np.testing.assert_array_equal(high[:, 0], [44, 49, 54, 59])
    # flow, L = 10, action [50, 80): start range 21 -> segments [50,55) [55,60) [60,65) [65,71)
    flow = sampling.action_train_indices(100, 50, 80, 4, 10, HighRng())
    np.testing.assert_array_equal(flow[:, 0], [54, 59, 64, 70])
    assert flow[-1, -1] == 79  # the last snippet ends on the action's last frame


def test_action_shorter_than_a_snippet_runs_on_in_the_video_then_clamps():
    np.testing.assert_array_equal(sampling.action_train_indices(100, 10, 13, 2, 10, LowRng()), [range(10, 20)] * 2)
    at_end = sampling.action_train_indices(100, 95, 98, 1, 10, HighRng())
    np.testing.assert_array_equal(at_end, [[95, 96, 97, 98, 99, 99, 99, 99, 99, 99]])


def test_active_classes_on_a_tiny_annotated_video():
    # 30 frames over 3.0 s: fps 10. Frames: class 0 [0, 15), class 1 [10, 20) and [28, 29), class 2 [25, 30).
    actions = [[0, 0.0, 1.5], [1, 1.0, 2.0], [2, 2.5, 3.0], [1, 2.8, 2.9]]
    hot = lambda frames: sampling.active_classes(np.array(frames), actions, 10.0, 30, 4).tolist()  # noqa: E731
    assert hot([2, 6, 11, 14]) == [1, 1, 0, 0]  # inside action 0, the last two also in class 1's
    assert hot([2, 6, 9, 14]) == [1, 1, 0, 0]
    assert hot([2, 6, 8, 9]) == [1, 0, 0, 0]  # class 1 starts at frame 10: not shown
    assert hot([15, 16, 18]) == [0, 1, 0, 0]  # frame 15 is past class 0's [0, 15)
    assert hot([[20, 21], [28, 29]]) == [0, 1, 1, 0]  # (T, L) indices; class 1 again at 28
    assert hot([22]) == [0, 0, 0, 0]  # a gap between actions: no class
    assert sampling.active_classes(np.array([0]), np.zeros((0, 3)), 10.0, 30, 4).tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("seed", range(5))
def test_action_samples_always_carry_their_own_class(seed):
    rng = np.random.default_rng(seed)
    actions = np.array([[3, 0.31, 0.33], [1, 4.97, 5.2], [0, 1.0, 4.0], [2, 2.0, 2.5]])  # one shorter than a frame
    for cls, start, end in actions:
        first, stop = sampling.action_frames(start, end, 24.0, 120)
        idx = sampling.action_train_indices(120, first, stop, 8, 1, rng)
        assert first <= idx.min() and idx.max() < stop
        assert sampling.active_classes(idx, actions, 24.0, 120, 4)[int(cls)] == 1.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: sampling.action_frames(0.0, 1.0, 0.0, 10),
        lambda: sampling.action_frames(0.0, 1.0, float("nan"), 10),
        lambda: sampling.action_train_indices(10, 5, 5, 2, 1, LowRng()),
        lambda: sampling.action_train_indices(10, 5, 11, 2, 1, LowRng()),
    ],
)
def test_invalid_action_arguments_raise(call):
    with pytest.raises(ValueError):
        call()
