"""rlx.bench.data: `run(quick=True)` returns well-formed results (no timing asserts: the machine is shared)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from decoders import TORCHCODEC_MISSING
from test_data_decode import moving_frames, pyav_frames, write_clip

from rlx.bench import data, data_decoders
from rlx.bench.common import BenchResult


@pytest.fixture
def synthetic_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quick mode on synthetic clips, whatever the environment points at."""
    monkeypatch.delenv("RLX_DATASETS_META", raising=False)


def test_quick_run_returns_well_formed_ratios(synthetic_only):
    results = data.run(quick=True)
    names = [r.name for r in results]
    assert names[:2] == ["data.train_path_vs_decode_ceiling", "data.train_path_vs_decode_all"]
    for r in results[:2]:
        assert isinstance(r, BenchResult) and r.unit == "x"
        assert math.isfinite(r.value) and r.value > 0
        assert r.baseline and r.candidate and r.details["goal"]
        assert r.details["clip_source"] == "synthetic" and r.details["clips"] > 0
        speeds = r.details["videos_per_s_per_core"]
        assert set(speeds) == {"ceiling", "candidate", "decode_all"} and all(v > 0 for v in speeds.values())
        json.loads(r.to_json())  # serialisable as the CLI prints it
    # Synthetic clips are H.264 MP4: the AVI/Xvid group is made by re-encoding one; torchcodec refuses AVI.
    assert names[2:] == [
        "data.decoder_pyav_vs_decord.avi_xvid",
        *(["data.decoder_torchcodec_vs_decord.mp4_h264"] if TORCHCODEC_MISSING is None else []),
        "data.decoder_pyav_vs_decord.mp4_h264",
        "data.cache_jpeg_vs_video",  # rlx.bench.data_cache
        "data.cache_h264_vs_video",
    ]
    for r in results[-2:]:
        json.loads(r.to_json())
        assert math.isfinite(r.value) and r.value > 0 and r.details["psnr_db"]["worst_clip"] > 30
    for r in results[2:-2]:
        json.loads(r.to_json())
        speeds = r.details["videos_per_s_per_core"]
        assert math.isfinite(r.value) and r.value > 0 and all(v > 0 for v in speeds.values())
        assert r.details["frames_vs_pyav"]["pyav"] == {"max_abs_diff": 0, "fraction_differing": 0.0, "passes": True}
        assert r.details["fastest_passing"] in speeds
    assert results[2].details["clips"][0].startswith("reencoded_")


def test_reencoded_clip_keeps_every_frame(tmp_path: Path) -> None:
    source = write_clip(tmp_path / "a.mp4", moving_frames(12))
    made = data_decoders.reencode(source, tmp_path / "a.avi", "mpeg4")
    assert data_decoders.codec_of(made) == "mpeg4" and len(pyav_frames(made)) == 12
    diff = np.abs(pyav_frames(made).astype(int) - pyav_frames(source)).mean()
    assert diff < 30  # the same pictures, lossy: noise frames are the worst case for MPEG-4


def test_ray_bench_cpu_counts_double_up_to_the_machine():
    from rlx.bench.data_ray import cpu_counts  # noqa: PLC0415  (imports Ray)

    assert cpu_counts(1) == [1]
    assert cpu_counts(2) == [1, 2]
    assert cpu_counts(6) == [1, 2, 4, 6]
    assert cpu_counts(16) == [1, 2, 4, 8, 16]


def test_ray_bench_plain_processes_decode_every_row_once(tmp_path: Path) -> None:
    """The `processes` baseline counts what decodes, as `iter_local` does: each row once, a broken one not."""
    import multiprocessing  # noqa: PLC0415
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    from rlx.bench.data_ray import decode_in_processes  # noqa: PLC0415  (imports Ray)
    from rlx.data.pipeline import PipelineSpec, iter_local  # noqa: PLC0415

    for k in range(3):
        write_clip(tmp_path / f"c{k}.mp4", moving_frames(12, seed=k))
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    names = ["c0.mp4", "broken.mp4", "c1.mp4", "c2.mp4", "c0.mp4"]
    rows = [
        {"video_id": f"v{i}", "path": name, "label": 0, "labels": [0], "num_frames": 12} for i, name in enumerate(names)
    ]
    spec = PipelineSpec(str(tmp_path), num_segments=3, input_size=32, short_side=0, decode_batch_size=2)
    with ProcessPoolExecutor(2, multiprocessing.get_context("spawn")) as pool:
        assert decode_in_processes(pool, spec, rows) == 4
    assert sum(len(b["frames"]) for b in iter_local(spec, rows, batch_size=2)) == 4
