"""Run one `cache_in_worker` per video: serially, in a spawned process pool, or as Ray tasks; one progress bar.

The structure of `rlx.data.flow.job`'s runners: Ray tasks of 1 CPU with at
most ~2 per cluster CPU in flight (paths travel, never frames), a task that
raised or whose worker died is that video's failure, and a broken process
pool fails the videos still in flight. The bar (tqdm on stderr) shows done /
total, rate and ETA.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rlx.data.cache.formats import CacheParams
from rlx.data.cache.video import CacheJob, VideoResult, cache_in_worker, cache_video


def progress(total: int) -> tqdm:
    return tqdm(total=total, desc="cache", unit="video", file=sys.stderr, disable=None, dynamic_ncols=True)


def run_serial(jobs: Sequence[CacheJob], videos: str, params: CacheParams) -> list[VideoResult]:
    results = []
    with progress(len(jobs)) as bar:
        for job in jobs:
            results.append(cache_video(job, Path(videos), params))
            bar.update(1)
    return results


def run_pool(jobs: Sequence[CacheJob], videos: str, params: CacheParams, workers: int) -> list[VideoResult]:
    """Spawned processes (forking a process holding decoder threads can deadlock)."""
    results = []
    context = multiprocessing.get_context("spawn")
    with progress(len(jobs)) as bar, ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
        futures: dict[Future, CacheJob] = {pool.submit(cache_in_worker, job, videos, params): job for job in jobs}
        for future in as_completed(futures):
            try:
                results.append(future.result())
            except BrokenProcessPool:
                results.append(VideoResult(futures[future].video_id, "failed", error="worker process died"))
            bar.update(1)
    return results


def run_ray(jobs: Sequence[CacheJob], videos: str, params: CacheParams, address: str | None) -> list[VideoResult]:
    """One Ray task per video, at most ~2 per cluster CPU in flight; progress as tasks finish."""
    import ray  # noqa: PLC0415  (~0.8 s: `--no-ray` runs and spawned pool workers need not import it)

    started = connect_ray(address)
    try:
        task = ray.remote(num_cpus=1, max_retries=1)(cache_in_worker)
        limit = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        pending: dict = {}
        queue = iter(jobs)
        results: list[VideoResult] = []
        with progress(len(jobs)) as bar:
            _submit(task, queue, pending, limit, videos, params)
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    results.append(_ray_result(ref, pending.pop(ref)))
                    bar.update(1)
                _submit(task, queue, pending, limit, videos, params)
        return results
    finally:
        if started:
            ray.shutdown()


def _submit(task: Any, queue: Iterator[CacheJob], pending: dict, limit: int, videos: str, params: CacheParams) -> None:
    for job in queue:
        pending[task.remote(job, videos, params)] = job
        if len(pending) >= limit:
            return


def _ray_result(ref: Any, job: CacheJob) -> VideoResult:
    """The task's result; a task that raised or whose worker died is that video's failure."""
    import ray  # noqa: PLC0415

    try:
        return ray.get(ref)
    except ray.exceptions.RayError as err:
        reason = str(err).strip().splitlines()[-1][:300] if str(err).strip() else type(err).__name__
        return VideoResult(job.video_id, "failed", error=f"task failed: {reason}")


def connect_ray(address: str | None) -> bool:
    """Use an initialised Ray, else connect (address, RAY_ADDRESS, running cluster) or start a local one.

    Returns whether this call initialised Ray (and so must shut it down).
    """
    import ray  # noqa: PLC0415

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
