"""Which runs form a row: the selection metric, the best configuration of a cell, means over seeds and splits.

A cell is the runs of one dataset / class subset / split / stream / arch /
T / insertion point (a class subset is another task: never mixed with the
dataset's runs on all classes). Its runs are grouped by configuration (every param but
`train.seed`); the configuration with the best mean validation metric (the
search's metric and mode) is chosen — nuisance hyperparameters are
optimised over, never averaged — and its runs (seeds) give mean ± std.
`trials` counts every run in the cell, `seeds` the runs behind the number.
Where a table does not vary T or the insertion point, the paper's defaults
are held when the experiment has them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import pandas as pd

from rlx.report.coverage import over_splits, runs_coverage
from rlx.report.paper import paper_value, why_no_paper
from rlx.report.rows import TEST_METRICS, ResultRow, SplitRow, arch_rank, metrics_from, shown_insertion, stream_rank
from rlx.report.search import SearchSpaceInfo

DEFAULT_T, DEFAULT_INSERT = 8, "conv5_2"  # the paper's, where a table does not vary them
TIE_ORDER = ["name", "run_id"]  # runs of equal metrics: the earlier trial first, as rlx.tune.best.tie_order
# The columns of Experiment.runs a cell shares ("classes": "" for all classes, else the logged subset).
CELL_KEYS = ["dataset", "classes", "split", "stream", "arch", "T", "insertion"]
MODEL_KEYS = ["dataset", "classes", "split", "stream", "arch"]  # a model: the cells a sweep varies T or insertion in
SPLIT_DATASETS = ("ucf101", "hmdb51", "charades")  # the datasets with official splits (the paper's Tables 6-8)
# Columns `rlx.report.refit.paper_runs` adds in a search with refits: how a run was trained (its row's
# `trained on`) and how many selection runs it stands for (a refit: its group's).
PROTOCOL, SELECTION_TRIALS = "protocol", "selection_trials"


@dataclass(frozen=True)
class Selection:
    """The validation metric (MLflow name) that picks the best trial, and whether higher is better."""

    metric: str
    mode: str  # max | min


def selection(space: SearchSpaceInfo | None, columns: pd.Index) -> Selection:
    """The search's metric and mode, else val/top1 or val/mAP (whichever the runs have), else test/top1."""
    if space and f"metric:{space.metric}" in columns:
        return Selection(space.metric, space.mode)
    for metric in ("val/top1", "val/mAP"):
        if f"metric:{metric}" in columns:
            return Selection(metric, "min" if metric.endswith("loss") else "max")
    return Selection("test/top1", "max")


def metric_values(frame: pd.DataFrame, metric: str) -> pd.Series:
    """The runs' last logged value of `metric` (NaN for runs without it)."""
    col = f"metric:{metric}"
    return frame[col].astype(float) if col in frame else pd.Series(math.nan, index=frame.index)


def config_keys(frame: pd.DataFrame) -> list[str]:
    """The param columns that make a configuration: every param but the seed."""
    return sorted(c for c in frame.columns if c.startswith("param:") and c != "param:train.seed")


def config_ids(frame: pd.DataFrame) -> pd.Series:
    """One string per run that is equal for runs of the same configuration."""
    keys = config_keys(frame)
    if not keys:
        return pd.Series("", index=frame.index)
    return frame[keys].fillna("").astype(str).apply(lambda r: json.dumps(list(r), separators=(",", ":")), axis=1)


def choose(cell: pd.DataFrame, sel: Selection) -> pd.DataFrame:
    """The runs (seeds, by seed then run id) of the cell's configuration with the best mean validation metric."""
    ids = config_ids(cell)
    sign = 1.0 if sel.mode == "max" else -1.0

    def rank(cid: str) -> tuple[float, tuple[str, ...]]:  # ties go to the earlier trial, as in the leaderboard
        score = sign * metric_values(cell[ids == cid], sel.metric).mean()
        return (math.inf if math.isnan(score) else -score, min(cell[ids == cid][TIE_ORDER].itertuples(index=False)))

    best = min(set(ids), key=rank)
    return cell[ids == best].sort_values(["seed", "run_id"])


def varying(cell: pd.DataFrame, chosen: pd.DataFrame) -> str:
    """ "key=value, ...": the chosen configuration's values of the params that vary within the cell."""
    parts = []
    for key in config_keys(cell):
        if cell[key].fillna("").nunique() > 1:
            parts.append(f"{key.removeprefix('param:')}={chosen[key].iloc[0]}")
    return ", ".join(parts)


def commands(frame: pd.DataFrame) -> str | None:
    """The distinct commands behind the runs, " ; "-joined (None for runs that recorded none)."""
    return " ; ".join(sorted(set(frame["command"]) - {""})) or None


def hold(frame: pd.DataFrame, by: list[str], key: str, preferred: object) -> pd.DataFrame:
    """Within each subset of `by`, keep the rows at `preferred` for `key` when that value is present."""
    parts = []
    for _, sub in frame.groupby(by, sort=True):
        parts.append(sub[sub[key] == preferred] if (sub[key] == preferred).any() else sub)
    return pd.concat(parts) if parts else frame


def hold_defaults(frame: pd.DataFrame) -> pd.DataFrame:
    """Each model at the paper's T and insertion point where it has runs there (all its runs otherwise)."""
    return hold(hold(frame, MODEL_KEYS, "T", DEFAULT_T), MODEL_KEYS, "insertion", DEFAULT_INSERT)


@dataclass(frozen=True)
class CellResult:
    """A cell's row and the runs of its chosen configuration (for what is computed from their scores)."""

    row: ResultRow
    chosen: pd.DataFrame = field(repr=False, compare=False)


def cell_results(frame: pd.DataFrame, sel: Selection) -> list[CellResult]:
    """One result per cell (sorted by CELL_KEYS): the chosen configuration's mean ± std, trials, runs, command."""
    out = []
    for (dataset, classes, split, stream, arch, segments, insertion), cell in frame.groupby(CELL_KEYS, sort=True):
        chosen = choose(cell, sel)
        refit = PROTOCOL in chosen  # a search with refits (rlx.report.refit.paper_runs)
        weights = None
        if stream == "two-stream":
            weights = tuple(float(w) for w in metric_values(chosen, "fusion/weight_rgb").dropna())
        row = ResultRow(
            dataset=dataset,
            split=split,
            stream=stream,
            arch=arch,
            T=segments,
            insertion=insertion,
            metrics=metrics_from({m: 100 * metric_values(chosen, m) for m in TEST_METRICS}),
            trials=int(cell[SELECTION_TRIALS].sum()) if refit else len(cell),
            seeds=len(chosen),
            chosen=varying(cell, chosen) or None,
            run_ids=tuple(chosen["run_id"]),
            command=commands(chosen),
            rgb_weights=weights,
            classes=classes,
            coverage=runs_coverage(r for _, r in chosen.iterrows()),
            protocol="; ".join(sorted(set(chosen[PROTOCOL]))) if refit else None,
            refit_of=tuple(r for r in chosen["refit_of"] if r) if refit else (),
        )
        out.append(CellResult(row, chosen))
    return out


def with_paper(row: ResultRow, prefer: tuple[str, ...]) -> ResultRow:
    """The row with the paper's number for it (mAP rows: the paper's mAP); `prefer`: the tables to quote first.

    A row of another dataset or of a class subset gets none, and says why (`paper_hidden`).
    """
    hidden = why_no_paper(row.dataset, row.classes)
    if hidden:
        return replace(row, paper=None, paper_hidden=hidden)
    metric = "accuracy" if math.isnan(row.metrics.mAP.mean) else "mAP"
    found = paper_value(row.dataset, row.split, row.stream, row.arch, row.T, row.insertion, metric, prefer)
    return replace(row, paper=found)


def joined_protocol(protocols: Iterable[str | None]) -> str | None:
    """The distinct protocols of rows put together (splits, an ensemble's models), "; "-joined; None: no refits."""
    parts = sorted({p for text in protocols if text for p in text.split("; ")})
    return "; ".join(parts) or None


def split_rows(cells: list[CellResult]) -> list[SplitRow]:
    """Per dataset / stream / arch / T / insertion: the mean over the splits present of the cells' means.

    The std is over splits. Charades has one split (its validation set) and mAP; the others three, top-1.
    """
    grouped: dict[tuple, list[CellResult]] = {}
    for c in cells:
        key = (c.row.dataset, c.row.classes, c.row.stream, c.row.arch, c.row.T, c.row.insertion)
        grouped.setdefault(key, []).append(c)
    rows = []
    for (dataset, classes, stream, arch, segments, insertion), group in grouped.items():
        by_split = sorted(group, key=lambda c: c.row.split)
        charades = dataset == "charades"
        hidden = why_no_paper(dataset, classes)
        found = None
        if not hidden:
            metric = "mAP" if charades else "accuracy"
            found = paper_value(dataset, 1 if charades else None, stream, arch, segments, insertion, metric)
        rows.append(
            SplitRow(
                dataset=dataset,
                stream=stream,
                arch=arch,
                T=segments,
                insertion=insertion,
                splits=tuple(c.row.split for c in by_split),
                expected_splits=1 if charades else 3,
                metrics=metrics_from({m: [c.row.metrics.by_name()[m].mean for c in group] for m in TEST_METRICS}),
                trials=sum(c.row.trials for c in group),
                run_ids=tuple(r for c in by_split for r in c.row.run_ids),
                command=commands(pd.concat([c.chosen for c in group])),
                paper=found,
                classes=classes,
                coverage=over_splits(c.row.coverage for c in by_split),
                paper_hidden=hidden,
                protocol=joined_protocol(c.row.protocol for c in by_split),
            )
        )
    # Rows of an arch without R-LSTM tie on the insertion point: it is not shown (kept in first-seen order).
    return sorted(
        rows,
        key=lambda r: (
            r.dataset,
            r.classes,
            stream_rank(r.stream),
            arch_rank(r.arch),
            r.T,
            shown_insertion(r.arch, r.insertion),
        ),
    )
