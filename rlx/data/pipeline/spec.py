"""`PipelineSpec`: everything that decides what one video becomes (mode, sampling, crops, test views)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from rlx.config import DataConfig, Decoder, Modality, NumCrops
from rlx.data.decode import check_decoder
from rlx.data.transforms import CHANNELS, TSN_SCALES, Augment

Mode = Literal["train", "val", "test"]
# Videos per decode task in test mode: a test video is 20 views (200 for Charades), so a task of
# data.decode_batch_size videos would make blocks of several hundred MB to GBs at 224².
TEST_DECODE_BATCH = 4


@dataclass(frozen=True)
class PipelineSpec:
    """Everything that decides what one video becomes; built once per run from DataConfig/EvalConfig."""

    videos_root: str
    mode: Mode = "train"
    modality: Modality = "rgb"
    num_segments: int = 8  # T
    new_length: int = 1  # L: 1 RGB frame or 10 flow fields per snippet
    input_size: int = 224  # S: side of the square crop given to the model
    short_side: int = 256  # frames are resized to this short side before cropping; 0 = as decoded
    scales: tuple[float, ...] = TSN_SCALES
    max_distort: int = 1
    more_fix_crop: bool = True
    flip: bool = True
    num_groups: int = 4  # test: snippet groups at equally spaced positions
    num_crops: int = 5  # test: 5 = four corners + centre, 1 = centre
    num_clips: int = 0  # test: > 0 = Charades protocol, clips of clip_len frames
    clip_len: int = 256
    multilabel: bool = False
    num_classes: int = 0  # width of the multi-hot `labels` (multi-label only)
    seed: int = 0
    decode_batch_size: int = DataConfig.decode_batch_size  # videos per map_batches call (one decode task)
    num_tasks: int = 2  # Ray Data tasks decoding in parallel
    # CPUs each decode task reserves (fractions let decoding share a small machine with training)
    num_cpus: float = 1.0
    decoder: Decoder = DataConfig.decoder  # video decoder (rlx.data.decode)
    decode_timeout_s: float | None = DataConfig.decode_timeout_s  # per video; longer = a failed video

    def __post_init__(self) -> None:
        modes, modalities = get_args(Mode), get_args(Modality)
        if self.mode not in modes:
            raise ValueError(f"mode must be {', '.join(modes[:-1])} or {modes[-1]}, got {self.mode!r}")
        if self.modality not in modalities:
            raise ValueError(f"modality must be {' or '.join(modalities)}, got {self.modality!r}")
        if min(self.num_segments, self.new_length, self.input_size, self.num_groups, self.decode_batch_size) < 1:
            raise ValueError("num_segments, new_length, input_size, num_groups, decode_batch_size must be >= 1")
        if self.num_crops not in get_args(NumCrops):
            raise ValueError(f"num_crops must be {' or '.join(map(str, get_args(NumCrops)))}, got {self.num_crops}")
        if 0 < self.short_side < self.input_size:
            raise ValueError(f"short_side {self.short_side} is smaller than input_size {self.input_size}")
        if self.multilabel and self.num_classes < 1:
            raise ValueError("multilabel needs num_classes >= 1")
        check_decoder(self.decoder)  # unknown, or torchcodec without FFmpeg: fails here, not in a decode task

    @classmethod
    def from_config(
        cls, data: Any, mode: Mode, videos_root: str, num_classes: int = 0, seed: int = 0, evaluation: Any = None
    ) -> PipelineSpec:
        """From `rlx.config.DataConfig` (+ `EvalConfig` for test views): the one place their fields map here.

        Test views are `evaluation.num_groups` × `evaluation.num_crops` per
        clip; Charades (`data.multilabel`) tests each of `evaluation.num_clips`
        clips of `evaluation.clip_length` frames that way (the paper: "evaluate
        each clip separately in the same way as Section 5.2"), other datasets
        one clip, the whole video. The loop averages a clip's views and takes
        the max over clips (`rlx.train.loop.predict(clips=...)`).
        """
        views: dict[str, Any] = {}
        if evaluation is not None and mode == "test":
            views = {"num_groups": evaluation.num_groups, "num_crops": evaluation.num_crops}
            if data.multilabel:
                views |= {"num_clips": evaluation.num_clips, "clip_len": evaluation.clip_length}
        return cls(
            videos_root=str(videos_root),
            mode=mode,
            modality=data.modality,
            num_segments=data.num_segments,
            new_length=data.new_length,
            input_size=data.input_size,
            short_side=data.short_side,
            multilabel=data.multilabel,
            num_classes=num_classes if data.multilabel else 0,
            seed=seed,
            num_tasks=data.loader_tasks,
            num_cpus=data.loader_cpus,
            flip=data.flip,
            decoder=data.decoder,
            decode_timeout_s=data.decode_timeout_s,
            decode_batch_size=TEST_DECODE_BATCH if mode == "test" else data.decode_batch_size,
            **views,
        )

    @property
    def channels(self) -> int:
        """L·C input channels of one snippet."""
        return self.new_length * CHANNELS[self.modality]

    @property
    def num_views(self) -> int:
        """V in test mode: clips × groups × crops."""
        return max(self.num_clips, 1) * self.num_groups * self.num_crops

    @property
    def augment(self) -> Augment:
        return Augment(
            input_size=self.input_size,
            short_side=self.short_side,
            modality=self.modality,
            scales=self.scales,
            max_distort=self.max_distort,
            more_fix_crop=self.more_fix_crop,
            flip=self.flip,
        )

    def frame_shape(self) -> tuple[int, ...]:
        """Shape of one video's `frames` row."""
        per_view = (self.num_segments, self.channels, self.input_size, self.input_size)
        return (self.num_views, *per_view) if self.mode == "test" else per_view
