"""The per-video outcomes of a row's runs, from their stored scores, and what `rlx.eval.uncertainty` makes of them.

A row's runs (its seeds, or the seed pairs of an ensemble) are scored on the
same test videos; `Outcomes` holds their score matrices aligned by video id.
From it come the row's 95 % intervals (bootstrap over test videos of the
seed-averaged metric) and the paired tests of two rows on the same videos.
Rows whose runs lack comparable scores get no interval (`NO_SCORES` says why).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from rlx.eval.metrics import label_ranks
from rlx.eval.scores import ScoresOf, multi_hot, score_matrix
from rlx.eval.uncertainty import (
    SEED,
    Comparison,
    Estimate,
    Replicates,
    accuracy_replicates,
    compare_accuracy,
    compare_map,
    compare_mean_class_accuracy,
    map_replicates,
    mean_class_accuracy_replicates,
    mean_over_splits,
)
from rlx.report.rows import TEST_METRICS, Metrics, ResultRow, SplitRow, Stat
from rlx.report.selection import CellResult

NO_SCORES = "no interval: the runs have no comparable stored test scores"


@dataclass(frozen=True)
class Outcomes:
    """S runs' test scores on the same N videos, sorted by video id."""

    video_ids: tuple[str, ...]
    labels: np.ndarray  # (N,) class ids, or (N, K) multi-hot
    scores: tuple[np.ndarray, ...]  # S × (N, K) logits
    classes: tuple[str, ...] = ()  # class names in class-id order, where known

    @property
    def multilabel(self) -> bool:
        return self.labels.ndim == 2

    def correct(self, k: int = 1) -> np.ndarray:
        """(S, N) 1.0 where a run has the true class among its k best (single-label only)."""
        return np.stack([(label_ranks(s, self.labels) < k).astype(float) for s in self.scores])

    def subset(self, mask: np.ndarray) -> Outcomes:
        """The videos where `mask` (N,) holds."""
        ids = tuple(v for v, m in zip(self.video_ids, mask, strict=True) if m)
        return Outcomes(ids, self.labels[mask], tuple(s[mask] for s in self.scores), self.classes)


def outcomes_from(tables: list[tuple[list[str], np.ndarray, np.ndarray]]) -> Outcomes | None:
    """(video ids, labels, scores) per run -> Outcomes; None unless every run has the same videos and labels."""
    if not tables:
        return None
    ids0 = sorted(tables[0][0])
    out_labels, out_scores = None, []
    for ids, labels, scores in tables:
        if sorted(ids) != ids0 or len(set(ids)) != len(ids):
            return None
        order = np.argsort(np.asarray(ids, dtype=object), kind="stable")
        labels, scores = labels[order], scores[order]
        if out_labels is not None and not np.array_equal(labels, out_labels):
            return None
        out_labels = labels
        out_scores.append(scores)
    return Outcomes(tuple(ids0), out_labels, tuple(out_scores))


def outcomes_of(run_ids: list[str] | tuple[str, ...], scores: ScoresOf) -> Outcomes | None:
    """The runs' stored test scores as Outcomes; None unless all have scores of the same classes and videos."""
    tables, names = [], None
    for run_id in run_ids:
        got = scores(run_id)
        if got is None:
            return None
        frame, classes = got
        if names is not None and classes != names:
            return None
        names = classes
        labels = multi_hot(frame, len(classes)) if "labels" in frame else frame["label"].to_numpy()
        tables.append((list(frame["video_id"]), labels, score_matrix(frame, classes).astype(np.float64)))
    got = outcomes_from(tables)
    return replace(got, classes=tuple(names or ())) if got is not None else None


def _stat(stat: Stat, est: Estimate) -> Stat:
    """The row's mean ± std with the interval of the seed-averaged metric from the scores, in percent."""
    pct = est.scaled(100)
    return replace(stat, low=pct.low, high=pct.high)


def replicates(outcomes: Outcomes, metric: str, seed: int = SEED) -> Replicates | None:
    """The bootstrap replicates of a metric (MLflow name) of the outcomes; None where it does not apply."""
    if outcomes.multilabel:
        return map_replicates(outcomes.scores, outcomes.labels, seed=seed) if metric == "test/mAP" else None
    if metric == "test/top1":
        return accuracy_replicates(outcomes.correct(1), seed=seed)
    if metric == "test/top5":
        return accuracy_replicates(outcomes.correct(min(5, outcomes.scores[0].shape[1])), seed=seed)
    if metric == "test/mean_class_acc":
        return mean_class_accuracy_replicates(outcomes.correct(1), outcomes.labels, seed=seed)
    return None


_FIELD = {"test/top1": "top1", "test/mAP": "mAP", "test/top5": "top5", "test/mean_class_acc": "mean_class_acc"}


def _with_estimates(metrics: Metrics, estimate: dict[str, Estimate | None]) -> Metrics:
    """The metrics with the intervals of the estimates given (by MLflow name; None: left as it is)."""
    changes = {_FIELD[name]: _stat(metrics.by_name()[name], est) for name, est in estimate.items() if est is not None}
    return replace(metrics, **changes)


def metrics_with_intervals(metrics: Metrics, outcomes: Outcomes | None) -> Metrics:
    """Each metric the row has (not NaN) with its 95 % interval; unchanged without outcomes."""
    if outcomes is None:
        return metrics
    estimates = {}
    for name, stat in metrics.by_name().items():
        got = None if math.isnan(stat.mean) else replicates(outcomes, name)
        estimates[name] = got.estimate() if got is not None else None
    return _with_estimates(metrics, estimates)


def split_row_with_intervals(row: SplitRow, per_split: list[Outcomes | None]) -> SplitRow:
    """A mean over splits with the interval of the mean: each split's videos resampled on their own.

    `per_split`: the outcomes of the row's cells, in the order of `row.splits`.
    """
    if not per_split or any(o is None for o in per_split):
        return replace(row, interval=NO_SCORES)
    estimates = {}
    for name in TEST_METRICS:
        if math.isnan(row.metrics.by_name()[name].mean):
            continue
        parts = [replicates(o, name, seed=SEED + i) for i, o in enumerate(per_split)]
        estimates[name] = mean_over_splits(parts) if all(p is not None for p in parts) else None
    n = ", ".join(str(len(o.video_ids)) for o in per_split)
    note = f"bootstrap over each split's test videos ({n}), resampled independently"
    return replace(row, metrics=_with_estimates(row.metrics, estimates), interval=note)


def row_with_intervals(row: ResultRow, outcomes: Outcomes | None) -> ResultRow:
    """The row with its intervals, or saying it has none."""
    if outcomes is None:
        return replace(row, interval=NO_SCORES)
    return replace(row, metrics=metrics_with_intervals(row.metrics, outcomes), interval=interval_note(outcomes))


def cells_with_intervals(cells: list[CellResult], scores: ScoresOf) -> list[CellResult]:
    """Each cell's row with the intervals from its chosen runs' stored scores (or saying it has none)."""
    return [replace(c, row=row_with_intervals(c.row, outcomes_of(c.row.run_ids, scores))) for c in cells]


def split_outcomes(row: SplitRow, cells: list[CellResult], scores: ScoresOf) -> list[Outcomes | None]:
    """The outcomes of the cells a split row averages, in the order of its splits."""
    key = (row.dataset, row.classes, row.stream, row.arch, row.T, row.insertion)
    by_split = {
        c.row.split: c
        for c in cells
        if (c.row.dataset, c.row.classes, c.row.stream, c.row.arch, c.row.T, c.row.insertion) == key
    }
    return [outcomes_of(by_split[s].row.run_ids, scores) for s in row.splits]


def interval_note(outcomes: Outcomes) -> str:
    """How the row's intervals were computed."""
    n, s = len(outcomes.video_ids), len(outcomes.scores)
    runs = "1 run" if s == 1 else f"mean of {s} runs"
    return f"bootstrap over {n} test videos ({runs})"


def compare(a: Outcomes, b: Outcomes) -> dict[str, Comparison] | None:
    """A - B on the same videos, in percentage points, by metric (MLflow name); None on other videos."""
    if a.video_ids != b.video_ids or a.multilabel != b.multilabel or not np.array_equal(a.labels, b.labels):
        return None
    if a.classes and b.classes and a.classes != b.classes:  # (ensembles' outcomes carry no class names)
        return None
    if a.multilabel:
        return {"test/mAP": compare_map(a.scores, b.scores, a.labels).scaled(100)}
    ca, cb = a.correct(1), b.correct(1)
    return {
        "test/top1": compare_accuracy(ca, cb).scaled(100),
        "test/mean_class_acc": compare_mean_class_accuracy(ca, cb, a.labels).scaled(100),
    }
