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

import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rlx.data.flow.fields import DEFAULT_BOUND, check_bound, estimator
from rlx.data.flow.video import TMP_PREFIX, FlowJob, VideoResult, extract_in_worker, extract_video, is_done


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
        shown = 20
        lines += [f"  failed {video_id}: {reason}" for video_id, reason in self.failed_videos[:shown]]
        if self.failed > shown:
            lines.append(f"  ... and {self.failed - shown} more")
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
    _check_ids(jobs)
    start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cleaned = clean_stale_tmp(out)
    todo = [job for job in jobs if not is_done(out / job.video_id)]
    if use_ray:
        results = _run_ray(todo, out, algorithm, bound, ray_address)
    elif workers == 1 or len(todo) <= 1:
        results = _run_serial(todo, out, algorithm, bound)
    else:
        results = _run_pool(todo, out, algorithm, bound, workers or os.cpu_count() or 1)
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


def clean_stale_tmp(out: Path) -> int:
    """Remove `.tmp-*` folders left by an interrupted job; the number removed."""
    stale = [p for p in Path(out).iterdir() if p.name.startswith(TMP_PREFIX) and p.is_dir()]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return len(stale)


def _check_ids(jobs: Sequence[FlowJob]) -> None:
    """Ids become folder names: they must be unique, non-empty, without separators, not hidden."""
    seen: set[str] = set()
    for job in jobs:
        vid = job.video_id
        if not vid or "/" in vid or os.sep in vid or vid.startswith(".") or vid in seen:
            raise ValueError(f"video_id {vid!r} cannot name a flow folder (empty, a path, hidden or duplicated)")
        seen.add(vid)


def _progress(total: int) -> tqdm:
    return tqdm(total=total, desc="flow", unit="video", file=sys.stderr, disable=None, dynamic_ncols=True)


# --------------------------------------------------------------------------- runners: serial, pool, Ray


def _run_serial(jobs: Sequence[FlowJob], out: Path, algorithm: str, bound: float) -> list[VideoResult]:
    results = []
    with _progress(len(jobs)) as bar:
        for job in jobs:
            results.append(extract_video(job, out, algorithm, bound))
            bar.update(1)
    return results


def _run_pool(jobs: Sequence[FlowJob], out: Path, algorithm: str, bound: float, workers: int) -> list[VideoResult]:
    """Spawned processes (forking a process holding decoder threads can deadlock).

    A worker killed by the decoder breaks the pool: the videos still in
    flight are reported failed with that reason; rerunning retries them.
    """
    results = []
    context = multiprocessing.get_context("spawn")
    with _progress(len(jobs)) as bar, ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
        futures: dict[Future, FlowJob] = {
            pool.submit(extract_in_worker, job, str(out), algorithm, bound): job for job in jobs
        }
        for future in as_completed(futures):
            try:
                results.append(future.result())
            except BrokenProcessPool:
                results.append(VideoResult(futures[future].video_id, "failed", error="worker process died"))
            bar.update(1)
    return results


def _run_ray(
    jobs: Sequence[FlowJob], out: Path, algorithm: str, bound: float, address: str | None
) -> list[VideoResult]:
    """One Ray task per video, at most ~2 per cluster CPU in flight; progress as tasks finish."""
    import ray  # noqa: PLC0415  (~0.8 s: `--no-ray` runs and every spawned pool worker import this module)

    started = _connect_ray(address)
    try:
        task = ray.remote(num_cpus=1, max_retries=1)(extract_in_worker)
        limit = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        pending: dict = {}
        queue = iter(jobs)
        results: list[VideoResult] = []
        with _progress(len(jobs)) as bar:
            _submit(task, queue, pending, limit, str(out), algorithm, bound)
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    results.append(_ray_result(ref, pending.pop(ref)))
                    bar.update(1)
                _submit(task, queue, pending, limit, str(out), algorithm, bound)
        return results
    finally:
        if started:
            ray.shutdown()


def _submit(
    task: Any, queue: Iterator[FlowJob], pending: dict, limit: int, out: str, algorithm: str, bound: float
) -> None:
    for job in queue:
        pending[task.remote(job, out, algorithm, bound)] = job
        if len(pending) >= limit:
            return


def _ray_result(ref: Any, job: FlowJob) -> VideoResult:
    """The task's result; a task that raised or whose worker died is that video's failure."""
    import ray  # noqa: PLC0415  (~0.8 s, as in `_run_ray`)

    try:
        return ray.get(ref)
    except ray.exceptions.RayError as err:
        reason = str(err).strip().splitlines()[-1][:300] if str(err).strip() else type(err).__name__
        return VideoResult(job.video_id, "failed", error=f"task failed: {reason}")


def _connect_ray(address: str | None) -> bool:
    """Use an initialised Ray, else connect (address, RAY_ADDRESS, running cluster) or start a local one.

    Returns whether this call initialised Ray (and so must shut it down).
    """
    import ray  # noqa: PLC0415  (~0.8 s, as in `_run_ray`)

    if ray.is_initialized():
        return False
    if address or os.environ.get("RAY_ADDRESS"):
        ray.init(address=address)
        return True
    try:
        ray.init(address="auto")
    except ConnectionError:  # no running cluster: a local one for this job
        ray.init(address="local", include_dashboard=False)
    return True
