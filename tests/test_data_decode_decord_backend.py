"""rlx.data.decode.decord_backend: the keyframe runs that keep decord decoding consecutively in AVI."""

from __future__ import annotations

from rlx.data.decode.decord_backend import keyframe_runs


def test_keyframe_runs_merge_and_start_at_keyframes() -> None:
    assert keyframe_runs([3, 5, 12, 30], [0, 10, 20]) == [(0, 5), (10, 12), (20, 30)]
    assert keyframe_runs([9, 11], [0, 10]) == [(0, 11)]  # touching runs merge
    assert keyframe_runs([4], []) == [(0, 4)]
    assert keyframe_runs([4], [2]) == [(2, 4)]
