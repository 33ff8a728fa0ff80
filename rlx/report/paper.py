"""The published numbers (PAPER.md §8), keyed like our table rows.

A row of ours shows a paper value only when it matches on every key:
dataset, split (None = the paper's mean over the 3 official splits), stream
(spatial / temporal / two-stream), arch, T and insertion point (None where
the key does not apply: TSN and the local-only network have no R-LSTM).
Values are percentages, as printed in the paper.

What the paper measures: Tables 2-7 say "accuracy" (Tables 6/7 "the
performance accuracy ... over all three splits") without saying whether it is
top-1 over videos or mean class accuracy (TSN-style code reports the latter),
so the report shows our two beside it (`PAPER_METRICS`). Table 8 says mAP.
Table 7's TSN row is the TSN paper's own number ([5]: BN-Inception, 3
segments), not a ResNet-101-v2 TSN like Table 2's or ours: `not_this_model`
says so and the report labels it. The paper's numbers are on its datasets
with all their classes; `why_no_paper` names the rows that have none to show.

Reading of the paper's names: "R-LSTM" (Table 2, Table 6) is the non-local
branch only network (Table 2's R-LSTM row equals Table 4's non-local-only
row), so "TSN + R-LSTM" is the ensemble of TSN with `nonlocal`. Tables 2-5
use the paper's defaults where they do not vary them: T = 8, R-LSTM after
conv5_2.
"""

from __future__ import annotations

from dataclasses import dataclass

STREAMS = ("spatial", "temporal", "two-stream")
PAPER_DATASETS = ("ucf101", "hmdb51", "charades")  # the datasets the paper reports, on all their classes
# What the paper's captions state each value is: "accuracy" is never said to be top-1 or mean class accuracy.
PAPER_METRICS = ("accuracy", "mAP")
TSN_PAPER = "the TSN paper's number ([5]: BN-Inception, 3 segments), not a ResNet-101-v2 TSN like ours"


@dataclass(frozen=True)
class PaperValue:
    table: str
    dataset: str
    split: int | None  # None: mean of the 3 splits
    stream: str
    arch: str  # our arch names; "tsn+nonlocal" is the TSN + R-LSTM ensemble
    num_segments: int | None
    insert_after: str | None
    metric: str  # one of PAPER_METRICS: "accuracy" (unspecified) | "mAP"
    value: float  # percent
    not_this_model: str | None = None  # a row quoted from another paper, with another network: what it is

    @property
    def source(self) -> str:
        """ "Table 2", or "Table 7 (<what the row is>)" for a row that is not this model."""
        return f"{self.table} ({self.not_this_model})" if self.not_this_model else self.table


def _three(
    table: str, arch: str, values: tuple[float, float, float], t: int | None = 8, insert: str | None = "conv5_2"
) -> list[PaperValue]:
    """One printed row "spatial / temporal / two-stream" on UCF-101 split 1."""
    return [
        PaperValue(table, "ucf101", 1, s, arch, t, insert, "accuracy", v) for s, v in zip(STREAMS, values, strict=True)
    ]


PAPER: tuple[PaperValue, ...] = tuple(
    _three("Table 2", "tsn", (87.0, 88.5, 93.8), insert=None)
    + _three("Table 2", "tsn+nonlocal", (88.6, 89.1, 94.2))
    + [
        v
        for t, vals in (
            (6, (87.2, 87.9, 94.2)),
            (8, (88.7, 88.1, 94.4)),
            (10, (88.1, 87.5, 94.1)),
            (12, (87.4, 87.4, 93.5)),
        )
        for v in _three("Table 3", "two_branch", vals, t=t)
    ]
    + _three("Table 4", "local", (87.4, 87.3, 94.0), insert=None)
    + _three("Table 4", "nonlocal", (86.9, 87.5, 93.8))  # = Table 2's "R-LSTM"
    + _three("Table 4", "two_branch", (88.7, 88.1, 94.4))  # the default model: also Table 3's T=8, Table 5's conv5_2
    + [
        v
        for ins, vals in (
            ("conv5_1", (87.5, 87.7, 94.0)),
            ("conv5_2", (88.7, 88.1, 94.4)),
            ("conv5_3", (87.7, 87.5, 93.8)),
        )
        for v in _three("Table 5", "two_branch", vals, insert=ins)
    ]
    + [
        # Tables 6/7: means of the 3 splits, two-stream.
        PaperValue("Table 6", "ucf101", None, "two-stream", "nonlocal", 8, "conv5_2", "accuracy", 94.2),
        PaperValue("Table 6", "ucf101", None, "two-stream", "two_branch", 8, "conv5_2", "accuracy", 94.8),
        PaperValue("Table 6", "hmdb51", None, "two-stream", "two_branch", 8, "conv5_2", "accuracy", 71.4),
        # Table 7's TSN: quoted from the TSN paper (3 segments), so any T of ours matches it, labelled.
        PaperValue("Table 7", "ucf101", None, "two-stream", "tsn", None, None, "accuracy", 94.0, TSN_PAPER),
        PaperValue("Table 7", "hmdb51", None, "two-stream", "tsn", None, None, "accuracy", 68.5, TSN_PAPER),
        # Table 8: Charades (one validation set, our split 1), RGB only; TSN* is the authors' re-implementation.
        PaperValue("Table 8", "charades", 1, "spatial", "two_branch", 8, "conv5_2", "mAP", 28.8),
        PaperValue("Table 8", "charades", 1, "spatial", "tsn", 8, None, "mAP", 25.6),
    ]
)

# Published two-stream RGB weights (PAPER.md §4), chosen by the authors on test accuracy.
PAPER_FUSION_WEIGHT_RGB = {"ucf101": 0.45, "hmdb51": 0.33}

NO_RLSTM = ("tsn", "local")


def all_classes(classes: str) -> bool:
    """Whether a logged `data.classes` means every class of the dataset (empty, "[]", "()", or not logged)."""
    return classes.strip() in ("", "[]", "()", "None")


def why_no_paper(dataset: str, classes: str) -> str | None:
    """Why a row of this dataset and `data.classes` has no paper number to show; None when it may have one."""
    if dataset not in PAPER_DATASETS:
        return f"{dataset or 'an unnamed dataset'} is not one of the paper's datasets ({', '.join(PAPER_DATASETS)})"
    if not all_classes(classes):
        return f"{dataset} on a class subset ({classes}): the paper's numbers are on all classes"
    return None


def paper_value(
    dataset: str,
    split: int | None,
    stream: str,
    arch: str,
    num_segments: int | None,
    insert_after: str | None,
    metric: str,
    prefer: tuple[str, ...] = (),
) -> PaperValue | None:
    """The published value for a row of ours, or None when the paper has no such row.

    Tables 3-5 repeat the default model's row (T = 8, conv5_2); `prefer` names the tables to quote first.
    """
    insert = None if arch in NO_RLSTM else insert_after
    ordered = sorted(PAPER, key=lambda r: r.table not in prefer)  # stable: preferred tables first
    for row in ordered:
        if (row.dataset, row.split, row.stream, row.arch, row.metric) != (dataset, split, stream, arch, metric):
            continue
        if row.num_segments is not None and row.num_segments != num_segments:
            continue
        if row.insert_after != insert:
            continue
        return row
    return None
