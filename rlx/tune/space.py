"""Search-space files: schema, validation and expansion into groups of trials.

A space (YAML) has `name`, `description`, `fixed` config keys, `axes` (full
cross product; every point is its own *group* with its own Tuner, its own
ASHA brackets and its own row in reports — ASHA must never compare a
UCF-101 trial with an HMDB-51 one), `search` (samplers: grid, choice,
uniform, loguniform, randint; each may carry `role: scientific|nuisance`),
`num_samples`, `scheduler`, `metric`/`mode`, `resources` and `fusion`.

`load_space` checks everything that can be checked without Ray — every key
and every value against `RunConfig`, empty ranges, the metric against what
runs report, data paths, resources against the machine — and raises
`SpaceError("FILE: KEY: reason")` on the first problem.
"""
from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from rlx.config import ConfigError, RunConfig, flatten

TOP_LEVEL = {"name", "description", "fixed", "axes", "search", "num_samples", "scheduler", "metric", "mode",
             "resources", "fusion"}
SAMPLERS = {"grid", "choice", "uniform", "loguniform", "randint"}
ROLES = {"scientific", "nuisance"}
SINGLE_LABEL_METRICS = {"val/top1", "val/top5", "val/loss", "train/loss", "train/top1"}
MULTI_LABEL_METRICS = {"val/mAP", "val/loss", "train/loss"}
RESOURCE_KEYS = {"workers_per_trial", "gpus_per_worker", "cpus_per_worker"}
SCHEDULER_KEYS = {"type", "grace_period", "reduction_factor"}
RESOURCE_CONFIG_KEYS = {"train.num_workers": "workers_per_trial", "train.use_gpu": "gpus_per_worker",
                        "train.cpus_per_worker": "cpus_per_worker"}


class SpaceError(ValueError):
    """An invalid search space; the message names the file and the key."""


@dataclass(frozen=True)
class Sampler:
    kind: str  # grid | choice | uniform | loguniform | randint
    values: tuple[Any, ...]  # grid/choice: the values; ranges: (low, high), randint high inclusive
    role: str = "scientific"

    def tune_domain(self) -> Any:
        from ray import tune

        if self.kind == "grid":
            return tune.grid_search(list(self.values))
        if self.kind == "choice":
            return tune.choice(list(self.values))
        if self.kind == "uniform":
            return tune.uniform(*self.values)
        if self.kind == "loguniform":
            return tune.loguniform(*self.values)
        return tune.randint(self.values[0], self.values[1] + 1)  # Tune's upper bound is exclusive

    @property
    def grid_size(self) -> int:
        return len(self.values) if self.kind == "grid" else 1


@dataclass(frozen=True)
class Scheduler:
    type: str = "fifo"  # fifo | asha
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

    point: tuple[tuple[str, Any], ...]  # ((axis key, value), ...) in file order
    flat: dict[str, Any]

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
    axes: dict[str, tuple[Any, ...]]
    search: dict[str, Sampler]
    num_samples: int = 1
    scheduler: Scheduler = field(default_factory=Scheduler)
    metric: str = "val/top1"
    mode: str = "max"
    resources: Resources = field(default_factory=Resources)
    fusion_step: float | None = None

    def groups(self) -> list[Group]:
        keys = list(self.axes)
        out = []
        for values in itertools.product(*(self.axes[k] for k in keys)):
            flat: dict[str, Any] = {}
            for key, value in zip(keys, values):
                flat.update(_point(value, key))
            point = tuple((k, _label(v)) for k, v in zip(keys, values))
            out.append(Group(point, {**self.fixed, **self.resource_keys(), **flat}))
        return out

    def resource_keys(self) -> dict[str, Any]:
        r = self.resources
        return {"train.num_workers": r.workers_per_trial, "train.use_gpu": r.gpus_per_worker > 0,
                "train.cpus_per_worker": r.cpus_per_worker}

    def trials_per_group(self) -> int:
        return self.num_samples * math.prod(s.grid_size for s in self.search.values())

    def param_space(self, group: Group) -> dict[str, Any]:
        """Tune's param_space for one group: the group's fixed flat keys plus the samplers."""
        return {**group.flat, **{k: s.tune_domain() for k, s in self.search.items()}}

    def sample_config(self, group: Group) -> RunConfig:
        """A representative config of the group (first grid value, range low ends)."""
        return RunConfig.from_flat({**group.flat, **{k: s.values[0] for k, s in self.search.items()}})


# ---------------------------------------------------------------- loading and validation
def load_space(path: str | Path, *, check_data: bool = True, cluster: Mapping[str, float] | None = None) -> SearchSpace:
    """Parse and validate a search-space file; SpaceError names the file, the key and the reason."""
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise SpaceError(f"{where}: file not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise SpaceError(f"{where}: not valid YAML: {err}") from None
    if not isinstance(raw, Mapping):
        raise SpaceError(f"{where}: expected a mapping at the top level")

    def fail(key: str, reason: str) -> SpaceError:
        return SpaceError(f"{where}: {key}: {reason}")

    unknown = sorted(set(raw) - TOP_LEVEL)
    if unknown:
        raise fail(unknown[0], f"unknown key (allowed: {', '.join(sorted(TOP_LEVEL))})")
    for required in ("name", "description"):
        if not isinstance(raw.get(required), str) or not raw[required].strip():
            raise fail(required, "required, a non-empty string")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", raw["name"]):
        raise fail("name", f"{raw['name']!r} may only hold letters, digits, '_', '-', '.' (it names the MLflow experiment)")

    fixed = flatten(_mapping(raw.get("fixed", {}), "fixed", fail))
    axes = _axes(raw.get("axes", {}), fail)
    search = {k: _sampler(v, f"search.{k}", fail) for k, v in _search_entries(raw.get("search", {}), fail).items()}
    axis_keys = {k: None for values in axes.values() for v in values for k in _point(v, "")}
    for a, b in itertools.combinations((("fixed", fixed), ("axes", axis_keys), ("search", search)), 2):
        both = sorted(set(a[1]) & set(b[1]))
        if both:
            raise fail(f"{b[0]}.{both[0]}", f"also set in {a[0]}: a key is fixed, an axis or searched, not two of these")

    for key in RESOURCE_CONFIG_KEYS:
        if key in fixed or key in search or key in axis_keys:
            raise fail(key, f"set by resources.{RESOURCE_CONFIG_KEYS[key]}, not as a config key")
    space = SearchSpace(
        path=where,
        name=raw["name"],
        description=raw["description"].strip(),
        fixed=fixed,
        axes=axes,
        search=search,
        num_samples=_positive_int(raw.get("num_samples", 1), "num_samples", fail),
        scheduler=_scheduler(raw.get("scheduler", {}), fail),
        metric=str(raw.get("metric", "val/top1")),
        mode=str(raw.get("mode", "max")),
        resources=_resources(raw.get("resources", {}), fail),
        fusion_step=_fusion(raw.get("fusion"), fail),
    )
    if space.mode not in ("max", "min"):
        raise fail("mode", f"{space.mode!r} is not max or min")
    _check_values(space, fail)
    _check_metric(space, fail)
    if check_data:
        _check_data(space, fail)
    _check_resources(space, cluster or local_cluster(), fail)
    return space


def _axes(value: Any, fail) -> dict[str, tuple[Any, ...]]:
    """`key: [v1, v2]`, or a named axis of bundles `name: [{key: v, key2: w}, ...]` (values that move together,
    e.g. a dataset and its paths)."""
    axes: dict[str, tuple[Any, ...]] = {}
    for name, values in _mapping(value, "axes", fail).items():
        items = _list(values, f"axes.{name}", fail)
        bundles = [isinstance(v, Mapping) for v in items]
        if any(bundles) and not all(bundles):
            raise fail(f"axes.{name}", "mixes plain values and bundles of keys")
        axes[name] = tuple(_bundle(v) if b else v for v, b in zip(items, bundles))
        labels = [_label(v) for v in axes[name]]
        if len(set(map(str, labels))) != len(labels):
            raise fail(f"axes.{name}", f"two values share the label {labels}: give each bundle a `name`")
    return axes


def _bundle(value: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A bundle as ((key, value), ...); an optional `name` (the group label) goes first."""
    items = flatten({k: v for k, v in value.items() if k != "name"})
    return ((("name", value["name"]),) if "name" in value else ()) + tuple(items.items())


def _point(value: Any, key: str) -> dict[str, Any]:
    """The flat keys one axis value sets: a bundle's keys (less its name), or {axis key: value}."""
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return {k: v for k, v in value if k != "name"}
    return {key: value}


def _label(value: Any) -> Any:
    """How a group names an axis value: a bundle by its first value."""
    return value[0][1] if isinstance(value, tuple) and value and isinstance(value[0], tuple) else value


def _mapping(value: Any, key: str, fail) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise fail(key, f"expected a mapping, got {type(value).__name__}")
    return value


def _list(value: Any, key: str, fail) -> list[Any]:
    if not isinstance(value, (list, tuple)) or not value:
        raise fail(key, "expected a non-empty list of values")
    return list(value)


def _positive_int(value: Any, key: str, fail) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail(key, f"expected an integer >= 1, got {value!r}")
    return value


def _search_entries(value: Any, fail) -> dict[str, Any]:
    """Search entries are keyed by full dotted config keys (or nested sections ending in a sampler)."""
    entries: dict[str, Any] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for k, v in node.items():
            name = f"{prefix}{k}"
            if isinstance(v, Mapping) and not (set(v) & SAMPLERS) and v:
                walk(v, f"{name}.")
            else:
                entries[name] = v

    walk(_mapping(value, "search", fail), "")
    return entries


def _sampler(spec: Any, key: str, fail) -> Sampler:
    if not isinstance(spec, Mapping):
        raise fail(key, f"expected a sampler mapping like {{grid: [...]}}, got {spec!r}")
    kinds = sorted(set(spec) & SAMPLERS)
    extra = sorted(set(spec) - SAMPLERS - {"role"})
    if extra:
        raise fail(f"{key}.{extra[0]}", f"unknown sampler (allowed: {', '.join(sorted(SAMPLERS))}; plus role)")
    if len(kinds) != 1:
        raise fail(key, f"needs exactly one sampler of {', '.join(sorted(SAMPLERS))}")
    kind = kinds[0]
    role = spec.get("role", "scientific")
    if role not in ROLES:
        raise fail(f"{key}.role", f"{role!r} is not scientific or nuisance")
    values = _list(spec[kind], f"{key}.{kind}", fail)
    if kind in ("uniform", "loguniform", "randint"):
        if len(values) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise fail(f"{key}.{kind}", f"expected [low, high] numbers, got {values!r}")
        low, high = values
        if not low < high:
            raise fail(f"{key}.{kind}", f"range [{low}, {high}] is empty")
        if kind == "loguniform" and low <= 0:
            raise fail(f"{key}.{kind}", f"loguniform needs low > 0, got {low}")
        if kind == "randint" and not all(isinstance(v, int) for v in values):
            raise fail(f"{key}.{kind}", f"randint needs integers, got {values!r}")
    elif len(set(map(repr, values))) != len(values):
        raise fail(f"{key}.{kind}", f"repeated values in {values!r}")
    return Sampler(kind, tuple(values), role)


def _scheduler(value: Any, fail) -> Scheduler:
    spec = _mapping(value, "scheduler", fail)
    extra = sorted(set(spec) - SCHEDULER_KEYS)
    if extra:
        raise fail(f"scheduler.{extra[0]}", f"unknown key (allowed: {', '.join(sorted(SCHEDULER_KEYS))})")
    kind = str(spec.get("type", "fifo")).lower()
    if kind not in ("fifo", "asha"):
        raise fail("scheduler.type", f"{kind!r} is not fifo or asha")
    grace = _positive_int(spec.get("grace_period", 1), "scheduler.grace_period", fail)
    factor = spec.get("reduction_factor", 3)
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 2:
        raise fail("scheduler.reduction_factor", f"expected an integer >= 2, got {factor!r}")
    return Scheduler(kind, grace, factor)


def _resources(value: Any, fail) -> Resources:
    spec = _mapping(value, "resources", fail)
    extra = sorted(set(spec) - RESOURCE_KEYS)
    if extra:
        raise fail(f"resources.{extra[0]}", f"unknown key (allowed: {', '.join(sorted(RESOURCE_KEYS))})")
    workers = _positive_int(spec.get("workers_per_trial", 1), "resources.workers_per_trial", fail)
    gpus, cpus = spec.get("gpus_per_worker", 0), spec.get("cpus_per_worker", 1)
    for key, v in (("gpus_per_worker", gpus), ("cpus_per_worker", cpus)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise fail(f"resources.{key}", f"expected a number >= 0, got {v!r}")
    if cpus <= 0:
        raise fail("resources.cpus_per_worker", "must be > 0")
    if gpus not in (0, 1):
        raise fail("resources.gpus_per_worker", f"rlx trains one process per GPU: 0 or 1, got {gpus!r}")
    return Resources(workers, float(gpus), float(cpus))


def _fusion(value: Any, fail) -> float | None:
    if value is None:
        return None
    spec = _mapping(value, "fusion", fail)
    extra = sorted(set(spec) - {"step"})
    if extra:
        raise fail(f"fusion.{extra[0]}", "unknown key (allowed: step)")
    step = spec.get("step", 0.05)
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not 0 < step <= 0.5:
        raise fail("fusion.step", f"expected a number in (0, 0.5], got {step!r}")
    return float(step)


def _check_values(space: SearchSpace, fail) -> None:
    """Every key and value must be one RunConfig accepts: try each value on top of each group."""
    section_of = {"fixed": space.fixed, "axes": space.axes, "search": space.search}
    try:
        groups = space.groups()
        base = space.sample_config(groups[0])
    except ConfigError as err:
        raise _blame(err, section_of, fail) from None
    del base
    for group in groups:
        for key, sampler in space.search.items():
            values = sampler.values
            for value in values:
                try:
                    RunConfig.from_flat({**space.sample_config(group).to_flat(), key: value})
                except ConfigError as err:
                    raise fail(f"search.{key}", f"{value!r} rejected ({err})") from None
        try:
            RunConfig.from_flat(group.flat)
        except ConfigError as err:
            raise _blame(err, section_of, fail) from None


def _blame(err: ConfigError, sections: Mapping[str, Mapping[str, Any]], fail) -> SpaceError:
    text = str(err)
    for section, keys in sections.items():
        for key in keys:
            if f"'{key}'" in text or text.startswith(f"{key}:") or text.startswith(f"{key}["):
                return fail(f"{section}.{key}", text)
    return fail("resources" if text.startswith("train.") else "fixed", text)


def _check_metric(space: SearchSpace, fail) -> None:
    for group in space.groups():
        multilabel = space.sample_config(group).data.multilabel
        allowed = MULTI_LABEL_METRICS if multilabel else SINGLE_LABEL_METRICS
        if space.metric not in allowed:
            kind = "multi-label (Charades)" if multilabel else "single-label"
            raise fail("metric", f"{space.metric!r} is not reported by {kind} runs of group {group.key or 'all'} "
                                 f"(reported: {', '.join(sorted(allowed))})")


def _check_data(space: SearchSpace, fail) -> None:
    from rlx.train.data import DatasetNotFound, resolve_paths

    for group in space.groups():
        try:
            resolve_paths(space.sample_config(group).data)
        except DatasetNotFound as err:
            raise fail(f"group {group.key or 'all'}", str(err)) from None


def local_cluster() -> dict[str, float]:
    """What this machine offers one worker: its CPUs and GPUs."""
    import os

    try:
        import torch

        gpus = torch.cuda.device_count()
    except Exception:  # pragma: no cover - torch is a dependency
        gpus = 0
    return {"CPU": float(os.cpu_count() or 1), "GPU": float(gpus)}


def _check_resources(space: SearchSpace, node: Mapping[str, float], fail) -> None:
    r = space.resources
    if r.gpus_per_worker > node.get("GPU", 0):
        raise fail("resources.gpus_per_worker",
                   f"{r.gpus_per_worker:g} GPU per worker but the largest node has {node.get('GPU', 0):g} "
                   "(run on a GPU cluster: clusters/README.md, or set gpus_per_worker: 0)")
    if r.cpus_per_worker > node.get("CPU", 0):
        raise fail("resources.cpus_per_worker",
                   f"{r.cpus_per_worker:g} CPUs per worker but the largest node has {node.get('CPU', 0):g}")
