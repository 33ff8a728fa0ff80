"""The published numbers (PAPER.md §8), keyed like our table rows.

A row of ours shows a paper value only when it matches on every key:
dataset, split (None = the paper's mean over the 3 official splits), stream
(spatial / temporal / two-stream), arch, T and insertion point (None where
the key does not apply: TSN and the local-only network have no R-LSTM).
Values are percentages, as printed in the paper.

Reading of the paper's names: "R-LSTM" (Table 2, Table 6) is the non-local
branch only network (Table 2's R-LSTM row equals Table 4's non-local-only
row), so "TSN + R-LSTM" is the ensemble of TSN with `nonlocal`. Tables 2-5
use the paper's defaults where they do not vary them: T = 8, R-LSTM after
conv5_2.
"""

from __future__ import annotations

from dataclasses import dataclass

STREAMS = ("spatial", "temporal", "two-stream")


@dataclass(frozen=True)
class PaperValue:
    table: str
    dataset: str
    split: int | None  # None: mean of the 3 splits
    stream: str
    arch: str  # our arch names; "tsn+nonlocal" is the TSN + R-LSTM ensemble
    num_segments: int | None
    insert_after: str | None
    metric: str  # "top1" | "mAP"
    value: float  # percent


def _three(
    table: str, arch: str, values: tuple[float, float, float], t: int | None = 8, insert: str | None = "conv5_2"
) -> list[PaperValue]:
    """One printed row "spatial / temporal / two-stream" on UCF-101 split 1."""
    return [PaperValue(table, "ucf101", 1, s, arch, t, insert, "top1", v) for s, v in zip(STREAMS, values, strict=True)]


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
        PaperValue("Table 6", "ucf101", None, "two-stream", "nonlocal", 8, "conv5_2", "top1", 94.2),
        PaperValue("Table 6", "ucf101", None, "two-stream", "two_branch", 8, "conv5_2", "top1", 94.8),
        PaperValue("Table 6", "hmdb51", None, "two-stream", "two_branch", 8, "conv5_2", "top1", 71.4),
        PaperValue("Table 7", "ucf101", None, "two-stream", "tsn", 8, None, "top1", 94.0),
        PaperValue("Table 7", "hmdb51", None, "two-stream", "tsn", 8, None, "top1", 68.5),
        # Table 8: Charades (one validation set, our split 1), RGB only.
        PaperValue("Table 8", "charades", 1, "spatial", "two_branch", 8, "conv5_2", "mAP", 28.8),
        PaperValue("Table 8", "charades", 1, "spatial", "tsn", 8, None, "mAP", 25.6),
    ]
)

# Published two-stream RGB weights (PAPER.md §4), chosen by the authors on test accuracy.
PAPER_FUSION_WEIGHT_RGB = {"ucf101": 0.45, "hmdb51": 0.33}

NO_RLSTM = ("tsn", "local")


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
