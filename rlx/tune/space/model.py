"""What a search space is, and how it expands into groups of trials.

The dataclasses a space file is parsed into (`rlx.tune.space.parse`), the
errors the checks raise, and the expansion: the cross product of the axes
gives the groups (each its own Tuner), the samplers the trials of a group.
Ray-free: the samplers become Tune domains in `rlx.tune.run`.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from rlx.config import RunConfig

SamplerKind = Literal["grid", "choice", "uniform", "loguniform", "randint"]
Role = Literal["scientific", "nuisance"]  # tuning playbook: what the search is about / what it tunes away
SchedulerType = Literal["fifo", "asha"]
Mode = Literal["max", "min"]

# An axis value that sets several keys together: ((key, value), ...), its optional `name` (the group label)
# first. Kept as plain tuples: the search fingerprint (`rlx.tune.search.space_digest`) hashes them.
Bundle = tuple[tuple[str, Any], ...]

# Config keys the `resources` section sets (config key -> resources key); a space may not set them itself.
RESOURCE_CONFIG_KEYS = {
    "train.num_workers": "workers_per_trial",
    "train.use_gpu": "gpus_per_worker",
    "train.cpus_per_worker": "cpus_per_worker",
}


class SpaceError(ValueError):
    """An invalid search space: the file, the key inside it and the reason.

    `key` is the dotted path inside the space (`search.model.dropout.uniform`, `axes.stream`, `metric`), or
    what was checked when no single key is (`group stream=rgb`, `--set model.arch`), or "" when the whole
    file is at fault. `with_set`: found after `--set` overrides were applied. str() is the one line
    `rlx.tune` prints: "FILE: KEY: REASON".
    """

    def __init__(self, file: str, key: str, reason: str, with_set: bool = False):
        super().__init__(file, key, reason, with_set)  # all four in args: the error pickles (Ray)
        self.file, self.key, self.reason, self.with_set = file, key, reason, with_set

    def __str__(self) -> str:
        where = f"{self.file} (with --set)" if self.with_set else self.file
        return ": ".join(part for part in (where, self.key, self.reason) if part)


class InvalidKey(ValueError):
    """A bad key or value inside a space, raised by the checks before they know the file.

    Where the file is known (`load_space`, `apply_overrides`, `rlx.tune.placement.load_cluster`) it becomes
    a SpaceError.
    """

    def __init__(self, key: str, reason: str):
        super().__init__(key, reason)
        self.key, self.reason = key, reason

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"


@dataclass(frozen=True)
class Sampler:
    kind: SamplerKind
    values: tuple[Any, ...]  # grid/choice: the values; ranges: (low, high), randint high inclusive
    role: Role = "scientific"

    @property
    def grid_size(self) -> int:
        return len(self.values) if self.kind == "grid" else 1


@dataclass(frozen=True)
class Scheduler:
    type: SchedulerType = "fifo"
    grace_period: int = 1
    reduction_factor: int = 3


@dataclass(frozen=True)
class Resources:
    workers_per_trial: int = 1
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0


@dataclass(frozen=True)
class Group:
    """One point of the axes: its values, and the flat config every trial of it shares."""

    point: tuple[tuple[str, Any], ...]  # ((axis name, label), ...) in file order
    flat: dict[str, Any]
    axis_settings: dict[str, dict[str, Any]]  # {axis name: the config keys its value sets}, in file order

    @property
    def key(self) -> str:
        """e.g. "data.dataset=ucf101,data.modality=rgb" ("" when the space has no axes)."""
        return ",".join(f"{k}={v}" for k, v in self.point)

    @property
    def slug(self) -> str:
        """A folder/run-name-safe label, e.g. "dataset_ucf101-modality_rgb"."""
        text = "-".join(f"{k.split('.')[-1]}_{v}" for k, v in self.point) or "all"
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


@dataclass(frozen=True)
class SearchSpace:
    path: str
    name: str
    description: str
    fixed: dict[str, Any]
    axes: dict[str, tuple[Any, ...]]  # {axis name: values}, a value plain or a Bundle
    search: dict[str, Sampler]
    num_samples: int = 1
    scheduler: Scheduler = field(default_factory=Scheduler)
    metric: str = "val/top1"
    mode: Mode = "max"
    resources: Resources = field(default_factory=Resources)
    fusion_step: float | None = None
    # Select on the validation hold-out, then train the selected configurations again on the whole training
    # split and fuse them with the weight chosen on validation (rlx.tune.refit): the paper spaces' protocol.
    refit: bool = False

    def groups(self) -> list[Group]:
        """The cross product of the axes, in file order (the last axis varies fastest)."""
        names = list(self.axes)
        out = []
        for values in itertools.product(*(self.axes[name] for name in names)):
            settings = {name: axis_settings(value, name) for name, value in zip(names, values, strict=True)}
            flat = {k: v for keys in settings.values() for k, v in keys.items()}
            point = tuple((name, axis_label(value)) for name, value in zip(names, values, strict=True))
            out.append(Group(point, {**self.fixed, **self.resource_keys(), **flat}, settings))
        return out

    def resource_keys(self) -> dict[str, Any]:
        """The `resources` section as the config keys it sets."""
        r = self.resources
        return {
            "train.num_workers": r.workers_per_trial,
            "train.use_gpu": r.gpus_per_worker > 0,
            "train.cpus_per_worker": r.cpus_per_worker,
        }

    def trials_per_group(self) -> int:
        return self.num_samples * math.prod(s.grid_size for s in self.search.values())

    def sample_flat(self, group: Group) -> dict[str, Any]:
        """The flat config of a representative trial of the group (first grid value, range low ends)."""
        return {**group.flat, **{k: s.values[0] for k, s in self.search.items()}}

    def sample_config(self, group: Group) -> RunConfig:
        """`sample_flat` as a RunConfig."""
        return RunConfig.from_flat(self.sample_flat(group))


def referenced_group(group_key: str, reference: str) -> str:
    """The key of the group `model.init_from: group:<reference>` names from group `group_key`.

    A reference gives only the axes whose values differ: from "data.split=2,stream=ucf101-flow",
    "stream=ucf101-rgb" names "data.split=2,stream=ucf101-rgb" (each split's flow starts from its own RGB).
    An axis the group does not have is kept as given, so a wrong name shows in the error.
    """
    point = dict(part.split("=", 1) for part in group_key.split(",") if part)
    changes = dict(part.split("=", 1) if "=" in part else (part, "") for part in reference.split(",") if part)
    if not set(changes) <= set(point):
        return reference
    return ",".join(f"{axis}={changes.get(axis, value)}" for axis, value in point.items())


def is_bundle(value: Any) -> bool:
    return isinstance(value, tuple) and bool(value) and isinstance(value[0], tuple)


def axis_settings(value: Any, axis: str) -> dict[str, Any]:
    """The config keys one axis value sets: a bundle's keys (less its name), or {axis name: value}."""
    if is_bundle(value):
        return {k: v for k, v in value if k != "name"}
    return {axis: value}


def axis_label(value: Any) -> Any:
    """How a group names an axis value: a bundle by its first value (its `name` when it has one)."""
    return value[0][1] if is_bundle(value) else value
