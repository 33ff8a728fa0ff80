"""One video into the cache, atomically: written under a `.tmp-` name beside its final place, renamed when complete.

    jpeg   `<videos>/<id>/img_*.jpg` + `.done` (JSON: frame count, parameters, source), written last; the
           folder is filled as `<videos>/.tmp-<id>-<uuid>/` and renamed into place after `.done` exists.
    h264   `<videos>/<id>.mp4`, encoded as `<videos>/.tmp-<id>-<uuid>.mp4` and renamed into place: the
           final name exists only for a complete file.

So a video is done iff its final name exists (jpeg: with `.done`); anything
else is redone. A `DecodeError` (missing, corrupt, no frames) is the video's
failure, returned, never raised; other errors (disk full, a bug) propagate.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import cv2

from rlx.data.cache.formats import CacheParams, h264_frame_count, source_fps, source_frames, write_h264, write_jpeg
from rlx.data.decode import DecodeError
from rlx.data.video_jobs import TMP_PREFIX

DONE_MARKER = ".done"


@dataclass(frozen=True)
class CacheJob:
    """One video to cache: its id (the cached name) and its source file or rawframes folder."""

    video_id: str
    source: str


@dataclass(frozen=True)
class VideoResult:
    video_id: str
    status: str  # done | skipped | failed
    num_frames: int = 0
    error: str | None = None


def cached_path(videos: Path, video_id: str, params: CacheParams) -> Path:
    """Where a video's cache lives: its rawframes folder (jpeg) or its .mp4 (h264)."""
    return Path(videos) / (video_id if params.format == "jpeg" else f"{video_id}.mp4")


def index_path(video_id: str, params: CacheParams) -> str:
    """The cache index's `path` of a video, relative to `<out>/videos`."""
    return video_id if params.format == "jpeg" else f"{video_id}.mp4"


def done_frames(videos: Path, video_id: str, params: CacheParams) -> int | None:
    """The frame count of a completed cached video, None when it is not (completely) there."""
    final = cached_path(videos, video_id, params)
    if params.format == "jpeg":
        marker = final / DONE_MARKER
        return int(json.loads(marker.read_text(encoding="utf-8"))["num_frames"]) if marker.is_file() else None
    return h264_frame_count(final) if final.is_file() else None


def cache_video(job: CacheJob, videos: Path, params: CacheParams) -> VideoResult:
    """Cache one video into `videos` (see module doc); 'skipped' when already complete."""
    videos = Path(videos)
    if done_frames(videos, job.video_id, params) is not None:
        return VideoResult(job.video_id, "skipped")
    final = cached_path(videos, job.video_id, params)
    videos.mkdir(parents=True, exist_ok=True)
    tmp = videos / f"{TMP_PREFIX}{job.video_id}-{uuid.uuid4().hex[:8]}{'' if params.format == 'jpeg' else '.mp4'}"
    try:
        if params.format == "jpeg":
            tmp.mkdir(parents=True)
            count = write_jpeg(source_frames(job.source), tmp, params)
            _check_frames(job.source, count)
            marker = {"num_frames": count, **params.as_dict(), "source": job.source}
            (tmp / DONE_MARKER).write_text(json.dumps(marker), encoding="utf-8")
            if final.exists():  # a folder without .done: a copy's or an older tool's leftovers
                shutil.rmtree(final)
        else:
            count = write_h264(source_frames(job.source), tmp, source_fps(job.source), params)
            _check_frames(job.source, count)
        os.replace(tmp, final)
    except DecodeError as err:
        return VideoResult(job.video_id, "failed", error=str(err))
    finally:
        _remove(tmp)
    return VideoResult(job.video_id, "done", num_frames=count)


def _check_frames(source: str, count: int) -> None:
    if count == 0:
        raise DecodeError(source, "no decodable frames")


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink(missing_ok=True)


def cache_in_worker(job: CacheJob, videos: str, params: CacheParams) -> VideoResult:
    """`cache_video` in a pool process or Ray task: one OpenCV thread (parallelism comes from workers)."""
    cv2.setNumThreads(1)
    return cache_video(job, Path(videos), params)
