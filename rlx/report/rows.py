"""The typed rows of the result tables: a mean ± std, the test metrics, and one row per cell, ensemble or dataset.

Accuracies and mAP are percentages, as the tables show them. Nothing here
knows a column label: `rlx.report.format` turns rows into labelled frames.
Also the order rows are listed in (the paper's order of streams and
architectures).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from rlx.report.coverage import Coverage
from rlx.report.paper import NO_RLSTM, STREAMS, PaperValue

ARCH_ORDER = ("tsn", "local", "nonlocal", "two_branch", "tsn+nonlocal", "tsn+two_branch")
NOT_APPLICABLE = "–"  # the insertion point of an arch without R-LSTM, as the tables write it
TEST_METRICS = ("test/top1", "test/mAP", "test/top5", "test/mean_class_acc")  # MLflow names, in column order


@dataclass(frozen=True)
class Stat:
    """A mean, the sample std (ddof 1) of the values behind it, and a 95 % interval of the mean.

    NaN std from fewer than two values; NaN bounds where no interval was computed (no stored scores).
    """

    mean: float = math.nan
    std: float = math.nan
    low: float = math.nan  # 95 % interval (rlx.eval.uncertainty), same unit as the mean
    high: float = math.nan

    @property
    def has_interval(self) -> bool:
        return not (math.isnan(self.low) or math.isnan(self.high))


def mean_std(values: Iterable[float | None]) -> Stat:
    """Mean ± std of the values that are not None or NaN (both NaN when none is left)."""
    arr = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if not len(arr):
        return Stat()
    return Stat(float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else math.nan)


@dataclass(frozen=True)
class Metrics:
    """The test metrics of a row, in percent, each a mean ± std (over seeds, or over splits)."""

    top1: Stat = Stat()
    mAP: Stat = Stat()
    top5: Stat = Stat()
    mean_class_acc: Stat = Stat()

    def by_name(self) -> dict[str, Stat]:
        """The metrics under their MLflow names, in column order (TEST_METRICS)."""
        return {
            "test/top1": self.top1,
            "test/mAP": self.mAP,
            "test/top5": self.top5,
            "test/mean_class_acc": self.mean_class_acc,
        }


def metrics_from(percent: Mapping[str, Iterable[float | None]]) -> Metrics:
    """Each metric's mean ± std of its values in percent, given by MLflow name (no values: NaN)."""
    return Metrics(
        top1=mean_std(percent.get("test/top1", ())),
        mAP=mean_std(percent.get("test/mAP", ())),
        top5=mean_std(percent.get("test/top5", ())),
        mean_class_acc=mean_std(percent.get("test/mean_class_acc", ())),
    )


@dataclass(frozen=True)
class ResultRow:
    """One row of a stream table: a cell's chosen configuration on test, or an ensemble of two cells."""

    dataset: str
    split: int
    stream: str  # spatial | temporal | two-stream
    arch: str  # an rlx arch, or "tsn+<arch>" for an ensemble of TSN with that arch
    T: int
    insertion: str  # as logged (an ensemble: its R-LSTM member's); meaningless for the archs in NO_RLSTM
    metrics: Metrics  # mean ± std over the seeds
    trials: int  # every run of the cell (of both cells for an ensemble)
    seeds: int  # the runs behind the numbers (seed pairs for an ensemble)
    chosen: str | None  # "key=value, ..." of the params that vary in the cell, at the chosen configuration
    run_ids: tuple[str, ...]
    command: str | None  # the distinct commands of the runs, " ; "-joined; None when none was recorded
    rgb_weights: tuple[float, ...] | None = None  # two-stream cells: the RGB fusion weights chosen on val
    members: tuple[ResultRow, ...] = ()  # an ensemble: the rows of its two models (TSN first)
    paper: PaperValue | None = None  # the published number for this row, when the paper has one
    interval: str | None = None  # how the intervals were computed, or why there are none
    classes: str = ""  # the logged `data.classes` of a class subset; "" for all classes
    coverage: Coverage = Coverage()  # the test videos the metrics cover, of the test set's
    paper_hidden: str | None = None  # why the paper's number is not shown (rlx.report.paper.why_no_paper)
    protocol: str | None = None  # a search with refits: how the runs were trained (rlx.report.refit); else None
    refit_of: tuple[str, ...] = ()  # refit runs: the selection runs (chosen on validation) they are refits of


@dataclass(frozen=True)
class SplitRow:
    """One row of the splits table: the mean over a dataset's official splits of the cells' means."""

    dataset: str
    stream: str
    arch: str
    T: int
    insertion: str
    splits: tuple[int, ...]  # sorted
    expected_splits: int  # how many splits the paper's mean is over (3; Charades 1)
    metrics: Metrics  # mean ± std over the splits
    trials: int
    run_ids: tuple[str, ...]  # split by split
    command: str | None
    paper: PaperValue | None = None
    interval: str | None = None  # how the intervals were computed, or why there are none
    classes: str = ""
    coverage: Coverage = Coverage()  # summed over the splits' test sets
    paper_hidden: str | None = None
    protocol: str | None = None  # the splits' protocols (rlx.report.refit), "; "-joined; None without refits


def arch_rank(arch: str) -> int:
    """Position in the paper's order of architectures; unknown archs after all of them."""
    return ARCH_ORDER.index(arch) if arch in ARCH_ORDER else len(ARCH_ORDER)


def stream_rank(stream: str) -> tuple[int, str]:
    """Spatial, temporal, two-stream, then any other stream by name."""
    return (STREAMS.index(stream), "") if stream in STREAMS else (len(STREAMS), stream)


def shown_insertion(arch: str, insertion: str) -> str:
    """The insertion point as the tables write it: NOT_APPLICABLE for an arch without R-LSTM."""
    return NOT_APPLICABLE if arch in NO_RLSTM else insertion
