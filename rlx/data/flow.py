"""Optical flow extraction to the TSN flow_x_/flow_y_ JPEG layout, one video per Ray task.

For a video with N frames, `OUT/<video_id>/` receives N-1 pairs
`flow_x_00001.jpg`, `flow_y_00001.jpg`, ... (1-based; pair k is the flow from
frame k-1 to frame k, 0-based), the layout `rlx.data.decode.read_rawframes`
reads and the one TSN / mmaction2's denseflow write.

Quantisation (`quantize_flow`), exactly:  q = rint((clip(f, -b, b) + b) * 255 / (2b))
    0 <-> -bound,  255 <-> +bound,  zero flow -> 127.5 -> 128 (round half to even);
    one level is 2b/255 px (0.157 px at b = 20), so a round trip through
    `dequantize_flow` (f = q * 2b/255 - b) is off by at most b/255 (half a
    level) inside [-b, b]. JPEG compression (quality 95) adds a little more.

Flow is computed on grayscale frames: TV-L1 (`cv2.optflow.DualTVL1OpticalFlow`,
the TSN choice, CPU, default parameters) or Farneback (much faster, rougher).
Channel 0 is x (positive = rightwards), channel 1 is y (positive = downwards):
frame_t(y, x) ~ frame_t+1(y + fy, x + fx).

Robustness, because extraction over a dataset takes hours:
  * resumable: a video counts as done only when its folder holds `.done`,
    written last; done videos are skipped before any task is scheduled;
  * atomic: a video is extracted into `OUT/.tmp-<video_id>-<uuid>/` and
    renamed into place after `.done` is written; leftover `.tmp-*` folders of
    an interrupted job are removed when the next job starts (so run one job
    per output folder at a time);
  * a video that fails to decode (or whose task dies) is counted and listed in
    the summary, never stops the job;
  * on a multi-node cluster every node must see `videos_root` and `out` at
    the same paths (shared storage): tasks receive paths, not bytes;
  * long videos are decoded in chunks of `CHUNK_FRAMES` frames, so memory does
    not grow with video length (a 30 s Charades video at 480p is ~0.6 GB of
    RGB frames).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import cv2
import numpy as np

from rlx.data.decode import FLOW_TEMPLATES

ALGORITHMS = ("tvl1", "farneback")
DEFAULT_BOUND = 20.0
DONE_MARKER = ".done"
TMP_PREFIX = ".tmp-"
CHUNK_FRAMES = 64
JPEG_QUALITY = 95  # OpenCV's default, the quality denseflow writes with


# --------------------------------------------------------------------------- flow maths


def compute_flow(frames: np.ndarray, algorithm: str = "tvl1") -> np.ndarray:
    """Flow between consecutive frames: (N, H, W, 3) uint8 RGB -> (N-1, H, W, 2) float32 (x, y) in px."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (N, H, W, 3) uint8 RGB, got {frames.shape} {frames.dtype}")
    if len(frames) < 2:
        raise ValueError(f"need at least 2 frames for flow, got {len(frames)}")
    return flow_between(to_gray(frames), algorithm)


def to_gray(frames: np.ndarray) -> list[np.ndarray]:
    """(N, H, W, 3) RGB -> N arrays (H, W) uint8."""
    return [cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY) for frame in frames]


def flow_between(grays: Sequence[np.ndarray], algorithm: str) -> np.ndarray:
    """(N-1, H, W, 2) float32 flow between consecutive grayscale frames."""
    estimate = _estimator(algorithm)
    return np.stack([estimate(a, b) for a, b in zip(grays[:-1], grays[1:])]).astype(np.float32, copy=False)


def _estimator(algorithm: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """One flow function per call: the TV-L1 object keeps state and is not shared across threads."""
    if algorithm == "tvl1":
        tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
        return lambda prev, nxt: tvl1.calc(prev, nxt, None)
    if algorithm == "farneback":
        # OpenCV's documented example parameters (3-level pyramid, 15 px window).
        return lambda prev, nxt: cv2.calcOpticalFlowFarneback(prev, nxt, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    raise ValueError(f"unknown flow algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}")


def quantize_flow(flow: np.ndarray, bound: float = DEFAULT_BOUND) -> np.ndarray:
    """Clip to [-bound, bound] and map linearly to uint8: 0 <-> -bound, 255 <-> +bound, 0 flow -> 128."""
    _check_bound(bound)
    scaled = (np.clip(flow, -bound, bound) + bound) * (255.0 / (2.0 * bound))
    return np.rint(scaled).astype(np.uint8)


def dequantize_flow(quantized: np.ndarray, bound: float = DEFAULT_BOUND) -> np.ndarray:
    """Inverse of `quantize_flow` (up to half a level, b/255 px): uint8 -> float32 px."""
    _check_bound(bound)
    return (quantized.astype(np.float32) * (2.0 * bound / 255.0) - bound).astype(np.float32)


def _check_bound(bound: float) -> None:
    if not bound > 0:
        raise ValueError(f"bound must be > 0, got {bound}")


# --------------------------------------------------------------------------- one video


@dataclass(frozen=True)
class FlowJob:
    """One video to extract: its id (the output folder name) and its source file or rawframes folder."""

    video_id: str
    source: str


@dataclass(frozen=True)
class VideoResult:
    video_id: str
    status: str  # done | skipped | failed
    num_flows: int = 0
    error: str | None = None


def is_done(folder: Path) -> bool:
    """A video's flow folder is complete iff its `.done` marker (written last) exists."""
    return (Path(folder) / DONE_MARKER).is_file()


def extract_video(job: FlowJob, out: Path, algorithm: str = "tvl1", bound: float = DEFAULT_BOUND) -> VideoResult:
    """Extract one video into `out/<video_id>/` atomically; a decode failure becomes a 'failed' result.

    Errors other than DecodeError (disk full, a bug) propagate: they are not
    the video's fault and should not be silently counted as a bad video.
    """
    from rlx.data.decode import DecodeError

    final = Path(out) / job.video_id
    if is_done(final):
        return VideoResult(job.video_id, "skipped")
    tmp = Path(out) / f"{TMP_PREFIX}{job.video_id}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        count = _write_flow_images(job.source, tmp, algorithm, bound)
        marker = {"num_flows": count, "algorithm": algorithm, "bound": bound, "source": job.source}
        (tmp / DONE_MARKER).write_text(json.dumps(marker), encoding="utf-8")
        if final.exists():  # a folder without .done: an earlier tool's or a copy's leftovers
            shutil.rmtree(final)
        os.replace(tmp, final)
    except DecodeError as err:
        return VideoResult(job.video_id, "failed", error=str(err))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return VideoResult(job.video_id, "done", num_flows=count)


def _write_flow_images(source: str, folder: Path, algorithm: str, bound: float) -> int:
    """Decode `source` chunk by chunk, write flow_x_/flow_y_ JPEGs into `folder`; the number of pairs."""
    from rlx.data.decode import DecodeError

    num_frames = _num_frames(source)
    if num_frames < 2:
        raise DecodeError(source, f"{num_frames} frame(s): flow needs at least 2")
    previous: np.ndarray | None = None
    written = 0
    for start in range(0, num_frames, CHUNK_FRAMES):
        grays = to_gray(_read_frames(source, range(start, min(start + CHUNK_FRAMES, num_frames))))
        if previous is not None:
            grays = [previous, *grays]  # the flow across the chunk boundary
        if len(grays) >= 2:
            for field in quantize_flow(flow_between(grays, algorithm), bound):  # (n, H, W, 2) uint8
                written += 1
                _write_pair(folder, written, field)
        previous = grays[-1]
    return written


def _write_pair(folder: Path, number: int, field: np.ndarray) -> None:
    for channel, template in enumerate(FLOW_TEMPLATES):
        path = folder / template.format(number)
        if not cv2.imwrite(str(path), field[..., channel], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise OSError(f"cannot write {path}")


def _num_frames(source: str) -> int:
    from rlx.data import decode

    if os.path.isdir(source):
        return decode.rawframes_count(source, "rgb")
    return decode.video_info(source).num_frames


def _read_frames(source: str, indices: Iterable[int]) -> np.ndarray:
    from rlx.data import decode

    return decode.read_frames(source, list(indices), "rgb")  # (n, H, W, 3) uint8


# --------------------------------------------------------------------------- many videos


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
    from rlx.data.splits import read_index

    videos_root = Path(videos_root)
    if not videos_root.is_dir():
        raise FileNotFoundError(f"videos folder not found: {videos_root}")
    index = read_index(Path(index_path))
    return [FlowJob(str(v), _source(videos_root / p)) for v, p in zip(index["video_id"], index["path"])]


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
    _estimator(algorithm)  # an unknown algorithm fails before any work
    _check_bound(bound)
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


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, desc="flow", unit="video", file=sys.stderr, disable=None, dynamic_ncols=True)


def _run_serial(jobs: Sequence[FlowJob], out: Path, algorithm: str, bound: float) -> list[VideoResult]:
    results = []
    with _progress(len(jobs)) as bar:
        for job in jobs:
            results.append(extract_video(job, out, algorithm, bound))
            bar.update(1)
    return results


def _worker_setup() -> None:
    """One OpenCV thread per worker (parallelism comes from workers) and quiet FFmpeg logs."""
    import decord.logging

    cv2.setNumThreads(1)
    decord.logging.set_level(decord.logging.QUIET)


def _extract_in_worker(job: FlowJob, out: str, algorithm: str, bound: float) -> VideoResult:
    _worker_setup()
    return extract_video(job, Path(out), algorithm, bound)


def _run_pool(jobs: Sequence[FlowJob], out: Path, algorithm: str, bound: float, workers: int) -> list[VideoResult]:
    """Spawned processes (forking a process holding decoder threads can deadlock).

    A worker killed by the decoder breaks the pool: the videos still in
    flight are reported failed with that reason; rerunning retries them.
    """
    import multiprocessing

    results = []
    context = multiprocessing.get_context("spawn")
    with _progress(len(jobs)) as bar, ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
        futures: dict[Future, FlowJob] = {
            pool.submit(_extract_in_worker, job, str(out), algorithm, bound): job for job in jobs
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
    import ray

    started = _connect_ray(address)
    try:
        task = ray.remote(num_cpus=1, max_retries=1)(_extract_in_worker)
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


def _submit(task, queue, pending: dict, limit: int, out: str, algorithm: str, bound: float) -> None:
    for job in queue:
        pending[task.remote(job, out, algorithm, bound)] = job
        if len(pending) >= limit:
            return


def _ray_result(ref, job: FlowJob) -> VideoResult:
    """The task's result; a task that raised or whose worker died is that video's failure."""
    import ray

    try:
        return ray.get(ref)
    except ray.exceptions.RayError as err:
        reason = str(err).strip().splitlines()[-1][:300] if str(err).strip() else type(err).__name__
        return VideoResult(job.video_id, "failed", error=f"task failed: {reason}")


def _connect_ray(address: str | None) -> bool:
    """Use an initialised Ray, else connect (address, RAY_ADDRESS, running cluster) or start a local one.

    Returns whether this call initialised Ray (and so must shut it down).
    """
    import ray

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
