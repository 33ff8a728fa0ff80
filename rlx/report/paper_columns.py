"""The columns of the rows compared with the paper (stream tables, mean over splits): its number beside ours.

Per row: our test metrics, the paper's value under the label of what it
states, its source, whether it lies inside each of our 95 % intervals (the
paper does not say which accuracy it reports: both of ours are checked),
and, in a search with refits (`rlx.report.refit`), how the row's runs were
trained and which selection runs they are refits of. The labels themselves
are `rlx.report.format`'s.
"""

from __future__ import annotations

import math

from rlx.report.format import (
    DATASET_LABEL,
    ENSEMBLE_CHOSEN,
    INSIDE_LABEL,
    PAPER_LABEL,
    REFIT_OF,
    TRAINED_ON,
    Kind,
    Record,
    add_metrics,
    arch_label,
)
from rlx.report.rows import ResultRow, SplitRow, shown_insertion

# Our metrics a paper value is checked against: both accuracies, as the paper does not say which it reports.
PAPER_CHECKED = {"accuracy": ("test/top1", "test/mean_class_acc"), "mAP": ("test/mAP",)}


def paper_inside_text(row: ResultRow | SplitRow, metric: str) -> str | None:
    """Whether the paper's value lies inside our 95 % interval of `metric` (MLflow name); None without a value."""
    if row.paper is None or metric not in PAPER_CHECKED[row.paper.metric]:
        return None
    stat = row.metrics.by_name()[metric]
    if math.isnan(stat.mean):
        return None
    if not stat.has_interval:
        return "no interval"
    if stat.low <= row.paper.value <= stat.high:
        return "yes"
    return "no: above" if row.paper.value > stat.high else "no: below"


def add_paper(record: Record, row: ResultRow | SplitRow) -> None:
    """The paper's value under the label of what it states, its source, and whether it is inside our intervals."""
    for metric, label in PAPER_LABEL.items():
        found = row.paper is not None and row.paper.metric == metric
        record.add(label, row.paper.value if found else None, Kind.PERCENT)
    record.add("paper source", row.paper.source if row.paper else None)
    for metric, label in INSIDE_LABEL.items():
        record.add(label, paper_inside_text(row, metric))


def paper_hidden_note(rows: list[ResultRow] | list[SplitRow]) -> str:
    """One line per reason the paper's numbers are not shown for some rows (" " + lines, or "")."""
    reasons = sorted({r.paper_hidden for r in rows if r.paper_hidden})
    return "".join(f" No paper numbers: {why}." for why in reasons)


def rgb_weight_text(row: ResultRow) -> str | None:
    """ "0.45 (chosen on val)"; for an ensemble each model's; None without a weight."""
    if row.members:
        return "per model: " + "; ".join(f"{m.arch} {rgb_weight_text(m) or '?'}" for m in row.members)
    weights = sorted({f"{w:g}" for w in row.rgb_weights or ()})
    return f"{', '.join(weights)} (chosen on val)" if weights else None


def result_record(row: ResultRow) -> Record:
    """The columns of a stream table: keys, top-1/mAP, the paper's number, the other metrics, traceability."""
    r = Record().add("dataset", row.dataset).add("classes", row.classes or None).add("split", row.split)
    r.add("stream", row.stream).add("arch", arch_label(row.arch)).add("T", row.T)
    r.add("insertion", shown_insertion(row.arch, row.insertion)).add(TRAINED_ON, row.protocol)
    add_metrics(r, row.metrics, ("test/top1", "test/mean_class_acc", "test/mAP"))
    add_paper(r, row)
    add_metrics(r, row.metrics, ("test/top5",))
    r.add_coverage(row.coverage)
    r.add("RGB weight", rgb_weight_text(row) if row.stream == "two-stream" else None)
    r.add("trials", row.trials).add("seeds", row.seeds).add("chosen", ENSEMBLE_CHOSEN if row.members else row.chosen)
    r.add("95 % CI", row.interval).add("runs", " ".join(row.run_ids), Kind.RUN_IDS)
    return r.add(REFIT_OF, " ".join(row.refit_of) or None, Kind.RUN_IDS).add("command", row.command)


def comparable_text(row: SplitRow) -> str:
    n, expected = len(row.splits), row.expected_splits
    return "yes" if n == expected else f"no: {n} of {expected} splits, not a {expected}-split mean"


def split_record(row: SplitRow) -> Record:
    r = Record().add("dataset", DATASET_LABEL[row.dataset]).add("classes", row.classes or None)
    r.add("stream", row.stream).add("arch", arch_label(row.arch))
    r.add("T", row.T).add("insertion", shown_insertion(row.arch, row.insertion))
    r.add(TRAINED_ON, row.protocol).add("splits", ", ".join(map(str, row.splits))).add("n splits", len(row.splits))
    add_metrics(r, row.metrics, ("test/top1", "test/mean_class_acc", "test/mAP"))
    add_paper(r, row)
    add_metrics(r, row.metrics, ("test/top5",))
    r.add_coverage(row.coverage).add("comparable", comparable_text(row))
    r.add("trials", row.trials).add("95 % CI", row.interval)
    return r.add("runs", " ".join(row.run_ids), Kind.RUN_IDS).add("command", row.command)
