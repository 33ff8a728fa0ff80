"""`python -m rlx.bench data`: what the video data path costs, each figure against a baseline in the same run.

All paths run the RGB, T = 8 training view (sample -> decode -> augment to
224², uint8 (T, 3, 224, 224)) on the same clips with the same frame indices,
single-threaded (decord 1 thread, cv2.setNumThreads(1)), so videos/s is
per CPU core:

- data.train_path_vs_decode_ceiling: videos/s of the full training path
  (`rlx.data.pipeline.load_video`) over videos/s of raw
  `decord.VideoReader(...).get_batch(indices)` (decoding only, no
  augmentation, none of `rlx.data.decode`'s AVI fixes). Goal >= 0.7x.
- data.train_path_vs_decode_all: the full training path over decoding every
  frame (`get_batch(range(n))`) then indexing and augmenting the same way.
  Goal >= 3x.
- data.ray_pipeline_vs_in_process, data.ray_pipeline_scaling: the Ray Data
  pipeline (`build_dataset`, one dataset streaming several epochs as
  training does, its start-up included, Ray start excluded) at 2 CPUs over
  `iter_local` in this process, and at all CPUs over 1 (`rlx.bench.data_ray`;
  details: every path's videos/s, a dataset per epoch and the pipeline
  before the fix beside it, first-batch seconds). Skipped by
  --quick (starting Ray alone takes ~5 s).
- data.decoder_<pyav|torchcodec>_vs_decord.<avi_xvid|mp4_h264>: videos/s of
  each `data.decoder` over decord's on the TSN training indices, per
  container group, with each backend's frames checked against PyAV
  (`rlx.bench.data_decoders`; its details name the fastest backend that
  passes, which the default `data.decoder` follows).
- data.cache_<jpeg|h264>_vs_video: videos/s of the full training path on
  each `rlx.data cache` format over the same path on the original videos,
  same clips, counts and indices (`rlx.bench.data_cache`; details: bytes per
  video, PSNR, write cost). Goal >= 3x.

Clips: every video under $RLX_DATASETS_META/videos (real UCF-101 AVIs and
MP4s); without it, synthetic clips are written to a temp folder. Details
carry raw videos/s, per-clip milliseconds and where the time goes.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import decord
import numpy as np

from rlx.bench import data_cache, data_decoders
from rlx.bench.common import BenchResult, cpu_name
from rlx.config import DataConfig
from rlx.data import sampling
from rlx.data.decode import read_frames
from rlx.data.pipeline import PipelineSpec, load_video
from rlx.data.synthetic import write_benchmark

T, L = 8, 1
SEED = 0


@dataclass(frozen=True)
class Clip:
    path: Path
    rel: str  # path relative to the clip root (what an index row holds)
    num_frames: int  # as a probed index knows it


@dataclass(frozen=True)
class ClipSet:
    root: Path
    clips: tuple[Clip, ...]
    source: str  # "datasets-meta" or "synthetic"


# --------------------------------------------------------------------------- clips


def find_clips(quick: bool, tmp: Path) -> ClipSet:
    """The real clips of RLX_DATASETS_META (quick: the 3 smallest), else synthetic clips written into `tmp`."""
    meta = os.environ.get("RLX_DATASETS_META")
    root = Path(meta) / "videos" if meta else None
    if root is not None and root.is_dir():
        paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".avi", ".mp4", ".mkv", ".webm"))
        if quick:
            paths = sorted(paths, key=lambda p: p.stat().st_size)[:3]
        return ClipSet(root, tuple(_clip(root, p) for p in paths), "datasets-meta")
    frames, size = (16, 64) if quick else (120, 240)
    write_benchmark(tmp, videos_per_class=1, frames=frames, size=size, seed=SEED)
    videos = tmp / "videos"
    return ClipSet(videos, tuple(_clip(videos, p) for p in sorted(videos.rglob("*.mp4"))), "synthetic")


def _clip(root: Path, path: Path) -> Clip:
    return Clip(path, str(path.relative_to(root)), len(decord.VideoReader(str(path), num_threads=1)))


def clip_rng(index: int) -> np.random.Generator:
    """Each path draws its indices from its own copy of the clip's generator: same indices everywhere."""
    return np.random.default_rng([SEED, index])


# --------------------------------------------------------------------------- the three single-core paths


def train_path(spec: PipelineSpec, clips: ClipSet) -> Callable[[], None]:
    """Candidate: sample -> decode (rlx.data.decode) -> augment -> (T, 3, S, S), one video after another."""

    def run() -> None:
        for k, clip in enumerate(clips.clips):
            load_video(spec, clip.rel, clip.num_frames, clip_rng(k))

    return run


def decode_ceiling(clips: ClipSet) -> Callable[[], None]:
    """Ceiling: raw decord get_batch of the same (sorted, distinct) indices; nothing else."""
    plans = [_indices(k, c) for k, c in enumerate(clips.clips)]

    def run() -> None:
        for clip, idx in zip(clips.clips, plans, strict=True):
            decord.VideoReader(str(clip.path), num_threads=1).get_batch(np.unique(idx).tolist()).asnumpy()

    return run


def decode_all(spec: PipelineSpec, clips: ClipSet) -> Callable[[], None]:
    """Baseline: decode every frame, index the sampled ones, augment exactly as the candidate does."""
    aug = spec.augment

    def run() -> None:
        for k, clip in enumerate(clips.clips):
            rng = clip_rng(k)
            idx = sampling.train_indices(clip.num_frames, T, L, rng).ravel()  # (T·L,)
            every = decord.VideoReader(str(clip.path), num_threads=1).get_batch(list(range(clip.num_frames))).asnumpy()
            _layout(aug.train(every[idx], rng))

    return run


def _indices(k: int, clip: Clip) -> np.ndarray:
    return sampling.train_indices(clip.num_frames, T, L, clip_rng(k)).ravel()


def _layout(frames: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(frames.transpose(0, 3, 1, 2))  # (T, S, S, 3) -> (T, 3, S, S)


def time_alternating(fns: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Median seconds per call of each fn, calls interleaved A, B, C, A, B, C… after one warm-up round.

    Interleaving exposes every path to the same background load on a shared machine.
    """
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def per_clip_ms(spec: PipelineSpec, clips: ClipSet, repeats: int) -> dict[str, dict[str, Any]]:
    """Per clip, ms: ceiling / decode via rlx.data.decode / full path / decode-all path, plus its keyframe count.

    Shows where the time goes: decode vs augment, and how the gain over
    decoding everything depends on the keyframe spacing (with one keyframe,
    seeking cannot skip decoding; it only saves RGB conversion).
    """
    out: dict[str, dict[str, Any]] = {}
    for k, clip in enumerate(clips.clips):
        single = ClipSet(clips.root, (clip,), clips.source)
        idx = _indices(k, clip)
        fns = {
            "ceiling": decode_ceiling(single),
            "decode": lambda c=clip, i=idx: read_frames(c.path, i),
            "train_path": train_path(spec, single),
            "decode_all": decode_all(spec, single),
        }
        ms = {name: round(s * 1000, 2) for name, s in time_alternating(fns, repeats).items()}
        out[clip.rel] = {"frames": clip.num_frames, "keyframes": _keyframes(clip), **ms}
    return out


def _keyframes(clip: Clip) -> int:
    return len(decord.VideoReader(str(clip.path), num_threads=1).get_key_indices())


def group_summary(per_clip: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Summed per-clip times by keyframe count (one vs several) and by container: the ratios each group reaches."""
    groups: dict[str, Callable[[str, dict[str, Any]], bool]] = {
        "one_keyframe": lambda rel, r: r["keyframes"] == 1,
        "several_keyframes": lambda rel, r: r["keyframes"] > 1,
        "avi": lambda rel, r: rel.lower().endswith(".avi"),
        "mp4": lambda rel, r: rel.lower().endswith(".mp4"),
    }
    out: dict[str, Any] = {}
    for group, keep in groups.items():
        rows = [r for rel, r in per_clip.items() if keep(rel, r)]
        if rows:
            total = {key: sum(r[key] for r in rows) for key in ("ceiling", "decode", "train_path", "decode_all")}
            out[group] = {
                "clips": len(rows),
                "train_path_vs_ceiling": round(total["ceiling"] / total["train_path"], 3),
                "train_path_vs_decode_all": round(total["decode_all"] / total["train_path"], 3),
                "decode_share_of_train_path": round(total["decode"] / total["train_path"], 3),
            }
    return out


# --------------------------------------------------------------------------- results


def _env(clips: ClipSet) -> dict[str, Any]:
    return {
        "clips": len(clips.clips),
        "clip_source": clips.source,
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "view": f"rgb train T={T} L={L} -> 224x224, short side 256",
        "train_path_decoder": DataConfig.decoder,  # the default data.decoder the train path decodes with
    }


def run(quick: bool = False) -> list[BenchResult]:
    cv2.setNumThreads(1)  # one core per path: the figures are per core
    repeats = 2 if quick else 7
    with tempfile.TemporaryDirectory(prefix="rlx-bench-data-") as tmp:
        clips = find_clips(quick, Path(tmp))
        spec = PipelineSpec(str(clips.root), mode="train", num_segments=T, new_length=L, seed=SEED)
        n = len(clips.clips)
        t = time_alternating(
            {
                "ceiling": decode_ceiling(clips),
                "candidate": train_path(spec, clips),
                "decode_all": decode_all(spec, clips),
            },
            repeats,
        )
        vps = {name: round(n / s, 2) for name, s in t.items()}
        env = _env(clips)
        per_clip = {} if quick else per_clip_ms(spec, clips, 3)
        by_group = group_summary(per_clip)
        results = [
            BenchResult(
                name="data.train_path_vs_decode_ceiling",
                value=round(t["ceiling"] / t["candidate"], 3),
                unit="x",
                baseline="raw decord get_batch of the sampled indices (decode only), 1 core",
                candidate="rlx train path: sample + decode (rlx.data.decode) + multi-scale crop/flip + layout, 1 core",
                details={"goal": ">= 0.7x", "videos_per_s_per_core": vps, "by_group": by_group, **env},
            ),
            BenchResult(
                name="data.train_path_vs_decode_all",
                value=round(t["decode_all"] / t["candidate"], 3),
                unit="x",
                baseline="decord get_batch of every frame, then index + the same augmentation, 1 core",
                candidate="rlx train path (as above), 1 core",
                details={
                    "goal": ">= 3x",
                    "videos_per_s_per_core": vps,
                    "by_group": by_group,
                    "per_clip_ms": per_clip,
                    **env,
                },
            ),
        ]
        counts = {clip.path: clip.num_frames for clip in clips.clips}
        groups = data_decoders.group_clips([clip.path for clip in clips.clips], counts, Path(tmp))
        results += data_decoders.compare(groups, counts, time_alternating, repeats, SEED, T)
        results += data_cache.compare(clips, spec, time_alternating, repeats, clip_rng, Path(tmp))
        if not quick:
            rows = [
                {"video_id": f"{c.rel}#{r}", "path": c.rel, "label": 0, "labels": [0], "num_frames": c.num_frames}
                for r in range(max(1, 256 // n))
                for c in clips.clips
            ]
            # Imported here: the GPU bench imports this module for its clips on machines that may lack Ray.
            from rlx.bench import data_ray  # noqa: PLC0415

            # 4 interleaved rounds (was 2): on a shared 2-core VM two rounds of the streamed path five minutes
            # apart gave 1.57x and 1.98x the in-process decoder; the median of 4 is steadier.
            results += data_ray.compare(spec, rows, time_alternating, repeats=4, env=env)
    return results
