"""Ensembles from stored logits: TSN + R-LSTM and TSN + two-branch, as the paper's Table 2 forms them.

An ensemble row is the equal-weight average of two models' test logits
(`scores/test.parquet`), run by run: the two cells' chosen runs are paired by
seed, and each pair gives one set of test metrics; the row is their mean ±
std, with the 95 % interval of the pairs' averaged logits (bootstrap over test
videos, `rlx.report.significance`). No model is loaded.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from rlx.eval.fusion import FusionError, StreamScores, align, fuse, fused_test_metrics
from rlx.eval.scores import ScoresOf
from rlx.report.coverage import same_test_set
from rlx.report.rows import TEST_METRICS, ResultRow, metrics_from
from rlx.report.selection import CellResult, commands, joined_protocol
from rlx.report.significance import Outcomes, outcomes_from, row_with_intervals

ENSEMBLE_PARTNERS = ("nonlocal", "two_branch")  # TSN + each of these


def seed_pairs(a: pd.DataFrame, b: pd.DataFrame) -> list[tuple[str, str]]:
    """Run ids of two models paired by seed; without a common seed, the first (best) run of each."""
    common = sorted(set(a["seed"]) & set(b["seed"]))
    if common:
        return [(a[a["seed"] == s]["run_id"].iloc[0], b[b["seed"] == s]["run_id"].iloc[0]) for s in common]
    return [(a["run_id"].iloc[0], b["run_id"].iloc[0])]


def aligned_pairs(
    scores: ScoresOf, pairs: list[tuple[str, str]]
) -> Iterator[tuple[pd.DataFrame, StreamScores, StreamScores]]:
    """(first run's test frame, aligned test scores of run a, of run b) for each pair with comparable scores.

    Pairs without stored scores, or whose test sets differ (other classes or videos), are left out.
    """
    for run_a, run_b in pairs:
        got_a, got_b = scores(run_a), scores(run_b)
        if got_a is None or got_b is None:
            continue
        (frame_a, classes_a), (frame_b, classes_b) = got_a, got_b
        try:
            a, b = align(frame_a, frame_b, classes_a, classes_b, "test")
        except FusionError:  # other classes or videos: not the same test set
            continue
        yield frame_a, a, b


def ensemble_metrics(scores: ScoresOf, pairs: list[tuple[str, str]]) -> list[dict[str, float]]:
    """The test metrics of each pair's averaged logits; pairs without comparable scores are left out."""
    return [fused_test_metrics((a, b), 0.5) for _, a, b in aligned_pairs(scores, pairs)]


def ensemble_outcomes(scores: ScoresOf, pairs: list[tuple[str, str]]) -> Outcomes | None:
    """The averaged logits of each pair with comparable scores, as Outcomes (None when none has)."""
    tables = []
    for frame_a, a, b in aligned_pairs(scores, pairs):
        fused = fuse(a.scores.astype("float64"), b.scores.astype("float64"), 0.5)
        tables.append((list(frame_a["video_id"]), a.labels, fused))
    return outcomes_from(tables)


def _pairable(a: ResultRow, b: ResultRow) -> bool:
    """Rows an ensemble may join: the same dataset, classes, split, stream and T."""
    return (a.dataset, a.classes, a.split, a.stream, a.T) == (b.dataset, b.classes, b.split, b.stream, b.T)


def ensemble_rows(cells: list[CellResult], scores: ScoresOf) -> list[ResultRow]:
    """A row per TSN cell and partner present at the same dataset / split / stream / T.

    TSN has no insertion point: it is paired with the partner's cell at the lowest insertion point present.
    """
    out = []
    for tsn in cells:
        if tsn.row.arch != "tsn":
            continue
        for partner in ENSEMBLE_PARTNERS:
            same = [c for c in cells if c.row.arch == partner and _pairable(c.row, tsn.row)]
            if not same:
                continue
            other = min(same, key=lambda c: c.row.insertion)
            pairs = seed_pairs(tsn.chosen, other.chosen)
            results = ensemble_metrics(scores, pairs)
            if not results:
                continue
            row = ResultRow(
                dataset=tsn.row.dataset,
                split=tsn.row.split,
                stream=tsn.row.stream,
                arch=f"tsn+{partner}",
                T=tsn.row.T,
                insertion=other.row.insertion,
                metrics=metrics_from({m: [100 * r[m] for r in results if m in r] for m in TEST_METRICS}),
                trials=tsn.row.trials + other.row.trials,
                seeds=len(results),
                chosen=None,
                run_ids=tuple(r for pair in pairs for r in pair),
                command=commands(pd.concat([tsn.chosen, other.chosen])),
                members=(tsn.row, other.row),
                classes=tsn.row.classes,
                coverage=same_test_set((tsn.row.coverage, other.row.coverage)),
                protocol=joined_protocol((tsn.row.protocol, other.row.protocol)),
                refit_of=tsn.row.refit_of + other.row.refit_of,
            )
            out.append(row_with_intervals(row, ensemble_outcomes(scores, pairs)))
    return out
