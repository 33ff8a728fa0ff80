"""rlx.data.transforms: crops cut exactly the expected pixels, flips (flow-aware), 5-crop, normalisation.

Frames are "coordinate images": channel 0 holds the row, channel 1 the
column, channel 2 the frame number, so a crop's position can be read back
from its pixels.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rlx.data import transforms as tf
from rlx.data.transforms import Augment, Crop, TrainParams


def coordinate_frames(n: int, height: int, width: int) -> np.ndarray:
    """(N, H, W, 3) uint8: [..., 0] = row, [..., 1] = column, [..., 2] = frame index."""
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    frames = np.empty((n, height, width, 3), dtype=np.uint8)
    frames[..., 0], frames[..., 1] = rows, cols
    frames[..., 2] = np.arange(n)[:, None, None]
    return frames


# --------------------------------------------------------------------------- geometry


def test_fixed_offsets_ucf_frame():
    # 240x320 frame, 224 crop: steps (240-224)//4 = 4 and (320-224)//4 = 24
    assert tf.fixed_offsets(240, 320, 224, 224) == [(0, 0), (0, 96), (16, 0), (16, 96), (8, 48)]
    more = tf.fixed_offsets(240, 320, 224, 224, more=True)
    assert more[5:] == [(8, 0), (8, 96), (16, 48), (0, 48), (4, 24), (4, 72), (12, 24), (12, 72)]


def test_fixed_offsets_round_down_like_tsn():
    # steps 6//4 = 1 and 9//4 = 2: the right column ends at 8 + 4 = 12 of 13 (TSN's rounding)
    assert tf.fixed_offsets(10, 13, 4, 4) == [(0, 0), (0, 8), (4, 0), (4, 8), (2, 4)]


@pytest.mark.parametrize(
    "height, width, expected",
    [
        (256, 340, [256, 224, 192, 168]),  # TSN's frames: 256·.66 = 168.96 -> 168
        (240, 320, [240, 210, 180, 158]),  # UCF-101 native
        (258, 300, [258, 224, 193, 170]),  # 258·.875 = 225.75 -> 225, within 3 px of 224: snapped
    ],
)
def test_crop_sizes(height, width, expected):
    assert tf.crop_sizes(height, width, 224) == expected


def test_crop_pairs_max_distort_one():
    pairs = tf.crop_pairs(256, 340, 224)
    sides = [256, 224, 192, 168]
    expected = [(sides[i], sides[j]) for i in range(4) for j in range(4) if abs(i - j) <= 1]
    assert pairs == expected and len(pairs) == 10


def test_virtual_size_and_box_mapping():
    assert tf.virtual_size(240, 320, 256, 224) == (256, 341)  # 320·256/240 = 341.3
    assert tf.virtual_size(64, 64, 0, 224) == (224, 224)  # too small: enlarged to the input size
    assert tf.virtual_size(240, 320, 0, 224) == (240, 320)
    # the centre 224 box of the 256x341 frame, in 240x320 pixels: ×0.9375 rows, ×320/341 columns
    assert tf.to_source(Crop(16, 58, 224, 224), (240, 320), (256, 341)) == Crop(15, 54, 210, 211)
    assert tf.to_source(Crop(3, 4, 5, 6), (240, 320), (240, 320)) == Crop(3, 4, 5, 6)


# --------------------------------------------------------------------------- crops


def test_crop_cuts_exact_pixels():
    frames = coordinate_frames(2, 12, 16)
    out = tf.crop(frames, Crop(2, 5, 4, 6))
    assert out.shape == (2, 4, 6, 3)
    np.testing.assert_array_equal(out[..., 0], np.broadcast_to(np.arange(2, 6)[:, None], (2, 4, 6)))
    np.testing.assert_array_equal(out[..., 1], np.broadcast_to(np.arange(5, 11), (2, 4, 6)))
    np.testing.assert_array_equal(out[..., 2], np.broadcast_to(np.arange(2)[:, None, None], (2, 4, 6)))


def test_crop_outside_frame_raises():
    with pytest.raises(ValueError):
        tf.crop(coordinate_frames(1, 8, 8), Crop(4, 4, 5, 2))


def test_train_crop_at_input_size_is_exact_and_resized_crop_matches_cv2():
    frames = coordinate_frames(3, 12, 16)
    aug = Augment(input_size=8, short_side=0)
    same = aug.apply(frames, TrainParams(Crop(2, 4, 8, 8), flip=False))  # box = input: no resize
    np.testing.assert_array_equal(same, frames[:, 2:10, 4:12])
    scaled = aug.apply(frames, TrainParams(Crop(1, 3, 10, 12), flip=False))
    expected = np.stack([cv2.resize(f[1:11, 3:15], (8, 8), interpolation=cv2.INTER_LINEAR) for f in frames])
    np.testing.assert_array_equal(scaled, expected)


def test_train_box_is_mapped_from_the_resized_frame():
    """short_side 24 on a 12x16 frame doubles the geometry: box (4, 6, 8, 8) is (2, 3, 4, 4) in source pixels."""
    frames = coordinate_frames(1, 12, 16)
    out = Augment(input_size=8, short_side=24).apply(frames, TrainParams(Crop(4, 6, 8, 8), flip=False))
    expected = cv2.resize(frames[0, 2:6, 3:7], (8, 8), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(out[0], expected)


def test_five_crop_positions():
    frames = coordinate_frames(2, 12, 16)
    out = tf.five_crop(frames, 8)  # steps (12-8)//4 = 1, (16-8)//4 = 2
    assert out.shape == (5, 2, 8, 8, 3)
    for k, (y, x) in enumerate([(0, 0), (0, 8), (4, 0), (4, 8), (2, 4)]):  # TL, TR, BL, BR, centre
        assert out[k, :, 0, 0, 0].tolist() == [y, y] and out[k, :, 0, 0, 1].tolist() == [x, x]
        np.testing.assert_array_equal(out[k], frames[:, y : y + 8, x : x + 8])


def test_center_crop_is_the_fifth_crop_also_after_resize():
    frames = coordinate_frames(2, 30, 40)
    # steps (30-8)//4 = 5 and (40-8)//4 = 8: centre at (2·5, 2·8)
    np.testing.assert_array_equal(tf.center_crop(frames, 8), frames[:, 10:18, 16:24])
    resized = tf.five_crop(frames, 16, short_side=20)
    np.testing.assert_array_equal(tf.center_crop(frames, 16, short_side=20), resized[4])


# --------------------------------------------------------------------------- flips


def test_hflip_rgb_mirrors():
    frames = coordinate_frames(2, 4, 6)
    out = tf.hflip(frames, "rgb")
    np.testing.assert_array_equal(out[..., 1], np.broadcast_to([5, 4, 3, 2, 1, 0], (2, 4, 6)))
    np.testing.assert_array_equal(out, frames[:, :, ::-1])


def test_hflip_flow_mirrors_and_inverts_x_only():
    x = np.array([[10, 20, 30], [40, 50, 60]], dtype=np.uint8)
    y = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8)
    flow = np.stack([x, y], axis=-1)[None]  # (1, 2, 3, 2)
    out = tf.hflip(flow, "flow")
    np.testing.assert_array_equal(out[0, ..., 0], [[225, 235, 245], [195, 205, 215]])  # 255 - mirrored x
    np.testing.assert_array_equal(out[0, ..., 1], [[3, 2, 1], [6, 5, 4]])  # y mirrored only
    np.testing.assert_array_equal(flow[0, ..., 0], x)  # input untouched


def test_train_flip_of_flow_applies_both_rules():
    flow = coordinate_frames(1, 8, 8)[..., :2]  # x = row, y = column
    out = Augment(input_size=8, short_side=0, modality="flow").apply(flow, TrainParams(Crop(0, 0, 8, 8), flip=True))
    np.testing.assert_array_equal(out[..., 0], 255 - flow[:, :, ::-1, 0])
    np.testing.assert_array_equal(out[..., 1], flow[:, :, ::-1, 1])


# --------------------------------------------------------------------------- one draw per video


def test_one_random_draw_shared_by_all_frames():
    frames = coordinate_frames(8, 40, 60)
    aug = Augment(input_size=24, short_side=0, scales=(1.0, 0.875, 0.75, 0.66))
    for seed in range(10):
        out = aug.train(frames, np.random.default_rng(seed))
        np.testing.assert_array_equal(out[..., :2], np.broadcast_to(out[:1, ..., :2], out[..., :2].shape))
        assert out[:, 0, 0, 2].tolist() == list(range(8))  # frames keep their order
        params = aug.draw(40, 60, np.random.default_rng(seed))
        np.testing.assert_array_equal(out, aug.apply(frames, params))  # the same single draw, replayed


def test_draw_consumes_the_same_randomness_for_any_video_length():
    rng_short, rng_long = np.random.default_rng(3), np.random.default_rng(3)
    Augment(input_size=24, short_side=0).train(coordinate_frames(1, 40, 60), rng_short)
    Augment(input_size=24, short_side=0).train(coordinate_frames(30, 40, 60), rng_long)
    assert rng_short.integers(1 << 30) == rng_long.integers(1 << 30)


def test_train_draws_cover_flip_and_several_crops():
    aug = Augment(input_size=224, short_side=256)
    draws = [aug.draw(240, 320, np.random.default_rng(s)) for s in range(200)]
    assert {d.flip for d in draws} == {True, False}
    assert len({(d.crop.h, d.crop.w) for d in draws}) == 10
    assert all(d.crop.y + d.crop.h <= 256 and d.crop.x + d.crop.w <= 341 for d in draws)


# --------------------------------------------------------------------------- normalisation and layout


def test_normalize_values():
    rgb = np.array([[0, 128, 255]], dtype=np.uint8)
    np.testing.assert_allclose(
        tf.normalize(rgb, "rgb")[0],
        [(0 - 0.485) / 0.229, (128 / 255 - 0.456) / 0.224, (1 - 0.406) / 0.225],
        rtol=1e-6,
    )
    np.testing.assert_allclose(tf.normalize(rgb, "rgb")[0], [-2.1179039, 0.2051822, 2.64], atol=1e-5)
    flow = np.array([[0, 255], [128, 127]], dtype=np.uint8)
    np.testing.assert_allclose(tf.normalize(flow, "flow"), [[-1.0, 1.0], [1 / 255, -1 / 255]], atol=1e-6)
    assert tf.normalize(flow, "flow").dtype == np.float32


def test_to_model_layout_stacks_flow_as_x0_y0_x1_y1():
    t, length, h, w = 2, 3, 4, 5
    frames = np.arange(t * length * h * w * 2, dtype=np.int64).reshape(t * length, h, w, 2) % 251
    out = tf.to_model_layout(frames.astype(np.uint8), t, length)
    assert out.shape == (t, length * 2, h, w) and out.flags.c_contiguous
    for seg in range(t):
        for snip in range(length):
            for c in range(2):
                np.testing.assert_array_equal(out[seg, 2 * snip + c], frames[seg * length + snip, :, :, c])


def test_augment_test_mode_shapes():
    frames = coordinate_frames(4, 30, 40)
    aug = Augment(input_size=16, short_side=20)
    assert aug.test(frames).shape == (5, 4, 16, 16, 3)
    assert aug.test(frames, num_crops=1).shape == (1, 4, 16, 16, 3)
    assert aug.val(frames).shape == (4, 16, 16, 3)
    with pytest.raises(ValueError):
        aug.test(frames, num_crops=3)
