"""The synthetic relational video benchmark: the platform's embedded default dataset.

Procedurally drawn clips, written as real H.264 `.mp4` files (yuv420p, 25 fps)
in the UCF-101 layout, so they go through exactly the index -> decode ->
sample path that UCF-101 goes through:

    DIR/videos/<Class>/v_<Class>_gGG_cCC.mp4
    DIR/annotations/classInd.txt     "1 <Class>"                 (1-based ids)
    DIR/annotations/trainlist01.txt  "<Class>/<name>.mp4 <id>"
    DIR/annotations/testlist01.txt   "<Class>/<name>.mp4"

The annotation files use CRLF line endings like the official UCF-101 files,
and classInd lists classes in (case-insensitive) alphabetical order like
UCF-101's. Group/clip numbers follow UCF's naming (4 clips per group); the
split is per class: the last quarter of each class's clips is the test set.

The classes test what the paper claims, one family per claim (the family is
the class-name prefix, see `class_family`):

appearance_*   one large object whose shape and colour name the class
               (red square, green circle, blue triangle) drifting across the
               frame: any single frame suffices.
order_*        two pairs of classes whose clips hold the *same frames in
               opposite orders*. The second class of each pair is, by
               construction, the time reversal of a clip drawn by the first
               class's generator, so the multiset of frames is identically
               distributed in both classes: a model that averages features
               over time (the `local` arch) cannot beat chance within a pair.
                 order_circle_before_square / order_square_before_circle:
                   a yellow circle is shown, then a magenta square; the
                   phase boundary is jittered in [0.4, 0.6] of the clip, so
                   with TSN sampling (T=8) the first segment always shows
                   the first object and the last segment the second.
                 order_left_to_right / order_right_to_left: a white diamond
                   crosses the frame; start/end positions and the start/end
                   times of the motion are jittered.
interaction_*  the same two objects (an orange circle and a cyan square) in
               all four classes; only their relation differs:
                 interaction_meet: they approach and stop in contact;
                 interaction_pass: they approach on parallel lanes and pass
                   at a distance (never touching);
                 interaction_carry: the square rides on top of the circle;
                 interaction_independent: both drift on independent paths.

Every clip has per-video randomness: a smooth random background texture,
per-frame pixel noise, 0-2 small low-saturation distractor shapes, object
sizes, positions, speeds, colour jitter and timing jitter. Objects are large
(diameter about a quarter to a third of the frame) and saturated so a small
CNN learns the appearance classes at 64-112 px in a couple of epochs.

Determinism: each clip draws from its own generator seeded with (seed,
class index, clip index), so the output does not depend on generation order.
libx264 is run single-threaded with macroblock-tree rate control off
(`mbtree=0`): with mbtree on, x264 in CRF mode gave different bitstreams
(and decoded pixels) for the same input in 9 of 25 runs inside one process
(PyAV 18 / FFmpeg 8.1; its assembly code paths: deterministic with asm=0, or
with constant QP, or mbtree=0). Same seed -> byte-identical annotation files
and identical decoded frames; the mp4 files came out byte-identical too.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

BENCHMARK_VERSION = 1  # bump when the rendering changes: ensure_benchmark caches are keyed by it
FPS = 25
TEST_FRACTION = 0.25
CLIPS_PER_GROUP = 4  # UCF-101 names clips v_<Class>_g<group>_c<clip>
FAMILIES = ("appearance", "order", "interaction")
MARKER = ".complete.json"
NEWLINE = "\r\n"  # the official UCF-101 annotation files are CRLF
X264_OPTIONS = {"crf": "18", "preset": "veryfast", "threads": "1", "x264-params": "mbtree=0"}

Colour = tuple[int, int, int]


# --------------------------------------------------------------------------- scene description


@dataclass(frozen=True)
class Style:
    """What an object looks like: a shape kind and its base RGB colour."""

    kind: str  # circle | square | triangle | diamond
    colour: Colour


@dataclass(frozen=True)
class Track:
    """One object over a clip: centre positions per frame, a radius, and when it is visible."""

    style: Style
    xy: np.ndarray  # (F, 2) centre (x, y) in pixels
    radius: float  # half the object's side / its circle radius, pixels
    visible: np.ndarray  # (F,) bool


TrackMaker = Callable[[np.random.Generator, int, int], list[Track]]


@dataclass(frozen=True)
class ClassSpec:
    """A class: its name, family, the generator of its objects, and whether clips are time-reversed."""

    name: str
    family: str
    make_tracks: TrackMaker
    reverse: bool = False


RED_SQUARE = Style("square", (220, 40, 40))
GREEN_CIRCLE = Style("circle", (40, 200, 60))
BLUE_TRIANGLE = Style("triangle", (50, 90, 235))
YELLOW_CIRCLE = Style("circle", (235, 215, 40))
MAGENTA_SQUARE = Style("square", (215, 45, 205))
WHITE_DIAMOND = Style("diamond", (240, 240, 240))
ORANGE_CIRCLE = Style("circle", (245, 140, 25))
CYAN_SQUARE = Style("square", (30, 215, 225))


# --------------------------------------------------------------------------- geometry helpers


def _jitter_colour(rng: np.random.Generator, colour: Colour, amount: int = 20) -> Colour:
    """Small per-clip colour jitter so colour is a cue, not an exact value to memorise."""
    values = np.clip(np.asarray(colour) + rng.integers(-amount, amount + 1, 3), 0, 255)
    return tuple(int(v) for v in values)  # type: ignore[return-value]


def _point(rng: np.random.Generator, size: int, margin: float) -> np.ndarray:
    """A uniform random point at least `margin` px from every border."""
    return rng.uniform(margin, size - margin, 2)


def _path(p0: np.ndarray, p1: np.ndarray, frames: int, t0: float = 0.0, t1: float = 1.0) -> np.ndarray:
    """(F, 2) positions: hold p0 until fraction t0 of the clip, move linearly, reach p1 at t1, hold."""
    t = np.linspace(0.0, 1.0, frames)
    w = np.clip((t - t0) / max(t1 - t0, 1e-6), 0.0, 1.0)[:, None]  # (F, 1)
    return (1.0 - w) * p0[None, :] + w * p1[None, :]


def _always(frames: int) -> np.ndarray:
    return np.ones(frames, dtype=bool)


def _big_radius(rng: np.random.Generator, size: int) -> float:
    return float(rng.uniform(0.13, 0.17) * size)


def _drifting(rng: np.random.Generator, style: Style, frames: int, size: int, radius: float, drift: float) -> Track:
    """An object moving linearly between two random points at most `drift` * size apart per axis."""
    p0 = _point(rng, size, radius + 1)
    step = rng.uniform(-drift, drift, 2) * size
    p1 = np.clip(p0 + step, radius + 1, size - radius - 1)
    return Track(Style(style.kind, _jitter_colour(rng, style.colour)), _path(p0, p1, frames), radius, _always(frames))


# --------------------------------------------------------------------------- class generators


def _appearance_tracks(rng: np.random.Generator, frames: int, size: int, style: Style) -> list[Track]:
    """One large object anywhere, drifting freely: its look alone names the class."""
    return [_drifting(rng, style, frames, size, _big_radius(rng, size), drift=0.5)]


def _sequence_tracks(rng: np.random.Generator, frames: int, size: int, first: Style, second: Style) -> list[Track]:
    """`first` is shown, then `second`; the boundary is jittered in [0.4, 0.6] of the clip.

    Each phase spans at least 40% of the clip, so with T >= 3 equal TSN
    segments the first segment only ever shows `first` and the last only
    `second`: the order survives TSN sampling.
    """
    boundary = int(round(rng.uniform(0.4, 0.6) * frames))
    shown_first = np.arange(frames) < boundary
    a = _drifting(rng, first, frames, size, _big_radius(rng, size), drift=0.15)
    b = _drifting(rng, second, frames, size, _big_radius(rng, size), drift=0.15)
    return [Track(a.style, a.xy, a.radius, shown_first), Track(b.style, b.xy, b.radius, ~shown_first)]


def _crossing_tracks(rng: np.random.Generator, frames: int, size: int, style: Style) -> list[Track]:
    """A diamond crosses the frame left to right; ends and motion timing are jittered."""
    radius = float(rng.uniform(0.11, 0.14) * size)
    x0 = rng.uniform(radius + 1, radius + 0.12 * size)
    x1 = rng.uniform(size - radius - 0.12 * size, size - radius - 1)
    y0, y1 = rng.uniform(radius + 1, size - radius - 1, 2)
    y1 = float(np.clip(y1, y0 - 0.2 * size, y0 + 0.2 * size))
    t0, t1 = rng.uniform(0.0, 0.15), rng.uniform(0.85, 1.0)
    xy = _path(np.array([x0, y0]), np.array([x1, y1]), frames, t0, t1)
    return [Track(Style(style.kind, _jitter_colour(rng, style.colour)), xy, radius, _always(frames))]


def _pair_radii(rng: np.random.Generator, size: int) -> tuple[float, float]:
    return float(rng.uniform(0.10, 0.13) * size), float(rng.uniform(0.10, 0.13) * size)


def _unit(angle: float) -> np.ndarray:
    return np.array([np.cos(angle), np.sin(angle)])


def _meeting_tracks(rng: np.random.Generator, frames: int, size: int, meet: bool) -> list[Track]:
    """Circle and square approach from opposite sides; they stop in contact (meet) or pass apart.

    Both classes share the geometry (a random centre, approach direction and
    speed); only the lateral gap between the two lanes and what happens at
    the centre differ, so telling them apart needs the objects' relation.
    """
    ra, rb = _pair_radii(rng, size)
    centre = rng.uniform(0.42, 0.58, 2) * size
    along = _unit(rng.uniform(0, 2 * np.pi))
    across = np.array([-along[1], along[0]])  # perpendicular lane offset
    reach = rng.uniform(0.26, 0.32) * size  # distance from the centre where each object starts
    t = np.linspace(0.0, 1.0, frames)[:, None]  # (F, 1)
    if meet:
        gap = rng.uniform(0.0, 0.3) * (ra + rb)
        contact = np.sqrt((ra + rb) ** 2 - gap**2) / 2.0  # centres touch: distance ra + rb
        t_meet = rng.uniform(0.5, 0.7)
        s = contact + (reach - contact) * np.clip(1.0 - t / t_meet, 0.0, 1.0)  # (F, 1) reach -> contact, then hold
    else:
        gap = ra + rb + rng.uniform(0.08, 0.14) * size
        t_cross = rng.uniform(0.4, 0.6)
        s = reach * (t_cross - t) / max(t_cross, 1.0 - t_cross)  # (F, 1) passes 0 at t_cross
    a_xy = centre - along * s + across * gap / 2.0  # (F, 2)
    b_xy = centre + along * s - across * gap / 2.0
    circle = Style("circle", _jitter_colour(rng, ORANGE_CIRCLE.colour))
    square = Style("square", _jitter_colour(rng, CYAN_SQUARE.colour))
    return [
        Track(circle, _clip_xy(a_xy, ra, size), ra, _always(frames)),
        Track(square, _clip_xy(b_xy, rb, size), rb, _always(frames)),
    ]


def _carry_tracks(rng: np.random.Generator, frames: int, size: int, carry: bool) -> list[Track]:
    """A big circle and a small square: the square rides on the circle (carry) or drifts on its own."""
    ra = float(rng.uniform(0.12, 0.15) * size)
    rb = float(rng.uniform(0.07, 0.09) * size)
    circle = _drifting(rng, ORANGE_CIRCLE, frames, size, ra, drift=0.5)
    circle = Track(circle.style, _clip_xy(circle.xy, ra + 2 * rb, size), ra, circle.visible)
    if carry:
        offset = _unit(rng.uniform(-0.75 * np.pi, -0.25 * np.pi)) * (ra + rb * 0.6)  # on top, +-45 degrees
        square_xy = _clip_xy(circle.xy + offset[None, :], rb, size)
        square = Track(Style("square", _jitter_colour(rng, CYAN_SQUARE.colour)), square_xy, rb, _always(frames))
    else:
        square = _drifting(rng, CYAN_SQUARE, frames, size, rb, drift=0.5)
    return [circle, square]


def _clip_xy(xy: np.ndarray, radius: float, size: int) -> np.ndarray:
    return np.clip(xy, radius + 1, size - radius - 1)


CLASSES: tuple[ClassSpec, ...] = tuple(
    sorted(
        [
            ClassSpec("appearance_red_square", "appearance", partial(_appearance_tracks, style=RED_SQUARE)),
            ClassSpec("appearance_green_circle", "appearance", partial(_appearance_tracks, style=GREEN_CIRCLE)),
            ClassSpec("appearance_blue_triangle", "appearance", partial(_appearance_tracks, style=BLUE_TRIANGLE)),
            ClassSpec(
                "order_circle_before_square",
                "order",
                partial(_sequence_tracks, first=YELLOW_CIRCLE, second=MAGENTA_SQUARE),
            ),
            ClassSpec(
                "order_square_before_circle",
                "order",
                partial(_sequence_tracks, first=YELLOW_CIRCLE, second=MAGENTA_SQUARE),
                reverse=True,
            ),
            ClassSpec("order_left_to_right", "order", partial(_crossing_tracks, style=WHITE_DIAMOND)),
            ClassSpec("order_right_to_left", "order", partial(_crossing_tracks, style=WHITE_DIAMOND), reverse=True),
            ClassSpec("interaction_meet", "interaction", partial(_meeting_tracks, meet=True)),
            ClassSpec("interaction_pass", "interaction", partial(_meeting_tracks, meet=False)),
            ClassSpec("interaction_carry", "interaction", partial(_carry_tracks, carry=True)),
            ClassSpec("interaction_independent", "interaction", partial(_carry_tracks, carry=False)),
        ],
        key=lambda spec: spec.name.lower(),  # UCF-101's classInd order: case-insensitive alphabetical
    )
)
CLASS_NAMES: tuple[str, ...] = tuple(spec.name for spec in CLASSES)
# Each order pair: (forward class, its time reversal).
ORDER_PAIRS: tuple[tuple[str, str], ...] = (
    ("order_circle_before_square", "order_square_before_circle"),
    ("order_left_to_right", "order_right_to_left"),
)


def class_family(name: str) -> str:
    """'appearance' | 'order' | 'interaction', from the class-name prefix (works on any folder name)."""
    family = name.split("_", 1)[0]
    if family not in FAMILIES or "_" not in name:
        raise ValueError(f"{name!r} is not a synthetic benchmark class (prefix must be one of {FAMILIES})")
    return family


def family_accuracy(scores: np.ndarray, labels: np.ndarray, class_names: list[str]) -> dict[str, float]:
    """Top-1 accuracy in percent: "all", per family and "pair:<first>" within each order pair (NaN when absent).

    Raises ValueError (from `class_family`) when a labelled class is not a synthetic benchmark class.
    """
    pred = scores.argmax(axis=1)
    names = np.asarray(class_names, dtype=object)[labels]

    def acc(mask: np.ndarray) -> float:
        return 100.0 * float((pred[mask] == labels[mask]).mean()) if mask.any() else float("nan")

    out = {"all": acc(np.ones(len(labels), bool))}
    families = np.asarray([class_family(n) for n in names], dtype=object)
    for family in FAMILIES:
        out[family] = acc(families == family)
    for first, second in ORDER_PAIRS:
        out[f"pair:{first}"] = acc(np.isin(names, [first, second]))
    return out


def class_spec(name: str) -> ClassSpec:
    for spec in CLASSES:
        if spec.name == name:
            return spec
    raise ValueError(f"unknown synthetic class {name!r}; classes: {', '.join(CLASS_NAMES)}")


# --------------------------------------------------------------------------- rendering


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth, dull random texture (S, S, 3) uint8: a 5x5 colour grid upsampled bicubically."""
    grid = rng.uniform(25.0, 115.0, (5, 5, 3)).astype(np.float32)
    texture = cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(texture, 0, 255).astype(np.uint8)


def _distractors(rng: np.random.Generator, frames: int, size: int) -> list[Track]:
    """0-2 small low-saturation shapes drifting slowly: clutter that never names a class."""
    tracks = []
    for _ in range(int(rng.integers(0, 3))):
        grey = rng.uniform(90, 170)
        colour = tuple(int(v) for v in np.clip(grey + rng.uniform(-18, 18, 3), 0, 255))
        kind = str(rng.choice(["circle", "square"]))
        radius = float(rng.uniform(0.04, 0.06) * size)
        tracks.append(_drifting(rng, Style(kind, colour), frames, size, radius, drift=0.3))  # type: ignore[arg-type]
    return tracks


_SHIFT = 4  # cv2 fixed-point bits: sub-pixel positions give smooth motion
_ONE = 1 << _SHIFT


def _polygon(kind: str, cx: float, cy: float, r: float) -> np.ndarray:
    if kind == "square":
        corners = [(-r, -r), (r, -r), (r, r), (-r, r)]
    elif kind == "diamond":
        d = r * 1.35
        corners = [(0, -d), (d, 0), (0, d), (-d, 0)]
    elif kind == "triangle":
        d = r * 1.3
        corners = [(0, -d), (d * 0.866, d * 0.5), (-d * 0.866, d * 0.5)]
    else:
        raise ValueError(f"unknown shape {kind!r}")
    return np.array([[(cx + dx) * _ONE, (cy + dy) * _ONE] for dx, dy in corners], dtype=np.int32)


def _draw(image: np.ndarray, kind: str, cx: float, cy: float, r: float, colour: Colour) -> None:
    """Draw one filled, anti-aliased shape in place."""
    if kind == "circle":
        centre = (int(round(cx * _ONE)), int(round(cy * _ONE)))
        cv2.circle(image, centre, int(round(r * _ONE)), colour, -1, cv2.LINE_AA, _SHIFT)
    else:
        cv2.fillPoly(image, [_polygon(kind, cx, cy, r)], colour, cv2.LINE_AA, _SHIFT)


def _render_tracks(background: np.ndarray, tracks: list[Track], rng: np.random.Generator) -> np.ndarray:
    """(F, S, S, 3) uint8: background, tracks drawn in list order, then per-frame Gaussian noise."""
    frames = len(tracks[0].xy) if tracks else 0
    video = np.repeat(background[None], frames, axis=0)  # (S, S, 3) -> (F, S, S, 3)
    for f in range(frames):
        frame = np.ascontiguousarray(video[f])
        for track in tracks:
            if track.visible[f]:
                _draw(frame, track.style.kind, track.xy[f, 0], track.xy[f, 1], track.radius, track.style.colour)
        video[f] = frame
    noise = rng.normal(0.0, 4.0, video.shape)
    return np.clip(video + noise, 0, 255).astype(np.uint8)


def render_clip(name: str, rng: np.random.Generator, frames: int, size: int) -> np.ndarray:
    """The frames (F, S, S, 3) uint8 RGB of one clip of class `name`, before encoding.

    The second class of an order pair is the time reversal of what the first
    class's generator draws from the same `rng`: the design property the
    benchmark rests on, and what tests check exactly.
    """
    spec = class_spec(name)
    background = _background(rng, size)
    tracks = _distractors(rng, frames, size) + spec.make_tracks(rng, frames, size)
    video = _render_tracks(background, tracks, rng)
    return video[::-1].copy() if spec.reverse else video


def clip_rng(seed: int, class_index: int, clip_index: int) -> np.random.Generator:
    """Each clip's own generator: output is independent of generation order."""
    return np.random.default_rng([seed, class_index, clip_index])


# --------------------------------------------------------------------------- files


def write_mp4(path: Path, frames: np.ndarray, fps: int = FPS) -> Path:
    """Encode (F, H, W, 3) uint8 RGB frames as H.264 yuv420p mp4 with PyAV (single-threaded, deterministic)."""
    import av

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


def _annotation_texts(videos_per_class: int) -> dict[str, str]:
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


def _check_params(videos_per_class: int, frames: int, size: int) -> None:
    if videos_per_class < 1:
        raise ValueError(f"videos_per_class must be >= 1, got {videos_per_class}")
    if frames < 8:
        raise ValueError(f"frames must be >= 8 (T=8 TSN segments need a frame each), got {frames}")
    if size < 32 or size % 2:
        raise ValueError(f"size must be an even number >= 32 (H.264 yuv420p needs even sides), got {size}")


def write_benchmark(
    out: Path, videos_per_class: int = 24, frames: int = 40, size: int = 96, seed: int = 0
) -> BenchmarkSummary:
    """Render and encode every clip into `out` (videos/ + annotations/); refuse a folder that holds them already.

    Refusing rather than overwriting: a rerun with fewer videos per class
    would otherwise leave stale clips that no list mentions.
    """
    from tqdm import tqdm

    _check_params(videos_per_class, frames, size)
    out = Path(out)
    for sub in ("videos", "annotations"):
        if (out / sub).exists() and any((out / sub).iterdir()):
            raise ValueError(f"{out / sub} already exists and is not empty; choose an empty --out folder")
    start = time.perf_counter()
    jobs = [(ci, name, vi) for ci, name in enumerate(CLASS_NAMES) for vi in range(videos_per_class)]
    for class_index, name, index in tqdm(jobs, desc="synth", unit="video", file=sys.stderr, disable=None):
        clip = render_clip(name, clip_rng(seed, class_index, index), frames, size)
        write_mp4(out / "videos" / name / clip_name(name, index), clip)
    annotations = out / "annotations"
    annotations.mkdir(parents=True, exist_ok=True)
    for filename, text in _annotation_texts(videos_per_class).items():
        # newline="" keeps our CRLF exactly; text mode would translate on Windows.
        with open(annotations / filename, "w", encoding="ascii", newline="") as handle:
            handle.write(text)
    n_train, n_test = split_counts(videos_per_class)
    families = {family: [n for n in CLASS_NAMES if class_family(n) == family] for family in FAMILIES}
    return BenchmarkSummary(
        out, CLASS_NAMES, videos_per_class, n_train, n_test, frames, size, seed, time.perf_counter() - start, families
    )


# --------------------------------------------------------------------------- cache


def default_cache_dir() -> Path:
    """$RLX_CACHE, else ~/.cache/rlx (DataConfig.cache_dir's default)."""
    return Path(os.environ.get("RLX_CACHE") or Path.home() / ".cache" / "rlx")


@dataclass(frozen=True)
class _CacheKey:
    videos_per_class: int = 24
    frames: int = 40
    size: int = 96
    seed: int = 0
    version: int = BENCHMARK_VERSION

    @property
    def folder(self) -> str:
        return f"synthetic-v{self.version}-n{self.videos_per_class}-f{self.frames}-s{self.size}-seed{self.seed}"


def ensure_benchmark(root: Path, **params: int) -> Path:
    """The benchmark folder for `params` under `root`, generated on first use.

    `params` are `write_benchmark`'s keyword arguments; the folder name encodes
    them and BENCHMARK_VERSION. Generation happens in `root/.tmp-<name>-<uuid>`
    and is renamed into place only after the marker file is written, so an
    interrupted run never leaves a folder that counts as done. A folder whose
    marker is missing or does not match is regenerated.
    """
    key = _CacheKey(**params)
    root = Path(root)
    final = root / key.folder
    if _is_complete(final, key):
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{key.folder}-{uuid.uuid4().hex[:8]}"
    try:
        summary = write_benchmark(tmp, **params)
        _write_marker(tmp, key, summary)
        _move_into_place(tmp, final, key)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _marker_payload(key: _CacheKey) -> dict:
    return {"params": asdict(key), "classes": list(CLASS_NAMES)}


def _write_marker(folder: Path, key: _CacheKey, summary: BenchmarkSummary) -> None:
    payload = {**_marker_payload(key), "num_videos": summary.num_videos, "seconds": round(summary.seconds, 2)}
    (folder / MARKER).write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")


def _is_complete(folder: Path, key: _CacheKey) -> bool:
    """The marker exists, matches the params, and every listed video file is there."""
    try:
        payload = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if {k: payload.get(k) for k in ("params", "classes")} != _marker_payload(key):
        return False
    listed = [line.split()[0] for name in ("trainlist01.txt", "testlist01.txt") for line in _read_lines(folder, name)]
    return len(listed) == payload.get("num_videos") and all((folder / "videos" / rel).is_file() for rel in listed)


def _read_lines(folder: Path, name: str) -> list[str]:
    path = folder / "annotations" / name
    return [line for line in path.read_text(encoding="ascii").splitlines() if line.strip()] if path.is_file() else []


def _move_into_place(tmp: Path, final: Path, key: _CacheKey) -> None:
    """Rename tmp -> final; a stale incomplete final is removed first; a concurrent winner is kept."""
    if final.exists() and not _is_complete(final, key):
        shutil.rmtree(final)
    try:
        os.rename(tmp, final)
    except OSError:
        if not _is_complete(final, key):  # not another process's finished copy: a real error
            raise
