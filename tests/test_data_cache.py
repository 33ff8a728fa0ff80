"""rlx.data.cache: quality (PSNR), frame counts, resumability, failures counted, training on the cache, Ray."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import ray

from rlx.config import DataConfig
from rlx.data import splits
from rlx.data.__main__ import main
from rlx.data.cache import (
    DONE_MARKER,
    FAILED_CSV,
    TMP_PREFIX,
    CacheJob,
    CacheParams,
    cache_index,
    cache_video,
    cache_videos,
    cached_size,
    done_frames,
    resize_to,
    source_frames,
)
from rlx.data.decode import read_frames, verify_video
from rlx.data.pipeline import PipelineSpec, index_rows, iter_local
from rlx.data.synthetic import write_mp4
from rlx.train.prepare import prepare_dataset

FRAMES = 12
# PSNR floors (dB) of the cached frames against the source frames resized the cache's way, i.e. the loss
# of the coding alone. Measured on the 13 clips of datasets-meta: JPEG q95 39.0-46.9 dB (UCF-101 AVIs
# 41.1-46.4), H.264 crf 18 36.5-41.4 dB (4:2:0 chroma as the sources); the generated clip 45.3 / 40.3.
# 35 dB is below all of them and far above what a wrong frame, a shift or a colour swap gives (< 20 dB).
PSNR_FLOOR = {"jpeg": 35.0, "h264": 35.0}


def textured_clip(frames: int = FRAMES, height: int = 96, width: int = 128) -> np.ndarray:
    """(F, H, W, 3) uint8: smooth colour gradients and a moving disc, like natural video (JPEG's case)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((frames, height, width, 3), np.uint8)
    for f in range(frames):
        disc = ((x - 20 - 6 * f) ** 2 + (y - height / 2) ** 2) < 15**2
        image = np.stack([x / width * 200, y / height * 200, (x + y + 8 * f) % 256 * 0.5 + 40], axis=-1)
        image[disc] = (230, 60, 40)
        out[f] = image.astype(np.uint8)
    return out


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    write_mp4(root / "Move" / "a.mp4", textured_clip())
    write_mp4(root / "Move" / "b.mp4", textured_clip()[::-1].copy())
    return root


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def check_quality(source: Path, tmp: Path, fmt: str) -> float:
    """Cache `source`, then frame count = the decodable frames, and PSNR against the resized originals."""
    params = CacheParams(format=fmt)
    result = cache_video(CacheJob("v", str(source)), tmp, params)
    original = np.stack(list(source_frames(str(source))))  # (N, H, W, 3), PyAV in order
    assert result.status == "done" and result.num_frames == len(original) == verify_video(source, "pyav").num_frames
    cached_at = tmp / ("v" if fmt == "jpeg" else "v.mp4")
    cached = read_frames(cached_at, list(range(len(original))), decoder="pyav")
    size = cached_size(*original.shape[1:3], params)
    assert cached.shape == (len(original), *size, 3) and min(size) == 256
    reference = np.stack([resize_to(frame, size) for frame in original])
    value = psnr(cached, reference)
    assert value >= PSNR_FLOOR[fmt], f"{fmt}: {value:.1f} dB"
    return value


@pytest.mark.parametrize("fmt", ["jpeg", "h264"])
def test_cached_frames_match_resized_originals(videos: Path, tmp_path: Path, fmt: str):
    check_quality(videos / "Move" / "a.mp4", tmp_path, fmt)


@pytest.mark.parametrize("fmt", ["jpeg", "h264"])
def test_real_clip_quality_and_frame_count(datasets_meta: Path, tmp_path: Path, fmt: str):
    """A real UCF-101 Xvid AVI (320x240 -> 341x256): every decodable frame, PSNR above the floor."""
    clips = sorted((datasets_meta / "videos" / "ucf101").rglob("*.avi"), key=lambda p: p.stat().st_size)
    check_quality(clips[0], tmp_path, fmt)


def test_params_are_checked():
    for bad in ({"format": "png"}, {"short_side": -1}, {"jpeg_quality": 0}, {"gop": 0}, {"crf": 60}):
        with pytest.raises(ValueError):
            CacheParams(**bad)


def write_index(path: Path, videos: dict[str, str], split: list[str] | None = None) -> Path:
    """A minimal rlx index parquet: {video_id: path relative to the videos root}, one class."""
    n = len(videos)
    df = pd.DataFrame(
        {
            "video_id": list(videos),
            "path": list(videos.values()),
            "split": split or ["train"] * n,
            "label": [0] * n,
            "labels": [[0]] * n,
            "num_frames": [None] * n,
            "fps": [np.nan] * n,
            "status": ["unprobed"] * n,
        }
    )
    df.attrs.update(classes=["Move"], format="custom", dataset="custom")
    return splits.write_index(df, path)


def test_resume_redoes_partial_videos_and_leaves_complete_ones(videos: Path, tmp_path: Path):
    index = write_index(tmp_path / "index.parquet", {"a": "Move/a.mp4", "b": "Move/b.mp4"})
    out = tmp_path / "cache"
    first = cache_index(index, out, CacheParams(), videos=videos, use_ray=False, workers=1)
    assert (first.done, first.skipped_existing, first.failed) == (2, 0, 0)
    media = out / "videos"
    stamps = {p.name: p.stat().st_mtime_ns for p in (media / "a").iterdir()}
    # An interrupted run's leftovers: a temp folder, and "b" without its marker and a frame (half written).
    (media / f"{TMP_PREFIX}a-deadbeef").mkdir()
    (media / "b" / DONE_MARKER).unlink()
    (media / "b" / "img_00003.jpg").unlink()
    second = cache_index(index, out, CacheParams(), videos=videos, use_ray=False, workers=1)
    assert (second.done, second.skipped_existing, second.failed, second.cleaned_tmp) == (1, 1, 0, 1)
    assert {p.name: p.stat().st_mtime_ns for p in (media / "a").iterdir()} == stamps  # not rewritten
    assert done_frames(media, "b", CacheParams()) == FRAMES and (media / "b" / "img_00003.jpg").is_file()
    assert sorted(p.name for p in media.iterdir()) == ["a", "b"]
    cached = splits.read_index(out / "index.parquet")
    assert cached["num_frames"].tolist() == [FRAMES, FRAMES] and cached.attrs["media"] == "rawframes"
    assert cached["path"].tolist() == ["a", "b"] and cached.attrs["classes"] == ["Move"]
    with pytest.raises(ValueError, match="jpeg_quality 95"):  # one cache, one setting
        cache_index(index, out, CacheParams(jpeg_quality=80), videos=videos, use_ray=False, workers=1)


def test_h264_resume_skips_finished_files(videos: Path, tmp_path: Path):
    params = CacheParams(format="h264", gop=4)
    jobs = [CacheJob("a", str(videos / "Move" / "a.mp4"))]
    table = splits.read_index(write_index(tmp_path / "index.parquet", {"a": "Move/a.mp4"}))
    first = cache_videos(table, jobs, tmp_path / "out", params, use_ray=False, workers=1)
    stamp = (tmp_path / "out" / "videos" / "a.mp4").stat().st_mtime_ns
    (tmp_path / "out" / "videos" / f"{TMP_PREFIX}a-deadbeef.mp4").write_bytes(b"partial")
    again = cache_videos(table, jobs, tmp_path / "out", params, use_ray=False, workers=1)
    assert (first.done, again.done, again.skipped_existing, again.cleaned_tmp) == (1, 0, 1, 1)
    assert (tmp_path / "out" / "videos" / "a.mp4").stat().st_mtime_ns == stamp
    assert splits.read_index(tmp_path / "out" / "index.parquet")["path"].tolist() == ["a.mp4"]


def test_bad_videos_are_counted_named_and_kept_out(videos: Path, tmp_path: Path, capsys):
    (videos / "Move" / "garbage.mp4").write_bytes(os.urandom(2048))
    try:
        index = write_index(
            tmp_path / "index.parquet", {"a": "Move/a.mp4", "garbage": "Move/garbage.mp4", "gone": "Move/gone.mp4"}
        )
        argv = ["cache", "--index", str(index), "--videos", str(videos), "--out", str(tmp_path / "c")]
        assert main([*argv, "--no-ray", "--workers", "1"]) == 0
    finally:
        (videos / "Move" / "garbage.mp4").unlink()
    out = capsys.readouterr().out
    assert "1 cached, 0 already done, 2 failed" in out and "failed garbage" in out and "failed gone" in out
    with open(tmp_path / "c" / FAILED_CSV, encoding="utf-8") as handle:
        assert sorted(row["video_id"] for row in csv.DictReader(handle)) == ["garbage", "gone"]
    cached = splits.read_index(tmp_path / "c" / "index.parquet")
    assert cached.set_index("video_id")["status"].to_dict() == {"a": "ok", "garbage": "corrupt", "gone": "missing"}
    assert sorted(p.name for p in (tmp_path / "c" / "videos").iterdir()) == ["a"]  # failures leave nothing
    assert main(["cache", "--index", str(index), "--out", str(tmp_path / "d"), "--no-ray"]) == 2  # no --videos


@pytest.mark.parametrize("fmt", ["jpeg", "h264"])
def test_training_reads_the_cache_like_the_originals(videos: Path, tmp_path: Path, fmt: str):
    """Prepared from the cache index, the same rows give the same batch shapes and near-identical frames."""
    index = write_index(tmp_path / "index.parquet", {"a": "Move/a.mp4", "b": "Move/b.mp4"}, ["train", "test"])
    out = tmp_path / "cache"
    cache_index(index, out, CacheParams(format=fmt), videos=videos, use_ray=False, workers=1)
    batches = {}
    for name, idx, root in (("orig", index, videos), ("cache", out / "index.parquet", out / "videos")):
        cfg = DataConfig(dataset="custom", multilabel=False, index=str(idx), videos=str(root), val_fraction=0.0)
        prepared = prepare_dataset(cfg, cache_dir=tmp_path / name)
        table = splits.read_index(prepared / "index.parquet")
        assert table["num_frames"].tolist() == [FRAMES, FRAMES]
        spec = PipelineSpec(str(root), mode="train", num_segments=4, seed=3, input_size=224)
        batches[name] = next(iter_local(spec, index_rows(table), batch_size=2))
    orig, cached = batches["orig"], batches["cache"]
    assert orig["frames"].shape == cached["frames"].shape == (2, 4, 3, 224, 224)
    assert list(orig["video_id"]) == list(cached["video_id"]) and list(orig["label"]) == list(cached["label"])
    diff = np.abs(orig["frames"].astype(np.int16) - cached["frames"].astype(np.int16))
    # Same frames, same crop and flip; what differs is coding loss and one resize more (source -> 256 -> 224).
    assert diff.mean() < 3.0, diff.mean()


@pytest.mark.slow
def test_ray_path_caches_and_counts_failures(videos: Path, tmp_path: Path):
    """One Ray task per video on a local 2-CPU Ray; a corrupt file is a failed video. 6-15 s (Ray start/stop)."""
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00" * 512)
    jobs = [CacheJob("a", str(videos / "Move" / "a.mp4")), CacheJob("bad", str(garbage))]
    table = splits.read_index(write_index(tmp_path / "index.parquet", {"a": "Move/a.mp4", "bad": "garbage.mp4"}))
    ray.init(address="local", num_cpus=2, include_dashboard=False)
    try:
        summary = cache_videos(table, jobs, tmp_path / "out", CacheParams(), use_ray=True)
    finally:
        ray.shutdown()
    assert (summary.done, summary.failed, summary.failed_videos[0][0]) == (1, 1, "bad")
    assert done_frames(tmp_path / "out" / "videos", "a", CacheParams()) == FRAMES


def test_h264_cache_seeks_to_the_right_frames(videos: Path, tmp_path: Path):
    """decord (seeking to keyframes, what the H.264 cache is for) reads the frames PyAV decodes in order."""
    cache_video(CacheJob("a", str(videos / "Move" / "a.mp4")), tmp_path, CacheParams(format="h264", gop=4))
    wanted = [11, 0, 5, 9, 4]
    seek = read_frames(tmp_path / "a.mp4", wanted, decoder="decord")
    assert np.array_equal(seek, read_frames(tmp_path / "a.mp4", wanted, decoder="pyav"))


def test_a_prepared_folder_is_a_source(videos: Path, tmp_path: Path):
    """--index may be a prepared dataset: its source.json names the videos root; subsets travel along."""
    index = write_index(tmp_path / "index.parquet", {"a": "Move/a.mp4", "b": "Move/b.mp4"}, ["train", "test"])
    cfg = DataConfig(dataset="custom", multilabel=False, index=str(index), videos=str(videos), val_fraction=0.0)
    prepared = prepare_dataset(cfg, cache_dir=tmp_path / "prepared")
    summary = cache_index(prepared, tmp_path / "out", CacheParams(), use_ray=False, workers=1)
    cached = splits.read_index(tmp_path / "out" / "index.parquet")
    assert summary.done == 2 and cached["subset"].tolist() == ["train", "test"]
    assert cached["num_frames"].tolist() == [FRAMES, FRAMES]


def test_h264_failures_leave_nothing(tmp_path: Path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00" * 512)
    result = cache_video(CacheJob("bad", str(garbage)), tmp_path / "videos", CacheParams(format="h264"))
    assert result.status == "failed" and str(garbage) in (result.error or "")
    assert list((tmp_path / "videos").iterdir()) == []
