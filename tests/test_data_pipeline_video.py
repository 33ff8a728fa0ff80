"""rlx.data.pipeline.video: one video -> sampled, decoded, augmented uint8 frames in the model's layout.

Tiny real clips are written with PyAV (H.264 mp4, 24 frames of 48×64) plus a
corrupt file and a flow rawframes folder. Frame values are checked against a
direct `read_frames` of the indices the pipeline must have sampled (replayed
from the documented per-video generator), not just shapes. Videos go through
`iter_local` (the in-process runner), i.e. `decode_batch` -> `load_video`.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rlx.data import sampling
from rlx.data import transforms as tf
from rlx.data.decode import read_frames
from rlx.data.pipeline import PipelineSpec, iter_local
from rlx.data.pipeline.video import sample_indices, video_rng, views_layout
from rlx.data.synthetic import write_mp4

H, W, N = 48, 64, 24
T = 4


def clip_frames(seed: int) -> np.ndarray:
    """(N, H, W, 3): noise shifted 2 px per frame, so every frame differs."""
    base = np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)
    return np.stack([np.roll(base, 2 * i, axis=1) for i in range(N)])


def write_clips(root: Path) -> Path:
    """Four good clips (A/a0, A/a1, B/b0, B/b1), a corrupt B/broken.mp4 and a 12-field flow folder flow/f0."""
    for k, rel in enumerate(["A/a0.mp4", "A/a1.mp4", "B/b0.mp4", "B/b1.mp4"]):
        write_mp4(root / rel, clip_frames(k))
    (root / "B" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    flow = root / "flow" / "f0"
    flow.mkdir(parents=True)
    rng = np.random.default_rng(9)
    for i in range(1, 13):
        for axis in ("x", "y"):
            cv2.imwrite(str(flow / f"flow_{axis}_{i:05d}.jpg"), rng.integers(0, 256, (H, W), dtype=np.uint8))
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clips(tmp_path_factory.mktemp("pipeline"))


def make_rows(with_bad: bool = True) -> list[dict]:
    rows = [
        {"video_id": "a0", "path": "A/a0.mp4", "label": 0, "labels": [0], "num_frames": N},
        {"video_id": "a1", "path": "A/a1.mp4", "label": 0, "labels": [0, 2], "num_frames": -1},  # unprobed
        {"video_id": "b0", "path": "B/b0.mp4", "label": 1, "labels": [1], "num_frames": N},
        {"video_id": "b1", "path": "B/b1.mp4", "label": 1, "labels": [1, 2], "num_frames": N},
    ]
    if with_bad:
        rows.insert(1, {"video_id": "broken", "path": "B/broken.mp4", "label": 1, "labels": [1], "num_frames": -1})
        rows.insert(3, {"video_id": "gone", "path": "A/gone.mp4", "label": 0, "labels": [0], "num_frames": 30})
    return rows


def spec_for(root: Path, mode: str = "train", **kw) -> PipelineSpec:
    return PipelineSpec(str(root), mode=mode, num_segments=T, input_size=32, short_side=36, **kw)


def by_id(batches) -> dict[str, dict[str, np.ndarray]]:
    """Every row of every batch, keyed by video id."""
    out = {}
    for batch in batches:
        for i, vid in enumerate(batch["video_id"]):
            out[str(vid)] = {k: v[i] for k, v in batch.items() if k != "video_id"}
    return out


def expected_train(root: Path, spec: PipelineSpec, rel: str, video_id: str, epoch: int) -> np.ndarray:
    """What the pipeline must produce: replay the video's generator, decode directly, augment, lay out."""
    rng = video_rng(spec.seed, epoch, video_id)
    idx = sampling.train_indices(N, spec.num_segments, spec.new_length, rng)  # (T, L)
    frames = read_frames(root / rel, idx.ravel())  # (T, H, W, 3)
    params = spec.augment.draw(H, W, rng)
    return tf.to_model_layout(spec.augment.apply(frames, params), spec.num_segments, spec.new_length)


# --------------------------------------------------------------------------- pure helpers


def test_video_rng_depends_on_seed_epoch_and_id_only():
    def draw(seed: int, epoch: int, video_id: str) -> int:
        return int(video_rng(seed, epoch, video_id).integers(1 << 30))

    assert draw(0, 1, "v") == draw(0, 1, "v")
    assert len({draw(0, 1, "v"), draw(1, 1, "v"), draw(0, 2, "v"), draw(0, 1, "w")}) == 4


def test_sample_indices_per_mode():
    """n = 24, T = 4: segments of 6 frames; val takes each centre (3, 9, 15, 21), test G = 2 the quarters."""
    rng = np.random.default_rng(0)
    val = sample_indices(PipelineSpec("/v", mode="val", num_segments=4), 24, rng)
    assert val.tolist() == [[[3], [9], [15], [21]]]  # (1, T, L)
    test = sample_indices(PipelineSpec("/v", mode="test", num_segments=4, num_groups=2), 24, rng)
    assert test.tolist() == [[[1], [7], [13], [19]], [[4], [10], [16], [22]]]  # (G, T, L): starts lo + ⌊6·(2g+1)/4⌋
    clips = PipelineSpec("/v", mode="test", num_segments=2, num_groups=1, num_crops=1, num_clips=3, clip_len=8)
    # clips [0, 8), [8, 16), [16, 24); one centre snippet per 4-frame segment: starts 2 and 6 in each
    assert sample_indices(clips, 24, rng)[:, :, 0].tolist() == [[2, 6], [10, 14], [18, 22]]  # (C·G, T)
    train = sample_indices(PipelineSpec("/v", num_segments=4), 24, np.random.default_rng(5))[0, :, 0]
    assert all(6 * k <= s < 6 * (k + 1) for k, s in enumerate(train))  # one start inside each segment


def test_views_layout_is_position_major_then_crop():
    """K = 2 crops of P = 3 positions, T = L = 1: view v = p·K + k holds crop k of position p."""
    k, p = 2, 3
    crops = np.zeros((k, p, 1, 1, 1), np.uint8)  # (K, P·T·L, S, S, C) with S = C = 1
    crops[..., 0, 0, 0] = np.arange(k)[:, None] * 10 + np.arange(p)[None, :]  # value 10·k + p
    views = views_layout(crops, p, 1, 1)  # (P·K, T, L·C, S, S)
    assert views.shape == (6, 1, 1, 1, 1)
    assert views.ravel().tolist() == [0, 10, 1, 11, 2, 12]


# --------------------------------------------------------------------------- real clips


def test_train_frames_equal_direct_decode_of_sampled_indices(dataset):
    spec = spec_for(dataset)
    rows = by_id(iter_local(spec, make_rows(with_bad=False), epoch=3))
    for vid, rel in [("a0", "A/a0.mp4"), ("a1", "A/a1.mp4"), ("b1", "B/b1.mp4")]:
        np.testing.assert_array_equal(rows[vid]["frames"], expected_train(dataset, spec, rel, vid, epoch=3))


def test_val_center_view_is_exact_pixels(dataset):
    """No resize (short_side 0, input = frame height): the centre crop is a slice of the decoded frames."""
    spec = PipelineSpec(str(dataset), mode="val", num_segments=T, input_size=H, short_side=0)
    row = by_id(iter_local(spec, make_rows(with_bad=False)[:1]))["a0"]
    idx = sampling.center_indices(N, T, 1).ravel()  # starts 3, 9, 15, 21
    assert idx.tolist() == [3, 9, 15, 21]
    decoded = read_frames(dataset / "A/a0.mp4", idx)  # (T, 48, 64, 3)
    expected = decoded[:, :, 8:56].transpose(0, 3, 1, 2)  # centre offset x = 2·((64-48)//4) = 8
    np.testing.assert_array_equal(row["frames"], expected)


def test_test_mode_gives_20_views_in_documented_order(dataset):
    spec = spec_for(dataset, mode="test")
    row = by_id(iter_local(spec, make_rows(with_bad=False)[:1]))["a0"]
    assert row["frames"].shape == (20, T, 3, 32, 32)
    groups = sampling.test_indices(N, T, 1, num_groups=4)  # (4, T, 1)
    for g in range(4):
        crops = tf.five_crop(read_frames(dataset / "A/a0.mp4", groups[g].ravel()), 32, short_side=36)  # (5, T, ...)
        for k in range(5):
            np.testing.assert_array_equal(row["frames"][g * 5 + k], tf.to_model_layout(crops[k], T, 1))


def test_two_epochs_differ_and_same_seed_reproduces(dataset):
    spec = spec_for(dataset)
    rows = make_rows(with_bad=False)
    first, again, second = (by_id(iter_local(spec, rows, epoch=e)) for e in (0, 0, 1))
    other_seed = by_id(iter_local(PipelineSpec(**{**spec.__dict__, "seed": 1}), rows, epoch=0))
    for vid in first:
        np.testing.assert_array_equal(first[vid]["frames"], again[vid]["frames"])
    assert any(not np.array_equal(first[v]["frames"], second[v]["frames"]) for v in first)
    assert any(not np.array_equal(first[v]["frames"], other_seed[v]["frames"]) for v in first)


def test_flow_rawframes_stack_snippets_as_channels(dataset):
    spec = PipelineSpec(
        str(dataset), mode="val", modality="flow", num_segments=2, new_length=3, input_size=H, short_side=0
    )
    row = by_id(iter_local(spec, [{"video_id": "f0", "path": "flow/f0", "label": 0, "labels": [0], "num_frames": -1}]))
    frames = row["f0"]["frames"]
    assert frames.shape == (2, 6, H, H)
    idx = sampling.center_indices(12, 2, 3)  # n' = 10: starts 2, 7
    assert idx.tolist() == [[2, 3, 4], [7, 8, 9]]
    decoded = read_frames(dataset / "flow/f0", idx.ravel(), "flow")[:, :, 8:56]  # (6, H, H, 2)
    np.testing.assert_array_equal(frames[1, 2], decoded[4, ..., 0])  # segment 1, snippet frame 1, x
    np.testing.assert_array_equal(frames[1, 3], decoded[4, ..., 1])  # … y


# --------------------------------------------------------------------------- Charades training samples (actions)

# a0 has 24 frames; a duration of 2.4 s makes fps 10. Frames: class 0 [5, 13), class 2 [10, 24), class 1 [20, 22).
ACTIONS = [0.0, 0.5, 1.3, 2.0, 1.0, 2.4, 1.0, 2.0, 2.2]


def action_row(action: int) -> dict:
    return {**make_rows(with_bad=False)[0], "labels": [0, 1, 2], "actions": ACTIONS, "duration": 2.4, "action": action}


def test_action_samples_stay_inside_their_action_with_the_classes_shown(dataset):
    spec = spec_for(dataset, multilabel=True, num_classes=3)
    (batch,) = iter_local(spec, [action_row(0), action_row(1)], epoch=2)
    assert batch["video_id"].tolist() == ["a0", "a0"] and batch["frames"].shape == (2, T, 3, 32, 32)
    for row, (first, stop) in enumerate([(5, 13), (10, 24)]):
        rng = video_rng(spec.seed, 2, f"a0#{row}")  # each action its own generator
        idx = sampling.action_train_indices(N, first, stop, T, 1, rng)  # (T, 1)
        params = spec.augment.draw(H, W, rng)
        expected = tf.to_model_layout(spec.augment.apply(read_frames(dataset / "A/a0.mp4", idx.ravel()), params), T, 1)
        np.testing.assert_array_equal(batch["frames"][row], expected)
        if row == 0:
            # action 0 (class 0): snippets in [5,7) [7,9) [9,11) [11,13); the last (11 or 12) shows class 2 too
            assert batch["labels"][0].tolist() == [1.0, 0.0, 1.0]
        else:
            # action 1 (class 2): [10,13) shows class 0; [20,24) shows class 1 when it lands on 20 or 21
            assert batch["labels"][1].tolist() == [1.0, float(idx[-1, 0] < 22), 1.0]


def test_one_action_per_video_is_drawn_before_the_snippets(dataset):
    spec = spec_for(dataset, multilabel=True, num_classes=3)
    drawn = set()
    for epoch in range(6):
        (batch,) = iter_local(spec, [action_row(-1)], epoch=epoch)
        rng = video_rng(spec.seed, epoch, "a0")  # the video's own generator: the action first
        k = int(rng.integers(3))
        first, stop = [(5, 13), (10, 24), (20, 22)][k]
        idx = sampling.action_train_indices(N, first, stop, T, 1, rng)
        params = spec.augment.draw(H, W, rng)
        expected = tf.to_model_layout(spec.augment.apply(read_frames(dataset / "A/a0.mp4", idx.ravel()), params), T, 1)
        np.testing.assert_array_equal(batch["frames"][0], expected)
        assert batch["labels"][0, [0, 2, 1][k]] == 1.0  # its own class
        drawn.add(k)
    assert len(drawn) > 1  # a fresh action per epoch


def test_load_action_needs_multilabel_training(dataset):
    with pytest.raises(ValueError, match="multi-label training"):
        iter_local(spec_for(dataset, mode="val", multilabel=True, num_classes=3), [action_row(0)]).__next__()
