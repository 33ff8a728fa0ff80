"""Per-core videos/s of the flow training view (rawframes JPEGs) against the RGB view (video files).

- data.flow_rawframes_vs_rgb_video: videos/s of `load_video` for the
  temporal stream's training view (T = 8 snippets of L = 10 stacked flow
  fields: 160 grayscale JPEGs per video, read with OpenCV, cropped and
  flipped to 20 x 224²) over the spatial stream's (T = 8 RGB frames decoded
  from the video file, `data.decoder`), single-threaded, on the same videos.

Flow folders are written first with the repository's own extractor
(`rlx.data.flow.extract_video`) using Farneback, not TV-L1: TV-L1 takes
seconds per frame on CPU and the reader's cost depends on the JPEGs' size
and count, which Farneback's (rougher, so slightly larger) JPEGs bound from
above. Videos: the AVIs of $RLX_DATASETS_META/videos (UCF-101's format;
quick: the 2 smallest), else the synthetic clips of `rlx.bench.data`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from rlx.bench.common import BenchResult, cpu_name
from rlx.bench.data import ClipSet, find_clips, time_alternating
from rlx.data.decode.rawframes import rawframes_count
from rlx.data.flow.video import FlowJob, extract_video
from rlx.data.pipeline import PipelineSpec, load_video

T, L_FLOW = 8, 10


def _avi_clips(clips: ClipSet, quick: bool) -> ClipSet:
    avis = tuple(c for c in clips.clips if c.rel.lower().endswith(".avi")) or clips.clips
    if quick:
        avis = tuple(sorted(avis, key=lambda c: c.num_frames)[:2])
    return ClipSet(clips.root, avis, clips.source)


def write_flow(clips: ClipSet, out: Path) -> dict[str, int]:
    """Farneback flow folders of every clip under `out`: {folder name: flow pairs}."""
    counts = {}
    for k, clip in enumerate(clips.clips):
        video_id = f"clip{k:03d}"
        result = extract_video(FlowJob(video_id, str(clip.path)), out, algorithm="farneback")
        if result.status != "done":
            raise RuntimeError(f"flow extraction of {clip.path} failed: {result.error}")
        counts[video_id] = rawframes_count(out / video_id, "flow")
    return counts


def measure(quick: bool) -> dict[str, float | int | str]:
    """Per-core videos/s of the RGB and flow training views on the same videos, and what was measured."""
    cv2.setNumThreads(1)  # per core, as rlx.bench.data
    with tempfile.TemporaryDirectory(prefix="rlx-bench-flow-") as tmp:
        clips = _avi_clips(find_clips(quick, Path(tmp)), quick)
        flow_root = Path(tmp) / "flow"
        counts = write_flow(clips, flow_root)
        rgb_spec = PipelineSpec(str(clips.root), mode="train", num_segments=T, new_length=1)
        flow_spec = PipelineSpec(str(flow_root), mode="train", modality="flow", num_segments=T, new_length=L_FLOW)

        def rgb() -> None:
            for k, clip in enumerate(clips.clips):
                load_video(rgb_spec, clip.rel, clip.num_frames, np.random.default_rng(k))

        def flow() -> None:
            for k, (folder, n) in enumerate(counts.items()):
                load_video(flow_spec, folder, n, np.random.default_rng(k))

        t = time_alternating({"rgb": rgb, "flow": flow}, repeats=2 if quick else 5)
        jpeg_kb = np.mean([p.stat().st_size for p in flow_root.rglob("flow_x_*.jpg")]) / 1024
        frame = cv2.imread(str(next(flow_root.rglob("flow_x_*.jpg"))), cv2.IMREAD_GRAYSCALE)
    n = len(clips.clips)
    return {
        "rgb_videos_per_s_per_core": round(n / t["rgb"], 2),
        "flow_videos_per_s_per_core": round(n / t["flow"], 2),
        "videos": n,
        "clip_source": clips.source,
        "flow_jpeg_kib": round(float(jpeg_kb), 1),
        "flow_jpeg_size": f"{frame.shape[1]}x{frame.shape[0]}",
    }


def run(quick: bool = False) -> list[BenchResult]:
    m = measure(quick)
    return [
        BenchResult(
            name="data.flow_rawframes_vs_rgb_video",
            value=round(float(m["flow_videos_per_s_per_core"]) / float(m["rgb_videos_per_s_per_core"]), 3),
            unit="x",
            baseline=f"rgb train view from the video file (T={T}, L=1, data.decoder), 1 core",
            candidate=f"flow train view from rawframes (T={T}, L={L_FLOW}: {2 * T * L_FLOW} JPEGs), 1 core",
            details={
                **m,
                "flow_algorithm": "farneback (rlx.data.flow), JPEG quality as rlx.data flow writes",
                "cpu": cpu_name(),
                "cpu_count": os.cpu_count(),
            },
        )
    ]
