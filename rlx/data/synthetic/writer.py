"""Writing the synthetic benchmark to disk: H.264 `.mp4` clips and UCF-101 annotation files.

Clips are written as real H.264 `.mp4` files (yuv420p, 25 fps) in the UCF-101
layout, so they go through exactly the index -> decode -> sample path that
UCF-101 goes through:

    DIR/videos/<Class>/v_<Class>_gGG_cCC.mp4
    DIR/annotations/classInd.txt     "1 <Class>"                 (1-based ids)
    DIR/annotations/trainlist01.txt  "<Class>/<name>.mp4 <id>"
    DIR/annotations/testlist01.txt   "<Class>/<name>.mp4"

The annotation files use CRLF line endings like the official UCF-101 files,
and classInd lists classes in (case-insensitive) alphabetical order like
UCF-101's. Group/clip numbers follow UCF's naming (4 clips per group); the
split is per class: the last quarter of each class's clips is the test set.

Determinism: libx264 is run single-threaded with macroblock-tree rate control
off (`mbtree=0`): with mbtree on, x264 in CRF mode gave different bitstreams
(and decoded pixels) for the same input in 9 of 25 runs inside one process
(PyAV 18 / FFmpeg 8.1; its assembly code paths: deterministic with asm=0, or
with constant QP, or mbtree=0). Same seed -> byte-identical annotation files
and identical decoded frames; the mp4 files came out byte-identical too.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
from tqdm import tqdm

from rlx.data.synthetic.render import BENCHMARK_VERSION, clip_rng, render_clip
from rlx.data.synthetic.scenes import CLASS_NAMES, FAMILIES, class_family

FPS = 25
TEST_FRACTION = 0.25
CLIPS_PER_GROUP = 4  # UCF-101 names clips v_<Class>_g<group>_c<clip>
NEWLINE = "\r\n"  # the official UCF-101 annotation files are CRLF
X264_OPTIONS = {"crf": "18", "preset": "veryfast", "threads": "1", "x264-params": "mbtree=0"}


def write_mp4(path: Path, frames: np.ndarray, fps: int = FPS) -> Path:
    """Encode (F, H, W, 3) uint8 RGB frames as H.264 yuv420p mp4 with PyAV (single-threaded, deterministic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.codec_context.options = dict(X264_OPTIONS)
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def clip_name(class_name: str, index: int) -> str:
    """UCF-101 style file name: v_<Class>_g<group>_c<clip>.mp4, groups of 4 clips, 1-based."""
    group, clip = divmod(index, CLIPS_PER_GROUP)
    return f"v_{class_name}_g{group + 1:02d}_c{clip + 1:02d}.mp4"


def split_counts(videos_per_class: int) -> tuple[int, int]:
    """(train, test) clips per class: a quarter to test (at least one when there are two or more)."""
    test = max(1, int(round(videos_per_class * TEST_FRACTION))) if videos_per_class >= 2 else 0
    return videos_per_class - test, test


def annotation_texts(videos_per_class: int) -> dict[str, str]:
    """classInd / trainlist01 / testlist01 contents in the exact UCF-101 formats."""
    n_train, _ = split_counts(videos_per_class)
    class_ind, train, test = [], [], []
    for class_id, name in enumerate(CLASS_NAMES, start=1):
        class_ind.append(f"{class_id} {name}")
        rels = [f"{name}/{clip_name(name, index)}" for index in range(videos_per_class)]
        train += [f"{rel} {class_id}" for rel in rels[:n_train]]  # train lines carry the 1-based class id
        test += rels[n_train:]  # test lines do not
    return {
        "classInd.txt": NEWLINE.join(class_ind) + NEWLINE,
        "trainlist01.txt": NEWLINE.join(train) + NEWLINE,
        "testlist01.txt": NEWLINE.join(test) + NEWLINE if test else "",
    }


@dataclass(frozen=True)
class BenchmarkSummary:
    """What `write_benchmark` wrote; `str()` is the CLI's summary."""

    root: Path
    classes: tuple[str, ...]
    videos_per_class: int
    train_per_class: int
    test_per_class: int
    frames: int
    size: int
    seed: int
    seconds: float
    families: dict[str, list[str]] = field(default_factory=dict)

    @property
    def num_videos(self) -> int:
        return len(self.classes) * self.videos_per_class

    def __str__(self) -> str:
        head = (
            f"synthetic benchmark v{BENCHMARK_VERSION}: {len(self.classes)} classes x {self.videos_per_class} videos "
            f"({self.train_per_class} train / {self.test_per_class} test per class, {self.num_videos} videos), "
            f"{self.frames} frames of {self.size}x{self.size} px, seed {self.seed}, {self.seconds:.1f} s"
        )
        lines = [head] + [f"  {family:<12} {', '.join(names)}" for family, names in self.families.items()]
        lines.append(f"  wrote {self.root / 'videos'} and {self.root / 'annotations'}")
        return "\n".join(lines)


def _write_clip(job: tuple[Path, int, str, int, int, int, int]) -> None:
    out, class_index, name, index, frames, size, seed = job
    clip = render_clip(name, clip_rng(seed, class_index, index), frames, size)
    write_mp4(out / "videos" / name / clip_name(name, index), clip)


def _with_progress(done: Iterable[None], total: int) -> None:
    for _ in tqdm(done, total=total, desc="synth", unit="video", file=sys.stderr, disable=None):
        pass


def _check_params(videos_per_class: int, frames: int, size: int) -> None:
    if videos_per_class < 1:
        raise ValueError(f"videos_per_class must be >= 1, got {videos_per_class}")
    if frames < 8:
        raise ValueError(f"frames must be >= 8 (T=8 TSN segments need a frame each), got {frames}")
    if size < 32 or size % 2:
        raise ValueError(f"size must be an even number >= 32 (H.264 yuv420p needs even sides), got {size}")


def write_benchmark(
    out: Path, videos_per_class: int = 24, frames: int = 40, size: int = 96, seed: int = 0, workers: int | None = None
) -> BenchmarkSummary:
    """Render and encode every clip into `out` (videos/ + annotations/); refuse a folder that holds them already.

    Refusing rather than overwriting: a rerun with fewer videos per class
    would otherwise leave stale clips that no list mentions. `workers`
    processes render (None: one per CPU; 1: this process alone).
    """
    _check_params(videos_per_class, frames, size)
    out = Path(out)
    for sub in ("videos", "annotations"):
        if (out / sub).exists() and any((out / sub).iterdir()):
            raise ValueError(f"{out / sub} already exists and is not empty; choose an empty --out folder")
    start = time.perf_counter()
    jobs = [
        (out, ci, name, vi, frames, size, seed) for ci, name in enumerate(CLASS_NAMES) for vi in range(videos_per_class)
    ]
    workers = min(len(jobs), workers or os.cpu_count() or 1)
    # Every clip has its own generator (clip_rng) and x264 is deterministic: the same bytes in any process.
    if workers > 1:  # spawned, not forked: the caller may hold threads (PyTorch, Ray) a fork would copy mid-lock
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            _with_progress(pool.map(_write_clip, jobs, chunksize=8), len(jobs))
    else:
        _with_progress(map(_write_clip, jobs), len(jobs))
    annotations = out / "annotations"
    annotations.mkdir(parents=True, exist_ok=True)
    for filename, text in annotation_texts(videos_per_class).items():
        # newline="" keeps our CRLF exactly; text mode would translate on Windows.
        with open(annotations / filename, "w", encoding="ascii", newline="") as handle:
            handle.write(text)
    n_train, n_test = split_counts(videos_per_class)
    families = {family: [n for n in CLASS_NAMES if class_family(n) == family] for family in FAMILIES}
    return BenchmarkSummary(
        out, CLASS_NAMES, videos_per_class, n_train, n_test, frames, size, seed, time.perf_counter() - start, families
    )
