"""The report's tables, built from an `Experiment` (only what it contains): rows chosen, then labelled.

Each function picks its runs (`selection`), computes typed rows
(`selection`, `ensembles`, `per_class`, `per_run`, `boundary`) and labels
them (`format`) under the table's slug, title and caption. Stream tables
(architectures, T, insertion point) quote the paper's number beside ours and
whether it lies inside our 95 % interval; every test metric with stored
scores carries its interval, every comparison its paired test
(`rlx.eval.uncertainty`, `rlx.report.significance`).
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from rlx.eval.uncertainty import ALPHA, EXACT_BELOW, RESAMPLES, SEED
from rlx.report.boundary import boundary_rows, searched_keys
from rlx.report.comparisons import comparison_rows
from rlx.report.ensembles import ensemble_rows
from rlx.report.format import (
    PAPER_CAPTION,
    TRAINED_ON,
    Table,
    boundary_record,
    comparison_record,
    family_record,
    fusion_record,
    gain_records,
    leader_record,
    make_table,
    refit_record,
)
from rlx.report.load import Experiment
from rlx.report.paper import NO_RLSTM
from rlx.report.paper_columns import paper_hidden_note, result_record, split_record
from rlx.report.per_class import ClassGains, FamilyRow, class_gains, family_rows
from rlx.report.per_run import fusion_rows, leaderboard_rows
from rlx.report.refit import REFITTED, SELECTION_ONLY, has_refits, paper_runs, refit_rows
from rlx.report.rows import ResultRow, arch_rank, stream_rank
from rlx.report.search import SearchedKey
from rlx.report.selection import (
    DEFAULT_INSERT,
    DEFAULT_T,
    MODEL_KEYS,
    SPLIT_DATASETS,
    CellResult,
    Selection,
    cell_results,
    hold,
    hold_defaults,
    selection,
    split_rows,
    with_paper,
)
from rlx.report.significance import cells_with_intervals, split_outcomes, split_row_with_intervals

INTERVALS = (
    f"[low, high]: the 95 % percentile bootstrap interval over test videos ({RESAMPLES} resamples, seed {SEED}); "
    "for several seeds, of the seed-averaged metric (videos resampled jointly for all seeds; `±` is the std "
    "over seeds and is not part of the interval). A row without stored test scores has no interval and says so."
)


def experiment_selection(exp: Experiment) -> Selection:
    """The validation metric and mode that pick the best trial of this experiment."""
    return selection(exp.space, exp.runs.columns)


def paper_frame(exp: Experiment) -> pd.DataFrame:
    """The runs the tables compared with the paper choose among: with refits, the refits of the selected trials."""
    return paper_runs(exp.runs, experiment_selection(exp))


def refit_note(exp: Experiment) -> str:
    """The caption's sentence on the refit protocol (" ..."), or "" for an experiment without refits."""
    if not has_refits(exp.runs):
        return ""
    return (
        f" `{TRAINED_ON}`: `{REFITTED}` rows are the refits on the whole training split of the configurations "
        "selected on the validation hold-out (`refit of` names the selected runs; see `Selection (hold-out) vs "
        f"refit (full split)`); `{SELECTION_ONLY}` rows are groups whose refit has not finished: trained "
        "without the hold-out."
    )


def _model_order(row: ResultRow) -> tuple:
    return row.dataset, row.classes, row.split, stream_rank(row.stream), arch_rank(row.arch)


def arch_table(exp: Experiment) -> tuple[Table, list[CellResult]]:
    """Tables 2 and 4: architecture × stream at the paper's T and insertion point, with the TSN ensembles."""
    cells = cells_with_intervals(cell_results(hold_defaults(paper_frame(exp)), experiment_selection(exp)), exp.scores)
    rows = sorted(
        [c.row for c in cells] + ensemble_rows(cells, exp.scores), key=lambda r: (*_model_order(r), r.T, r.insertion)
    )
    caption = (
        f"Tables 2 and 4 of the paper: architecture × stream, at T = {DEFAULT_T} and the R-LSTM after "
        f"{DEFAULT_INSERT} where the experiment has them. Two-stream rows are fusion runs: the RGB weight was "
        "chosen on the validation hold-out. TSN + R-LSTM / TSN + two-branch: the equal-weight average of the "
        "two models' stored test logits (paired by seed). " + INTERVALS + " " + PAPER_CAPTION
    )
    rows = [with_paper(r, ("Table 2", "Table 4")) for r in rows]
    caption += paper_hidden_note(rows) + refit_note(exp)
    records = [result_record(r) for r in rows]
    return make_table("architectures", "Architectures × streams (Tables 2 and 4)", caption, records), cells


def sweep_table(exp: Experiment, key: Literal["T", "insertion"]) -> tuple[Table, list[ResultRow]] | None:
    """Table 3 (key T) or Table 5 (key insertion): the models the experiment varies that key for."""
    other, preferred = ("insertion", DEFAULT_INSERT) if key == "T" else ("T", DEFAULT_T)
    runs = paper_frame(exp)
    frame = runs if key == "T" else runs[~runs["arch"].isin(NO_RLSTM)]
    frame = hold(frame, MODEL_KEYS, other, preferred) if len(frame) else frame
    varied = [sub for _, sub in frame.groupby(MODEL_KEYS, sort=True) if sub[key].nunique() > 1] if len(frame) else []
    if not varied:
        return None
    cells = cells_with_intervals(cell_results(pd.concat(varied), experiment_selection(exp)), exp.scores)
    if key == "T":
        ordered = sorted((c.row for c in cells), key=lambda r: (*_model_order(r), r.T))
        rows = [with_paper(r, ("Table 3",)) for r in ordered]
        return make_table(
            "segments",
            "Number of segments T (Table 3)",
            f"Test accuracy against T, the R-LSTM after {DEFAULT_INSERT} where present. {INTERVALS} {PAPER_CAPTION}"
            + paper_hidden_note(rows)
            + refit_note(exp),
            [result_record(r) for r in rows],
        ), rows
    ordered = sorted((c.row for c in cells), key=lambda r: (*_model_order(r), r.insertion))
    rows = [with_paper(r, ("Table 5",)) for r in ordered]
    return make_table(
        "insertion",
        "R-LSTM insertion point (Table 5)",
        f"Test accuracy against where the R-LSTM is inserted, at T = {DEFAULT_T} where present. {INTERVALS} "
        + PAPER_CAPTION
        + paper_hidden_note(rows)
        + refit_note(exp),
        [result_record(r) for r in rows],
    ), rows


def splits_table(exp: Experiment) -> Table | None:
    """Tables 6-8: per dataset, the mean over the official splits present (their number shown)."""
    runs = paper_frame(exp)
    frame = runs[runs["dataset"].isin(SPLIT_DATASETS)]
    if not len(frame):
        return None
    cells = cell_results(hold_defaults(frame), experiment_selection(exp))
    rows = [split_row_with_intervals(r, split_outcomes(r, cells, exp.scores)) for r in split_rows(cells)]
    caption = (
        "Tables 6-8 of the paper: the mean over the official splits present (± the std over splits). "
        "The paper's UCF-101 / HMDB-51 numbers are means of all 3 splits: a row from fewer splits says so "
        "in `comparable`. Charades has one split (its validation set); its metric is mAP. [low, high]: the "
        "95 % percentile bootstrap interval of the mean over splits, each split's test videos resampled on "
        f"their own ({RESAMPLES} resamples, seed {SEED} + the split's position); the std over splits is not "
        "part of it. " + PAPER_CAPTION + paper_hidden_note(rows) + refit_note(exp)
    )
    if any(r.paper is not None and r.paper.not_this_model for r in rows):
        caption += (
            " Table 7's TSN is the TSN paper's number (BN-Inception, 3 segments), not a ResNet-101-v2 TSN like "
            "ours: its `paper source` says so."
        )
    return make_table("splits", "Mean over splits (Tables 6-8)", caption, [split_record(r) for r in rows])


def fusion_table(exp: Experiment) -> Table | None:
    if not len(exp.fusions):
        return None
    caption = (
        "Two-stream fusion: w·RGB + (1-w)·flow logits. The reported number uses the weight chosen on the "
        "validation hold-out; the weight chosen on test (and the accuracy at it) is shown only for comparison "
        "with the paper, whose weights (UCF-101 0.45, HMDB-51 0.33) were read off test accuracy. "
        "The test number at the chosen weight carries its 95 % interval (bootstrap over the fused run's "
        "stored test scores)."
    )
    if has_refits(exp.runs):
        caption += (
            " These are the selection stage's fusions (streams trained without the hold-out); the paper tables "
            "use the fusions of the refits at these weights (`Selection (hold-out) vs refit (full split)`)."
        )
    return make_table(
        "fusion",
        "Two-stream fusion weights",
        caption,
        [fusion_record(r) for r in fusion_rows(exp.fusions, exp.scores)],
    )


def experiment_searched_keys(exp: Experiment) -> list[SearchedKey]:
    """The space's `search:` entries; without a space, the params that vary across the trials of a group."""
    return searched_keys(exp.space, exp.results)


def leaderboard_table(exp: Experiment, searched: list[SearchedKey]) -> Table:
    sel = experiment_selection(exp)
    caption = (
        f"Every finished run, ranked within its dataset / split / stream by {sel.metric} ({sel.mode}): the "
        "metric the search optimised (test numbers are never used to choose). Fusion runs rank with the "
        "two-stream rows. Test metrics carry their 95 % interval (bootstrap over the run's test videos) "
        "where the run stored its scores."
    )
    if has_refits(exp.runs):
        caption += " Refits have no validation metric and are not ranked: see `Selection (hold-out) vs refit`."
    return make_table(
        "leaderboard",
        "Leaderboard of all runs",
        caption,
        [leader_record(r) for r in leaderboard_rows(exp.selection_runs, searched, sel, exp.scores)],
    )


def boundary_table(exp: Experiment, searched: list[SearchedKey]) -> Table | None:
    """For each searched hyperparameter and group: is the best trial's value on the edge of the searched range?"""
    trials = exp.results
    if not searched or not len(trials):
        return None
    rows = boundary_rows(trials, searched, experiment_selection(exp))
    if not rows:
        return None
    caption = (
        "Where the best trial of each group (by the search metric) sits in each searched range. "
        "A value on the boundary means the optimum may lie outside the range: widen it before trusting the "
        "comparison. Continuous ranges: within the outer 10 % (log scale for loguniform); value lists: the "
        "lowest or highest value; categorical values have no boundary. "
        + (
            "Ranges from the search space file."
            if exp.space
            else "No search space was found: ranges are the values observed in the trials."
        )
    )
    return make_table(
        "boundary", "Searched hyperparameters: best value on the boundary?", caption, [boundary_record(r) for r in rows]
    )


def gain_table(exp: Experiment, cells: list[CellResult], top: int = 10) -> tuple[Table | None, list[ClassGains]]:
    """Fig. 3: per-class test accuracy gain of one arch over another, the `top` most improved classes."""
    gains = class_gains(cells, exp.scores, top)
    records = [r for g in gains for r in gain_records(g)]
    if not records:
        return None, gains
    caption = (
        f"Figure 3 of the paper: the {top} classes whose test accuracy (top-1 recall, mean over the chosen "
        "runs' seeds) gains most from model A over model B, in the same group (same T and insertion as the "
        "architectures table). Each gain is tested on that class's test videos: McNemar for two single runs, "
        f"else the paired bootstrap; `within noise` at α = {ALPHA:g}. With many classes some gains pass by "
        "chance: no correction for multiple comparisons is made."
    )
    return make_table("class_gain", "Most improved classes (Figure 3)", caption, records), gains


def family_table(exp: Experiment, cells: list[CellResult]) -> tuple[Table | None, list[FamilyRow]]:
    """Synthetic benchmark: test accuracy per class family (appearance / order / interaction) per arch."""
    rows = family_rows(cells, exp.scores)
    if not rows:
        return None, rows
    caption = (
        "The synthetic benchmark's class families: appearance (one frame suffices), order (pairs of classes "
        "that are exact time reversals: an order-invariant model is at chance within a pair) and interaction "
        "(the relation of two objects). Test accuracy over the videos of each family, mean ± std over seeds. "
        + INTERVALS
    )
    return make_table(
        "families", "Accuracy per class family (synthetic benchmark)", caption, [family_record(r) for r in rows]
    ), rows


def comparison_table(exp: Experiment, cells: list[CellResult]) -> Table | None:
    """Every comparison of the architectures table's rows, a paired test on the same test videos."""
    rows = comparison_rows(cells, ensemble_rows(cells, exp.scores), exp.scores)
    if not rows:
        return None
    caption = (
        "Paired comparisons on the same test videos, for the rows of the architectures table: the "
        "architectures against each other, each TSN ensemble against its two models, and each two-stream "
        "row against the same arch's single streams. A - B in percentage points with its 95 % paired "
        f"bootstrap interval ({RESAMPLES} resamples of the videos, seed {SEED}); p: McNemar's test for "
        f"top-1 of two single runs (exact binomial below {EXACT_BELOW} discordant videos, else chi-square "
        "with continuity correction), the paired bootstrap otherwise (mean class accuracy, mAP, means over "
        f"seeds). A difference with p ≥ {ALPHA:g} is `within noise`. Only rows with stored test scores "
        "are compared."
    )
    return make_table("comparisons", "Paired comparisons (significance)", caption, [comparison_record(r) for r in rows])


def refit_table(exp: Experiment) -> Table | None:
    """Selection vs refit: each group's run chosen on validation (hold-out numbers) beside its refit's numbers."""
    sel = experiment_selection(exp)
    rows = refit_rows(exp.runs, sel, exp.scores)
    if not rows:
        return None
    caption = (
        "The refit protocol (`refit: true` in the search space): each group's trials were trained on the "
        "official training split less the validation hold-out, and the best by "
        f"{sel.metric} ({sel.mode}) was chosen — `selection run`, with its validation value and its test numbers "
        "as trained without the hold-out; that configuration was then trained again on the whole training "
        "split — `refit run` (its tag `rlx.refit_of` names the selection run: the report chooses nothing "
        "again). Two-stream rows: the selection stage's fusion and the fusion of the two refits at the RGB "
        f"weight chosen on validation. The paper tables use the refit; a group whose refit has not finished "
        f"(`{SELECTION_ONLY}`) shows its best selection run and stands in the paper tables with its "
        "selection runs. Test numbers carry their 95 % interval (bootstrap over the run's test videos) where "
        "the run stored its scores; `refit - selection` is not a paired test."
    )
    return make_table("refit", "Selection (hold-out) vs refit (full split)", caption, [refit_record(r) for r in rows])
