"""Typed run configuration and its flat, dotted-key form.

Search spaces, `--set key=value` overrides and MLflow params all speak the
flat form (`model.dropout: 0.8`). It is converted into these frozen
dataclasses exactly once, at a boundary (CLI, Ray worker), and from there the
typed sections are passed down as explicit arguments.

Every set of allowed values is written once, as one of the `Literal` aliases
below (`Arch`, `Backbone`, `InsertAfter`, ...). The config fields are
annotated with them, so `--set` values are checked against them; the builders
(`rlx.models`, `rlx.data`, ...) import the same aliases, dispatch with plain
if/elif over their values and list `typing.get_args(alias)` in their errors.
Nothing else spells a set out again.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NewType

import yaml

Arch = Literal["two_branch", "local", "nonlocal", "tsn"]
Backbone = Literal["resnetv2_101", "resnetv2_50", "resnetv2_34", "resnetv2_small", "resnet101", "resnet50"]
InsertAfter = Literal["conv5_1", "conv5_2", "conv5_3"]
Pairwise = Literal["embedded_gaussian", "gaussian", "dot_product"]
BNMode = Literal["batch", "frozen", "moving"]
Modality = Literal["rgb", "flow"]
# data.decoder: the library that decodes video files (rlx.data.decode; rawframes are read by OpenCV).
Decoder = Literal["decord", "torchcodec", "pyav"]
Dataset = Literal["synthetic", "ucf101", "hmdb51", "charades", "custom"]
# Layouts `python -m rlx.data index --format` reads (rlx.data.splits.build): the official three, a folder of class
# subfolders, and mmaction2's video / rawframes annotation lists. `data.dataset: custom` trains on their indexes.
IndexFormat = Literal["ucf101", "hmdb51", "charades", "folder", "mmaction-video", "mmaction-rawframes"]
# data.multilabel: "auto" = derived from data.dataset (charades multi-label, the others single-label);
# data.dataset=custom must state true or false.
MultiLabel = Literal["auto", True, False]
# An entry of data.classes: a class name, or a class id (YAML ints are kept as their decimal text).
ClassRef = NewType("ClassRef", str)
Split = Literal[1, 2, 3]  # the official train/test splits (Charades has only split 1)
NumCrops = Literal[1, 5]  # test crops per snippet: centre only, or four corners + centre
# data.charades_train: what one Charades training sample is (rlx.data.pipeline.rows.action_rows). The paper trains
# "on the actions extracted from the training videos": `segments` = every annotated action once per epoch (~49.8k),
# `videos` = one action drawn per video per epoch (7,985 samples, the video-level epoch of the other datasets).
CharadesTrain = Literal["segments", "videos"]
# How Ray places a trial's workers (ScalingConfig.placement_strategy): PACK fills one node first (best
# effort), STRICT_PACK keeps every worker on one node (e.g. 4 GPUs of an 8-GPU node), SPREAD/STRICT_SPREAD
# put them on different nodes (tests on a multi-node cluster).
PlacementStrategy = Literal["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"]


# model.init_from in a search: `group:<group key>` starts each trial from a trial of that earlier group
# (rlx.tune.init_group resolves it; elsewhere it is an error).
INIT_FROM_GROUP = "group:"


def init_from_group(value: object) -> str | None:
    """The group key of a `group:<key>` value of model.init_from, else None."""
    return value.removeprefix(INIT_FROM_GROUP) if isinstance(value, str) and value.startswith(INIT_FROM_GROUP) else None


class ConfigError(ValueError):
    """A bad key or value in a flat config; the message names the key."""


@dataclass(frozen=True)
class ModelConfig:
    """Everything `rlx.models.build_model` reads, and where the built network's first weights come from."""

    arch: Arch = "two_branch"
    backbone: Backbone = "resnetv2_101"
    pretrained: str = ""  # local file path; empty = random init. Never downloaded.
    insert_after: InsertAfter = "conv5_2"
    pairwise: Pairwise = "embedded_gaussian"
    # The paper does not scale θᵀφ by 1/√d; recorded so every run says which it used.
    scale_attention: bool = False
    # Width d of θ/φ in the R-LSTM non-local ops; 0 means hidden = C/2 (the paper's).
    inter_channels: int = 0
    dropout: float = 0.8
    bn_mode: BNMode = "moving"
    # Updates the BNs that normalise with running statistics in training (bn_mode moving; the paper's 0.001).
    bn_momentum: float = 0.001
    # Updates the evaluation statistics of the BNs that normalise with batch statistics: the backbone's in
    # bn_mode batch, and in every mode the non-local branch's new layers. Not the paper's 0.001 (it would keep
    # their evaluation statistics near their initial values): PyTorch's 0.1; values below 0.01 are rejected.
    batch_bn_momentum: float = 0.1
    # Start from a finished run's whole network (seed paper §5.2: the temporal stream starts from the trained
    # spatial one): a checkpoint (state.pt, epoch folder, run folder) or an MLflow run id. Read by
    # rlx.train.init_from after build_model; a resumed run ignores it (its own checkpoint wins).
    init_from: str = ""
    # Strict: every model tensor comes from the source (except a head of another class count, and the first
    # conv, adapted RGB -> flow); false loads what fits and keeps the rest new. Both print and log the account.
    init_strict: bool = True

    def __post_init__(self) -> None:
        check(0.0 <= self.dropout < 1.0, "model.dropout", self.dropout, "must be in [0, 1)")
        check(0.0 <= self.bn_momentum <= 1.0, "model.bn_momentum", self.bn_momentum, "must be in [0, 1]")
        check(
            0.01 <= self.batch_bn_momentum <= 1.0,
            "model.batch_bn_momentum",
            self.batch_bn_momentum,
            "must be in [0.01, 1] (below, the evaluation statistics of batch-statistics BNs barely move)",
        )
        check(  # in batch mode: left at its default, or saying the same as batch_bn_momentum (configs/smoke.yaml)
            self.bn_mode != "batch" or self.bn_momentum in (ModelConfig.bn_momentum, self.batch_bn_momentum),
            "model.bn_momentum",
            self.bn_momentum,
            "is not read in bn_mode 'batch'; set model.batch_bn_momentum",
        )
        check(self.inter_channels >= 0, "model.inter_channels", self.inter_channels, "must be >= 0")


@dataclass(frozen=True)
class DataConfig:
    dataset: Dataset = "synthetic"
    split: Split = 1
    modality: Modality = "rgb"
    num_segments: int = 8
    new_length: int = 1  # frames (rgb) or flow fields (flow) per snippet
    input_size: int = 224
    short_side: int = 256  # frames are resized to this short side before cropping (TSN: 256 for 224)
    # Training-time horizontal flip (TSN). Off for data whose classes are mirror images of each
    # other: the synthetic order_left_to_right flipped is an order_right_to_left clip.
    flip: bool = True
    # Real datasets: the videos (or rawframes / flow) root and either the
    # official annotation folder or an index.parquet from `rlx.data index`.
    videos: str = ""
    annotations: str = ""
    index: str = ""
    # The synthetic benchmark (dataset = synthetic) is generated once into
    # cache_dir (default ~/.cache/rlx) with these parameters.
    cache_dir: str = ""
    synthetic_videos_per_class: int = 24
    synthetic_frames: int = 40
    synthetic_size: int = 96
    val_fraction: float = 0.1  # of the training split, held out for validation and fusion weights
    # Test videos that may be missing, corrupt or too short before a run refuses to start (rlx.train.accounting).
    # 0: the paper's datasets have complete test sets, and a comparison with the paper on fewer test videos is
    # wrong unless the user says so; runs that test on fewer are marked incomplete in reports.
    max_missing_test: int = 0
    # Single- or multi-label targets; "auto" resolves from `dataset` in __post_init__, so after construction
    # it is always a bool (custom datasets must state it).
    multilabel: MultiLabel = "auto"
    # A class subset (names or ids of the index's classes), relabelled 0..k-1 in original id order by
    # rlx.data.splits.subset; empty = all classes.
    classes: tuple[ClassRef, ...] = ()
    # decode tasks in flight per dataset (Ray Data), each worker its own; Ray runs as many as CPUs are free, so
    # 2 per decode CPU keeps one waiting behind each running one (rlx.data.pipeline.runners.keep_tasks_queued)
    loader_tasks: int = 2
    loader_cpus: float = 1.0  # CPUs reserved by each decode task (fractions share small machines)
    # Training and validation videos per decode task. Each task costs the executor a round and a worker
    # lease: 8 decoded 1.1x the videos/s of 4 on 2 CPUs (`python -m rlx.bench data`'s streamed path, 2-core
    # VM). Test tasks keep 4 videos (rlx.data.pipeline.spec.TEST_DECODE_BATCH): a test video is 20-200 views.
    decode_batch_size: int = 8
    # The validation batches are the same every epoch (one centre view, no shuffle): a worker keeps its
    # decoded share in memory after the first epoch when it is at most this size, instead of starting a Ray
    # Data run per epoch (~2.5 s on 2 cores: most of the smoke search's validation). 0 decodes every epoch.
    val_cache_mb: int = 256
    # MB of the final pass (test, and validation under the test protocol) a worker reads ahead from the start
    # of the last epoch, when a streamed run's decode tasks are nearly idle (rlx.train.background.ReadAhead;
    # the smoke's test took ~5 s per trial after training, mostly decoding). 0: decode it after training.
    final_read_ahead_mb: int = 256
    # Training epochs one Ray Data run streams (rlx.data.pipeline.epochs_rows): a run per epoch starts its
    # tasks anew each time (~2 s of data wait per epoch on 2 cores); a run over k epochs holds k epochs'
    # rows (paths and labels) in its plan. 1: a dataset per epoch.
    stream_epochs: int = 8
    # Video decoder (rlx.data.decode). pyav by measurement (`python -m rlx.bench data`, README benchmark table):
    # the reference of the equality tests, 2.6-9.5x decord's videos/s on the Xvid AVIs (UCF-101/HMDB-51's
    # format) and within this machine's noise of decord and torchcodec on H.264 MP4.
    decoder: Decoder = "pyav"
    # A video whose decode takes longer is dropped and counted as a failed video (data/skipped): a
    # decoder stuck on a broken file must not stall training. The probe's bound (rlx.data.probe).
    decode_timeout_s: float = 120.0
    # Charades-format indexes (a `segments` column): training samples are annotated actions, T snippets inside
    # one action, targets the classes active at the sampled frames (rlx.data.pipeline.rows.action_rows).
    charades_train: CharadesTrain = "segments"

    def __post_init__(self) -> None:
        check(self.num_segments >= 1, "data.num_segments", self.num_segments, "must be >= 1")
        check(self.new_length >= 1, "data.new_length", self.new_length, "must be >= 1")
        check(self.input_size >= 32, "data.input_size", self.input_size, "must be >= 32")
        check(self.short_side >= self.input_size, "data.short_side", self.short_side, "must be >= data.input_size")
        check(0.0 <= self.val_fraction < 1.0, "data.val_fraction", self.val_fraction, "must be in [0, 1)")
        check(self.max_missing_test >= 0, "data.max_missing_test", self.max_missing_test, "must be >= 0")
        check(self.loader_tasks >= 1, "data.loader_tasks", self.loader_tasks, "must be >= 1")
        check(self.decode_batch_size >= 1, "data.decode_batch_size", self.decode_batch_size, "must be >= 1")
        check(self.val_cache_mb >= 0, "data.val_cache_mb", self.val_cache_mb, "must be >= 0")
        check(self.final_read_ahead_mb >= 0, "data.final_read_ahead_mb", self.final_read_ahead_mb, "must be >= 0")
        check(self.stream_epochs >= 1, "data.stream_epochs", self.stream_epochs, "must be >= 1")
        check(self.decode_timeout_s > 0, "data.decode_timeout_s", self.decode_timeout_s, "must be > 0")
        check(self.dataset != "charades" or self.split == 1, "data.split", self.split, "Charades has only split 1")
        check(
            self.dataset != "custom" or self.multilabel != "auto",
            "data.multilabel",
            self.multilabel,
            "must be stated (true or false) for data.dataset=custom",
        )
        derived = self.dataset == "charades"
        if self.dataset != "custom":
            why = f"contradicts data.dataset={self.dataset} ({'multi' if derived else 'single'}-label)"
            check(self.multilabel in ("auto", derived), "data.multilabel", self.multilabel, why)
            object.__setattr__(self, "multilabel", derived)  # frozen: resolve "auto" once, here
        check(len(set(self.classes)) == len(self.classes), "data.classes", list(self.classes), "lists a class twice")

    @property
    def in_channels(self) -> int:
        return 3 * self.new_length if self.modality == "rgb" else 2 * self.new_length


@dataclass(frozen=True)
class EvalConfig:
    num_groups: int = 4  # test snippets groups at equally spaced positions (PAPER.md §5)
    num_crops: NumCrops = 5
    view_budget: int = 20  # views per forward pass in testing (memory bound)
    num_clips: int = 10  # Charades: clips per test video
    clip_length: int = 256  # Charades: frames per clip

    def __post_init__(self) -> None:
        check(self.num_groups >= 1, "eval.num_groups", self.num_groups, "must be >= 1")
        check(self.view_budget >= 1, "eval.view_budget", self.view_budget, "must be >= 1")


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 5e-4
    momentum: float = 0.9
    weight_decay: float = 5e-4
    epochs: int = 50
    milestones: tuple[int, ...] = (35, 45)
    batch_size: int = 24  # global, split over workers
    grad_clip: float = 0.0  # max gradient norm; 0 disables

    def __post_init__(self) -> None:
        check(self.lr > 0, "optim.lr", self.lr, "must be > 0")
        check(self.epochs >= 1, "optim.epochs", self.epochs, "must be >= 1")
        check(self.batch_size >= 1, "optim.batch_size", self.batch_size, "must be >= 1")
        check(self.grad_clip >= 0, "optim.grad_clip", self.grad_clip, "must be >= 0")
        check(
            list(self.milestones) == sorted(self.milestones), "optim.milestones", self.milestones, "must be increasing"
        )


@dataclass(frozen=True)
class TrainConfig:
    num_workers: int = 1
    use_gpu: bool = False
    cpus_per_worker: float = 1.0
    # PyTorch's intra-op threads in a Ray worker; 0: its whole CPUs (int(cpus_per_worker), at least 1), which is
    # also what Ray's OMP_NUM_THREADS gives, but only to a process that imports PyTorch after Ray set it. CPU
    # results follow the float summation order, so the thread count is part of a run's recipe.
    threads: int = 0
    seed: int = 0
    amp: bool = True  # bf16 autocast, CUDA only
    channels_last: bool = True  # CUDA only
    keep_checkpoints: int = 2
    max_failures: int = 2  # worker-group restarts before the run fails
    # Seconds between Ray Train's polls of its workers (set as RAY_TRAIN_HEALTH_CHECK_INTERVAL_S; Ray's default
    # is 2): a report, a finished worker and a run's end each wait for the next poll.
    report_poll_s: float = 0.5
    fail_at_epoch: int = -1  # fault injection for tests: rank 0 exits once when this epoch starts
    placement_strategy: PlacementStrategy = "PACK"
    # With more than one worker on GPUs, the BNs that use batch statistics (bn_mode batch; the non-local
    # branch's new layers) become SyncBatchNorm: 4 workers then normalise over the same 24 videos as 1.
    # No effect with one worker; CPU (gloo) workers have no SyncBatchNorm kernel: a warning says so.
    sync_bn: bool = True

    @property
    def worker_threads(self) -> int:
        """Intra-op threads of a Ray worker's PyTorch (see `threads`)."""
        return self.threads or max(1, int(self.cpus_per_worker))

    def __post_init__(self) -> None:
        check(self.num_workers >= 1, "train.num_workers", self.num_workers, "must be >= 1")
        check(self.cpus_per_worker > 0, "train.cpus_per_worker", self.cpus_per_worker, "must be > 0")
        check(self.threads >= 0, "train.threads", self.threads, "must be >= 0 (0: the worker's whole CPUs)")
        check(self.keep_checkpoints >= 1, "train.keep_checkpoints", self.keep_checkpoints, "must be >= 1")
        check(self.max_failures >= 0, "train.max_failures", self.max_failures, "must be >= 0")
        check(self.report_poll_s > 0, "train.report_poll_s", self.report_poll_s, "must be > 0")


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @classmethod
    def from_flat(cls, flat: Mapping[str, Any]) -> RunConfig:
        """Build from dotted keys; unknown keys and bad values raise ConfigError naming the key."""
        sections: dict[str, dict[str, Any]] = {f.name: {} for f in dataclasses.fields(cls)}
        for key, value in flat.items():
            section, _, name = key.partition(".")
            if section not in sections or not name:
                raise ConfigError(f"unknown config key '{key}' (sections: {', '.join(sections)})")
            sections[section][name] = value
        hints = typing.get_type_hints(cls)
        return cls(**{name: section_from_dict(hints[name], name, values) for name, values in sections.items()})

    def to_flat(self) -> dict[str, Any]:
        flat: dict[str, Any] = {}
        for section in dataclasses.fields(self):
            for f in dataclasses.fields(getattr(self, section.name)):
                value = getattr(getattr(self, section.name), f.name)
                flat[f"{section.name}.{f.name}"] = list(value) if isinstance(value, tuple) else value
        return flat


def check(ok: bool, key: str, value: Any, reason: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: {value!r} {reason}")


def section_from_dict(cls: type, prefix: str, values: Mapping[str, Any]) -> Any:
    """Instantiate one config section from {field: value}, checking every key and value."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for name, value in values.items():
        key = f"{prefix}.{name}"
        if name not in known:
            raise ConfigError(
                f"unknown config key '{key}' (known: {', '.join(sorted(f'{prefix}.{k}' for k in known))})"
            )
        kwargs[name] = coerce(hints[name], value, key)
    return cls(**kwargs)


def coerce(annotation: Any, value: Any, key: str) -> Any:
    """Check `value` against a field annotation, converting only lossless cases (int -> float, list -> tuple)."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        allowed = typing.get_args(annotation)
        # 1 == True in Python: a bool matches only a bool member, a non-bool only a non-bool one.
        bool_match = any(type(a) is bool and a == value for a in allowed)
        if value not in allowed or (type(value) is bool) != bool_match:
            raise ConfigError(f"{key}: {value!r} is not one of {', '.join(map(repr, allowed))}")
        return value
    if origin in (tuple, list):
        (item_type, *_rest) = typing.get_args(annotation)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return tuple(coerce(item_type, v, f"{key}[{i}]") for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        raise ConfigError(f"{key}: union types are not supported in configs")
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true/false, got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if annotation is ClassRef:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ConfigError(f"{key}: expected a class name or id, got {value!r}")
        return ClassRef(str(value))
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported field type {annotation!r}")


# ---------------------------------------------------------------- files and overrides
def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'model': {'dropout': 0.8}} and {'model.dropout': 0.8} both -> {'model.dropout': 0.8}."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def load_flat_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML config (nested sections or dotted keys) as a flat dict; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        tree = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(tree, Mapping):
        raise ConfigError(f"{path}: expected a mapping of config keys, got {type(tree).__name__}")
    return flatten(tree)


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """`key=value` strings; values are YAML scalars or lists (0.5, true, [35, 45], conv5_2)."""
    flat: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        flat[key.strip()] = yaml.safe_load(value)
    return flat
