"""rlx.data.flow.video: one video -> flow_x_/flow_y_ JPEGs holding the motion, chunked, atomic, failures as results."""

from __future__ import annotations

import json
import os
from pathlib import Path

import av
import numpy as np
import pytest
from test_data_flow_fields import DX, mean_flow_on_square, translating_square

from rlx.data import decode
from rlx.data.flow import fields, video
from rlx.data.flow.video import FlowJob, VideoResult


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


@pytest.mark.parametrize("algorithm", fields.ALGORITHMS)
def test_extracted_jpegs_hold_the_translation(clip_path: Path, tmp_path: Path, algorithm: str):
    """Through H.264, 8-bit quantisation (0.157 px levels) and JPEG q95: within 0.25 px of +2 / 0.

    The budget: half a level (0.08 px) of rounding plus JPEG error on a smooth
    field (under a level on average); measured error is below 0.05 px.
    """
    result = video.extract_video(FlowJob("moving", str(clip_path)), tmp_path, algorithm)
    assert result == VideoResult("moving", "done", num_flows=5)
    folder = tmp_path / "moving"
    names = sorted(os.listdir(folder))
    expected = sorted([f"flow_x_{i:05d}.jpg" for i in range(1, 6)] + [f"flow_y_{i:05d}.jpg" for i in range(1, 6)])
    assert names == sorted(expected + [video.DONE_MARKER])
    assert json.loads((folder / video.DONE_MARKER).read_text())["num_flows"] == 5
    assert decode.rawframes_count(folder, "flow") == 5
    stored = decode.read_rawframes(folder, range(5), "flow")  # (5, H, W, 2) uint8
    x, y = mean_flow_on_square(fields.dequantize_flow(stored), translating_square(6)[1])
    assert abs(x - DX) < 0.25 and abs(y) < 0.25
    assert [p.name for p in tmp_path.iterdir()] == ["moving"]  # no temp folder left


def test_long_videos_are_decoded_in_chunks_without_a_seam(clip_path: Path, tmp_path: Path, monkeypatch):
    """With 2-frame chunks every pair still appears once, including pairs across chunk boundaries."""
    monkeypatch.setattr(video, "CHUNK_FRAMES", 2)
    video.extract_video(FlowJob("moving", str(clip_path)), tmp_path, "farneback")
    chunked = decode.read_rawframes(tmp_path / "moving", range(5), "flow")
    frames = decode.read_video_frames(clip_path, range(6))
    whole = fields.quantize_flow(fields.compute_flow(frames, "farneback"))  # (5, H, W, 2)
    assert np.abs(chunked.astype(int) - whole).mean() < 1.0  # equal up to JPEG


def test_a_done_video_is_skipped_and_a_bad_one_is_a_failed_result(clip_path: Path, tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / video.DONE_MARKER).write_text("{}")
    assert video.extract_video(FlowJob("a", str(clip_path)), tmp_path, "farneback") == VideoResult("a", "skipped")
    missing = video.extract_video(FlowJob("m", str(tmp_path / "none.mp4")), tmp_path, "farneback")
    assert (missing.status, missing.error) == ("failed", f"cannot decode {tmp_path / 'none.mp4'}: file not found")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]  # the failure left no folder behind
