"""rlx.data.synthetic.scenes: the classes, their families and order pairs, and the tracks each class draws."""

from __future__ import annotations

import numpy as np
import pytest

from rlx.data.synthetic import scenes


def _pair_tracks(name: str, n: int, frames: int = 40, size: int = 96) -> list[list[scenes.Track]]:
    spec = scenes.class_spec(name)
    return [spec.make_tracks(np.random.default_rng(k), frames, size) for k in range(n)]


def test_classes_have_family_prefixes_and_pairs():
    names = scenes.CLASS_NAMES
    families = [scenes.class_family(n) for n in names]
    assert {f: families.count(f) for f in scenes.FAMILIES} == {"appearance": 3, "order": 4, "interaction": 4}
    assert list(names) == sorted(names, key=str.lower)  # UCF-101's classInd order
    for forward, backward in scenes.ORDER_PAIRS:
        assert scenes.class_spec(backward).reverse and not scenes.class_spec(forward).reverse
        assert scenes.class_family(forward) == scenes.class_family(backward) == "order"
    with pytest.raises(ValueError):
        scenes.class_family("ApplyEyeMakeup")


def test_class_family_reads_the_prefix_of_any_name():
    assert scenes.class_family("appearance_anything") == "appearance"
    assert scenes.class_family("interaction_x_y") == "interaction"
    with pytest.raises(ValueError, match=r"'order' is not a synthetic benchmark class"):
        scenes.class_family("order")  # a family name alone is not a class
    assert all(spec.family == scenes.class_family(spec.name) for spec in scenes.CLASSES)


def test_class_spec_names_the_classes_when_unknown():
    assert scenes.class_spec("interaction_meet").name == "interaction_meet"
    with pytest.raises(ValueError, match=r"unknown synthetic class 'walk'; classes: appearance_blue_triangle, "):
        scenes.class_spec("walk")


def test_every_object_stays_inside_the_frame():
    frames, size = 12, 64
    for spec in scenes.CLASSES:
        for k in range(10):
            rng = np.random.default_rng(k)
            for track in scenes.distractor_tracks(rng, frames, size) + spec.make_tracks(rng, frames, size):
                assert track.xy.shape == (frames, 2) and track.visible.shape == (frames,)
                lo, hi = track.radius + 1 - 1e-9, size - track.radius - 1 + 1e-9
                assert (track.xy >= lo).all() and (track.xy <= hi).all(), spec.name


def test_sequence_shows_one_object_at_a_time_with_the_boundary_in_the_middle():
    for first, second in _pair_tracks("order_circle_before_square", 20, frames=20):
        assert (first.visible ^ second.visible).all()  # exactly one of the two in every frame
        boundary = int(first.visible.sum())
        assert first.visible[:boundary].all() and 8 <= boundary <= 12  # 0.4 .. 0.6 of 20 frames
        assert (first.style.kind, second.style.kind) == ("circle", "square")


def test_distractors_are_zero_to_two_small_grey_shapes():
    counts = set()
    for k in range(30):
        tracks = scenes.distractor_tracks(np.random.default_rng(k), 8, 100)
        counts.add(len(tracks))
        for track in tracks:
            assert 4.0 <= track.radius <= 6.0 and track.style.kind in ("circle", "square")
            # low saturation: a grey in [90, 170], channels +-18 around it, then the +-20 per-clip colour jitter
            assert max(track.style.colour) - min(track.style.colour) <= 2 * (18 + 20)
            assert 90 - 18 - 20 <= min(track.style.colour) and max(track.style.colour) <= 170 + 18 + 20
    assert counts == {0, 1, 2}


def test_meet_ends_in_contact_and_pass_never_touches():
    for circle, square in _pair_tracks("interaction_meet", 30):
        distance = np.linalg.norm(circle.xy - square.xy, axis=1)  # (F,)
        assert distance[0] > 1.5 * (circle.radius + square.radius)
        assert distance[-1] <= (circle.radius + square.radius) * 1.05
    for circle, square in _pair_tracks("interaction_pass", 30):
        distance = np.linalg.norm(circle.xy - square.xy, axis=1)
        assert distance.min() > (circle.radius + square.radius) * 1.2
        # they do pass: the component along the approach direction changes sign
        along = (circle.xy - square.xy) @ (circle.xy[-1] - circle.xy[0])
        assert along[0] * along[-1] < 0


def test_carried_square_keeps_its_offset_and_independent_one_does_not():
    def offset_spread(c, s):
        return np.linalg.norm((s.xy - c.xy) - (s.xy - c.xy).mean(0), axis=1).max()

    carried = [offset_spread(c, s) for c, s in _pair_tracks("interaction_carry", 30)]
    free = [offset_spread(c, s) for c, s in _pair_tracks("interaction_independent", 30)]
    assert np.median(carried) < 1.0 < 10.0 < np.median(free)
