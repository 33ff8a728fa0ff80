"""A cache job over an index: resume, clean-up, the runners, and the cache's own index, failures and summary.

`<out>/` receives
    videos/         the cached videos (`rlx.data.cache.video`): `<id>/img_*.jpg` or `<id>.mp4`
    index.parquet   the source index's rows (same ids, labels, splits, subsets, class list, format) with
                    `path` pointing into videos/, `num_frames` = the frames cached, media `rawframes`
                    (jpeg) or `video` (h264); a failed video keeps its row, status corrupt or missing and
                    its reason in `probe_error`, so training excludes and reports it (rlx.train.accounting)
    failed.csv      video_id, source, reason of every failed video of the last run (header only if none)
    cache.json      the parameters: a rerun with other ones is refused instead of mixing two caches
Training reads it with `data.index=<out>/index.parquet data.videos=<out>/videos`.

Robustness as `rlx.data flow`: done videos are skipped before any task is
scheduled (a rerun rewrites nothing that is complete); `.tmp-*` leftovers of
an interrupted run are removed first (run one job per output folder at a
time); a video that fails is counted and named, never stops the job; on a
cluster every node must see the sources and `<out>` at the same paths.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rlx.data import splits, video_jobs
from rlx.data.cache.formats import CacheParams
from rlx.data.cache.video import (
    TMP_PREFIX,
    CacheJob,
    VideoResult,
    cache_in_worker,
    cache_video,
    done_frames,
    index_path,
)

FAILED_CSV = "failed.csv"
PARAMS_JSON = "cache.json"


@dataclass(frozen=True)
class CacheSummary:
    """What a cache job did; `str()` is the CLI's summary."""

    out: Path
    params: CacheParams
    done: int
    skipped_existing: int
    failed: int
    failed_videos: tuple[tuple[str, str], ...]  # (video_id, reason)
    seconds: float
    cleaned_tmp: int = 0

    def __str__(self) -> str:
        settings = ", ".join(f"{k} {v}" for k, v in self.params.as_dict().items() if k != "format")
        lines = [
            f"cache ({self.params.format}: {settings}): {self.done} cached, {self.skipped_existing} already done, "
            f"{self.failed} failed, in {self.seconds:.1f} s -> {self.out}",
            f"  train on it: data.index={self.out / 'index.parquet'} data.videos={self.out / 'videos'}",
        ]
        if self.cleaned_tmp:
            lines.append(f"  removed {self.cleaned_tmp} half-written video(s) of an interrupted run")
        lines += video_jobs.failure_lines(self.failed_videos)
        if self.failed:
            lines.append(f"  all failures: {self.out / FAILED_CSV}")
        return "\n".join(lines)


def read_source(index: Path, videos: Path | None = None) -> tuple[pd.DataFrame, list[CacheJob]]:
    """The index and one job per row, from an index.parquet (+ its videos root) or a prepared folder."""
    index = Path(index)
    if index.is_dir():  # a prepared folder (rlx.train.prepare): its source.json says where the frames are
        source_json = index / "source.json"
        if not source_json.is_file():
            raise FileNotFoundError(f"{index} is a folder but not a prepared dataset (no source.json)")
        source = json.loads(source_json.read_text(encoding="utf-8"))
        table = splits.read_index(index / "index.parquet")
        if source["layout"] == "frames" and table.attrs.get("media") == "video":
            raise ValueError(f"{index} is a flow dataset (frames of videos): the cache is for RGB videos only")
        root = Path(videos) if videos else Path(source["root"])
    else:
        if videos is None:
            raise ValueError(f"--videos is needed with an index file ({index}): the root its paths are relative to")
        table, root = splits.read_index(index), Path(videos)
    if not root.is_dir():
        raise FileNotFoundError(f"videos folder not found: {root}")
    jobs = [CacheJob(str(v), str(root / p)) for v, p in zip(table["video_id"], table["path"], strict=True)]
    return table, jobs


def cache_index(
    index: Path,
    out: Path,
    params: CacheParams,
    videos: Path | None = None,
    use_ray: bool = True,
    workers: int = 0,
    ray_address: str | None = None,
) -> CacheSummary:
    """Cache every video of an index.parquet (paths relative to `videos`) or a prepared folder into `out`."""
    table, jobs = read_source(index, videos)
    return cache_videos(table, jobs, out, params, use_ray=use_ray, workers=workers, ray_address=ray_address)


def cache_videos(
    table: pd.DataFrame,
    jobs: Sequence[CacheJob],
    out: Path,
    params: CacheParams,
    use_ray: bool = True,
    workers: int = 0,
    ray_address: str | None = None,
) -> CacheSummary:
    """Cache `jobs` (one per row of `table`, same order) into `out`: Ray tasks, or a pool with use_ray=False.

    `workers`: pool size without Ray (0 = one per CPU; 1 = serially in this
    process). `ray_address`: None connects to a running cluster (RAY_ADDRESS
    or `ray start`'s address file) or else starts a local Ray; an already
    initialised Ray is used as it is.
    """
    video_jobs.check_ids(jobs, "a cached video")
    start = time.perf_counter()
    out = Path(out)
    media = out / "videos"
    media.mkdir(parents=True, exist_ok=True)
    _check_params(out, params)
    cleaned = video_jobs.clean_stale_tmp(media)
    todo = [job for job in jobs if done_frames(media, job.video_id, params) is None]
    args = (str(media), params)
    if use_ray:
        results = video_jobs.run_ray(cache_in_worker, todo, args, "cache", _failed, ray_address)
    elif workers == 1 or len(todo) <= 1:
        results = video_jobs.run_serial(cache_video, todo, (media, params), "cache")
    else:
        results = video_jobs.run_pool(cache_in_worker, todo, args, "cache", _failed, workers or os.cpu_count() or 1)
    by_id = {r.video_id: r for r in results}
    failed = tuple((r.video_id, r.error or "unknown error") for r in results if r.status == "failed")
    write_cache_index(table, jobs, by_id, out, params)
    write_failed(out / FAILED_CSV, jobs, by_id)
    return CacheSummary(
        out=out,
        params=params,
        done=sum(r.status == "done" for r in results),
        skipped_existing=len(jobs) - len(todo) + sum(r.status == "skipped" for r in results),
        failed=len(failed),
        failed_videos=failed,
        seconds=time.perf_counter() - start,
        cleaned_tmp=cleaned,
    )


def write_cache_index(
    table: pd.DataFrame, jobs: Sequence[CacheJob], results: dict[str, VideoResult], out: Path, params: CacheParams
) -> Path:
    """The cache's index.parquet: the source rows, pointed at the cache (see module doc)."""
    media = out / "videos"
    rows = table.copy()
    rows.attrs = dict(table.attrs)
    frames, status, errors = [], [], []
    for job in jobs:
        result = results.get(job.video_id)
        if result is not None and result.status == "failed":
            frames.append(None)
            status.append("missing" if "file not found" in (result.error or "") else "corrupt")
            errors.append(result.error)
            continue
        count = result.num_frames if result is not None and result.status == "done" else None
        frames.append(count if count is not None else done_frames(media, job.video_id, params))
        status.append("ok")
        errors.append(None)
    rows["path"] = [index_path(job.video_id, params) for job in jobs]
    rows["num_frames"] = pd.array(frames, dtype="Int32")
    rows["status"] = status
    rows["probe_error"] = errors
    rows.attrs["media"] = "rawframes" if params.format == "jpeg" else "video"
    tmp = out / f"{TMP_PREFIX}index"
    written = splits.write_index(rows, tmp / "index.parquet")
    os.replace(written, out / "index.parquet")  # a reader sees the old index or the new one
    os.replace(splits.classes_path(written), splits.classes_path(out / "index.parquet"))
    shutil.rmtree(tmp, ignore_errors=True)
    return out / "index.parquet"


def write_failed(path: Path, jobs: Sequence[CacheJob], results: dict[str, VideoResult]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["video_id", "source", "reason"])
        for job in jobs:
            result = results.get(job.video_id)
            if result is not None and result.status == "failed":
                writer.writerow([job.video_id, job.source, result.error])


def _check_params(out: Path, params: CacheParams) -> None:
    """Record the parameters on the first run; refuse a rerun with others (one cache, one setting)."""
    path = out / PARAMS_JSON
    wanted = params.as_dict()
    if path.is_file():
        found = json.loads(path.read_text(encoding="utf-8"))
        differ = {key: (found.get(key), value) for key, value in wanted.items() if found.get(key) != value}
        if differ:
            what = ", ".join(f"{key} {old!r} (asked {new!r})" for key, (old, new) in differ.items())
            raise ValueError(f"{out} holds a cache made with {what} ({path}): use another --out or the same options")
        return
    path.write_text(json.dumps(wanted, indent=1), encoding="utf-8")


def _failed(video_id: str, reason: str) -> VideoResult:
    return VideoResult(video_id, "failed", error=reason)
