"""The decoder comparison of `python -m rlx.bench data`: each `data.decoder` on the TSN training pattern.

Per container group — Xvid (MPEG-4 Part 2) in AVI, as UCF-101/HMDB-51 ship,
and H.264 in MP4 — every backend decodes the same clips at the same frame
indices (T = 8 training snippets, `rlx.data.sampling.train_indices`)
through `rlx.data.decode.read_video_frames`, single-threaded, calls
interleaved (`time_alternating`), so videos/s is per CPU core. The baseline
in the same run is decord, the decoder rlx had before the comparison.
Each backend's frames are also compared with the PyAV backend (the tests'
reference) at the tolerance of tests/test_data_decode.py: exact, or at most
2 levels on under 0.1 % of the values (older libavcodec MPEG-4 decoders).
`fastest_passing` in the details is what the default `data.decoder` is
chosen by.

A group with no clip gets one made by re-encoding the first clip of the
other group with PyAV (libx264 -> .mp4, or mpeg4 -> .avi). torchcodec refuses
AVI (see rlx/data/decode/torchcodec_backend.py); without its FFmpeg
libraries it is left out and the details say why.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np

from rlx.bench.common import BenchResult
from rlx.data import sampling
from rlx.data.decode import DECODERS, read_video_frames, torchcodec_backend

GROUPS = {"avi_xvid": (".avi", "mpeg4", "Xvid/MPEG-4 Part 2 in AVI"), "mp4_h264": (".mp4", "h264", "H.264 in MP4")}
BASELINE = "decord"
TOLERANCE = {"max_abs": 2, "fraction_differing": 1e-3}  # tests/test_data_decode.py LIBAVCODEC_DRIFT


def codec_of(path: Path) -> str:
    with av.open(str(path)) as container:
        return container.streams.video[0].codec_context.name


def group_clips(paths: list[Path], frame_counts: dict[Path, int], tmp: Path) -> dict[str, list[Path]]:
    """Clips per group; an empty group gets one clip re-encoded from the other group's first."""
    groups = {
        name: [p for p in paths if p.suffix.lower() == suffix and codec_of(p) == codec]
        for name, (suffix, codec, _) in GROUPS.items()
    }
    for name, (suffix, codec, _) in GROUPS.items():
        donors = [p for other, clips in groups.items() if other != name for p in clips]
        if not groups[name] and donors:
            made = reencode(
                donors[0], tmp / f"reencoded_{donors[0].stem}{suffix}", "libx264" if codec == "h264" else codec
            )
            frame_counts[made] = frame_counts[donors[0]]
            groups[name] = [made]
    return groups


def reencode(source: Path, target: Path, codec: str) -> Path:
    """Every frame of `source` into `target` with PyAV (B-frames on for H.264, as cameras and YouTube write)."""
    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        stream_in = src.streams.video[0]
        stream = dst.add_stream(codec, rate=int(round(float(stream_in.average_rate or 25))))
        stream.width, stream.height, stream.pix_fmt = stream_in.width, stream_in.height, "yuv420p"
        if codec == "libx264":
            stream.codec_context.options = {"x264-params": "bframes=3"}
        for frame in src.decode(stream_in):
            image = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            for packet in stream.encode(image):
                dst.mux(packet)
        for packet in stream.encode():
            dst.mux(packet)
    return target


def available_decoders() -> tuple[list[str], dict[str, str]]:
    """The decoders that load here, and why the others do not."""
    missing: dict[str, str] = {}
    try:
        torchcodec_backend.require()
    except RuntimeError as err:
        missing["torchcodec"] = str(err)
    return [d for d in DECODERS if d not in missing], missing


def compare(
    groups: dict[str, list[Path]],
    frame_counts: dict[Path, int],
    time_alternating: Callable[[dict[str, Callable[[], None]], int], dict[str, float]],
    repeats: int,
    seed: int,
    segments: int,
) -> list[BenchResult]:
    """One result per (group, non-baseline decoder): its videos/s over decord's, with the group's full table."""
    decoders, missing = available_decoders()
    results = []
    for group, clips in groups.items():
        if not clips:
            continue
        plans = [
            sampling.train_indices(frame_counts[p], segments, 1, np.random.default_rng([seed, k])).ravel()
            for k, p in enumerate(clips)
        ]
        usable = [d for d in decoders if not (d == "torchcodec" and group == "avi_xvid")]
        seconds = time_alternating({d: _decode_all(clips, plans, d) for d in usable}, repeats)
        vps = {d: round(len(clips) / s, 2) for d, s in seconds.items()}
        equality = {d: _against_pyav(clips, plans, d) for d in usable}
        passing = [d for d in usable if equality[d]["passes"]]
        details: dict[str, Any] = {
            "group": GROUPS[group][2],
            "clips": [p.name for p in clips],
            "videos_per_s_per_core": vps,
            "frames_vs_pyav": equality,
            "tolerance": TOLERANCE,
            "fastest_passing": max(passing, key=lambda d: vps[d]) if passing else None,
            "not_measured": {**missing, **({"torchcodec": "refuses AVI"} if "torchcodec" not in usable else {})},
            "pattern": f"TSN train indices, T={segments}, decode only, 1 thread",
        }
        for decoder in usable:
            if decoder != BASELINE:
                results.append(
                    BenchResult(
                        name=f"data.decoder_{decoder}_vs_{BASELINE}.{group}",
                        value=round(seconds[BASELINE] / seconds[decoder], 3),
                        unit="x",
                        baseline=f"{BASELINE} via rlx.data.decode (AVI keyframe runs), 1 core",
                        candidate=f"{decoder} via rlx.data.decode, same clips and indices, 1 core",
                        details=details,
                    )
                )
    return results


def _decode_all(clips: list[Path], plans: list[np.ndarray], decoder: str) -> Callable[[], None]:
    def run() -> None:
        for path, idx in zip(clips, plans, strict=True):
            read_video_frames(path, idx, decoder=decoder)

    return run


def _against_pyav(clips: list[Path], plans: list[np.ndarray], decoder: str) -> dict[str, Any]:
    """Worst absolute difference and share of differing values against the PyAV backend over the group."""
    worst, fraction = 0, 0.0
    for path, idx in zip(clips, plans, strict=True):
        got = read_video_frames(path, idx, decoder=decoder).astype(np.int16)
        diff = np.abs(got - read_video_frames(path, idx, decoder="pyav"))
        worst, fraction = max(worst, int(diff.max())), max(fraction, float((diff > 0).mean()))
    passes = worst == 0 or (worst <= TOLERANCE["max_abs"] and fraction < TOLERANCE["fraction_differing"])
    return {"max_abs_diff": worst, "fraction_differing": round(fraction, 7), "passes": passes}
