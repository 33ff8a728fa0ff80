"""One video's flow: decoded chunk by chunk, written as flow_x_/flow_y_ JPEGs into its folder atomically.

For a video with N frames, `OUT/<video_id>/` receives N-1 pairs
`flow_x_00001.jpg`, `flow_y_00001.jpg`, ... (1-based; pair k is the flow from
frame k-1 to frame k, 0-based). The folder counts as done only when it holds
`.done`, written last; the video is extracted into
`OUT/.tmp-<video_id>-<uuid>/` and renamed into place after `.done` is
written. Long videos are decoded in chunks of `CHUNK_FRAMES` frames, so
memory does not grow with video length.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import decord.logging
import numpy as np

from rlx.data.decode import FLOW_TEMPLATES, DecodeError, rawframes_count, read_frames, video_info
from rlx.data.flow.fields import DEFAULT_BOUND, flow_between, quantize_flow, to_gray
from rlx.data.video_jobs import TMP_PREFIX

DONE_MARKER = ".done"

CHUNK_FRAMES = 64
JPEG_QUALITY = 95  # OpenCV's default, the quality denseflow writes with


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
    if os.path.isdir(source):
        return rawframes_count(source, "rgb")
    return video_info(source).num_frames


def _read_frames(source: str, indices: Iterable[int]) -> np.ndarray:
    return read_frames(source, list(indices), "rgb")  # (n, H, W, 3) uint8


def extract_in_worker(job: FlowJob, out: str, algorithm: str, bound: float) -> VideoResult:
    """`extract_video` in a pool process or Ray task: one OpenCV thread (parallelism comes from workers)
    and quiet FFmpeg logs."""
    cv2.setNumThreads(1)
    decord.logging.set_level(decord.logging.QUIET)
    return extract_video(job, Path(out), algorithm, bound)
