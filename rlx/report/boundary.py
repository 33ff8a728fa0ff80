"""Boundary flags: is the best trial's value of a searched hyperparameter on the edge of its searched range?

A value on the edge means the optimum may lie outside the range (the tuning
playbook's check before trusting a comparison). Continuous ranges: within
the outer 10 % (log scale for loguniform); value lists: the lowest or
highest value; categorical values have no boundary. Without a search space
the ranges are the values observed in the trials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rlx.report.search import SearchedKey, SearchSpaceInfo, as_number
from rlx.report.selection import Selection, choose, config_keys
from rlx.tune.space.parse import RANGE_SAMPLERS

EDGE = 0.1  # a continuous value within this fraction of the range from an end is on its edge


def searched_keys(space: SearchSpaceInfo | None, trials: pd.DataFrame) -> list[SearchedKey]:
    """The space's `search:` entries; without a space, the params that vary across the trials of a group."""
    if space is not None:
        return list(space.searched)
    out = []
    for col in config_keys(trials):
        if any(sub[col].fillna("").nunique() > 1 for _, sub in trials.groupby("group", sort=True)):
            # Numbers in numeric order, then the categorical values.
            values = tuple(
                sorted(set(trials[col].dropna()), key=lambda v: (as_number(v) is None, as_number(v) or 0, v))
            )
            out.append(SearchedKey(col.removeprefix("param:"), "observed", values, "unknown"))
    return out


@dataclass(frozen=True)
class BoundaryFlag:
    verdict: str  # "yes: low edge" | "yes: high edge" | "yes: lowest value" | "yes: highest value" | "no" | "n/a (...)"
    position: float | None  # relative position in the range, 0 = low end, 1 = high end (None: no order)


def boundary(kind: str, values: tuple, value: Any) -> BoundaryFlag:
    """Where `value` sits in a range (`kind` in RANGE_SAMPLERS: values = (low, high)) or in a list of values."""
    v = as_number(value)
    if v is None:
        return BoundaryFlag("n/a (categorical)", None)
    if kind in RANGE_SAMPLERS:
        lo, hi = float(values[0]), float(values[1])
        if kind == "loguniform":
            v, lo, hi = math.log(v), math.log(lo), math.log(hi)
        pos = (v - lo) / (hi - lo)
        where = "yes: low edge" if pos <= EDGE else "yes: high edge" if pos >= 1 - EDGE else "no"
        return BoundaryFlag(where, round(pos, 4))
    numbers = [as_number(x) for x in values]
    if any(n is None for n in numbers):
        return BoundaryFlag("n/a (categorical)", None)
    if len(set(numbers)) < 2:
        return BoundaryFlag("n/a (one value)", None)
    lo, hi = min(numbers), max(numbers)
    where = "yes: lowest value" if math.isclose(v, lo) else "yes: highest value" if math.isclose(v, hi) else "no"
    return BoundaryFlag(where, round((v - lo) / (hi - lo), 4))


@dataclass(frozen=True)
class BoundaryRow:
    """One searched hyperparameter in one group: the best trial's value and where it sits."""

    group: str  # "all" for runs without a group
    key: SearchedKey  # with kind "observed": the values seen in this group
    best_value: Any  # as logged (a string)
    flag: BoundaryFlag
    metric: str  # the selection metric
    best_metric: float  # the best trial's, in percent
    trials: int  # in the group
    run_id: str  # the best trial
    command: str | None


def boundary_rows(trials: pd.DataFrame, searched: list[SearchedKey], sel: Selection) -> list[BoundaryRow]:
    """Per group (sorted) and searched key: the best trial (by `sel`) and the flag of its value."""
    rows = []
    for group, sub in trials.groupby("group", sort=True):
        best = choose(sub, sel).iloc[0]
        for s in searched:
            value = best.get(f"param:{s.key}")
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            key = s
            if s.kind == "observed":  # the values seen in this group only
                seen = set(sub[f"param:{s.key}"].dropna())
                key = SearchedKey(s.key, s.kind, tuple(v for v in s.values if v in seen), s.role)
            rows.append(
                BoundaryRow(
                    group=group or "all",
                    key=key,
                    best_value=value,
                    flag=boundary(key.kind, key.values, value),
                    metric=sel.metric,
                    best_metric=100 * best.get(f"metric:{sel.metric}", math.nan),
                    trials=len(sub),
                    run_id=best["run_id"],
                    command=best["command"] or None,
                )
            )
    return rows
