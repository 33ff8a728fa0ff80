"""Typed rows -> labelled tables: every column label, display name and cell format of the report, in one place.

A `Table` holds the numbers as written to `tables/<slug>.csv` (accuracies in
percent, full run ids; a column "<label> ±" holds the std of column
"<label>") and each column's `Kind`, from which `Table.display()` makes the
strings of Markdown and HTML ("63.6 ± 2.1", short run ids). Columns no row
has a value for are left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd

from rlx.report.boundary import BoundaryRow
from rlx.report.per_class import ClassGains, FamilyRow
from rlx.report.per_run import FusionRow, LeaderRow, is_loss
from rlx.report.rows import Metrics, ResultRow, SplitRow, Stat, shown_insertion
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
    "test/top1": "test top-1 (%)",
    "test/mAP": "test mAP (%)",
    "test/top5": "test top-5 (%)",
    "test/mean_class_acc": "mean class acc (%)",
}
STD = " ±"  # a column "<label> ±" holds the std of column "<label>"
ENSEMBLE_CHOSEN = "equal-weight average of the two models' test logits"


class Kind(Enum):
    """How a column's cells are shown."""

    PLAIN = "plain"  # str(); floats to 4 significant digits (their std to 3)
    PERCENT = "percent"  # percentages and percentage points: 1 decimal
    RUN_IDS = "run ids"  # space-separated MLflow run ids, shortened to 8 characters


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

    def display(self) -> pd.DataFrame:
        """Strings for Markdown/HTML: mean ± std merged, percentages to 1 decimal, run ids shortened."""
        std_columns = set(self.stds.values())
        out = {}
        for col in self.frame.columns:
            if col in std_columns:
                continue
            std = self.frame.get(self.stds.get(col, ""))
            kind = self.kinds.get(col, Kind.PLAIN)
            out[col] = [cell_text(v, None if std is None else std.iloc[i], kind) for i, v in enumerate(self.frame[col])]
        return pd.DataFrame(out, columns=list(out))


def cell_text(value: Any, std: Any, kind: Kind) -> str:
    """One cell as shown: "–" for a missing value; floats by `kind`, with " ± std" when there is one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if kind is Kind.RUN_IDS:
        return " ".join(v[:8] for v in str(value).split())
    if isinstance(value, (float, np.floating)):
        text = f"{value:.1f}" if kind is Kind.PERCENT else f"{value:.4g}"
        if std is not None and not (isinstance(std, float) and math.isnan(std)):
            text += f" ± {std:.1f}" if kind is Kind.PERCENT else f" ± {std:.3g}"
        return text
    return str(value)


@dataclass
class Record:
    """One row of a table being labelled: value and kind per column label, in column order."""

    values: dict[str, Any] = field(default_factory=dict)
    kinds: dict[str, Kind] = field(default_factory=dict)
    stds: dict[str, str] = field(default_factory=dict)

    def add(self, label: str, value: Any, kind: Kind = Kind.PLAIN) -> Record:
        self.values[label] = value
        self.kinds[label] = kind
        return self

    def add_stat(self, label: str, stat: Stat, kind: Kind = Kind.PERCENT) -> Record:
        """The mean under `label` and the std in the column after it."""
        self.add(label, stat.mean, kind)
        self.values[label + STD] = stat.std
        self.stds[label] = label + STD
        return self


def make_table(slug: str, title: str, caption: str, records: list[Record]) -> Table:
    """The records as a Table, without the columns no record has a value for."""
    frame = pd.DataFrame([r.values for r in records])
    frame = frame[[c for c in frame.columns if not frame[c].isna().all()]].reset_index(drop=True)
    kinds: dict[str, Kind] = {}
    stds: dict[str, str] = {}
    for r in records:
        kinds.update(r.kinds)
        stds.update(r.stds)
    return Table(slug, title, caption, frame, kinds, stds)


# ---------------------------------------------------------------- one function per kind of row
def _metrics(record: Record, metrics: Metrics, names: tuple[str, ...]) -> None:
    stats = metrics.by_name()
    for name in names:
        record.add_stat(METRIC_LABEL[name], stats[name])


def _paper(record: Record, row: ResultRow | SplitRow) -> None:
    record.add("paper (%)", row.paper.value if row.paper else None, Kind.PERCENT)
    record.add("paper source", row.paper.table if row.paper else None)


def rgb_weight_text(row: ResultRow) -> str | None:
    """ "0.45 (chosen on val)"; for an ensemble each model's; None without a weight."""
    if row.members:
        return "per model: " + "; ".join(f"{m.arch} {rgb_weight_text(m) or '?'}" for m in row.members)
    weights = sorted({f"{w:g}" for w in row.rgb_weights or ()})
    return f"{', '.join(weights)} (chosen on val)" if weights else None


def result_record(row: ResultRow) -> Record:
    """The columns of a stream table: keys, top-1/mAP, the paper's number, the other metrics, traceability."""
    r = Record().add("dataset", row.dataset).add("split", row.split).add("stream", row.stream)
    r.add("arch", arch_label(row.arch)).add("T", row.T).add("insertion", shown_insertion(row.arch, row.insertion))
    _metrics(r, row.metrics, ("test/top1", "test/mAP"))
    _paper(r, row)
    _metrics(r, row.metrics, ("test/top5", "test/mean_class_acc"))
    r.add("RGB weight", rgb_weight_text(row) if row.stream == "two-stream" else None)
    r.add("trials", row.trials).add("seeds", row.seeds).add("chosen", ENSEMBLE_CHOSEN if row.members else row.chosen)
    return r.add("runs", " ".join(row.run_ids), Kind.RUN_IDS).add("command", row.command)


def comparable_text(row: SplitRow) -> str:
    n, expected = len(row.splits), row.expected_splits
    return "yes" if n == expected else f"no: {n} of {expected} splits, not a {expected}-split mean"


def split_record(row: SplitRow) -> Record:
    r = Record().add("dataset", DATASET_LABEL[row.dataset]).add("stream", row.stream).add("arch", arch_label(row.arch))
    r.add("T", row.T).add("insertion", shown_insertion(row.arch, row.insertion))
    r.add("splits", ", ".join(map(str, row.splits))).add("n splits", len(row.splits))
    _metrics(r, row.metrics, tuple(METRIC_LABEL))
    _paper(r, row)
    r.add("comparable", comparable_text(row)).add("trials", row.trials)
    return r.add("runs", " ".join(row.run_ids), Kind.RUN_IDS).add("command", row.command)


def fusion_record(row: FusionRow) -> Record:
    r = Record().add("dataset", row.dataset).add("split", row.split).add("group", row.group)
    r.add("arch", arch_label(row.arch)).add("T", row.T).add("insertion", shown_insertion(row.arch, row.insertion))
    r.add("pairing", row.pairing).add("RGB weight (chosen on val)", row.weight_rgb)
    r.add(f"val {row.metric} at it (%)", row.val, Kind.PERCENT)
    r.add(f"test {row.metric} at it (%)", row.test, Kind.PERCENT)
    r.add("RGB weight chosen on test (for comparison with the paper)", row.test_optimal_weight_rgb)
    r.add(f"test {row.metric} at the test-chosen weight (%)", row.test_at_test_optimal, Kind.PERCENT)
    r.add("paper RGB weight (chosen on test)", row.paper_weight_rgb)
    r.add("rgb run", row.rgb_run, Kind.RUN_IDS).add("flow run", row.flow_run, Kind.RUN_IDS)
    return r.add("fusion run", row.run_id, Kind.RUN_IDS).add("command", row.command)


def leader_record(row: LeaderRow) -> Record:
    r = Record().add("dataset", row.dataset).add("split", row.split).add("stream", row.stream)
    r.add("group", row.group).add("rank", row.rank).add("kind", row.kind).add("arch", arch_label(row.arch))
    r.add("T", row.T).add("insertion", shown_insertion(row.arch, row.insertion))
    for key, value in row.params.items():
        r.add(key, value)
    if is_loss(row.metric):
        r.add(row.metric, row.value)
    else:
        r.add(f"{row.metric} (%)", row.value, Kind.PERCENT)
    for name, stat in row.metrics.by_name().items():
        r.add(METRIC_LABEL[name], stat.mean, Kind.PERCENT)
    r.add("epochs", row.epochs).add("run", row.run_id, Kind.RUN_IDS)
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
    for rank, (name, acc_a, acc_b, gain) in enumerate(
        zip(gains.classes, gains.acc_a, gains.acc_b, gains.gain, strict=True), start=1
    ):
        r = Record().add("dataset", a.dataset).add("split", a.split).add("stream", a.stream)
        r.add("model A", ARCH_LABEL[a.arch]).add("model B", ARCH_LABEL[b.arch]).add("rank", rank).add("class", name)
        r.add("A acc (%)", acc_a, Kind.PERCENT).add("B acc (%)", acc_b, Kind.PERCENT)
        r.add("gain (points)", gain, Kind.PERCENT)
        out.append(r.add("runs A", " ".join(a.run_ids), Kind.RUN_IDS).add("runs B", " ".join(b.run_ids), Kind.RUN_IDS))
    return out


def family_label(family: str) -> str:
    """The column of a class family's accuracy ("all": every class)."""
    return f"{family} (%)"


def family_record(row: FamilyRow) -> Record:
    r = Record().add("dataset", row.dataset).add("split", row.split).add("stream", row.stream)
    r.add("arch", arch_label(row.arch)).add("T", row.T)
    for family, stat in row.accuracy.items():
        r.add_stat(family_label(family), stat)
    r.add("trials", row.trials).add("seeds", row.seeds).add("runs", " ".join(row.run_ids), Kind.RUN_IDS)
    return r.add("command", row.command)
