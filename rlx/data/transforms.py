"""Augmentation of decoded snippets: TSN's multi-scale crop, flow-aware flip, 5-crop, normalisation.

Layout: every function takes and returns **channels-last uint8 frames
(N, H, W, C)** — N = all frames of one video (T·L snippet frames, in order),
C = 3 (RGB) or 2 (flow x, y). That is what the decoders return and what
OpenCV resizes natively; `to_model_layout` makes the model's
(T, L·C, H, W) once at the end. Keeping one video's frames in one array is
also how the *same* random crop and flip reach every snippet: parameters are
drawn once per video (`sample_train_params`) and applied to the whole array.

Geometry (TSN's GroupMultiScaleCrop / GroupOverSample, reproduced). All
positions live on the *virtual* frame: the decoded frame resized so its
short side is `short_side` (TSN's 256 for a 224 input; 0 = as decoded),
aspect kept, and never smaller than the input (`virtual_size`).
  * Train, multi-scale crop: base = short side; candidate sides ⌊base·s⌋ for
    s in `scales` (1, .875, .75, .66); a side within 3 px of the input size
    snaps to it; a (height, width) pair is any two candidates at most
    `max_distort` (1) apart in the scale list, so the aspect ratio changes a
    little. The offset is one of TSN's fixed positions (`fixed_offsets`): a
    grid of steps ⌊(H - h)/4⌋, ⌊(W - w)/4⌋ giving 4 corners + centre, plus 8
    more ("more fix crop": edge midpoints and quarter points) when enabled.
    The box is mapped back to decoded pixels (`to_source`), cut, and resized
    once to input_size² with cv2.INTER_LINEAR — no full-frame resize.
  * Val/test: whole frames resized to the virtual size (cv2.INTER_LINEAR),
    then `five_crop` = the grid's 4 corners + centre with side input_size,
    `center_crop` = its centre. The grid rounds down: when W - w is not a
    multiple of 4 the "right" crops stop up to 3 px short of the edge
    (exactly TSN's choice; on a 256×341 virtual UCF-101 frame they end 1 px short).
Flip: horizontal mirror; for flow the x component also changes sign, which
for 8-bit flow (0..255 around 128, `rlx.data.flow`) is x -> 255 - x
(TSN: ImageOps.invert on flow_x). y is unchanged.
Normalisation, float32 (x/255 - mean)/std per channel with `NORM_STATS`:
RGB with ImageNet mean/std; flow with mean 0.5, std 0.5, i.e.
(x - 127.5)/127.5 in [-1, 1], so the stored zero-flow level 128 maps to ≈ 0.
Batches stay uint8 until the device; `normalize` is the CPU reference of
what the training loop's Normalizer computes with the same constants.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rlx.config import Modality

TSN_SCALES = (1.0, 0.875, 0.75, 0.66)
NORM_STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    # (mean, std) of x/255, per channel; repeated over the L stacked snippet frames.
    "rgb": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "flow": ((0.5, 0.5), (0.5, 0.5)),
}
CHANNELS = {"rgb": 3, "flow": 2}
SNAP_PX = 3  # TSN: a candidate crop side within 3 px of the input size becomes the input size


@dataclass(frozen=True)
class Crop:
    """A crop box in pixels of the (resized) frame: top-left (y, x), size (h, w)."""

    y: int
    x: int
    h: int
    w: int


@dataclass(frozen=True)
class TrainParams:
    """One video's random augmentation: the crop box and whether to flip. Drawn once per video."""

    crop: Crop
    flip: bool


# --------------------------------------------------------------------------- geometry


def short_side_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(height, width) with the short side = `short_side`, aspect kept (rounded to nearest)."""
    if height <= width:
        return short_side, max(1, round(width * short_side / height))
    return max(1, round(height * short_side / width)), short_side


def fixed_offsets(height: int, width: int, crop_h: int, crop_w: int, more: bool = False) -> list[tuple[int, int]]:
    """TSN's fixed (y, x) crop positions: corners TL, TR, BL, BR, centre, then (more) 8 extra.

    Positions are multiples of the steps ⌊(H - h)/4⌋ and ⌊(W - w)/4⌋ (TSN's
    `fill_fix_offset`), so the order and rounding are TSN's.
    """
    if crop_h > height or crop_w > width:
        raise ValueError(f"crop {crop_h}x{crop_w} larger than frame {height}x{width}")
    hs, ws = (height - crop_h) // 4, (width - crop_w) // 4
    grid = [(0, 0), (0, 4), (4, 0), (4, 4), (2, 2)]  # (row step, col step): TL, TR, BL, BR, centre
    if more:
        grid += [(2, 0), (2, 4), (4, 2), (0, 2), (1, 1), (1, 3), (3, 1), (3, 3)]
    return [(r * hs, c * ws) for r, c in grid]


def crop_sizes(height: int, width: int, input_size: int, scales: tuple[float, ...] = TSN_SCALES) -> list[int]:
    """Candidate crop sides ⌊short·s⌋, snapped to `input_size` when within 3 px (TSN)."""
    base = min(height, width)
    sides = [int(base * s) for s in scales]
    return [input_size if abs(side - input_size) < SNAP_PX else side for side in sides]


def crop_pairs(
    height: int, width: int, input_size: int, scales: tuple[float, ...] = TSN_SCALES, max_distort: int = 1
) -> list[tuple[int, int]]:
    """All (crop_h, crop_w) TSN may draw: sides at most `max_distort` apart in the scale list."""
    sides = crop_sizes(height, width, input_size, scales)
    return [(h, w) for i, h in enumerate(sides) for j, w in enumerate(sides) if abs(i - j) <= max_distort]


def sample_train_params(
    height: int,
    width: int,
    input_size: int,
    rng: np.random.Generator,
    scales: tuple[float, ...] = TSN_SCALES,
    max_distort: int = 1,
    more_fix_crop: bool = True,
    flip: bool = True,
) -> TrainParams:
    """One random multi-scale crop (size pair, then fixed offset) and a coin flip: three draws."""
    pairs = crop_pairs(height, width, input_size, scales, max_distort)
    crop_h, crop_w = pairs[int(rng.integers(len(pairs)))]
    offsets = fixed_offsets(height, width, crop_h, crop_w, more_fix_crop)
    y, x = offsets[int(rng.integers(len(offsets)))]
    flipped = bool(rng.integers(2)) if flip else False
    return TrainParams(Crop(y, x, crop_h, crop_w), flipped)


# --------------------------------------------------------------------------- frame geometry -> source pixels


def virtual_size(height: int, width: int, short_side: int, input_size: int) -> tuple[int, int]:
    """Size of the frame the crop geometry is defined on: short side = `short_side` (0 = as decoded),
    enlarged to `input_size` when still smaller (a tiny video must not crash training)."""
    if short_side > 0:
        height, width = short_side_size(height, width, short_side)
    if min(height, width) < input_size:
        height, width = short_side_size(height, width, input_size)
    return height, width


def to_source(box: Crop, src_hw: tuple[int, int], virtual_hw: tuple[int, int]) -> Crop:
    """Map a box on the virtual (resized) frame to pixels of the decoded frame; identity when sizes match.

    Resizing the whole frame and then cropping would interpolate twice and
    resize pixels that are thrown away; cropping the mapped box and resizing
    it once gives the same geometry (up to rounding of the box edges).
    """
    (src_h, src_w), (virt_h, virt_w) = src_hw, virtual_hw
    if (src_h, src_w) == (virt_h, virt_w):
        return box
    sy, sx = src_h / virt_h, src_w / virt_w
    y0, x0 = min(round(box.y * sy), src_h - 1), min(round(box.x * sx), src_w - 1)
    y1, x1 = min(max(round((box.y + box.h) * sy), y0 + 1), src_h), min(max(round((box.x + box.w) * sx), x0 + 1), src_w)
    return Crop(y0, x0, y1 - y0, x1 - x0)


# --------------------------------------------------------------------------- pixel ops on (N, H, W, C)


def crop(frames: np.ndarray, box: Crop) -> np.ndarray:
    """(N, H, W, C) -> (N, h, w, C): a view, no copy."""
    if box.y < 0 or box.x < 0 or box.y + box.h > frames.shape[1] or box.x + box.w > frames.shape[2]:
        raise ValueError(f"crop {box} outside frames of size {frames.shape[1]}x{frames.shape[2]}")
    return frames[:, box.y : box.y + box.h, box.x : box.x + box.w]


def resize(frames: np.ndarray, height: int, width: int, flip: bool = False) -> np.ndarray:
    """(N, H, W, C) -> (N, height, width, C) with cv2.INTER_LINEAR, mirrored left-right when `flip`.

    Always returns a new contiguous array (the input may be a crop view).
    Mirroring here uses cv2.flip per frame: numpy's reversed-stride copy is ~10× slower.
    """
    out = np.empty((frames.shape[0], height, width, frames.shape[3]), dtype=frames.dtype)
    same = frames.shape[1:3] == (height, width)
    for i, frame in enumerate(frames):
        # cv2 takes (width, height) and drops a channel axis of size 1; reshape restores (H, W, C).
        image = frame if same else cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
        out[i] = (cv2.flip(np.ascontiguousarray(image), 1) if flip else image).reshape(height, width, -1)
    return out


def invert_flow_x(frames: np.ndarray) -> np.ndarray:
    """In place on (N, H, W, 2) 8-bit flow: x -> 255 - x (a mirrored image moves the other way), y kept."""
    np.subtract(255, frames[..., 0], out=frames[..., 0])
    return frames


def hflip(frames: np.ndarray, modality: Modality) -> np.ndarray:
    """(N, H, W, C) mirrored left-right; for flow also x -> 255 - x. Returns a new array."""
    out = resize(frames, frames.shape[1], frames.shape[2], flip=True)
    return invert_flow_x(out) if modality == "flow" else out


def resized_crop(frames: np.ndarray, box: Crop, size: int, modality: Modality, flip: bool = False) -> np.ndarray:
    """Cut `box`, resize it to size², maybe mirror (flow-aware): (N, H, W, C) -> (N, S, S, C)."""
    out = resize(crop(frames, box), size, size, flip)
    return invert_flow_x(out) if flip and modality == "flow" else out


def five_crop(frames: np.ndarray, size: int, short_side: int = 0) -> np.ndarray:
    """(N, H, W, C) -> (5, N, S, S, C): TL, TR, BL, BR, centre of TSN's grid.

    TSN's test pipeline exactly: resize whole frames to the virtual size
    (short side `short_side`) once, then cut five size² crops (no more resizing).
    """
    frames = _to_virtual(frames, size, short_side)
    offsets = fixed_offsets(frames.shape[1], frames.shape[2], size, size)
    return np.stack([crop(frames, Crop(y, x, size, size)) for y, x in offsets])  # (5, N, S, S, C)


def center_crop(frames: np.ndarray, size: int, short_side: int = 0) -> np.ndarray:
    """(N, H, W, C) -> (N, S, S, C): exactly the centre crop of `five_crop` (grid steps 2, 2)."""
    frames = _to_virtual(frames, size, short_side)
    y, x = fixed_offsets(frames.shape[1], frames.shape[2], size, size)[4]
    return np.ascontiguousarray(crop(frames, Crop(y, x, size, size)))


def _to_virtual(frames: np.ndarray, size: int, short_side: int) -> np.ndarray:
    """Whole frames resized to `virtual_size` (returned as they are when already that size)."""
    virt = virtual_size(frames.shape[1], frames.shape[2], short_side, size)
    return frames if frames.shape[1:3] == virt else resize(frames, *virt)


def normalize(frames: np.ndarray, modality: Modality) -> np.ndarray:
    """uint8 (..., C) channels-last -> float32 (x/255 - mean)/std with `NORM_STATS` (for checks and CPU use)."""
    mean, std = (np.asarray(v, dtype=np.float32) for v in NORM_STATS[modality])
    return (frames.astype(np.float32) / 255.0 - mean) / std


def to_model_layout(frames: np.ndarray, num_segments: int, new_length: int) -> np.ndarray:
    """(..., T·L, H, W, C) snippet frames -> (..., T, L·C, H, W) contiguous; flow channels come out
    x0, y0, x1, y1, … (TSN). Leading axes (views) are kept."""
    *lead, n, height, width, channels = frames.shape
    if n != num_segments * new_length:
        raise ValueError(f"expected {num_segments}x{new_length} frames, got {n}")
    x = frames.reshape(*lead, num_segments, new_length, height, width, channels)  # -> (..., T, L, H, W, C)
    x = np.moveaxis(x, -1, -3)  # (..., T, L, H, W, C) -> (..., T, L, C, H, W)
    x = np.ascontiguousarray(x)  # one copy into the model's layout
    return x.reshape(*lead, num_segments, new_length * channels, height, width)  # -> (..., T, L·C, H, W)


# --------------------------------------------------------------------------- per-video wrapper


@dataclass(frozen=True)
class Augment:
    """The augmentation of one mode, applied to all snippet frames of one video at once.

    `train`: one multi-scale crop + flip drawn from `rng` per call (per video),
    its box mapped to the decoded frames and resized once; `val`: centre
    crop; `test`: 5 crops (4 corners + centre), both cut from the frames
    resized to `short_side` (0 = as decoded; see `virtual_size`).
    """

    input_size: int = 224
    short_side: int = 256
    modality: Modality = "rgb"
    scales: tuple[float, ...] = TSN_SCALES
    max_distort: int = 1
    more_fix_crop: bool = True
    flip: bool = True

    def draw(self, height: int, width: int, rng: np.random.Generator) -> TrainParams:
        """The random parameters of one video decoded at height×width (box on the virtual frame)."""
        virt_h, virt_w = virtual_size(height, width, self.short_side, self.input_size)
        return sample_train_params(
            virt_h, virt_w, self.input_size, rng, self.scales, self.max_distort, self.more_fix_crop, self.flip
        )

    def apply(self, frames: np.ndarray, params: TrainParams) -> np.ndarray:
        """(N, H, W, C) -> (N, S, S, C) for given parameters (what `train` does after its draw)."""
        src = frames.shape[1:3]
        box = to_source(params.crop, src, virtual_size(*src, self.short_side, self.input_size))
        return resized_crop(frames, box, self.input_size, self.modality, params.flip)

    def train(self, frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(N, H, W, C) -> (N, S, S, C) with one random draw for the whole video."""
        return self.apply(frames, self.draw(frames.shape[1], frames.shape[2], rng))

    def val(self, frames: np.ndarray) -> np.ndarray:
        """(N, H, W, C) -> (N, S, S, C) centre crop."""
        return center_crop(frames, self.input_size, self.short_side)

    def test(self, frames: np.ndarray, num_crops: int = 5) -> np.ndarray:
        """(N, H, W, C) -> (num_crops, N, S, S, C): five crops, or the centre only when num_crops == 1."""
        if num_crops == 1:
            return self.val(frames)[None]  # (N, S, S, C) -> (1, N, S, S, C)
        if num_crops != 5:
            raise ValueError(f"num_crops must be 1 or 5, got {num_crops}")
        return five_crop(frames, self.input_size, self.short_side)
