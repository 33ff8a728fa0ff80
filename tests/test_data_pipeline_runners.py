"""rlx.data.pipeline.runners: iter_local in-process, and build_dataset on a local Ray giving the same rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import ray
import ray.data
from test_data_pipeline_video import T, by_id, expected_train, make_rows, spec_for, write_clips

from rlx.data.pipeline import SkipLog, build_dataset, epoch_rows, epochs_rows, iter_local, rebatch, skip_log_actor


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clips(tmp_path_factory.mktemp("runners"))


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


def test_rebatched_local_batches_have_the_fixed_size(dataset):
    """Decode batches of 2, 2 survivors (of 3 rows each) -> fixed batches of 3 and a last of 1, same rows."""
    spec = spec_for(dataset, mode="val")
    batches = list(rebatch(iter_local(spec, make_rows(), batch_size=3), 3))
    assert [len(b["frames"]) for b in batches] == [3, 1]
    assert [v for b in batches for v in b["video_id"]] == ["a0", "a1", "b0", "b1"]
    assert sum(int(b["skipped"].sum()) for b in batches) == 2


# --------------------------------------------------------------------------- Ray Data (marked slow: Ray start ~5 s)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


def collect(ds) -> list[dict[str, np.ndarray]]:
    return list(ds.iter_batches(batch_size=2, batch_format="numpy"))


@pytest.mark.slow  # local Ray: ~5 s to start, shared by the module
def test_ray_batches_equal_in_process_output_and_count_skips(local_ray, dataset):
    spec = spec_for(dataset, decode_batch_size=8)
    log = skip_log_actor()
    dataset = build_dataset(spec, make_rows(), epoch=1, skip_log=log)
    # ResourceBudget dropped (a decode task may wait in line for a CPU); the two that bound memory kept
    kept = {policy.__name__ for policy in dataset.context.get_config("backpressure_policies.enabled")}
    assert kept == {"ConcurrencyCapBackpressurePolicy", "DownstreamCapacityBackpressurePolicy"}
    assert len(ray.data.DataContext.get_current().get_config("backpressure_policies.enabled", [1, 2, 3])) == 3
    batches = collect(dataset)
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


@pytest.mark.slow  # local Ray: ~5 s to start, shared by the module
def test_ray_one_run_over_two_epochs_decodes_each_as_its_own_epoch(local_ray, dataset):
    spec = spec_for(dataset)
    rows = make_rows(with_bad=False)
    streamed = build_dataset(spec, epochs_rows(rows, range(2), seed=0))
    # EpochSplitter cuts where the epoch changes: this dataset keeps row order, whatever the global setting
    assert streamed.context.execution_options.preserve_order
    assert not build_dataset(spec, rows).context.execution_options.preserve_order
    both = collect(streamed)
    assert [int(e) for b in both for e in b["epoch"]] == [0] * len(rows) + [1] * len(rows)  # in order
    for epoch in (0, 1):
        want = by_id(collect(build_dataset(spec, epoch_rows(rows, epoch, seed=0), epoch=epoch)))
        got = by_id([{k: v[b["epoch"] == epoch] for k, v in b.items()} for b in both])
        assert sorted(got) == sorted(want)
        assert all(np.array_equal(got[v]["frames"], want[v]["frames"]) for v in want)
