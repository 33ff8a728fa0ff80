"""rlx.data.flow.job: resumability, bad videos counted not fatal, the CLI on an index, the Ray path."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import ray
from test_data_flow_fields import translating_square
from test_data_flow_video import write_clip

from rlx.data import decode, splits
from rlx.data.__main__ import main
from rlx.data.flow import job
from rlx.data.flow.video import DONE_MARKER, TMP_PREFIX, FlowJob, is_done


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("videos") / "moving.mp4", translating_square(6)[0])


def test_invalid_jobs_raise_before_any_work():
    with pytest.raises(ValueError, match="video_id"):
        job.extract_videos([FlowJob("a", "x.mp4"), FlowJob("a", "y.mp4")], Path("/nonexistent"), use_ray=False)
    with pytest.raises(ValueError, match="algorithm"):
        job.extract_videos([], Path("/nonexistent"), "lucas_kanade", use_ray=False)


def test_resume_skips_done_videos_and_ignores_half_written_folders(clip_path: Path, tmp_path: Path):
    jobs = [FlowJob("a", str(clip_path)), FlowJob("b", str(clip_path))]
    first = job.extract_videos(jobs, tmp_path, "farneback", use_ray=False, workers=1)
    assert (first.done, first.skipped_existing) == (2, 0)
    done_marker = (tmp_path / "a" / DONE_MARKER).stat().st_mtime_ns
    # An interrupted run's leftovers: a temp folder, and "b" without its marker (half written).
    stale = tmp_path / f"{TMP_PREFIX}a-deadbeef"
    stale.mkdir()
    (stale / "flow_x_00001.jpg").write_bytes(b"partial")
    (tmp_path / "b" / DONE_MARKER).unlink()
    (tmp_path / "b" / "flow_x_00003.jpg").unlink()
    second = job.extract_videos(jobs, tmp_path, "farneback", use_ray=False, workers=1)
    assert (second.done, second.skipped_existing, second.failed, second.cleaned_tmp) == (1, 1, 0, 1)
    assert (tmp_path / "a" / DONE_MARKER).stat().st_mtime_ns == done_marker  # untouched
    assert is_done(tmp_path / "b") and (tmp_path / "b" / "flow_x_00003.jpg").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_bad_videos_are_counted_and_listed_not_fatal(clip_path: Path, tmp_path: Path):
    garbage = tmp_path / "in" / "garbage.mp4"
    garbage.parent.mkdir()
    garbage.write_bytes(os.urandom(2048))
    one_frame = write_clip(tmp_path / "in" / "one.mp4", translating_square(1)[0])
    jobs = [
        FlowJob("good", str(clip_path)),
        FlowJob("garbage", str(garbage)),
        FlowJob("missing", str(tmp_path / "in" / "missing.mp4")),
        FlowJob("one_frame", str(one_frame)),
    ]
    summary = job.extract_videos(jobs, tmp_path / "out", "farneback", use_ray=False, workers=1)
    assert (summary.done, summary.failed) == (1, 3)
    assert {video_id for video_id, _ in summary.failed_videos} == {"garbage", "missing", "one_frame"}
    assert "failed missing" in str(summary) and "3 failed" in str(summary)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good"]  # failures leave nothing behind


def write_index(path: Path, videos: dict[str, str]) -> Path:
    """A minimal rlx index parquet: {video_id: path relative to the videos root}."""
    n = len(videos)
    df = pd.DataFrame(
        {
            "video_id": list(videos),
            "path": list(videos.values()),
            "split": ["train"] * n,
            "label": [0] * n,
            "labels": [[0]] * n,
            "num_frames": [None] * n,
            "fps": [np.nan] * n,
            "status": ["unprobed"] * n,
        }
    )
    df.attrs["classes"] = ["Moving"]
    return splits.write_index(df, path)


def test_cli_flow_on_an_index_with_process_pool(clip_path: Path, tmp_path: Path, capsys):
    """The CLI path: index.parquet + videos root, two spawned workers, a missing video in the list."""
    index = write_index(tmp_path / "index.parquet", {"v1": "moving.mp4", "v2": "moving.mp4", "v3": "nope.mp4"})
    argv = ["flow", "--index", str(index), "--videos", str(clip_path.parent), "--out", str(tmp_path / "flow")]
    code = main([*argv, "--algorithm", "farneback", "--no-ray", "--workers", "2"])
    out = capsys.readouterr().out
    assert code == 0 and "2 extracted, 0 already done, 1 failed" in out and "v3" in out
    assert all(is_done(tmp_path / "flow" / v) for v in ("v1", "v2"))
    assert main([*argv, "--index", str(tmp_path / "absent.parquet"), "--no-ray"]) == 2


def test_ray_path_extracts_and_counts_failures(clip_path: Path, tmp_path: Path):
    """One Ray task per video on a local 2-CPU Ray; a corrupt file is a failed video, not a failed job.

    About 6 s (Ray start and stop), so not marked slow (the limit is 10 s).
    """
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00" * 512)
    jobs = [FlowJob("a", str(clip_path)), FlowJob("b", str(clip_path)), FlowJob("bad", str(garbage))]
    ray.init(address="local", num_cpus=2, include_dashboard=False)
    try:
        summary = job.extract_videos(jobs, tmp_path / "out", "tvl1", use_ray=True)
        again = job.extract_videos(jobs, tmp_path / "out", "tvl1", use_ray=True)
    finally:
        ray.shutdown()
    assert (summary.done, summary.failed, summary.failed_videos[0][0]) == (2, 1, "bad")
    assert (again.done, again.skipped_existing, again.failed) == (0, 2, 1)
    assert decode.rawframes_count(tmp_path / "out" / "a", "flow") == 5
