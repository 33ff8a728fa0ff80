"""The comparisons the report makes, each a paired test on the same test videos (`rlx.eval.uncertainty`).

Within a dataset / class subset / split / stream of the architectures table: the
architectures against each other (ARCH_PAIRS), each TSN ensemble against its
two models, and each two-stream row against the same arch's spatial and
temporal rows. Per comparison and metric (top-1 and mean class accuracy, or
mAP): A - B in percentage points, its 95 % paired bootstrap interval, the
p-value (McNemar for top-1 of two single runs, else the paired bootstrap)
and whether the difference is within noise (p >= ALPHA).
"""

from __future__ import annotations

from dataclasses import dataclass

from rlx.eval.scores import ScoresOf
from rlx.eval.uncertainty import Comparison
from rlx.report.coverage import Coverage, same_test_set
from rlx.report.ensembles import ensemble_outcomes
from rlx.report.rows import ResultRow, Stat, arch_rank, stream_rank
from rlx.report.selection import CellResult
from rlx.report.significance import Outcomes, compare, outcomes_of

# (A, B): A - B is tested for every pair present in a dataset / split / stream.
ARCH_PAIRS = (
    ("two_branch", "local"),
    ("two_branch", "tsn"),
    ("two_branch", "nonlocal"),
    ("nonlocal", "local"),
    ("nonlocal", "tsn"),
)
SINGLE_STREAMS = ("spatial", "temporal")


@dataclass(frozen=True)
class ComparisonRow:
    """A - B of two rows on the same test videos, for one metric."""

    what: str  # "architectures" | "ensemble vs its model" | "two-stream vs one stream"
    dataset: str
    split: int
    a: ResultRow
    b: ResultRow
    metric: str  # MLflow name: test/top1, test/mean_class_acc or test/mAP
    result: Comparison  # in percentage points

    @property
    def coverage(self) -> Coverage:
        """Both rows' test set: the worse coverage of the two."""
        return same_test_set((self.a.coverage, self.b.coverage))

    @property
    def stat_a(self) -> Stat:
        return self.a.metrics.by_name()[self.metric]

    @property
    def stat_b(self) -> Stat:
        return self.b.metrics.by_name()[self.metric]


def _ensemble_pairs(row: ResultRow) -> list[tuple[str, str]]:
    """An ensemble row's run ids are its seed pairs, flattened."""
    return list(zip(row.run_ids[::2], row.run_ids[1::2], strict=True))


def comparison_rows(cells: list[CellResult], ensembles: list[ResultRow], scores: ScoresOf) -> list[ComparisonRow]:
    """Every comparison whose two rows have stored scores on the same test videos, in table order."""
    outcomes: dict[int, Outcomes | None] = {}

    def of(row: ResultRow) -> Outcomes | None:
        if id(row) not in outcomes:
            outcomes[id(row)] = (
                ensemble_outcomes(scores, _ensemble_pairs(row)) if row.members else outcomes_of(row.run_ids, scores)
            )
        return outcomes[id(row)]

    places: dict[tuple[str, str, int, str], dict[str, ResultRow]] = {}
    for c in cells:  # of several cells of one arch (other T or insertion points), the last is taken
        places.setdefault((c.row.dataset, c.row.classes, c.row.split, c.row.stream), {})[c.row.arch] = c.row
    pairs: list[tuple[str, ResultRow, ResultRow]] = []
    for key in sorted(places, key=lambda k: (k[0], k[1], k[2], stream_rank(k[3]))):
        rows = places[key]
        pairs += [("architectures", rows[a], rows[b]) for a, b in ARCH_PAIRS if a in rows and b in rows]
        for ens in sorted(
            (e for e in ensembles if (e.dataset, e.classes, e.split, e.stream) == key), key=lambda e: arch_rank(e.arch)
        ):
            pairs += [("ensemble vs its model", ens, member) for member in ens.members]
        if key[3] == "two-stream":
            for arch in sorted(rows, key=arch_rank):
                for stream in SINGLE_STREAMS:
                    single = places.get((*key[:3], stream), {}).get(arch)
                    if single is not None:
                        pairs.append(("two-stream vs one stream", rows[arch], single))
    out = []
    for what, a, b in pairs:
        got_a, got_b = of(a), of(b)
        results = compare(got_a, got_b) if got_a is not None and got_b is not None else None
        for metric, result in (results or {}).items():
            out.append(ComparisonRow(what, a.dataset, a.split, a, b, metric, result))
    return out
