"""Run one function per video — serially, in a spawned process pool, or as Ray tasks — behind one progress bar.

`rlx.data flow` and `rlx.data cache` are both "do this to every video, keep
going when one fails": they share these runners. `fn(job, *args)` does one
video and returns its result; `failed(video_id, reason)` builds the result
of a video whose worker died (pool) or whose task raised (Ray), so no video
is ever lost from the summary. Ray tasks take 1 CPU each with at most ~2 per
cluster CPU in flight (paths travel, never frames). The bar (tqdm on stderr,
hidden when stderr is not a terminal) shows done / total, rate and ETA.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

Result = TypeVar("Result")
Failed = Callable[[str, str], Result]  # (video_id, reason) -> that video's failed result


TMP_PREFIX = ".tmp-"  # a video's output is written under this name, renamed when complete


def check_ids(jobs: Sequence[Any], what: str) -> None:
    """Ids become file or folder names: unique, non-empty, without separators, not hidden."""
    seen: set[str] = set()
    for job in jobs:
        vid = job.video_id
        if not vid or "/" in vid or os.sep in vid or vid.startswith(".") or vid in seen:
            raise ValueError(f"video_id {vid!r} cannot name {what} (empty, a path, hidden or duplicated)")
        seen.add(vid)


def clean_stale_tmp(folder: Path) -> int:
    """Remove the `.tmp-*` folders and files an interrupted job left in `folder`; the number removed."""
    stale = [p for p in Path(folder).iterdir() if p.name.startswith(TMP_PREFIX)]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    return len(stale)


def failure_lines(failed_videos: Sequence[tuple[str, str]], shown: int = 20) -> list[str]:
    """A summary's failures: the first `shown` (video id, reason) pairs, then how many more."""
    lines = [f"  failed {video_id}: {reason}" for video_id, reason in failed_videos[:shown]]
    if len(failed_videos) > shown:
        lines.append(f"  ... and {len(failed_videos) - shown} more")
    return lines


def progress(total: int, desc: str) -> tqdm:
    return tqdm(total=total, desc=desc, unit="video", file=sys.stderr, disable=None, dynamic_ncols=True)


def run_serial(fn: Callable[..., Result], jobs: Sequence[Any], args: tuple, desc: str) -> list[Result]:
    results = []
    with progress(len(jobs), desc) as bar:
        for job in jobs:
            results.append(fn(job, *args))
            bar.update(1)
    return results


def run_pool(
    fn: Callable[..., Result], jobs: Sequence[Any], args: tuple, desc: str, failed: Failed, workers: int
) -> list[Result]:
    """Spawned processes (forking a process holding decoder threads can deadlock).

    A worker killed by a decoder breaks the pool: the videos still in flight
    are reported failed with that reason; rerunning retries them.
    """
    results = []
    context = multiprocessing.get_context("spawn")
    with progress(len(jobs), desc) as bar, ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
        futures: dict[Future, Any] = {pool.submit(fn, job, *args): job for job in jobs}
        for future in as_completed(futures):
            try:
                results.append(future.result())
            except BrokenProcessPool:
                results.append(failed(futures[future].video_id, "worker process died"))
            bar.update(1)
    return results


def run_ray(
    fn: Callable[..., Result], jobs: Sequence[Any], args: tuple, desc: str, failed: Failed, address: str | None
) -> list[Result]:
    """One Ray task per video, at most ~2 per cluster CPU in flight; progress as tasks finish."""
    import ray  # noqa: PLC0415  (~0.8 s: `--no-ray` runs and spawned pool workers need not import it)

    started = connect_ray(address)
    try:
        task = ray.remote(num_cpus=1, max_retries=1)(fn)
        limit = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        pending: dict = {}
        queue = iter(jobs)
        results: list[Result] = []
        with progress(len(jobs), desc) as bar:
            _submit(task, queue, pending, limit, args)
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    results.append(_ray_result(ref, pending.pop(ref), failed))
                    bar.update(1)
                _submit(task, queue, pending, limit, args)
        return results
    finally:
        if started:
            ray.shutdown()


def _submit(task: Any, queue: Iterator[Any], pending: dict, limit: int, args: tuple) -> None:
    for job in queue:
        pending[task.remote(job, *args)] = job
        if len(pending) >= limit:
            return


def _ray_result(ref: Any, job: Any, failed: Failed) -> Any:
    """The task's result; a task that raised or whose worker died is that video's failure."""
    import ray  # noqa: PLC0415

    try:
        return ray.get(ref)
    except ray.exceptions.RayError as err:
        reason = str(err).strip().splitlines()[-1][:300] if str(err).strip() else type(err).__name__
        return failed(job.video_id, f"task failed: {reason}")


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
