"""The synthetic benchmark's classes: what each class's clips show, as object tracks (no pixels).

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

Every clip also gets 0-2 small low-saturation distractor shapes
(`distractor_tracks`); object sizes, positions, speeds, colour jitter and
timing jitter are drawn per clip. Objects are large (diameter about a quarter
to a third of the frame) and saturated so a small CNN learns the appearance
classes at 64-112 px in a couple of epochs.

A generator draws from the `rng` it is given, in a fixed order: changing
the order of draws changes every clip (bump `render.BENCHMARK_VERSION`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

FAMILIES = ("appearance", "order", "interaction")

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


def class_spec(name: str) -> ClassSpec:
    """The class called `name`; ValueError listing the classes when there is none."""
    for spec in CLASSES:
        if spec.name == name:
            return spec
    raise ValueError(f"unknown synthetic class {name!r}; classes: {', '.join(CLASS_NAMES)}")


def distractor_tracks(rng: np.random.Generator, frames: int, size: int) -> list[Track]:
    """0-2 small low-saturation shapes drifting slowly: clutter that never names a class."""
    tracks = []
    for _ in range(int(rng.integers(0, 3))):
        grey = rng.uniform(90, 170)
        colour = tuple(int(v) for v in np.clip(grey + rng.uniform(-18, 18, 3), 0, 255))
        kind = str(rng.choice(["circle", "square"]))
        radius = float(rng.uniform(0.04, 0.06) * size)
        tracks.append(_drifting(rng, Style(kind, colour), frames, size, radius, drift=0.3))  # type: ignore[arg-type]
    return tracks
