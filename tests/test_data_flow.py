"""rlx.data.flow: flow values on a known translation, 8-bit round trip, TSN layout, resumability, bad videos.

The reference motion: a smooth random texture square on a flat background,
shifted by +2 px in x per frame. TV-L1 runs on 32x32 frames only (it costs
~0.1 s per 96x96 pair on one core).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd
import pytest

from rlx.data import decode, flow, splits
from rlx.data.__main__ import main
from rlx.data.flow import FlowJob

SIZE, SIDE, DX = 32, 14, 2


def translating_square(n: int = 4, size: int = SIZE, side: int = SIDE, dx: int = DX) -> tuple[np.ndarray, np.ndarray]:
    """(n, S, S, 3) uint8 frames and (n, S, S) masks of a textured square moving +dx px per frame."""
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (side, side)).astype(np.float32), (0, 0), 1.0)
    texture = cv2.normalize(texture, None, 30, 225, cv2.NORM_MINMAX).astype(np.uint8)
    frames = np.full((n, size, size), 128, np.uint8)
    masks = np.zeros((n, size, size), bool)
    top = (size - side) // 2
    for t in range(n):
        left = 3 + dx * t
        frames[t, top : top + side, left : left + side] = texture
        masks[t, top : top + side, left : left + side] = True
    return np.repeat(frames[..., None], 3, axis=-1), masks  # (n, S, S) -> (n, S, S, 3)


def interior(masks: np.ndarray) -> np.ndarray:
    """Masks eroded by 2 px: flow at the square's border mixes with the static background."""
    kernel = np.ones((5, 5), np.uint8)
    return np.stack([cv2.erode(m.astype(np.uint8), kernel).astype(bool) for m in masks])


def write_clip(path: Path, frames: np.ndarray) -> Path:
    """H.264 near-lossless (crf 8) so the test measures flow, not coding noise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.codec_context.options = {"crf": "8", "threads": "1"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("videos") / "moving.mp4", translating_square(6)[0])


def mean_flow_on_square(fields: np.ndarray, masks: np.ndarray) -> tuple[float, float]:
    """Mean (x, y) over the square's interior in the earlier frame of each pair; fields (N-1, H, W, 2)."""
    inside = interior(masks[: len(fields)])  # (N-1, H, W)
    return float(fields[..., 0][inside].mean()), float(fields[..., 1][inside].mean())


# --------------------------------------------------------------------------- maths


@pytest.mark.parametrize("algorithm", flow.ALGORITHMS)
def test_compute_flow_recovers_a_known_translation(algorithm: str):
    """In memory both estimators are within 0.01 px on this texture (measured); 0.1 px leaves room."""
    frames, masks = translating_square(4)
    fields = flow.compute_flow(frames, algorithm)
    assert fields.shape == (3, SIZE, SIZE, 2) and fields.dtype == np.float32
    x, y = mean_flow_on_square(fields, masks)
    assert abs(x - DX) < 0.1 and abs(y) < 0.1


def test_quantize_maps_bounds_and_round_trips_within_half_a_level():
    bound = 20.0
    values = np.linspace(-25, 25, 10_001, dtype=np.float32)
    q = flow.quantize_flow(values, bound)
    assert q.dtype == np.uint8
    assert flow.quantize_flow(np.array([-bound, 0.0, bound, -99.0, 99.0]), bound).tolist() == [0, 128, 255, 0, 255]
    back = flow.dequantize_flow(q, bound)
    inside = np.abs(values) <= bound
    # One level is 2*bound/255 px; rounding to the nearest level errs by at most half of it.
    assert np.abs(back[inside] - values[inside]).max() <= bound / 255 + 1e-5
    assert np.allclose(back[~inside], np.sign(values[~inside]) * bound)  # clipped to +-bound
    assert np.all(np.diff(q.astype(int)) >= 0)  # monotone


def test_invalid_arguments_raise():
    frames, _ = translating_square(2)
    with pytest.raises(ValueError, match="algorithm"):
        flow.compute_flow(frames, "lucas_kanade")
    with pytest.raises(ValueError, match="at least 2"):
        flow.compute_flow(frames[:1])
    with pytest.raises(ValueError, match="uint8"):
        flow.compute_flow(frames.astype(np.float32))
    with pytest.raises(ValueError, match="bound"):
        flow.quantize_flow(np.zeros(3), bound=0)
    with pytest.raises(ValueError, match="video_id"):
        flow.extract_videos([FlowJob("a", "x.mp4"), FlowJob("a", "y.mp4")], Path("/nonexistent"), use_ray=False)


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("algorithm", flow.ALGORITHMS)
def test_extracted_jpegs_hold_the_translation(clip_path: Path, tmp_path: Path, algorithm: str):
    """Through H.264, 8-bit quantisation (0.157 px levels) and JPEG q95: within 0.25 px of +2 / 0.

    The budget: half a level (0.08 px) of rounding plus JPEG error on a smooth
    field (under a level on average); measured error is below 0.05 px.
    """
    summary = flow.extract_videos([FlowJob("moving", str(clip_path))], tmp_path, algorithm, use_ray=False, workers=1)
    assert (summary.done, summary.failed, summary.skipped_existing) == (1, 0, 0)
    folder = tmp_path / "moving"
    names = sorted(os.listdir(folder))
    expected = sorted([f"flow_x_{i:05d}.jpg" for i in range(1, 6)] + [f"flow_y_{i:05d}.jpg" for i in range(1, 6)])
    assert names == sorted(expected + [flow.DONE_MARKER])
    assert json.loads((folder / flow.DONE_MARKER).read_text())["num_flows"] == 5
    assert decode.rawframes_count(folder, "flow") == 5
    stored = decode.read_rawframes(folder, range(5), "flow")  # (5, H, W, 2) uint8
    x, y = mean_flow_on_square(flow.dequantize_flow(stored), translating_square(6)[1])
    assert abs(x - DX) < 0.25 and abs(y) < 0.25
    assert [p.name for p in tmp_path.iterdir()] == ["moving"]  # no temp folder left


def test_long_videos_are_decoded_in_chunks_without_a_seam(clip_path: Path, tmp_path: Path, monkeypatch):
    """With 2-frame chunks every pair still appears once, including pairs across chunk boundaries."""
    monkeypatch.setattr(flow, "CHUNK_FRAMES", 2)
    flow.extract_videos([FlowJob("moving", str(clip_path))], tmp_path, "farneback", use_ray=False, workers=1)
    chunked = decode.read_rawframes(tmp_path / "moving", range(5), "flow")
    frames = decode.read_video_frames(clip_path, range(6))
    whole = flow.quantize_flow(flow.compute_flow(frames, "farneback"))  # (5, H, W, 2)
    assert np.abs(chunked.astype(int) - whole).mean() < 1.0  # equal up to JPEG


def test_resume_skips_done_videos_and_ignores_half_written_folders(clip_path: Path, tmp_path: Path):
    jobs = [FlowJob("a", str(clip_path)), FlowJob("b", str(clip_path))]
    first = flow.extract_videos(jobs, tmp_path, "farneback", use_ray=False, workers=1)
    assert (first.done, first.skipped_existing) == (2, 0)
    done_marker = (tmp_path / "a" / flow.DONE_MARKER).stat().st_mtime_ns
    # An interrupted run's leftovers: a temp folder, and "b" without its marker (half written).
    stale = tmp_path / f"{flow.TMP_PREFIX}a-deadbeef"
    stale.mkdir()
    (stale / "flow_x_00001.jpg").write_bytes(b"partial")
    (tmp_path / "b" / flow.DONE_MARKER).unlink()
    (tmp_path / "b" / "flow_x_00003.jpg").unlink()
    second = flow.extract_videos(jobs, tmp_path, "farneback", use_ray=False, workers=1)
    assert (second.done, second.skipped_existing, second.failed, second.cleaned_tmp) == (1, 1, 0, 1)
    assert (tmp_path / "a" / flow.DONE_MARKER).stat().st_mtime_ns == done_marker  # untouched
    assert flow.is_done(tmp_path / "b") and (tmp_path / "b" / "flow_x_00003.jpg").is_file()
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
    summary = flow.extract_videos(jobs, tmp_path / "out", "farneback", use_ray=False, workers=1)
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
    assert all(flow.is_done(tmp_path / "flow" / v) for v in ("v1", "v2"))
    assert main([*argv, "--index", str(tmp_path / "absent.parquet"), "--no-ray"]) == 2


def test_ray_path_extracts_and_counts_failures(clip_path: Path, tmp_path: Path):
    """One Ray task per video on a local 2-CPU Ray; a corrupt file is a failed video, not a failed job.

    About 6 s (Ray start and stop), so not marked slow (the limit is 10 s).
    """
    import ray

    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00" * 512)
    jobs = [FlowJob("a", str(clip_path)), FlowJob("b", str(clip_path)), FlowJob("bad", str(garbage))]
    ray.init(address="local", num_cpus=2, include_dashboard=False)
    try:
        summary = flow.extract_videos(jobs, tmp_path / "out", "tvl1", use_ray=True)
        again = flow.extract_videos(jobs, tmp_path / "out", "tvl1", use_ray=True)
    finally:
        ray.shutdown()
    assert (summary.done, summary.failed, summary.failed_videos[0][0]) == (2, 1, "bad")
    assert (again.done, again.skipped_existing, again.failed) == (0, 2, 1)
    assert decode.rawframes_count(tmp_path / "out" / "a", "flow") == 5
