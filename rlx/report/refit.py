"""The refit protocol in the report (`rlx.tune.refit`): which runs stand in the paper's cells, and what was chosen.

A search with `refit: true` runs in two stages. Selection: every group's
trials train without the validation hold-out (`data.val_fraction`), the best
trial of each group is chosen on validation, each RGB × flow pair's weight on
validation scores (`fusion` runs). Refit: each group's selected trial trains
again on the whole training split (`refit` runs, tag `rlx.refit_of` = the
selected trial) and each pair's refits are fused at the stage-1 weight
(`fusion_refit` runs).

The tables compared with the paper (`paper_runs`) take, for each group with a
refit, its refit in place of the group's selection runs: the final numbers,
trained on the whole split. Which run that is comes from the tags, never from
a new choice, and never from test: a refit ranks within its cell by its
selected trial's validation metric (it has none of its own; copied into this
frame only). A group with no finished refit yet keeps its selection runs,
marked SELECTION_ONLY. `refit_rows` puts each group's selection run (its
hold-out numbers) beside its refit; `protocol_text` is the report's header
line saying which protocol the numbers come from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from rlx.eval.scores import ScoresOf
from rlx.report.coverage import Coverage, run_coverage
from rlx.report.load import REFIT_KINDS, SELECTION_KINDS
from rlx.report.per_run import is_loss
from rlx.report.rows import TEST_METRICS, Metrics, arch_rank, metrics_from, stream_rank
from rlx.report.selection import PROTOCOL, SELECTION_TRIALS, TIE_ORDER, Selection, metric_values
from rlx.report.significance import metrics_with_intervals, outcomes_of

REFITTED = "refit (full split)"  # a row from a refit on the whole training split
SELECTION_ONLY = "selection (no refit)"  # a group of a refit search whose refit has not finished
SINGLE_RUN = "single run"  # an `rlx.train` run: no selection, no refit
SELECTED_FROM = {"refit": "trial", "fusion_refit": "fusion"}  # the kind of run each refit kind is chosen among


def has_refits(runs: pd.DataFrame) -> bool:
    return bool(runs["kind"].isin(REFIT_KINDS).any())


def refit_sources(runs: pd.DataFrame) -> pd.Series:
    """Per run: the selection run it is the refit of ("" for selection runs, and where unknown).

    A refit names its trial (`rlx.refit_of`); a fusion refit's is the selection fusion of the two trials its
    refits are of (the stage-1 fusion whose `rlx.fusion.rgb_run` / `flow_run` they are).
    """
    tagged = runs["refit_of"].fillna("") if "refit_of" in runs else pd.Series("", index=runs.index)
    trial_of = dict(zip(runs["run_id"], tagged, strict=True))
    stage1 = runs[runs["kind"] == "fusion"]
    fusion_of = dict(zip(zip(stage1["rgb_run"], stage1["flow_run"], strict=True), stage1["run_id"], strict=True))
    out = tagged.where(runs["kind"] == "refit", "")
    for i, row in runs[runs["kind"] == "fusion_refit"].iterrows():
        out[i] = fusion_of.get((trial_of.get(row["rgb_run"], ""), trial_of.get(row["flow_run"], "")), "")
    return out


def paper_runs(runs: pd.DataFrame, sel: Selection) -> pd.DataFrame:
    """The runs the tables compared with the paper choose among: refits in place of their groups' selection runs.

    Without refits: the selection runs as they are (no protocol columns). With refits: every run gets
    `protocol` (REFITTED, SELECTION_ONLY or SINGLE_RUN), `refit_of` (the selection run a refit is of) and
    `selection_trials` (the selection runs it stands for: a cell's `trials` count them).
    """
    if not has_refits(runs):
        return runs[runs["kind"].isin(SELECTION_KINDS)]
    runs = runs.assign(refit_of=refit_sources(runs))
    by_id = dict(zip(runs["run_id"], metric_values(runs, sel.metric), strict=True))
    parts, replaced = [], set()
    for kind, selected_kind in SELECTED_FROM.items():
        refits = runs[runs["kind"] == kind].sort_values("run_id")
        selection = runs[(runs["kind"] == selected_kind) & runs["group"].isin(set(refits["group"]))]
        replaced |= set(selection.index)
        counts = selection["group"].value_counts()
        first = ~refits["group"].duplicated()  # a group refit twice: its selection runs are counted once
        stands_for = [int(counts.get(g, 0)) if f else 0 for g, f in zip(refits["group"], first, strict=True)]
        refits = refits.assign(**{PROTOCOL: REFITTED, SELECTION_TRIALS: stands_for})
        if not sel.metric.startswith("test/"):  # never overwrite a test number: that metric is shown
            refits[f"metric:{sel.metric}"] = [by_id.get(r, math.nan) for r in refits["refit_of"]]
        parts.append(refits)
    kept = runs[runs["kind"].isin(SELECTION_KINDS) & ~runs.index.isin(replaced)]
    kept = kept.assign(
        **{PROTOCOL: [SINGLE_RUN if k == "run" else SELECTION_ONLY for k in kept["kind"]], SELECTION_TRIALS: 1}
    )
    out = pd.concat([kept, *parts])
    return out.sort_values(["kind", "run_id"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class RefitRow:
    """One group of a refit search: the run chosen on validation (hold-out numbers) beside its refit."""

    dataset: str
    classes: str
    split: int
    stream: str
    group: str  # "all" for a search without groups
    arch: str
    T: int
    insertion: str
    status: str  # REFITTED | SELECTION_ONLY
    metric: str  # the selection metric
    selection_value: float  # of the selection run: percent (as logged for a loss)
    selection: Metrics  # the selection run's test metrics: trained without the hold-out
    refit: Metrics  # the refit's: trained on the whole training split (NaN without a refit)
    weight_rgb: float | None  # two-stream: the RGB weight chosen on validation in the selection stage
    trials: int  # the group's selection runs
    selection_run: str
    refit_run: str | None
    command: str | None  # the refit's command (the selection run's without a refit)
    coverage: Coverage = Coverage()  # of the row's reported run (the refit where there is one)

    @property
    def main_metric(self) -> str:
        """test/top1, or test/mAP for a multi-label dataset."""
        return "test/mAP" if math.isnan(self.selection.top1.mean) and math.isnan(self.refit.top1.mean) else "test/top1"

    @property
    def change(self) -> float:
        """Refit - selection on the main metric, in percentage points (NaN without a refit)."""
        return self.refit.by_name()[self.main_metric].mean - self.selection.by_name()[self.main_metric].mean


def _test_metrics(run: pd.Series | None, scores: ScoresOf) -> Metrics:
    if run is None:
        return Metrics()
    values = metrics_from({m: [100 * run.get(f"metric:{m}", math.nan)] for m in TEST_METRICS})
    return metrics_with_intervals(values, outcomes_of([run["run_id"]], scores))


def _best(runs: pd.DataFrame, sel: Selection) -> pd.Series:
    """The group's best run by the selection metric (ties: `TIE_ORDER`), as the search chooses a trial."""
    ranked = runs.assign(_v=metric_values(runs, sel.metric) * (1 if sel.mode == "max" else -1))
    return ranked.sort_values(["_v", *TIE_ORDER], ascending=[False, True, True], na_position="last").iloc[0]


def refit_rows(runs: pd.DataFrame, sel: Selection, scores: ScoresOf) -> list[RefitRow]:
    """Per group of the selection stage (trials, fusions): its refit(s) with the selection run each is of.

    A group without a refit: its best run by the selection metric, as the search chose it (status SELECTION_ONLY).
    """
    if not has_refits(runs):
        return []
    runs = runs.assign(refit_of=refit_sources(runs))
    by_id = {r["run_id"]: r for _, r in runs.iterrows()}
    scale, value = (1 if is_loss(sel.metric) else 100), f"metric:{sel.metric}"
    rows = []
    for kind, selected_kind in SELECTED_FROM.items():
        refits, selection = runs[runs["kind"] == kind], runs[runs["kind"] == selected_kind]
        for group, members in selection.groupby("group", sort=True):
            found = refits[refits["group"] == group].sort_values("run_id")
            pairs = [(by_id.get(r["refit_of"]), r) for _, r in found.iterrows()] or [(_best(members, sel), None)]
            for chosen, refit in pairs:
                shown = refit if refit is not None else chosen
                rows.append(
                    RefitRow(
                        dataset=shown["dataset"],
                        classes=shown["classes"],
                        split=shown["split"],
                        stream=shown["stream"],
                        group=group or "all",
                        arch=shown["arch"],
                        T=shown["T"],
                        insertion=shown["insertion"],
                        status=REFITTED if refit is not None else SELECTION_ONLY,
                        metric=sel.metric,
                        selection_value=math.nan if chosen is None else scale * chosen.get(value, math.nan),
                        selection=_test_metrics(chosen, scores),
                        refit=_test_metrics(refit, scores),
                        weight_rgb=shown.get("metric:fusion/weight_rgb") if kind == "fusion_refit" else None,
                        trials=len(members),
                        selection_run="" if chosen is None else chosen["run_id"],
                        refit_run=None if refit is None else refit["run_id"],
                        command=shown["command"] or None,
                        coverage=run_coverage(shown),
                    )
                )
    return sorted(
        rows,
        key=lambda r: (r.dataset, r.classes, r.split, stream_rank(r.stream), arch_rank(r.arch), r.T, r.group),
    )


def _fractions(runs: pd.DataFrame) -> list[float | None]:
    """The distinct logged `data.val_fraction` of the runs (None: not logged), sorted with None last."""
    col = runs["param:data.val_fraction"] if "param:data.val_fraction" in runs else pd.Series(None, index=runs.index)
    values = {None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in col}
    return sorted(values, key=lambda v: (v is None, v or 0.0))


def _percent(fractions: list[float | None]) -> str:
    return " / ".join("not logged" if f is None else f"{100 * f:g} %" for f in fractions)


def protocol_text(runs: pd.DataFrame, sel: Selection) -> str:
    """The header line: which protocol the numbers compared with the paper come from."""
    chosen_on_test = sel.metric.startswith("test/")
    trained = runs[runs["kind"].isin(("trial", "run"))]
    held = [f for f in _fractions(trained) if f != 0.0]
    if has_refits(runs):
        text = (
            "Numbers compared with the paper: refits on the whole official training split (`data.val_fraction` "
            f"= 0) of the configurations selected on the validation hold-out ({_percent(held) or 'none'} of the "
            f"training split, by {sel.metric}); two-stream rows fuse the refits at the RGB weight chosen on "
            "validation in the selection stage. The selection runs, trained without the hold-out, are in "
            "`Selection (hold-out) vs refit (full split)`; nothing is chosen on test."
        )
        missing = [r for r in refit_rows(runs, sel, lambda run_id: None) if r.status == SELECTION_ONLY]
        if missing:
            groups = runs[runs["kind"].isin(SELECTED_FROM.values())].groupby(["kind", "group"]).ngroups
            text += (
                f" {len(missing)} of {groups} groups have no finished refit: their rows are the selection runs, "
                f"marked `{SELECTION_ONLY}` in `trained on`."
            )
        return text
    fractions = _fractions(trained)
    if fractions and all(f == 0.0 for f in fractions):
        text = (
            "Numbers compared with the paper: trained on the whole official training split (no validation "
            f"hold-out, `data.val_fraction` = 0); each cell's configuration chosen by {sel.metric}."
        )
    else:
        text = (
            "Numbers compared with the paper: the configurations selected on the validation hold-out "
            f"(by {sel.metric}), as trained without it: on the official training split less the hold-out "
            f"(`data.val_fraction` {_percent(fractions) or 'not logged'}), where the paper trains on the whole "
            "split; two-stream weight chosen on validation. No refit on the whole split (`refit: true` in the "
            "search space adds one)."
        )
    if chosen_on_test:
        text += (
            f" No validation metric was logged: each cell's configuration is chosen on test ({sel.metric}), "
            "so where a cell has several configurations its number is optimistic."
        )
    return text
