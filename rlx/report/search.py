"""What the report reads of a search without MLflow: the space file's searched keys, and param values as numbers.

A space is read without validating paths or resources (`rlx.tune.space`
does that before a search starts): the report needs its name,
description, metric and mode, and each `search:` entry's sampler, values
and role.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, get_args

import yaml

from rlx.tune.space import SamplerKind

SAMPLERS = get_args(SamplerKind)  # in order: a spec names one


class ReportError(ValueError):
    """The experiment cannot be reported (missing, or no finished run); one line for the CLI."""


@dataclass(frozen=True)
class SearchedKey:
    """One `search:` entry of a space, or a key seen varying across the trials (kind "observed")."""

    key: str
    kind: str  # grid | choice | uniform | loguniform | randint | observed
    values: tuple[Any, ...]  # grid/choice/observed: the values; ranges: (low, high)
    role: str  # scientific | nuisance | unknown


@dataclass(frozen=True)
class SearchSpaceInfo:
    """What the report needs of a search space file (read without validating paths or resources)."""

    name: str
    description: str
    metric: str
    mode: str
    searched: tuple[SearchedKey, ...]


def parse_space(text: str, where: str) -> SearchSpaceInfo:
    """name, description, metric/mode and the `search:` samplers of a space YAML."""
    raw = yaml.safe_load(text) or {}
    if not isinstance(raw, dict):
        raise ReportError(f"{where}: not a search-space mapping")
    searched = []

    def walk(node: dict, prefix: str) -> None:  # nested sections are allowed, as in rlx.tune.space
        for key, spec in node.items():
            name = f"{prefix}{key}"
            if isinstance(spec, dict) and not set(spec) & set(SAMPLERS):
                walk(spec, f"{name}.")
            elif isinstance(spec, dict):
                kind = next(k for k in SAMPLERS if k in spec)
                searched.append(SearchedKey(name, kind, tuple(spec[kind]), str(spec.get("role", "scientific"))))

    walk(raw.get("search") or {}, "")
    return SearchSpaceInfo(
        str(raw.get("name", "")),
        " ".join(str(raw.get("description", "")).split()),
        str(raw.get("metric", "val/top1")),
        str(raw.get("mode", "max")),
        tuple(sorted(searched, key=lambda s: s.key)),
    )


def as_number(text: Any) -> float | None:
    """A param value as a number, or None (categorical)."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return float(text)
    try:
        value = float(str(text))
    except ValueError:
        return None
    return value if math.isfinite(value) else None
