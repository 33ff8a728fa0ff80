"""Checking a parsed space against the rest of rlx, before Ray starts.

Every key and value against `RunConfig`, the metric against what runs
report, the data paths, the resources against the largest node; `--set`
overrides are checked the same way. The checks raise `InvalidKey` naming
the space key they were checking; a `ConfigError` (which names a config
key) is blamed on the space key whose values made the config invalid.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rlx.config import ConfigError, RunConfig, init_from_group
from rlx.tune.space.model import (
    RESOURCE_CONFIG_KEYS,
    Group,
    InvalidKey,
    SearchSpace,
    SpaceError,
    referenced_group,
)

SINGLE_LABEL_METRICS = {"val/top1", "val/top5", "val/loss", "train/loss", "train/top1"}
MULTI_LABEL_METRICS = {"val/mAP", "val/loss", "train/loss"}


@dataclass(frozen=True)
class Part:
    """One entry of a space and the config keys it sets, e.g. `axes.stream` -> {data.modality: flow, ...}."""

    key: str  # the space key an error is reported at
    settings: dict[str, Any]


def check_space(space: SearchSpace, *, check_data: bool = True, node: Mapping[str, float] | None = None) -> None:
    """All checks of a freshly parsed space; `node`: the largest node's resources (default: this machine)."""
    check_values(space)
    check_metric(space)
    check_init_groups(space)
    check_refit(space)
    if check_data:
        check_data_paths(space)
    check_resources(space, node or local_cluster())


def apply_overrides(space: SearchSpace, overrides: Mapping[str, Any]) -> SearchSpace:
    """The space with `--set key=value` overrides added to its fixed keys, checked again.

    Only fixed keys can be set (an axis, a searched key or a key of `resources` cannot); SpaceError says
    "FILE (with --set): KEY: reason".
    """
    clash = sorted(set(overrides) & (set(space.axes) | set(space.search) | set(RESOURCE_CONFIG_KEYS)))
    if clash:
        raise SpaceError(
            space.path,
            f"--set {clash[0]}",
            "the key is an axis or searched; only fixed keys can be set (resources: edit the space)",
        )
    updated = dataclasses.replace(space, fixed={**space.fixed, **overrides})
    try:
        check_values(updated)
        check_metric(updated)
        check_init_groups(updated)
        check_refit(updated)
    except InvalidKey as err:
        raise SpaceError(space.path, err.key, err.reason, with_set=True) from None
    return updated


def check_values(space: SearchSpace) -> None:
    """Every key and value must be one RunConfig accepts, in every group: the config of a representative trial
    (first searched values), each searched value on top of it, and the group's own keys alone."""
    for group in space.groups():
        parts = _group_parts(space, group)
        first = [Part(f"search.{k}", {k: s.values[0]}) for k, s in space.search.items()]
        sample = _checked_flat(parts + first)
        for key, sampler in space.search.items():
            for value in sampler.values:
                err = _config_error({**sample, key: value})
                if err is not None:
                    raise InvalidKey(f"search.{key}", f"{value!r} rejected ({err})")
        _checked_flat(parts)


def _group_parts(space: SearchSpace, group: Group) -> list[Part]:
    """The entries a group's flat config is made of, in the order `SearchSpace.groups` merges them."""
    fixed = [Part(f"fixed.{k}", {k: v}) for k, v in space.fixed.items()]
    axes = [Part(f"axes.{name}", keys) for name, keys in group.axis_settings.items()]
    return [*fixed, Part("resources", space.resource_keys()), *axes]


def _checked_flat(parts: list[Part]) -> dict[str, Any]:
    """The flat config the parts make together; InvalidKey when RunConfig rejects it.

    The blame goes to the one part without which the config is valid (e.g. the axis whose value is out of
    range); when no single part is (two mistakes), to the first part from which on the config is invalid.
    """
    flat = _merge(parts)
    whole = _config_error(flat)
    if whole is None:
        return flat
    for i, part in enumerate(parts):
        if _config_error(_merge(parts[:i] + parts[i + 1 :])) is None:
            raise InvalidKey(part.key, str(whole))
    prefix_errors = ((part.key, _config_error(_merge(parts[: i + 1]))) for i, part in enumerate(parts))
    key, err = next((key, err) for key, err in prefix_errors if err is not None)  # the last prefix is the whole
    raise InvalidKey(key, str(err))


def _merge(parts: list[Part]) -> dict[str, Any]:
    return {k: v for part in parts for k, v in part.settings.items()}


def _config_error(flat: Mapping[str, Any]) -> ConfigError | None:
    """Why RunConfig rejects this flat config (its message names the config key), or None."""
    try:
        RunConfig.from_flat(flat)
    except ConfigError as err:
        return err
    return None


def check_metric(space: SearchSpace) -> None:
    """The metric must be one that every group's runs report (single-label vs Charades' multi-label)."""
    for group in space.groups():
        multilabel = space.sample_config(group).data.multilabel
        allowed = MULTI_LABEL_METRICS if multilabel else SINGLE_LABEL_METRICS
        if space.metric not in allowed:
            kind = "multi-label (Charades)" if multilabel else "single-label"
            raise InvalidKey(
                "metric",
                f"{space.metric!r} is not reported by {kind} runs of group "
                f"{group.key or 'all'} (reported: {', '.join(sorted(allowed))})",
            )


def check_init_groups(space: SearchSpace) -> None:
    """`model.init_from: group:<key>` must name a group that runs earlier (groups run in file order)."""
    if "model.init_from" in space.search:
        raise InvalidKey("search.model.init_from", "cannot be searched: set it per group in axes or in fixed")
    earlier: list[str] = []
    for group in space.groups():
        value = group.flat.get("model.init_from", "")
        reference = init_from_group(value)
        if reference is not None and referenced_group(group.key, reference) not in earlier:
            raise InvalidKey(
                f"group {group.key or 'all'}",
                f"model.init_from {value!r} names no earlier group (groups run in this order: "
                f"{', '.join(g.key or 'all' for g in space.groups())})",
            )
        earlier.append(group.key)


def check_refit(space: SearchSpace) -> None:
    """`refit: true` selects on the validation hold-out first: every group needs one."""
    if not space.refit:
        return
    for group in space.groups():
        if space.sample_config(group).data.val_fraction <= 0:
            raise InvalidKey("refit", f"group {group.key or 'all'} has no validation hold-out (data.val_fraction 0)")


def check_data_paths(space: SearchSpace) -> None:
    """Every group's dataset must be where its config says (on this machine)."""
    # pandas and the data modules: ~1 s that --help and `--dry-run --cluster` (no data check here) do not pay.
    from rlx.train.prepare import DatasetNotFound, resolve_paths  # noqa: PLC0415

    for group in space.groups():
        try:
            resolve_paths(space.sample_config(group).data)
        except DatasetNotFound as err:
            raise InvalidKey(f"group {group.key or 'all'}", str(err)) from None


def local_cluster() -> dict[str, float]:
    """What this machine offers one worker: its CPUs and GPUs."""
    try:
        import torch  # noqa: PLC0415  (~2.2 s: `--dry-run --cluster` and --help never count local GPUs)

        gpus = torch.cuda.device_count()
    except Exception:  # pragma: no cover - torch is a dependency
        gpus = 0
    return {"CPU": float(os.cpu_count() or 1), "GPU": float(gpus)}


def check_resources(space: SearchSpace, node: Mapping[str, float]) -> None:
    """One worker must fit on the largest node."""
    r = space.resources
    if r.gpus_per_worker > node.get("GPU", 0):
        raise InvalidKey(
            "resources.gpus_per_worker",
            f"{r.gpus_per_worker:g} GPU per worker but the largest node has {node.get('GPU', 0):g} "
            "(run on a GPU cluster: clusters/README.md, or set gpus_per_worker: 0)",
        )
    if r.cpus_per_worker > node.get("CPU", 0):
        raise InvalidKey(
            "resources.cpus_per_worker",
            f"{r.cpus_per_worker:g} CPUs per worker but the largest node has {node.get('CPU', 0):g}",
        )
