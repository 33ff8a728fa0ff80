"""Open every video of an index in parallel: frame count, fps and a status.

`probe_index` answers "which files are missing or corrupt?" before a run
spends hours finding out. Each video is opened by `rlx.data.decode.verify_video`
(first and last frame decoded) in a process pool; a bad video becomes a
status, never an exception:

    ok         decodable, at least `min_frames` frames
    missing    no file (nor rawframes folder) at the path
    corrupt    cannot be opened or decoded, or truncated (reason in `probe_error`)
    too_short  fewer than `min_frames` frames

A truncated file can still open and decode to its last surviving frame (an
AVI cut in half plays its first half: the demuxer rebuilds the index from
the packets it finds), so a video file is also checked against the frame
count its container header declares: fewer than (1 - `TRUNCATION_TOLERANCE`)
of them decodable is corrupt ("truncated: 58 of the 121 frames ...").

A path that is a folder, or whose suffix-less twin is a folder
(`Class/v_x.avi` -> `Class/v_x/`), is a rawframes folder: its `img_*.jpg`
(or, in a flow folder, its `flow_x_`/`flow_y_` pairs) are counted and the
first and last are decoded.

Workers are spawned, not forked: the parent may hold decoder, OpenMP or Ray
threads, and forking a threaded process can deadlock the child. A worker
killed by the decoder (a segfault on a malicious file) breaks the pool; the
unfinished videos are then retried one worker at a time, which pins the
crash on one file, marked corrupt, and lets the rest finish.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import av
import decord
import numpy as np
import pandas as pd
from tqdm import tqdm

from rlx.data import decode

STATUSES = ("ok", "missing", "corrupt", "too_short", "unprobed")
BAD_STATUSES = ("missing", "corrupt", "too_short")


@dataclass(frozen=True)
class ProbeJob:
    row: int
    path: str
    min_frames: int


@dataclass(frozen=True)
class ProbeResult:
    row: int
    status: str
    num_frames: int | None = None
    fps: float = float("nan")
    error: str | None = None


# No video of the supported datasets takes a minute to open and decode twice; a decoder that does is
# stuck (decord can loop on a container that over-reports its frames).
DEFAULT_TIMEOUT_S = 120.0
# Decodable frames may fall short of the header's count by this fraction before a file counts as truncated:
# a header can count a few frames the decoders drop (empty AVI chunks); a cut file loses far more.
TRUNCATION_TOLERANCE = 0.05


def probe_index(
    df: pd.DataFrame, videos_root: Path, min_frames: int = 1, workers: int = 0, timeout: float = DEFAULT_TIMEOUT_S
) -> pd.DataFrame:
    """A copy of `df` with num_frames, fps, status and probe_error filled for every row.

    A video whose probe runs longer than `timeout` seconds is marked corrupt ("timed out") and its
    worker is killed; the others are probed as usual.
    """
    videos_root = Path(videos_root)
    if not videos_root.is_dir():
        raise FileNotFoundError(f"videos root not found: {videos_root}")
    jobs = [ProbeJob(row, str(videos_root / rel), min_frames) for row, rel in enumerate(df["path"])]
    results = run_all(jobs, workers or os.cpu_count() or 1, timeout=timeout)
    return _apply(df, [results[job.row] for job in jobs])


def probe_rows(
    df: pd.DataFrame, rows: np.ndarray, videos_root: Path, min_frames: int = 1, timeout: float = DEFAULT_TIMEOUT_S
) -> pd.DataFrame:
    """A copy of `df` with the rows where the boolean mask `rows` is true probed (again), the others as they were."""
    out = df.copy()
    if "probe_error" not in out:
        out["probe_error"] = pd.array([None] * len(out), dtype=object)
    if not rows.any():
        return out
    probed = probe_index(df[rows], videos_root, min_frames, timeout=timeout)
    for column in ("num_frames", "fps", "status", "probe_error"):
        out.loc[rows, column] = probed[column].to_numpy()
    out["num_frames"] = out["num_frames"].astype("Int32")
    out["fps"] = out["fps"].astype(np.float32)
    return out


def describe_status(df: pd.DataFrame, list_bad: bool = False) -> str:
    """`status: ok 9, missing 1, ...` and, with `list_bad`, one line per bad video (path, status, why)."""
    counts = df["status"].value_counts()
    parts = ", ".join(f"{name} {int(counts[name])}" for name in STATUSES if name in counts)
    lines = [f"status of {len(df)} videos: {parts}"]
    if list_bad:
        bad = df[df["status"].isin(BAD_STATUSES)]
        errors = bad["probe_error"] if "probe_error" in bad else pd.Series(None, index=bad.index)
        for path, status, error in zip(bad["path"], bad["status"], errors, strict=True):
            lines.append(f"  {status:<9} {path}" + (f"  ({error})" if isinstance(error, str) and error else ""))
    return "\n".join(lines)


def probe_one(path: str | os.PathLike, min_frames: int = 1) -> ProbeResult:
    """Status of one video file or rawframes folder; never raises for a bad video."""
    resolved = resolve_source(Path(path))
    if resolved is None:
        return ProbeResult(-1, "missing", error="no such file or rawframes folder")
    try:
        if resolved.is_dir():
            num_frames, fps = _probe_rawframes(resolved), float("nan")
        else:
            info = decode.verify_video(resolved)
            num_frames, fps = info.num_frames, info.fps
    except decode.DecodeError as err:
        return ProbeResult(-1, "corrupt", error=err.reason)
    declared = 0 if resolved.is_dir() else declared_frames(resolved)
    if num_frames < declared * (1 - TRUNCATION_TOLERANCE):
        return ProbeResult(-1, "corrupt", error=f"truncated: {num_frames} of the {declared} frames its header declares")
    status = "ok" if num_frames >= min_frames else "too_short"
    error = None if status == "ok" else f"{num_frames} frames < min_frames {min_frames}"
    return ProbeResult(-1, status, num_frames, fps, error)


# --------------------------------------------------------------------------- internals


def resolve_source(path: Path) -> Path | None:
    """The file or rawframes folder for an index path, or None when neither exists."""
    if path.exists():
        return path
    folder = path.with_suffix("")
    return folder if path.suffix and folder.is_dir() else None


def declared_frames(path: Path) -> int:
    """The frame count the container's header declares (AVI strh length, MP4 sample count); 0 when it has none."""
    try:
        with av.open(str(path)) as container:
            return int(container.streams.video[0].frames) if container.streams.video else 0
    except av.FFmpegError:  # decord opened it: a header PyAV cannot read is not evidence of a cut file
        return 0


def _probe_rawframes(folder: Path) -> int:
    """Frames of an `img_*.jpg` folder, or flow fields of a `flow_x_/flow_y_` folder (`rlx.data flow`)."""
    modality = "rgb"
    count = decode.rawframes_count(folder, "rgb")
    if not count:
        modality, count = "flow", decode.rawframes_count(folder, "flow")
    if count:
        decode.read_rawframes(folder, sorted({0, count - 1}), modality)
    return count


def _probe_job(job: ProbeJob) -> ProbeResult:
    result = probe_one(job.path, job.min_frames)
    return ProbeResult(job.row, result.status, result.num_frames, result.fps, result.error)


def _quiet_worker() -> None:
    """Silence FFmpeg's log lines in workers: they would shred the progress bar."""
    decord.logging.set_level(decord.logging.QUIET)


def run_all(
    jobs: list[ProbeJob],
    workers: int,
    task: Callable[[ProbeJob], ProbeResult] = _probe_job,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> dict[int, ProbeResult]:
    """Every job's result; `task` is a parameter so tests can stand in a crashing or hanging decoder."""
    results: dict[int, ProbeResult] = {}
    with tqdm(total=len(jobs), desc="probe", unit="video", file=sys.stderr, disable=None, dynamic_ncols=True) as bar:
        unfinished, _ = _run_pool(jobs, workers, results, bar, task, timeout)
        # A crashed or stuck worker fails every in-flight future. Redo those in a one-worker pool,
        # which runs them in order: the first one lost there is the video that crashed or hung.
        while unfinished:
            lost, stalled = _run_pool(unfinished, 1, results, bar, task, timeout)
            if lost:
                culprit, unfinished = lost[0], lost[1:]
                error = f"timed out after {timeout:g} s" if stalled else "decoder crashed the worker process"
                results[culprit.row] = ProbeResult(culprit.row, "corrupt", error=error)
                bar.update(1)
            else:
                unfinished = []
    return results


def _run_pool(
    jobs: list[ProbeJob],
    workers: int,
    results: dict[int, ProbeResult],
    bar: tqdm,
    task: Callable[[ProbeJob], ProbeResult],
    timeout: float,
) -> tuple[list[ProbeJob], bool]:
    """Run `jobs` in a pool, store results; return (the jobs lost to a broken pool in order, whether it stalled).

    A stall is `timeout` seconds without any job finishing: the pool's processes are killed, which
    fails every unfinished job like a crash does.
    """
    if not jobs:
        return [], False
    context = multiprocessing.get_context("spawn")
    workers = max(1, min(workers, len(jobs)))
    lost: list[ProbeJob] = []
    stalled = False
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_quiet_worker) as pool:
        _check_workers_start(pool)
        futures: dict[Future, ProbeJob] = {pool.submit(task, job): job for job in jobs}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            if not done:
                stalled = True
                for process in list(pool._processes.values()):  # no public way to stop a running task
                    process.kill()
                done, pending = wait(pending).done, set()
            for future in done:
                try:
                    result = future.result()
                except BrokenProcessPool:
                    lost.append(futures[future])
                    continue
                results[result.row] = result
                bar.update(1)
    return sorted(lost, key=lambda job: job.row), stalled


def _ping() -> bool:
    return True


def _check_workers_start(pool: ProcessPoolExecutor) -> None:
    """A pool that breaks before any video is opened is the environment, not a corrupt file."""
    try:
        pool.submit(_ping).result()
    except BrokenProcessPool as err:
        raise RuntimeError(
            "probe worker processes could not start (spawned workers re-import the main module: "
            "run from a script file or `python -m`, not from stdin)"
        ) from err


def _apply(df: pd.DataFrame, results: list[ProbeResult]) -> pd.DataFrame:
    out = df.copy()
    out["num_frames"] = pd.array([r.num_frames for r in results], dtype="Int32")
    out["fps"] = np.array([r.fps for r in results], dtype=np.float32)
    out["status"] = [r.status for r in results]
    out["probe_error"] = pd.array([r.error for r in results], dtype=object)
    return out
