"""Reading a search-space file: the YAML schema, each section parsed into the model.

Every parser is handed the key it reads (`search.model.dropout`, `resources`)
and raises `InvalidKey` with the key at fault; `load_space` adds the file
once, then runs the checks against the rest of rlx (`validate`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

import yaml

from rlx.config import flatten
from rlx.tune.space.model import (
    RESOURCE_CONFIG_KEYS,
    Bundle,
    InvalidKey,
    Mode,
    Resources,
    Role,
    Sampler,
    SamplerKind,
    Scheduler,
    SchedulerType,
    SearchSpace,
    SpaceError,
    axis_label,
    axis_settings,
)
from rlx.tune.space.validate import check_space

TOP_LEVEL = {
    "name",
    "description",
    "fixed",
    "axes",
    "search",
    "num_samples",
    "scheduler",
    "metric",
    "mode",
    "resources",
    "fusion",
    "refit",
}
SAMPLERS = set(get_args(SamplerKind))
RANGE_SAMPLERS = {"uniform", "loguniform", "randint"}  # [low, high]; the others list their values
RESOURCE_KEYS = {"workers_per_trial", "gpus_per_worker", "cpus_per_worker"}
SCHEDULER_KEYS = {"type", "grace_period", "reduction_factor"}


def load_space(path: str | Path, *, check_data: bool = True, cluster: Mapping[str, float] | None = None) -> SearchSpace:
    """Parse and validate a search-space file; SpaceError names the file, the key and the reason.

    `check_data`: the datasets must be where the space says (off when planning for a remote cluster).
    `cluster`: the largest node's resources that a worker must fit in (default: this machine).
    """
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise SpaceError(where, "", "file not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise SpaceError(where, "", f"not valid YAML: {err}") from None
    if not isinstance(raw, Mapping):
        raise SpaceError(where, "", "expected a mapping at the top level")
    try:
        space = _parse_space(raw, where)
        check_space(space, check_data=check_data, node=cluster)
    except InvalidKey as err:
        raise SpaceError(where, err.key, err.reason) from None
    return space


def _parse_space(raw: Mapping[str, Any], path: str) -> SearchSpace:
    """The space of a parsed YAML mapping, each section checked on its own; InvalidKey names the key."""
    unknown = sorted(set(raw) - TOP_LEVEL)
    if unknown:
        raise InvalidKey(unknown[0], f"unknown key (allowed: {', '.join(sorted(TOP_LEVEL))})")
    for required in ("name", "description"):
        if not isinstance(raw.get(required), str) or not raw[required].strip():
            raise InvalidKey(required, "required, a non-empty string")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", raw["name"]):
        raise InvalidKey(
            "name", f"{raw['name']!r} may only hold letters, digits, '_', '-', '.' (it names the MLflow experiment)"
        )

    fixed = flatten(_mapping(raw.get("fixed", {}), "fixed"))
    axes = _axes(raw.get("axes", {}))
    search = {k: _sampler(v, f"search.{k}") for k, v in _search_entries(raw.get("search", {})).items()}
    axis_keys = {k: None for values in axes.values() for v in values for k in axis_settings(v, "")}
    sections = {"fixed": fixed, "axes": axis_keys, "search": search}
    for (a, a_keys), (b, b_keys) in itertools.combinations(sections.items(), 2):
        both = sorted(set(a_keys) & set(b_keys))
        if both:
            raise InvalidKey(
                f"{b}.{both[0]}", f"also set in {a}: a key is fixed, an axis or searched, not two of these"
            )
    for key, resource in RESOURCE_CONFIG_KEYS.items():
        if key in fixed or key in search or key in axis_keys:
            raise InvalidKey(key, f"set by resources.{resource}, not as a config key")

    space = SearchSpace(
        path=path,
        name=raw["name"],
        description=raw["description"].strip(),
        fixed=fixed,
        axes=axes,
        search=search,
        num_samples=_positive_int(raw.get("num_samples", 1), "num_samples"),
        scheduler=_scheduler(raw.get("scheduler", {})),
        metric=str(raw.get("metric", "val/top1")),
        mode=str(raw.get("mode", "max")),
        resources=_resources(raw.get("resources", {})),
        fusion_step=_fusion(raw.get("fusion")),
        refit=_bool(raw.get("refit", False), "refit"),
    )
    if space.mode not in get_args(Mode):
        raise InvalidKey("mode", f"{space.mode!r} is not {' or '.join(get_args(Mode))}")
    return space


def _axes(value: Any) -> dict[str, tuple[Any, ...]]:
    """`key: [v1, v2]`, or a named axis of bundles `name: [{key: v, key2: w}, ...]` (values that move together,
    e.g. a dataset and its paths)."""
    axes: dict[str, tuple[Any, ...]] = {}
    for name, values in _mapping(value, "axes").items():
        items = _list(values, f"axes.{name}")
        bundles = [isinstance(v, Mapping) for v in items]
        if any(bundles) and not all(bundles):
            raise InvalidKey(f"axes.{name}", "mixes plain values and bundles of keys")
        axes[name] = tuple(_bundle(v) if b else v for v, b in zip(items, bundles, strict=True))
        labels = [axis_label(v) for v in axes[name]]
        if len(set(map(str, labels))) != len(labels):
            raise InvalidKey(f"axes.{name}", f"two values share the label {labels}: give each bundle a `name`")
    return axes


def _bundle(value: Mapping[str, Any]) -> Bundle:
    """A bundle as ((key, value), ...); an optional `name` (the group label) goes first."""
    items = flatten({k: v for k, v in value.items() if k != "name"})
    return ((("name", value["name"]),) if "name" in value else ()) + tuple(items.items())


def _mapping(value: Any, key: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidKey(key, f"expected a mapping, got {type(value).__name__}")
    return value


def _list(value: Any, key: str) -> list[Any]:
    if not isinstance(value, (list, tuple)) or not value:
        raise InvalidKey(key, "expected a non-empty list of values")
    return list(value)


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidKey(key, f"expected true or false, got {value!r}")
    return value


def _positive_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidKey(key, f"expected an integer >= 1, got {value!r}")
    return value


def _search_entries(value: Any) -> dict[str, Any]:
    """Search entries are keyed by full dotted config keys (or nested sections ending in a sampler)."""
    entries: dict[str, Any] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for k, v in node.items():
            name = f"{prefix}{k}"
            if isinstance(v, Mapping) and not (set(v) & SAMPLERS) and v:
                walk(v, f"{name}.")
            else:
                entries[name] = v

    walk(_mapping(value, "search"), "")
    return entries


def _sampler(spec: Any, key: str) -> Sampler:
    if not isinstance(spec, Mapping):
        raise InvalidKey(key, f"expected a sampler mapping like {{grid: [...]}}, got {spec!r}")
    kinds = sorted(set(spec) & SAMPLERS)
    extra = sorted(set(spec) - SAMPLERS - {"role"})
    if extra:
        raise InvalidKey(f"{key}.{extra[0]}", f"unknown sampler (allowed: {', '.join(sorted(SAMPLERS))}; plus role)")
    if len(kinds) != 1:
        raise InvalidKey(key, f"needs exactly one sampler of {', '.join(sorted(SAMPLERS))}")
    kind = kinds[0]
    role = spec.get("role", "scientific")
    if role not in get_args(Role):
        raise InvalidKey(f"{key}.role", f"{role!r} is not {' or '.join(get_args(Role))}")
    values = _list(spec[kind], f"{key}.{kind}")
    at = f"{key}.{kind}"
    if kind in RANGE_SAMPLERS:
        if len(values) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise InvalidKey(at, f"expected [low, high] numbers, got {values!r}")
        low, high = values
        if not low < high:
            raise InvalidKey(at, f"range [{low}, {high}] is empty")
        if kind == "loguniform" and low <= 0:
            raise InvalidKey(at, f"loguniform needs low > 0, got {low}")
        if kind == "randint" and not all(isinstance(v, int) for v in values):
            raise InvalidKey(at, f"randint needs integers, got {values!r}")
    elif len(set(map(repr, values))) != len(values):
        raise InvalidKey(at, f"repeated values in {values!r}")
    return Sampler(kind, tuple(values), role)


def _scheduler(value: Any) -> Scheduler:
    spec = _mapping(value, "scheduler")
    extra = sorted(set(spec) - SCHEDULER_KEYS)
    if extra:
        raise InvalidKey(f"scheduler.{extra[0]}", f"unknown key (allowed: {', '.join(sorted(SCHEDULER_KEYS))})")
    kind = str(spec.get("type", "fifo")).lower()
    if kind not in get_args(SchedulerType):
        raise InvalidKey("scheduler.type", f"{kind!r} is not {' or '.join(get_args(SchedulerType))}")
    grace = _positive_int(spec.get("grace_period", 1), "scheduler.grace_period")
    factor = spec.get("reduction_factor", 3)
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 2:
        raise InvalidKey("scheduler.reduction_factor", f"expected an integer >= 2, got {factor!r}")
    return Scheduler(kind, grace, factor)


def _resources(value: Any) -> Resources:
    spec = _mapping(value, "resources")
    extra = sorted(set(spec) - RESOURCE_KEYS)
    if extra:
        raise InvalidKey(f"resources.{extra[0]}", f"unknown key (allowed: {', '.join(sorted(RESOURCE_KEYS))})")
    workers = _positive_int(spec.get("workers_per_trial", 1), "resources.workers_per_trial")
    gpus, cpus = spec.get("gpus_per_worker", 0), spec.get("cpus_per_worker", 1)
    for key, v in (("gpus_per_worker", gpus), ("cpus_per_worker", cpus)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise InvalidKey(f"resources.{key}", f"expected a number >= 0, got {v!r}")
    if cpus <= 0:
        raise InvalidKey("resources.cpus_per_worker", "must be > 0")
    if gpus not in (0, 1):
        raise InvalidKey("resources.gpus_per_worker", f"rlx trains one process per GPU: 0 or 1, got {gpus!r}")
    return Resources(workers, float(gpus), float(cpus))


def _fusion(value: Any) -> float | None:
    if value is None:
        return None
    spec = _mapping(value, "fusion")
    extra = sorted(set(spec) - {"step"})
    if extra:
        raise InvalidKey(f"fusion.{extra[0]}", "unknown key (allowed: step)")
    step = spec.get("step", 0.05)
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not 0 < step <= 0.5:
        raise InvalidKey("fusion.step", f"expected a number in (0, 0.5], got {step!r}")
    return float(step)
