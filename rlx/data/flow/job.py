"""A flow job over many videos: resume, clean-up, and running one task per video on Ray or a process pool.

Robustness, because extraction over a dataset takes hours:
  * resumable: done videos (`.done` marker, see `rlx.data.flow.video`) are
    skipped before any task is scheduled;
  * leftover `.tmp-*` folders of an interrupted job are removed when the next
    job starts (so run one job per output folder at a time);
  * a video that fails to decode (or whose task dies) is counted and listed in
    the summary, never stops the job;
  * on a multi-node cluster every node must see `videos_root` and `out` at
    the same paths (shared storage): tasks receive paths, not bytes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rlx.data import video_jobs
from rlx.data.flow.fields import DEFAULT_BOUND, check_bound, estimator
from rlx.data.flow.video import FlowJob, VideoResult, extract_in_worker, extract_video, is_done


@dataclass(frozen=True)
class FlowSummary:
    """What a flow job did; `str()` is the CLI's summary."""

    out: Path
    algorithm: str
    bound: float
    done: int
    skipped_existing: int
    failed: int
    failed_videos: tuple[tuple[str, str], ...]  # (video_id, reason)
    seconds: float
    cleaned_tmp: int = 0

    def __str__(self) -> str:
        lines = [
            f"flow ({self.algorithm}, bound {self.bound:g}): {self.done} extracted, "
            f"{self.skipped_existing} already done, {self.failed} failed, in {self.seconds:.1f} s -> {self.out}"
        ]
        if self.cleaned_tmp:
            lines.append(f"  removed {self.cleaned_tmp} half-written folder(s) of an interrupted run")
        lines += video_jobs.failure_lines(self.failed_videos)
        return "\n".join(lines)


def jobs_from_index(index_path: Path, videos_root: Path) -> list[FlowJob]:
    """One job per index row; a listed `X.avi` that is absent but has a rawframes twin `X/` uses the folder."""
    # pandas, ~0.5 s (1 s+ on a busy machine): every pool process and Ray worker imports this package to
    # run `extract_in_worker`, and only the driver reads an index.
    from rlx.data.splits import read_index  # noqa: PLC0415

    videos_root = Path(videos_root)
    if not videos_root.is_dir():
        raise FileNotFoundError(f"videos folder not found: {videos_root}")
    index = read_index(Path(index_path))
    return [FlowJob(str(v), _source(videos_root / p)) for v, p in zip(index["video_id"], index["path"], strict=True)]


def _source(path: Path) -> str:
    twin = path.with_suffix("")
    return str(twin if not path.exists() and twin.is_dir() else path)


def extract_index(
    index_path: Path,
    videos_root: Path,
    out: Path,
    algorithm: str = "tvl1",
    bound: float = DEFAULT_BOUND,
    use_ray: bool = True,
    workers: int = 0,
    ray_address: str | None = None,
) -> FlowSummary:
    """Flow for every video of an index.parquet (paths relative to `videos_root`) into `out`."""
    jobs = jobs_from_index(index_path, videos_root)
    return extract_videos(jobs, out, algorithm, bound, use_ray=use_ray, workers=workers, ray_address=ray_address)


def extract_videos(
    jobs: Sequence[FlowJob],
    out: Path,
    algorithm: str = "tvl1",
    bound: float = DEFAULT_BOUND,
    use_ray: bool = True,
    workers: int = 0,
    ray_address: str | None = None,
) -> FlowSummary:
    """Extract `jobs` into `out`: on Ray (one task per video) or, with use_ray=False, a process pool.

    `workers`: pool size without Ray (0 = one per CPU; 1 = serially in this
    process, handy for tests and tiny jobs). `ray_address`: None connects to a
    running cluster (RAY_ADDRESS or `ray start`'s address file) or else
    starts a local Ray; an already initialised Ray is used as it is.
    """
    estimator(algorithm)  # an unknown algorithm fails before any work
    check_bound(bound)
    video_jobs.check_ids(jobs, "a flow folder")
    start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cleaned = video_jobs.clean_stale_tmp(out)
    todo = [job for job in jobs if not is_done(out / job.video_id)]
    args = (str(out), algorithm, bound)
    if use_ray:
        results = video_jobs.run_ray(extract_in_worker, todo, args, "flow", _failed, ray_address)
    elif workers == 1 or len(todo) <= 1:
        results = video_jobs.run_serial(extract_video, todo, (out, algorithm, bound), "flow")
    else:
        results = video_jobs.run_pool(extract_in_worker, todo, args, "flow", _failed, workers or os.cpu_count() or 1)
    failed = tuple((r.video_id, r.error or "unknown error") for r in results if r.status == "failed")
    return FlowSummary(
        out=out,
        algorithm=algorithm,
        bound=bound,
        done=sum(r.status == "done" for r in results),
        skipped_existing=len(jobs) - len(todo) + sum(r.status == "skipped" for r in results),
        failed=len(failed),
        failed_videos=failed,
        seconds=time.perf_counter() - start,
        cleaned_tmp=cleaned,
    )


def _failed(video_id: str, reason: str) -> VideoResult:
    return VideoResult(video_id, "failed", error=reason)
