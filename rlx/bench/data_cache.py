"""The training-cache comparison of `python -m rlx.bench data`: the cache's formats against the original videos.

Every clip of the data benchmark is cached once in each format
(`rlx.data.cache.cache_video`: JPEG rawframes q95 and H.264 crf 18 GOP 8, both
at short side 256), then the full training path (`rlx.data.pipeline.load_video`:
sample T = 8 -> decode -> multi-scale crop/flip -> (T, 3, 224, 224)) runs on the
originals and on each cache with the same frame counts and the same per-clip
generators (so the same frame indices and crops), one core, calls interleaved
(`time_alternating`). The baseline is the originals through the default
`data.decoder` (pyav, which the decoder comparison chose for them); the JPEG
cache is read by OpenCV whatever the decoder; the H.264 cache is timed with
pyav (decodes from the start, so a short GOP buys nothing) and decord (seeks to
the keyframe before each wanted frame), and its result is the better one.

Details: raw videos/s, bytes on disk per video (originals, each cache), PSNR
of the cached frames at the sampled indices against the originals resized the
cache's way (mean and worst clip), seconds per video to write each cache (one
core), and any clip whose cached frame count differs from the index's.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rlx.bench.common import BenchResult
from rlx.data import sampling
from rlx.data.cache import CacheJob, CacheParams, cache_video, cached_size, resize_to
from rlx.data.cache.video import index_path
from rlx.data.decode import read_frames
from rlx.data.pipeline import PipelineSpec, load_video

FORMATS = {"jpeg": CacheParams(format="jpeg"), "h264": CacheParams(format="h264")}
GOAL = ">= 3x"


def compare(
    clips: Any,  # rlx.bench.data.ClipSet (not imported: rlx.bench.data imports this module)
    spec: PipelineSpec,
    time_alternating: Callable[[dict[str, Callable[[], None]], int], dict[str, float]],
    repeats: int,
    clip_rng: Callable[[int], np.random.Generator],
    tmp: Path,
) -> list[BenchResult]:
    """One result per cache format: videos/s of the train path on the cache over that on the originals."""
    built = {name: _build(clips, params, Path(tmp) / f"cache-{name}") for name, params in FORMATS.items()}
    counts = [min([clip.num_frames] + [b["frames"][k] for b in built.values()]) for k, clip in enumerate(clips.clips)]
    mismatched = {
        clip.rel: {"index": clip.num_frames, **{name: b["frames"][k] for name, b in built.items()}}
        for k, clip in enumerate(clips.clips)
        if any(b["frames"][k] != clip.num_frames for b in built.values())
    }
    original = [clip.rel for clip in clips.clips]
    paths = {name: [index_path(f"clip{k}", FORMATS[name]) for k in range(len(counts))] for name in FORMATS}
    fns = {
        "video": _train_path(spec, original, counts, clip_rng),
        "jpeg": _train_path(_at(spec, built["jpeg"]["root"]), paths["jpeg"], counts, clip_rng),
        "h264_pyav": _train_path(_at(spec, built["h264"]["root"], "pyav"), paths["h264"], counts, clip_rng),
        "h264_decord": _train_path(_at(spec, built["h264"]["root"], "decord"), paths["h264"], counts, clip_rng),
    }
    seconds = time_alternating(fns, repeats)
    n = len(counts)
    vps = {name: round(n / s, 2) for name, s in seconds.items()}
    video_bytes = [clip.path.stat().st_size for clip in clips.clips]
    common = {
        "goal": GOAL,
        "videos_per_s_per_core": vps,
        "bytes_per_video": {
            "video": round(float(np.mean(video_bytes))),
            **{name: round(float(np.mean(b["bytes"]))) for name, b in built.items()},
        },
        "write_s_per_video_per_core": {name: round(float(np.mean(b["seconds"])), 3) for name, b in built.items()},
        "frame_count_mismatches": mismatched,
        "clips": n,
        "pattern": f"train path load_video, T={spec.num_segments}, 224x224, 1 core",
    }
    h264_best = min(("h264_pyav", "h264_decord"), key=lambda name: seconds[name])
    results = []
    for name, fn_name in (("jpeg", "jpeg"), ("h264", h264_best)):
        params = FORMATS[name]
        quality = _psnr(clips, built[name], counts, params, clip_rng, spec.num_segments)
        decoder = "OpenCV (rawframes)" if name == "jpeg" else fn_name.split("_")[1]
        results.append(
            BenchResult(
                name=f"data.cache_{name}_vs_video",
                value=round(seconds["video"] / seconds[fn_name], 3),
                unit="x",
                baseline=f"original videos through the train path, data.decoder={spec.decoder}, 1 core",
                candidate=f"{name} cache {params.as_dict()} through the same train path, read by {decoder}, 1 core",
                details={**common, "psnr_db": quality},
            )
        )
    return results


def _build(clips: Any, params: CacheParams, root: Path) -> dict[str, Any]:
    """Cache every clip as `clip<k>`; its frame counts, bytes on disk and seconds per clip."""
    frames, sizes, seconds = [], [], []
    for k, clip in enumerate(clips.clips):
        start = time.perf_counter()
        result = cache_video(CacheJob(f"clip{k}", str(clip.path)), root, params)
        seconds.append(time.perf_counter() - start)
        if result.status != "done":
            raise RuntimeError(f"cannot cache {clip.path}: {result.error}")
        frames.append(result.num_frames)
        cached = root / index_path(f"clip{k}", params)
        sizes.append(sum(p.stat().st_size for p in cached.iterdir()) if cached.is_dir() else cached.stat().st_size)
    return {"root": root, "frames": frames, "bytes": sizes, "seconds": seconds}


def _at(spec: PipelineSpec, root: Path, decoder: str | None = None) -> PipelineSpec:
    return dataclasses.replace(spec, videos_root=str(root), decoder=decoder or spec.decoder)


def _train_path(
    spec: PipelineSpec, paths: list[str], counts: list[int], clip_rng: Callable[[int], np.random.Generator]
) -> Callable[[], None]:
    def run() -> None:
        for k, (path, count) in enumerate(zip(paths, counts, strict=True)):
            load_video(spec, path, count, clip_rng(k))

    return run


def _psnr(
    clips: Any,
    built: dict[str, Any],
    counts: list[int],
    params: CacheParams,
    clip_rng: Callable[[int], np.random.Generator],
    segments: int,
) -> dict[str, float]:
    """PSNR (dB) of the cached frames at each clip's sampled indices against the originals resized the cache's way."""
    values = []
    for k, (clip, count) in enumerate(zip(clips.clips, counts, strict=True)):
        idx = np.unique(sampling.train_indices(count, segments, 1, clip_rng(k)).ravel())
        original = read_frames(clip.path, idx, decoder="pyav")  # (N, H, W, 3)
        size = cached_size(*original.shape[1:3], params)
        reference = np.stack([resize_to(frame, size) for frame in original]).astype(np.float64)
        cached = read_frames(built["root"] / index_path(f"clip{k}", params), idx, decoder="pyav")
        mse = float(np.mean((cached.astype(np.float64) - reference) ** 2))
        values.append(99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse))
    return {"mean": round(float(np.mean(values)), 2), "worst_clip": round(float(np.min(values)), 2)}
