"""The synthetic relational video benchmark: the platform's embedded default dataset.

Procedurally drawn clips of 11 classes in three families (appearance, order,
interaction), written as real H.264 `.mp4` files in the UCF-101 layout so they
go through exactly the index -> decode -> sample path that UCF-101 goes
through. One module per step:

    scenes   the classes: what each class's clips show, as object tracks
    render   tracks -> (F, S, S, 3) uint8 frames (background, shapes, noise)
    writer   frames -> mp4 files, plus the UCF-101 annotation files
    cache    one generated benchmark per parameters under a cache root

Scoring predictions per family lives in `rlx.eval.families`.
"""

from rlx.data.synthetic.cache import MARKER, default_cache_dir, ensure_benchmark
from rlx.data.synthetic.render import BENCHMARK_VERSION, clip_rng, render_clip
from rlx.data.synthetic.scenes import CLASS_NAMES, CLASSES, FAMILIES, ORDER_PAIRS, class_family, class_spec
from rlx.data.synthetic.writer import BenchmarkSummary, clip_name, split_counts, write_benchmark, write_mp4

__all__ = [
    "BENCHMARK_VERSION",
    "CLASSES",
    "CLASS_NAMES",
    "FAMILIES",
    "MARKER",
    "ORDER_PAIRS",
    "BenchmarkSummary",
    "class_family",
    "class_spec",
    "clip_name",
    "clip_rng",
    "default_cache_dir",
    "ensure_benchmark",
    "render_clip",
    "split_counts",
    "write_benchmark",
    "write_mp4",
]
