"""rlx.data.decode.timeout: a decode that outlives its bound is the file's DecodeError; others pass through."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from test_data_decode import write_clip

from rlx.config import DataConfig
from rlx.data.decode import DecodeError, call_with_timeout
from rlx.data.pipeline import PipelineSpec, SkipLog, decode_batch, to_columns, video


def test_result_and_errors_pass_through() -> None:
    assert call_with_timeout(lambda: 41 + 1, 1.0, "a.avi") == 42
    assert call_with_timeout(lambda: "no bound", None, "a.avi") == "no bound"

    def broken() -> None:
        raise DecodeError("a.avi", "cannot open")

    with pytest.raises(DecodeError, match="cannot open"):
        call_with_timeout(broken, 1.0, "a.avi")
    with pytest.raises(ZeroDivisionError):  # a bug is not turned into a skipped video
        call_with_timeout(lambda: 1 / 0, 1.0, "a.avi")


def test_stuck_decode_is_a_decode_error_naming_the_file_and_the_key() -> None:
    release = threading.Event()
    start = time.perf_counter()
    with pytest.raises(DecodeError) as info:
        call_with_timeout(lambda: release.wait(10), 0.2, "/data/stuck.avi")
    assert time.perf_counter() - start < 2
    assert info.value.path == "/data/stuck.avi"
    assert "longer than 0.2 s (data.decode_timeout_s)" in info.value.reason
    release.set()  # let the abandoned thread end


def test_a_stuck_video_is_a_counted_failed_video_of_its_batch(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Through the pipeline: the stuck video is dropped, counted in `skipped` and in the skip log; the rest decode."""
    release = threading.Event()
    real_read = video.read_frames

    def read(source, indices, modality, decoder):
        if source.name == "stuck.mp4":
            release.wait(10)
        return real_read(source, indices, modality, decoder=decoder)

    frames = np.random.default_rng(0).integers(0, 256, (16, 48, 64, 3), dtype=np.uint8)
    for name in ("a.mp4", "stuck.mp4", "b.mp4"):
        write_clip(tmp_path / name, frames)
    monkeypatch.setattr(video, "read_frames", lambda s, i, m, decoder: read(s, i, m, decoder))
    spec = PipelineSpec(str(tmp_path), input_size=32, short_side=48, num_segments=2, decode_timeout_s=0.5)
    rows = [
        {"video_id": n, "path": n, "label": 0, "labels": [0], "num_frames": 16} for n in ("a.mp4", "stuck.mp4", "b.mp4")
    ]
    log = SkipLog()
    out = decode_batch(to_columns(rows), spec, skip_log=log)
    release.set()
    assert list(out["video_id"]) == ["a.mp4", "b.mp4"] and out["skipped"].tolist() == [1, 0]
    ((video_id, reason),) = log.entries
    assert video_id == "stuck.mp4" and "longer than 0.5 s (data.decode_timeout_s)" in reason


def test_spec_from_config_carries_decoder_and_timeout() -> None:
    data = DataConfig(decoder="pyav", decode_timeout_s=7.5)
    spec = PipelineSpec.from_config(data, "train", "/videos")
    assert (spec.decoder, spec.decode_timeout_s) == ("pyav", 7.5)
    with pytest.raises(ValueError, match="data.decoder must be one of"):
        PipelineSpec("/videos", decoder="opencv")
