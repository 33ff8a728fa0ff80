"""Typed rows -> labelled tables: every column label, display name and cell format of the report, in one place.

A `Table` holds the numbers as written to `tables/<slug>.csv` (accuracies in
percent, full run ids; a column "<label> ±" holds the std of column
"<label>", columns "<label> CI low" / "<label> CI high" its 95 % interval)
and each column's `Kind`, from which `Table.display()` makes the strings of
Markdown and HTML ("63.6 ± 2.1 [58.0, 69.3]", "p = 0.031", short run ids).
Columns no row has a value for are left out. A row whose test set is
incomplete (`rlx.report.coverage`) gets a numbered mark (†1) in its first
column and a footnote giving covered / total test videos; its CSV has the
counts in `test videos` / `test videos left out` / `test set`. The records
of the rows compared with the paper are in `rlx.report.paper_columns`,
under the labels defined here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd

from rlx.eval.uncertainty import ALPHA, Comparison
from rlx.report.boundary import BoundaryRow
from rlx.report.comparisons import ComparisonRow
from rlx.report.coverage import INCOMPLETE_MARK, Coverage, same_test_set
from rlx.report.paper import PAPER_METRICS
from rlx.report.per_class import ClassGains, FamilyRow
from rlx.report.per_run import FusionRow, LeaderRow, is_loss
from rlx.report.refit import RefitRow
from rlx.report.rows import Metrics, Stat, shown_insertion
from rlx.tune.space.parse import RANGE_SAMPLERS

ARCH_LABEL = {
    "tsn": "TSN",
    "local": "local only",
    "nonlocal": "non-local only (R-LSTM)",
    "two_branch": "two-branch",
    "tsn+nonlocal": "TSN + R-LSTM",
    "tsn+two_branch": "TSN + two-branch",
}
DATASET_LABEL = {"ucf101": "UCF-101", "hmdb51": "HMDB-51", "charades": "Charades"}  # in the splits table
METRIC_LABEL = {
    "test/top1": "test top-1 over videos (%)",
    "test/mAP": "test mAP (%)",
    "test/top5": "test top-5 (%)",
    "test/mean_class_acc": "test mean class acc (%)",
}
# The paper's value, labelled with what the paper states it is (its captions say "accuracy", not which one).
PAPER_LABEL = dict(zip(PAPER_METRICS, ('paper "accuracy", unspecified (%)', "paper mAP (%)"), strict=True))
INSIDE_LABEL = {
    "test/top1": "paper inside our top-1 CI",
    "test/mean_class_acc": "paper inside our mean class acc CI",
    "test/mAP": "paper inside our mAP CI",
}
PAPER_CAPTION = (
    'The paper\'s Tables 2-7 report "accuracy" without saying whether it is top-1 over videos or mean class '
    "accuracy (TSN-style code reports the latter): both of ours stand beside it, and `paper inside our ... CI` "
    "checks it against each. Table 8 reports mAP."
)
STD = " ±"  # a column "<label> ±" holds the std of column "<label>"
CI_LOW, CI_HIGH = " CI low", " CI high"  # columns "<label> CI low/high" hold the 95 % interval of "<label>"
WITHIN_NOISE = "within noise"
ENSEMBLE_CHOSEN = "equal-weight average of the two models' test logits"
# A search with refits (rlx.report.refit): how a row's runs were trained, and the selection runs they refit.
TRAINED_ON = "trained on"
REFIT_OF = "refit of (selected on val)"
SELECTION, REFIT = "selection: ", "refit: "  # prefixes of the metric labels in the selection-vs-refit table


class Kind(Enum):
    """How a column's cells are shown."""

    PLAIN = "plain"  # str(); floats to 4 significant digits (their std to 3)
    PERCENT = "percent"  # percentages and percentage points: 1 decimal
    RUN_IDS = "run ids"  # space-separated MLflow run ids, shortened to 8 characters
    P_VALUE = "p-value"  # "p = 0.031", "p < 0.001"
    COUNT = "count"  # a whole number, even where the column became float: "13320"


def arch_label(arch: str) -> str:
    return ARCH_LABEL.get(arch, arch)


@dataclass(frozen=True)
class Table:
    slug: str  # tables/<slug>.csv
    title: str
    caption: str
    frame: pd.DataFrame  # as written to the CSV
    kinds: Mapping[str, Kind] = field(default_factory=dict)  # by column label; PLAIN when absent
    stds: Mapping[str, str] = field(default_factory=dict)  # label -> the label of its std column
    intervals: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # label -> its CI low / high columns
    coverage: tuple[Coverage | None, ...] = ()  # per row, for tables of test metrics

    @property
    def footnotes(self) -> list[str]:
        """The distinct footnotes of the incomplete rows, numbered in row order (†1 is the first)."""
        return list(dict.fromkeys(c.footnote() for c in self.coverage if c is not None and c.incomplete))

    def marks(self) -> list[str]:
        """Per row: " †n" for an incomplete test set (n: its footnote), else ""."""
        numbers = {text: n for n, text in enumerate(self.footnotes, start=1)}
        return [
            f" {INCOMPLETE_MARK}{numbers[c.footnote()]}" if c is not None and c.incomplete else ""
            for c in self.coverage
        ]

    def count(self, status: str) -> int:
        """How many rows have a test set in that status ("complete", "incomplete", "unknown")."""
        return sum(1 for c in self.coverage if c is not None and c.status == status)

    def display(self) -> pd.DataFrame:
        """Strings for Markdown/HTML: mean ± std [interval] merged, percentages to 1 decimal, run ids shortened."""
        hidden = set(self.stds.values()) | {c for pair in self.intervals.values() for c in pair}
        out = {}
        for col in self.frame.columns:
            if col in hidden:
                continue
            std = self.frame.get(self.stds.get(col, ""))
            low_col, high_col = self.intervals.get(col, ("", ""))
            low, high = self.frame.get(low_col), self.frame.get(high_col)
            kind = self.kinds.get(col, Kind.PLAIN)
            out[col] = [
                cell_text(
                    v,
                    None if std is None else std.iloc[i],
                    kind,
                    None if low is None or high is None else (low.iloc[i], high.iloc[i]),
                )
                for i, v in enumerate(self.frame[col])
            ]
        if out and any(self.marks()):  # the mark goes on the first column: visible without scrolling
            first = next(iter(out))
            out[first] = [text + mark for text, mark in zip(out[first], self.marks(), strict=True)]
        return pd.DataFrame(out, columns=list(out))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def interval_text(low: float, high: float) -> str:
    """ "[86.4, 96.6]": a 95 % interval in percent (or percentage points)."""
    return f"[{low:.1f}, {high:.1f}]"


def p_text(p: float) -> str:
    """ "p = 0.031" (2 significant digits), "p < 0.001"."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def p_value(result: Comparison) -> str:
    """The p-value as stored in the CSV: 3 significant digits, as text (the CSV's floats have 4 decimals)."""
    return f"{result.p_value:.3g}"


def verdict_text(result: Comparison) -> str:
    """ "within noise" (p >= ALPHA), else which side is better."""
    if result.within_noise:
        return WITHIN_NOISE
    return f"A better (p < {ALPHA:g})" if result.difference > 0 else f"B better (p < {ALPHA:g})"


def cell_text(value: Any, std: Any, kind: Kind, interval: tuple[Any, Any] | None = None) -> str:
    """One cell as shown: "–" for a missing value; floats by `kind`, with " ± std" and " [low, high]" when present."""
    if _missing(value):
        return "–"
    if kind is Kind.RUN_IDS:
        return " ".join(v[:8] for v in str(value).split())
    if kind is Kind.P_VALUE:
        return p_text(float(value))
    if kind is Kind.COUNT:
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        text = f"{value:.1f}" if kind is Kind.PERCENT else f"{value:.4g}"
        if not _missing(std):
            text += f" ± {std:.1f}" if kind is Kind.PERCENT else f" ± {std:.3g}"
        if interval is not None and not (_missing(interval[0]) or _missing(interval[1])):
            text += " " + interval_text(float(interval[0]), float(interval[1]))
        return text
    return str(value)


@dataclass
class Record:
    """One row of a table being labelled: value and kind per column label, in column order."""

    values: dict[str, Any] = field(default_factory=dict)
    kinds: dict[str, Kind] = field(default_factory=dict)
    stds: dict[str, str] = field(default_factory=dict)
    intervals: dict[str, tuple[str, str]] = field(default_factory=dict)
    coverage: Coverage | None = None  # the test set behind the row's test metrics, when it has any

    def add(self, label: str, value: Any, kind: Kind = Kind.PLAIN) -> Record:
        self.values[label] = value
        self.kinds[label] = kind
        return self

    def add_stat(self, label: str, stat: Stat, kind: Kind = Kind.PERCENT) -> Record:
        """The mean under `label`, the std in the column after it, then the 95 % interval's bounds."""
        self.add(label, stat.mean, kind)
        self.values[label + STD] = stat.std
        self.stds[label] = label + STD
        return self.add_interval(label, stat.low, stat.high)

    def add_interval(self, label: str, low: float, high: float) -> Record:
        """The 95 % interval of column `label` in the columns "<label> CI low" / "<label> CI high"."""
        self.values[label + CI_LOW], self.values[label + CI_HIGH] = low, high
        self.intervals[label] = (label + CI_LOW, label + CI_HIGH)
        return self

    def add_comparison(self, label: str, result: Comparison | None) -> Record:
        """A - B with its interval under `label`, then the test, the p-value and the verdict."""
        if result is None:
            return self.add(label, None, Kind.PERCENT).add("test", None).add("p", None).add("verdict", None)
        self.add(label, result.difference, Kind.PERCENT).add_interval(label, result.low, result.high)
        test = result.test
        if result.discordant is not None:
            test += f" (only A right {result.discordant[0]}, only B right {result.discordant[1]})"
        return self.add("test", test).add("p", p_value(result), Kind.P_VALUE).add("verdict", verdict_text(result))

    def add_coverage(self, coverage: Coverage) -> Record:
        """The test videos covered and left out, and the test set's status; the row is marked when incomplete."""
        self.coverage = coverage
        self.add("test videos", coverage.covered, Kind.COUNT).add("test videos left out", coverage.excluded, Kind.COUNT)
        return self.add("test set", coverage.status)


def make_table(slug: str, title: str, caption: str, records: list[Record]) -> Table:
    """The records as a Table, without the columns no record has a value for."""
    frame = pd.DataFrame([r.values for r in records])
    frame = frame[[c for c in frame.columns if not frame[c].isna().all()]].reset_index(drop=True)
    kinds: dict[str, Kind] = {}
    stds: dict[str, str] = {}
    intervals: dict[str, tuple[str, str]] = {}
    for r in records:
        kinds.update(r.kinds)
        stds.update(r.stds)
        intervals.update(r.intervals)
    coverage = tuple(r.coverage for r in records) if any(r.coverage is not None for r in records) else ()
    return Table(slug, title, caption, frame, kinds, stds, intervals, coverage)


# ---------------------------------------------------------------- one function per kind of row
def add_metrics(record: Record, metrics: Metrics, names: tuple[str, ...]) -> None:
    """Each named test metric (MLflow names) as mean ± std [interval] under its METRIC_LABEL."""
    stats = metrics.by_name()
    for name in names:
        record.add_stat(METRIC_LABEL[name], stats[name])


def fusion_record(row: FusionRow) -> Record:
    r = Record().add("dataset", row.dataset).add("classes", row.classes or None).add("split", row.split)
    r.add("group", row.group)
    r.add("arch", arch_label(row.arch)).add("T", row.T).add("insertion", shown_insertion(row.arch, row.insertion))
    r.add("pairing", row.pairing).add("RGB weight (chosen on val)", row.weight_rgb)
    r.add(f"val {row.metric} at it (%)", row.val, Kind.PERCENT)
    r.add(f"test {row.metric} at it (%)", row.test, Kind.PERCENT)
    r.add_interval(f"test {row.metric} at it (%)", row.test_interval.low, row.test_interval.high)
    r.add("RGB weight chosen on test (for comparison with the paper)", row.test_optimal_weight_rgb)
    r.add(f"test {row.metric} at the test-chosen weight (%)", row.test_at_test_optimal, Kind.PERCENT)
    r.add("paper RGB weight (chosen on test)", row.paper_weight_rgb).add_coverage(row.coverage)
    r.add("rgb run", row.rgb_run, Kind.RUN_IDS).add("flow run", row.flow_run, Kind.RUN_IDS)
    return r.add("fusion run", row.run_id, Kind.RUN_IDS).add("command", row.command)


def leader_record(row: LeaderRow) -> Record:
    r = Record().add("dataset", row.dataset).add("classes", row.classes or None).add("split", row.split)
    r.add("stream", row.stream).add("group", row.group).add("rank", row.rank).add("kind", row.kind)
    r.add("arch", arch_label(row.arch))
    r.add("T", row.T).add("insertion", shown_insertion(row.arch, row.insertion))
    for key, value in row.params.items():
        r.add(key, value)
    if is_loss(row.metric):
        r.add(row.metric, row.value)
    else:
        r.add(f"{row.metric} (%)", row.value, Kind.PERCENT)
    for name, stat in row.metrics.by_name().items():
        r.add(METRIC_LABEL[name], stat.mean, Kind.PERCENT).add_interval(METRIC_LABEL[name], stat.low, stat.high)
    r.add_coverage(row.coverage).add("epochs", row.epochs).add("run", row.run_id, Kind.RUN_IDS)
    return r.add("command", row.command)


def describe_range(kind: str, values: tuple) -> str:
    """ "uniform [0.5, 0.9]", "grid {6, 8}"."""
    if kind in RANGE_SAMPLERS:
        return f"{kind} [{values[0]:g}, {values[1]:g}]"
    return f"{kind} {{{', '.join(map(str, values))}}}"


def boundary_record(row: BoundaryRow) -> Record:
    r = Record().add("group", row.group).add("hyperparameter", row.key.key).add("role", row.key.role)
    r.add("searched", describe_range(row.key.kind, row.key.values)).add("best value", row.best_value)
    r.add("position in range", row.flag.position).add("on boundary", row.flag.verdict)
    r.add(f"best {row.metric} (%)", row.best_metric, Kind.PERCENT).add("trials", row.trials)
    return r.add("best run", row.run_id, Kind.RUN_IDS).add("command", row.command)


def gain_records(gains: ClassGains) -> list[Record]:
    """One record per class, most improved first."""
    a, b = gains.a.row, gains.b.row
    out = []
    none = (None,) * len(gains.classes)
    tests, ci_a, ci_b = gains.tests or none, gains.intervals_a or none, gains.intervals_b or none
    for rank, (name, acc_a, acc_b, gain, test, int_a, int_b) in enumerate(
        zip(gains.classes, gains.acc_a, gains.acc_b, gains.gain, tests, ci_a, ci_b, strict=True), start=1
    ):
        r = Record().add("dataset", a.dataset).add("classes", a.classes or None).add("split", a.split)
        r.add("stream", a.stream).add("model A", ARCH_LABEL[a.arch]).add("model B", ARCH_LABEL[b.arch])
        r.add("rank", rank).add("class", name)
        r.add("A acc (%)", acc_a, Kind.PERCENT).add_interval("A acc (%)", *(int_a or (math.nan, math.nan)))
        r.add("B acc (%)", acc_b, Kind.PERCENT).add_interval("B acc (%)", *(int_b or (math.nan, math.nan)))
        r.add("gain (points)", gain, Kind.PERCENT)
        if test is not None:
            r.add_interval("gain (points)", test.low, test.high)
            r.add("test", test.test).add("p", p_value(test), Kind.P_VALUE).add("verdict", verdict_text(test))
        else:
            r.add("test", "no stored scores").add("p", None, Kind.P_VALUE).add("verdict", None)
        r.add_coverage(same_test_set((a.coverage, b.coverage)))
        out.append(r.add("runs A", " ".join(a.run_ids), Kind.RUN_IDS).add("runs B", " ".join(b.run_ids), Kind.RUN_IDS))
    return out


def family_label(family: str) -> str:
    """The column of a class family's accuracy ("all": every class)."""
    return f"{family} (%)"


def family_record(row: FamilyRow) -> Record:
    r = Record().add("dataset", row.dataset).add("classes", row.classes or None).add("split", row.split)
    r.add("stream", row.stream)
    r.add("arch", arch_label(row.arch)).add("T", row.T)
    for family, stat in row.accuracy.items():
        r.add_stat(family_label(family), stat)
    r.add_coverage(row.coverage).add("trials", row.trials).add("seeds", row.seeds)
    r.add("runs", " ".join(row.run_ids), Kind.RUN_IDS)
    return r.add("command", row.command)


def trained_on_text(a: str | None, b: str | None) -> str | None:
    """How both sides of a comparison were trained (a search with refits): one text, or each side's; else None."""
    if a is None and b is None:
        return None
    return a if a == b else f"A: {a or '?'}; B: {b or '?'}"


def comparison_record(row: ComparisonRow) -> Record:
    """A - B: the two rows with their intervals, the difference with its interval, the test and its p-value."""
    a, b = row.a, row.b
    r = Record().add("dataset", row.dataset).add("classes", a.classes or None).add("split", row.split)
    r.add("comparison", row.what)
    r.add("model A", f"{arch_label(a.arch)} ({a.stream})").add("model B", f"{arch_label(b.arch)} ({b.stream})")
    r.add("metric", METRIC_LABEL[row.metric]).add(TRAINED_ON, trained_on_text(a.protocol, b.protocol))
    r.add_stat("A (%)", row.stat_a).add_stat("B (%)", row.stat_b)
    r.add_comparison("A - B (points)", row.result).add_coverage(row.coverage)
    return r.add("runs A", " ".join(a.run_ids), Kind.RUN_IDS).add("runs B", " ".join(b.run_ids), Kind.RUN_IDS)


def refit_record(row: RefitRow) -> Record:
    """A group of a refit search: the selection run's numbers (trained without the hold-out) beside its refit's."""
    r = Record().add("dataset", row.dataset).add("classes", row.classes or None).add("split", row.split)
    r.add("stream", row.stream).add("group", row.group).add("arch", arch_label(row.arch)).add("T", row.T)
    r.add("insertion", shown_insertion(row.arch, row.insertion)).add("paper tables use", row.status)
    if is_loss(row.metric):
        r.add(f"selection {row.metric}", row.selection_value)
    else:
        r.add(f"selection {row.metric} (%)", row.selection_value, Kind.PERCENT)
    selection, refit = row.selection.by_name(), row.refit.by_name()
    for name in ("test/top1", "test/mean_class_acc", "test/mAP"):
        r.add_stat(SELECTION + METRIC_LABEL[name], selection[name]).add_stat(REFIT + METRIC_LABEL[name], refit[name])
    r.add(f"refit - selection, {METRIC_LABEL[row.main_metric].removesuffix(' (%)')} (points)", row.change, Kind.PERCENT)
    r.add("RGB weight (chosen on val)", row.weight_rgb).add_coverage(row.coverage).add("selection runs", row.trials)
    r.add("selection run", row.selection_run or None, Kind.RUN_IDS).add("refit run", row.refit_run, Kind.RUN_IDS)
    return r.add("command", row.command)
