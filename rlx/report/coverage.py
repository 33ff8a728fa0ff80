"""How many test videos a row's test metrics cover, of how many its test set has: incomplete rows are marked.

Each run logs `test/videos` (the videos its test metrics cover),
`data/excluded/test` (the test videos the probe left out: missing, corrupt or
too short) and `data/test_skipped` (those that failed to decode at test
time); the two counts add up to what the row left out. A run from before
`data/excluded/test` was logged has `None` for it: it is not marked
incomplete (its count is taken as 0, unless it skipped videos at test time)
but never called complete either (`status` says "unknown"). Runs of one test set (the seeds of a cell, the
pair of an ensemble, the two streams of a comparison) give the row their
worst coverage; means over splits add the splits' test sets up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

VIDEOS, EXCLUDED, SKIPPED = "test/videos", "data/excluded/test", "data/test_skipped"  # MLflow metric names
INCOMPLETE_MARK = "†"


@dataclass(frozen=True)
class Coverage:
    """Test videos covered and left out (None: not logged by some run behind the row)."""

    covered: int | None = None
    excluded: int | None = None

    @property
    def total(self) -> int | None:
        return None if self.covered is None or self.excluded is None else self.covered + self.excluded

    @property
    def incomplete(self) -> bool:
        return bool(self.excluded)

    @property
    def status(self) -> str:
        """ "complete", "incomplete" or "unknown" (a run behind the row did not log what it left out)."""
        if self.incomplete:
            return "incomplete"
        return "unknown" if self.excluded is None else "complete"

    def footnote(self) -> str:
        """ "incomplete test set: 95 of 101 test videos (6 left out: missing, corrupt, too short or ...)"."""
        covered = "an unknown number" if self.covered is None else f"{self.covered:,}"
        of = "" if self.total is None else f" of {self.total:,}"
        return (
            f"incomplete test set: {covered}{of} test videos ({self.excluded:,} left out: missing, corrupt, too "
            "short or failed to decode); the test metrics are over the videos covered"
        )


def _count(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def run_coverage(run: Mapping[str, Any]) -> Coverage:
    """One run (a row of `Experiment.runs`): its logged counts (left out: by the probe, and at test time)."""
    probe, skipped = _count(run.get(f"metric:{EXCLUDED}")), _count(run.get(f"metric:{SKIPPED}"))
    excluded = None if probe is None and not skipped else (probe or 0) + (skipped or 0)
    return Coverage(_count(run.get(f"metric:{VIDEOS}")), excluded)


def runs_coverage(runs: Iterable[Mapping[str, Any]]) -> Coverage:
    """Runs of one test set (rows of `Experiment.runs`): see `same_test_set`."""
    return same_test_set(run_coverage(r) for r in runs)


def _left_out(known: list[int], unknown: bool, combined: int) -> int | None:
    """What a row left out: `combined` of the known counts; None when some run is unknown and none left any out."""
    if unknown and not any(known):
        return None
    return combined


def same_test_set(covs: Iterable[Coverage]) -> Coverage:
    """Runs scored on one test set: the fewest videos covered, the most left out.

    A run that left videos out marks the row even when another run behind it did not log its count.
    """
    covs = list(covs)
    covered = [c.covered for c in covs if c.covered is not None]
    excluded = [c.excluded for c in covs if c.excluded is not None]
    return Coverage(
        min(covered) if covs and len(covered) == len(covs) else None,
        _left_out(excluded, len(excluded) < len(covs), max(excluded, default=0)) if covs else None,
    )


def over_splits(covs: Iterable[Coverage]) -> Coverage:
    """Different test sets (one per split): their sums; a split that left videos out marks the row."""
    covs = list(covs)
    covered = [c.covered for c in covs if c.covered is not None]
    excluded = [c.excluded for c in covs if c.excluded is not None]
    return Coverage(
        sum(covered) if covs and len(covered) == len(covs) else None,
        _left_out(excluded, len(excluded) < len(covs), sum(excluded)) if covs else None,
    )
