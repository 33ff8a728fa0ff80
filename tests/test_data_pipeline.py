"""rlx.data.pipeline: index rows -> uint8 model batches, in-process and on a local Ray.

Tiny real clips are written with PyAV (H.264 mp4, 24 frames of 48×64) plus a
corrupt file and a missing path. Frame values are checked against a direct
`read_frames` of the indices the pipeline must have sampled (replayed from
the documented per-video generator), not just shapes.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from rlx.data import sampling
from rlx.data import transforms as tf
from rlx.data.decode import read_frames
from rlx.data.pipeline import (
    PipelineSpec,
    SkipLog,
    build_dataset,
    decode_batch,
    epoch_rows,
    index_rows,
    iter_local,
    skip_log_actor,
    video_rng,
)
from rlx.data.synthetic import write_mp4

H, W, N = 48, 64, 24
T = 4


def clip_frames(seed: int) -> np.ndarray:
    """(N, H, W, 3): noise shifted 2 px per frame, so every frame differs."""
    base = np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)
    return np.stack([np.roll(base, 2 * i, axis=1) for i in range(N)])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pipeline")
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


# --------------------------------------------------------------------------- in-process


def test_local_batches_shapes_labels_and_skips(dataset):
    log = SkipLog()
    batches = list(iter_local(spec_for(dataset), make_rows(), epoch=0, batch_size=3, skip_log=log))
    assert [len(b["frames"]) for b in batches] == [2, 2]  # 3 rows each, one bad in each
    for b in batches:
        assert b["frames"].dtype == np.uint8 and b["frames"].shape[1:] == (T, 3, 32, 32)
        assert b["label"].dtype == np.int64 and b["skipped"].dtype == np.int32
    rows = by_id(batches)
    assert sorted(rows) == ["a0", "a1", "b0", "b1"]
    assert [int(rows[v]["label"]) for v in ["a0", "a1", "b0", "b1"]] == [0, 0, 1, 1]
    assert sum(int(b["skipped"].sum()) for b in batches) == 2
    assert sorted(vid for vid, _ in log.entries) == ["broken", "gone"]
    assert any("file not found" in reason for _, reason in log.entries)


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


def test_multilabel_rows_get_multi_hot_labels(dataset):
    spec = spec_for(dataset, mode="val", multilabel=True, num_classes=3)
    rows = by_id(iter_local(spec, make_rows(with_bad=False)))
    np.testing.assert_array_equal(rows["a1"]["labels"], np.array([1, 0, 1], dtype=np.float32))
    np.testing.assert_array_equal(rows["b0"]["labels"], np.array([0, 1, 0], dtype=np.float32))
    assert rows["a1"]["labels"].dtype == np.float32


def test_flow_rawframes_stack_snippets_as_channels(dataset):
    spec = PipelineSpec(str(dataset), mode="val", modality="flow", num_segments=2, new_length=3, input_size=H, short_side=0)
    row = by_id(iter_local(spec, [{"video_id": "f0", "path": "flow/f0", "label": 0, "labels": [0], "num_frames": -1}]))
    frames = row["f0"]["frames"]
    assert frames.shape == (2, 6, H, H)
    idx = sampling.center_indices(12, 2, 3)  # n' = 10: starts 2, 7
    assert idx.tolist() == [[2, 3, 4], [7, 8, 9]]
    decoded = read_frames(dataset / "flow/f0", idx.ravel(), "flow")[:, :, 8:56]  # (6, H, H, 2)
    np.testing.assert_array_equal(frames[1, 2], decoded[4, ..., 0])  # segment 1, snippet frame 1, x
    np.testing.assert_array_equal(frames[1, 3], decoded[4, ..., 1])  # … y


def test_all_failed_decode_batch_returns_empty_arrays(dataset):
    spec = spec_for(dataset)
    cols = {
        "video_id": np.array(["gone"], dtype=object),
        "path": np.array(["A/gone.mp4"], dtype=object),
        "label": np.array([0]),
        "labels": np.array([None], dtype=object),
        "num_frames": np.array([-1]),
    }
    out = decode_batch(cols, spec)
    assert out["frames"].shape == (0, T, 3, 32, 32) and out["label"].shape == (0,) and out["skipped"].shape == (0,)


# --------------------------------------------------------------------------- rows


def test_epoch_rows_shuffle_per_epoch_and_shard_disjointly():
    rows = [{"video_id": str(i)} for i in range(11)]
    shards = [epoch_rows(rows, epoch=2, seed=5, rank=r, world=3) for r in range(3)]
    ids = [r["video_id"] for shard in shards for r in shard]
    assert sorted(ids, key=int) == [str(i) for i in range(11)] and [len(s) for s in shards] == [4, 4, 3]
    assert epoch_rows(rows, 2, 5) == epoch_rows(rows, 2, 5)
    assert epoch_rows(rows, 2, 5) != epoch_rows(rows, 3, 5)
    assert epoch_rows(rows, 2, 5, shuffle=False) == rows


def test_index_rows_from_an_index_frame():
    df = pd.DataFrame(
        {
            "video_id": ["v1", "v2", "v3", "v4"],
            "path": ["C/v1.avi", "C/v2.avi", "C/v3.avi", "C/v4.avi"],
            "split": ["train", "train", "test", "train"],
            "label": pd.array([3, 4, 3, 4], dtype="int32"),
            "labels": [[3], [4], [3], [4]],
            "num_frames": pd.array([120, None, 90, 10], dtype="Int32"),
            "fps": [25.0] * 4,
            "status": ["ok", "unprobed", "ok", "corrupt"],
        }
    )
    rows = index_rows(df, split="train")
    assert rows == [
        {"video_id": "v1", "path": "C/v1.avi", "label": 3, "labels": [3], "num_frames": 120},
        {"video_id": "v2", "path": "C/v2.avi", "label": 4, "labels": [4], "num_frames": -1},
    ]
    assert len(index_rows(df, split="train", drop_bad=False)) == 3


def test_spec_from_run_config():
    from rlx.config import DataConfig, EvalConfig

    flow = PipelineSpec.from_config(
        DataConfig(modality="flow", new_length=10, num_segments=6, input_size=224, short_side=240, loader_tasks=3),
        "train",
        "/v",
    )
    assert (flow.modality, flow.new_length, flow.num_segments, flow.short_side, flow.num_tasks) == ("flow", 10, 6, 240, 3)
    assert flow.channels == 20 and flow.frame_shape() == (6, 20, 224, 224)
    ucf = PipelineSpec.from_config(DataConfig(), "test", "/v", evaluation=EvalConfig())
    assert ucf.num_views == 20 and ucf.num_clips == 0
    charades = PipelineSpec.from_config(DataConfig(dataset="charades"), "test", "/v", num_classes=157, evaluation=EvalConfig())
    assert charades.multilabel and charades.num_classes == 157 and charades.num_views == 10


@pytest.mark.parametrize(
    "kwargs",
    [{"mode": "eval"}, {"modality": "depth"}, {"num_crops": 3}, {"short_side": 100}, {"multilabel": True}],
)
def test_spec_rejects_invalid_values(kwargs):
    with pytest.raises(ValueError):
        PipelineSpec("/videos", **kwargs)


# --------------------------------------------------------------------------- Ray Data (marked slow: Ray start ~5 s)


@pytest.fixture(scope="module")
def local_ray():
    import ray
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    import ray.data

    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


def collect(ds) -> list[dict[str, np.ndarray]]:
    return list(ds.iter_batches(batch_size=2, batch_format="numpy"))


@pytest.mark.slow  # local Ray: ~5 s to start, shared by the module
def test_ray_batches_equal_in_process_output_and_count_skips(local_ray, dataset):
    spec = spec_for(dataset, decode_batch_size=8)
    log = skip_log_actor()
    batches = collect(build_dataset(spec, make_rows(), epoch=1, skip_log=log))
    for b in batches:
        assert b["frames"].dtype == np.uint8 and b["frames"].shape[1:] == (T, 3, 32, 32)
        assert b["label"].dtype == np.int64
    got, want = by_id(batches), by_id(iter_local(spec, make_rows(), epoch=1))
    assert sorted(got) == ["a0", "a1", "b0", "b1"]
    for vid in want:
        np.testing.assert_array_equal(got[vid]["frames"], want[vid]["frames"])
        assert got[vid]["label"] == want[vid]["label"]
    assert local_ray.get(log.total.remote()) == 2
    assert sorted(v for v, _ in local_ray.get(log.get_entries.remote())) == ["broken", "gone"]
    assert sum(int(b["skipped"].sum()) for b in batches) == 2  # one decode batch: the column is exact


@pytest.mark.slow  # local Ray: ~5 s to start, shared by the module
def test_ray_two_epochs_differ_same_seed_reproduces(local_ray, dataset):
    spec = spec_for(dataset)
    rows = make_rows(with_bad=False)
    e0, e0_again, e1 = (by_id(collect(build_dataset(spec, rows, epoch=e))) for e in (0, 0, 1))
    assert all(np.array_equal(e0[v]["frames"], e0_again[v]["frames"]) for v in e0)
    assert any(not np.array_equal(e0[v]["frames"], e1[v]["frames"]) for v in e0)
    np.testing.assert_array_equal(e1["b1"]["frames"], expected_train(dataset, spec, "B/b1.mp4", "b1", epoch=1))


@pytest.mark.slow  # local Ray: ~5 s to start, shared by the module
def test_ray_test_mode_gives_20_views(local_ray, dataset):
    spec = spec_for(dataset, mode="test", multilabel=True, num_classes=3)
    batches = collect(build_dataset(spec, make_rows()))
    rows = by_id(batches)
    assert sorted(rows) == ["a0", "a1", "b0", "b1"]
    assert all(b["frames"].shape[1:] == (20, T, 3, 32, 32) for b in batches)
    np.testing.assert_array_equal(rows["b1"]["labels"], [0, 1, 1])
    np.testing.assert_array_equal(rows["a0"]["frames"], by_id(iter_local(spec, make_rows()[:1]))["a0"]["frames"])
