"""Rows of one run each: the leaderboard (every finished run, ranked by the search metric) and the fusion runs.

Accuracies are percentages; a selection metric that is a loss is kept as
logged. Test numbers are shown, never used to rank. Given the runs' stored
scores, each test metric carries its 95 % interval (bootstrap over test videos).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rlx.eval.scores import ScoresOf
from rlx.report.coverage import Coverage, run_coverage
from rlx.report.paper import PAPER_FUSION_WEIGHT_RGB, why_no_paper
from rlx.report.rows import TEST_METRICS, Metrics, Stat, metrics_from, shown_insertion, stream_rank
from rlx.report.search import SearchedKey
from rlx.report.selection import TIE_ORDER, Selection, metric_values
from rlx.report.significance import metrics_with_intervals, outcomes_of

MODEL_PARAMS = ("model.arch", "data.num_segments", "model.insert_after")  # columns of their own in the leaderboard


@dataclass(frozen=True)
class LeaderRow:
    """One run, ranked within its dataset / class subset / split / stream by the selection metric."""

    dataset: str
    split: int
    stream: str
    group: str  # "all" for runs without a group
    rank: int  # 1 = best
    kind: str  # trial | run | fusion
    arch: str
    T: int
    insertion: str
    params: dict[str, Any]  # the searched params (but arch, T, insertion) as logged, by name
    metric: str  # the selection metric
    value: float  # of the selection metric: percent, or as logged for a loss
    metrics: Metrics  # this run's test metrics (std NaN)
    epochs: Any  # the param optim.epochs, as logged
    run_id: str
    command: str | None
    classes: str = ""  # the class subset ("" for all classes)
    coverage: Coverage = Coverage()


def is_loss(metric: str) -> bool:
    """A loss is reported as logged; every other metric is a fraction, shown in percent."""
    return "loss" in metric


def _no_scores(run_id: str) -> None:
    return None


def leaderboard_rows(
    runs: pd.DataFrame, searched: list[SearchedKey], sel: Selection, scores: ScoresOf = _no_scores
) -> list[LeaderRow]:
    """Every run, best first within each dataset / classes / split / stream (ties: `TIE_ORDER`; NaN last).

    The test metrics carry their intervals where `scores` gives the run's stored scores.
    """
    frame = runs.copy()
    frame["_sel"] = metric_values(frame, sel.metric) * (1 if sel.mode == "max" else -1)
    keys = [s.key for s in searched if s.key not in MODEL_PARAMS]
    scale = 1 if is_loss(sel.metric) else 100
    rows = []
    for _, sub in frame.groupby(["dataset", "classes", "split", "stream"], sort=True):
        sub = sub.sort_values(["_sel", *TIE_ORDER], ascending=[False, True, True], na_position="last")
        for rank, (_, run) in enumerate(sub.iterrows(), start=1):
            rows.append(
                LeaderRow(
                    dataset=run["dataset"],
                    split=run["split"],
                    stream=run["stream"],
                    group=run["group"] or "all",
                    rank=rank,
                    kind=run["kind"],
                    arch=run["arch"],
                    T=run["T"],
                    insertion=run["insertion"],
                    params={k: run.get(f"param:{k}") for k in keys},
                    metric=sel.metric,
                    value=scale * run.get(f"metric:{sel.metric}", math.nan),
                    metrics=metrics_with_intervals(
                        metrics_from({m: [100 * run.get(f"metric:{m}", math.nan)] for m in TEST_METRICS}),
                        outcomes_of([run["run_id"]], scores),
                    ),
                    epochs=run.get("param:optim.epochs"),
                    run_id=run["run_id"],
                    command=run["command"] or None,
                    classes=run["classes"],
                    coverage=run_coverage(run),
                )
            )
    return sorted(rows, key=lambda r: (r.dataset, r.classes, r.split, stream_rank(r.stream), r.rank))


@dataclass(frozen=True)
class FusionRow:
    """A two-stream fusion run: the RGB weight chosen on validation, and the one chosen on test for comparison."""

    dataset: str
    split: int
    group: str  # "all" for runs without a group
    arch: str
    T: int
    insertion: str
    pairing: str  # how the RGB and flow runs were paired
    metric: str  # "top1", or "mAP" for a multi-label dataset
    weight_rgb: float | None  # chosen on val
    val: float  # percent, at weight_rgb
    test: float  # percent, at weight_rgb: the reported number
    test_optimal_weight_rgb: float | None  # chosen on test: only to compare with the paper's
    test_at_test_optimal: float  # percent
    paper_weight_rgb: float | None  # the paper's (chosen on test)
    rgb_run: str
    flow_run: str
    run_id: str
    command: str | None
    test_interval: Stat = Stat()  # `test` with its 95 % interval from the fusion run's stored scores, where stored
    classes: str = ""  # the class subset ("" for all classes)
    coverage: Coverage = Coverage()


def fusion_rows(fusions: pd.DataFrame, scores: ScoresOf = _no_scores) -> list[FusionRow]:
    """The fusion runs by dataset, split, group, T, insertion point (as shown) and run id."""
    rows = []
    for _, run in fusions.iterrows():
        mAP = run.get("metric:test/mAP")
        name = "top1" if mAP is None or (isinstance(mAP, float) and math.isnan(mAP)) else "mAP"
        rows.append(
            FusionRow(
                dataset=run["dataset"],
                split=run["split"],
                group=run["group"] or "all",
                arch=run["arch"],
                T=run["T"],
                insertion=run["insertion"],
                pairing=run["pairing"],
                metric=name,
                weight_rgb=run.get("metric:fusion/weight_rgb"),
                val=100 * run.get(f"metric:val/{name}", math.nan),
                test=100 * run.get(f"metric:test/{name}", math.nan),
                test_interval=metrics_with_intervals(
                    metrics_from({f"test/{name}": [100 * run.get(f"metric:test/{name}", math.nan)]}),
                    outcomes_of([run["run_id"]], scores),
                ).by_name()[f"test/{name}"],
                test_optimal_weight_rgb=run.get("metric:fusion/test_optimal_weight_rgb"),
                test_at_test_optimal=100 * run.get(f"metric:test/{name}_at_test_optimal_weight", math.nan),
                # The paper's weight only where its numbers apply (its dataset, all classes).
                paper_weight_rgb=None
                if why_no_paper(run["dataset"], run["classes"])
                else PAPER_FUSION_WEIGHT_RGB.get(run["dataset"]),
                rgb_run=run["rgb_run"],
                flow_run=run["flow_run"],
                run_id=run["run_id"],
                command=run["command"] or None,
                classes=run["classes"],
                coverage=run_coverage(run),
            )
        )
    # Not by arch: fusion runs have always been listed in this order within a group.
    return sorted(
        rows,
        key=lambda r: (r.dataset, r.classes, r.split, r.group, r.T, shown_insertion(r.arch, r.insertion), r.run_id),
    )
