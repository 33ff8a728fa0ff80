"""rlx.report.tables on an `Experiment` built in memory (no MLflow): which runs each table holds, and its numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_runs import RLSTM_SCORES, TSN_SCORES, frame, refit_search, run, scores

from rlx.report import tables
from rlx.report.build import Report, Section, coverage_line
from rlx.report.format import PAPER_LABEL, REFIT_OF, TRAINED_ON
from rlx.report.html import render_html, render_markdown
from rlx.report.load import Experiment
from rlx.report.search import SearchedKey, SearchSpaceInfo
from rlx.report.significance import NO_SCORES


def experiment(*runs: dict, stored: dict | None = None, space: SearchSpaceInfo | None = None) -> Experiment:
    exp = Experiment("x", "", frame(*runs), [], 0, Path("."))
    exp.space = space  # instead of the search run's artifact
    exp.scores = lambda run_id, subset="test": (stored or {}).get(run_id)  # instead of MLflow artifacts
    return exp


def ablation() -> Experiment:
    runs = [
        run("tsn0", {"val/top1": 0.7, "test/top1": 0.80}, arch="tsn", seed=0),
        run("tsn1", {"val/top1": 0.7, "test/top1": 0.84}, arch="tsn", seed=1),
        run("tb0", {"val/top1": 0.9, "test/top1": 0.90}, {"model.dropout": 0.88}, seed=0),
        run("tb1", {"val/top1": 0.8, "test/top1": 0.86}, {"model.dropout": 0.88}, seed=1),
        run("tbw", {"val/top1": 0.5, "test/top1": 0.99}, {"model.dropout": 0.6}),
        run("tb6", {"val/top1": 0.6, "test/top1": 0.75}, {"model.dropout": 0.88}, T=6),
        run("fu", {"val/top1": 0.9, "test/top1": 0.93, "fusion/weight_rgb": 0.45}, stream="two-stream", kind="fusion"),
    ]
    stored = {
        "tsn0": scores(TSN_SCORES),
        "tsn1": scores(TSN_SCORES),
        "tb0": scores(RLSTM_SCORES),
        "tb1": scores(RLSTM_SCORES),
    }
    return experiment(*runs, stored=stored)


def test_architectures_at_the_default_t_with_the_tsn_ensemble():
    table, cells = tables.arch_table(ablation())
    f = table.frame
    assert list(f["arch"]) == ["TSN", "two-branch", "TSN + two-branch", "two-branch"]
    assert list(f["stream"]) == ["spatial"] * 3 + ["two-stream"] and set(f["T"]) == {8}  # T = 6 is held out
    assert list(f["test top-1 over videos (%)"]) == pytest.approx([82.0, 88.0, 87.5, 93.0])
    assert list(f[PAPER_LABEL["accuracy"]].fillna(0)) == [87.0, 88.7, 0, 94.4]  # the paper has no TSN + two-branch
    assert list(f["RGB weight"].fillna("")) == ["", "", "", "0.45 (chosen on val)"]
    assert list(f["trials"]) == [2, 3, 5, 1] and list(f["seeds"]) == [2, 2, 2, 1]
    assert list(f.columns[:15]) == [
        "dataset",
        "split",
        "stream",
        "arch",
        "T",
        "insertion",
        "test top-1 over videos (%)",
        "test top-1 over videos (%) ±",
        "test top-1 over videos (%) CI low",
        "test top-1 over videos (%) CI high",
        "test mean class acc (%)",  # only the ensemble has it (computed from its logits)
        "test mean class acc (%) ±",
        "test mean class acc (%) CI low",
        "test mean class acc (%) CI high",
        PAPER_LABEL["accuracy"],
    ]
    assert "test mAP (%)" not in f  # no run has it
    assert [c.row.arch for c in cells] == ["tsn", "two_branch", "two_branch"]


def test_sweep_tables_only_where_the_key_varies():
    exp = ablation()
    seg, rows = tables.sweep_table(exp, "T")
    assert list(seg.frame["T"]) == [6, 8] and list(seg.frame[PAPER_LABEL["accuracy"]]) == [87.2, 88.7]  # Table 3
    assert [r.T for r in rows] == [6, 8]
    assert tables.sweep_table(exp, "insertion") is None
    tsn_only = experiment(
        run("a", {"val/top1": 0.5}, arch="tsn", insertion="conv5_1"), run("b", {"val/top1": 0.5}, arch="tsn")
    )
    assert tables.sweep_table(tsn_only, "insertion") is None  # TSN has no insertion point to vary


def test_splits_leaderboard_and_boundary():
    exp = ablation()
    splits = tables.splits_table(exp).frame
    assert list(splits["dataset"]) == ["UCF-101"] * 3 and list(splits["comparable"].str[:3]) == ["no:"] * 3
    assert list(splits["95 % CI"].str[:9]) == ["bootstrap", "bootstrap", "no interv"]  # the fusion run: no scores
    assert tables.splits_table(experiment(run("s", {"val/top1": 0.5}, dataset="synthetic"))) is None
    board = tables.leaderboard_table(exp, [])
    assert list(board.frame["run"]) == ["tb0", "tb1", "tsn0", "tsn1", "tb6", "tbw", "fu"]
    assert list(board.frame["rank"]) == [1, 2, 3, 4, 5, 6, 1]
    assert "by val/top1 (max)" in board.caption
    searched = [SearchedKey("model.dropout", "uniform", (0.5, 0.9), "nuisance")]
    boundary = tables.boundary_table(exp, searched)
    assert list(boundary.frame["on boundary"]) == ["yes: high edge"]  # 0.88 of [0.5, 0.9]
    assert boundary.caption.endswith("ranges are the values observed in the trials.")  # no space
    assert tables.boundary_table(exp, []) is None


def test_gains_and_families_need_stored_scores():
    exp = ablation()
    _, cells = tables.arch_table(exp)
    table, gains = tables.gain_table(exp, cells)
    assert list(table.frame["class"]) == ["Biking", "Archery", "Basketball", "ApplyEyeMakeup"]
    assert list(table.frame["gain (points)"]) == pytest.approx([100.0, 0.0, 0.0, -100.0])
    assert len(gains) == 1
    assert tables.gain_table(experiment(*exp.runs.to_dict("records")), cells) == (None, [])
    assert tables.family_table(exp, cells) == (None, [])  # no synthetic runs


def test_arch_rows_carry_intervals_or_say_they_have_none():
    table, cells = tables.arch_table(ablation())
    f = table.frame.set_index("arch")
    tsn = f.loc["TSN"]  # two seeds with the same scores: right on 6 of 8 videos
    assert tsn["test top-1 over videos (%) CI low"] <= 75.0 <= tsn["test top-1 over videos (%) CI high"]
    assert tsn["95 % CI"] == "bootstrap over 8 test videos (mean of 2 runs)"
    assert list(table.frame["95 % CI"])[-1] == NO_SCORES  # the fusion run stored no scores
    assert list(table.frame["paper inside our top-1 CI"].fillna("")) == [
        "yes",
        "yes",
        "",
        "no interval",
    ]  # 8 videos: wide
    assert "2000 resamples, seed 0" in table.caption
    assert all(c.row.interval for c in cells)


def test_comparison_table_tests_every_comparison_with_scores():
    exp = ablation()
    _, cells = tables.arch_table(exp)
    table = tables.comparison_table(exp, cells)
    f = table.frame
    assert list(zip(f["comparison"], f["model A"], f["model B"], f["metric"], strict=True))[:2] == [
        ("architectures", "two-branch (spatial)", "TSN (spatial)", "test top-1 over videos (%)"),
        ("architectures", "two-branch (spatial)", "TSN (spatial)", "test mean class acc (%)"),
    ]
    assert set(f["comparison"]) == {"architectures", "ensemble vs its model"}  # the fusion run has no scores
    assert list(f["test"])[0] == "paired bootstrap"  # two seeds each: seed means
    assert "McNemar" in table.caption and "within noise" in table.caption
    assert tables.comparison_table(experiment(run("s", {"val/top1": 0.5})), []) is None


def with_counts(exp: Experiment, counts: dict[str, tuple[int, int]]) -> Experiment:
    """The runs with `test/videos` and `data/excluded/test` logged (by run id); the others as old runs."""
    for run_id, (videos, excluded) in counts.items():
        at = exp.runs["run_id"] == run_id
        exp.runs.loc[at, "metric:test/videos"] = videos
        exp.runs.loc[at, "metric:data/excluded/test"] = excluded
    return exp


def test_incomplete_test_sets_are_marked_in_every_table_and_counted_in_the_header():
    counts = {"tsn0": (8, 2), "tsn1": (8, 2), "tb0": (8, 0), "tb1": (8, 0), "tbw": (8, 0), "tb6": (8, 0)}
    exp = with_counts(ablation(), counts)  # the fusion run "fu" logged no counts
    arch, cells = tables.arch_table(exp)
    shown = arch.display()
    assert list(shown["dataset"]) == ["ucf101 †1", "ucf101", "ucf101 †1", "ucf101"]  # TSN, and its ensemble
    assert arch.footnotes == [
        "incomplete test set: 8 of 10 test videos (2 left out: missing, corrupt, too short or failed to decode); "
        "the test metrics are over the videos covered"
    ]
    assert list(arch.frame["test set"]) == ["incomplete", "complete", "incomplete", "unknown"]
    board = tables.leaderboard_table(exp, [])
    marked = [run_id for run_id, d in zip(board.frame["run"], board.display()["dataset"], strict=True) if "†" in d]
    assert marked == ["tsn0", "tsn1"]
    comparisons = tables.comparison_table(exp, cells).frame
    with_tsn = comparisons["model A"].str.startswith("TSN") | comparisons["model B"].str.startswith("TSN")
    assert list(comparisons["test set"] == "incomplete") == list(with_tsn)  # TSN or its ensemble on a side
    gains, _ = tables.gain_table(exp, cells)
    assert set(gains.frame["test set"]) == {"incomplete"}  # two-branch over TSN: TSN's videos are missing
    splits = tables.splits_table(exp)
    assert list(splits.frame["test set"]) == ["incomplete", "complete", "unknown"]
    sections = [Section(t.title, t.caption, t) for t in (arch, board, splits)]
    line = coverage_line(exp, sections)
    assert line.startswith("Test sets: 5 of 14 table rows have an incomplete test set")
    assert "2 of 7 runs left test videos out" in line and "Unknown for 3 table rows: 1 of 7 runs did not log" in line
    report = Report("Report: x", [line], sections)
    md, page = render_markdown(report), render_html(report, Path("."))
    assert "| ucf101 †1 | 1 | spatial | TSN |" in md and f"†1 {arch.footnotes[0]}" in md
    assert f'<p class="note">†1 {arch.footnotes[0]}</p>' in page and "Test sets: 5 of 14" in page


def test_paper_columns_say_what_the_paper_states_and_hide_where_it_has_no_number():
    exp = ablation()
    arch, _ = tables.arch_table(exp)
    assert 'report "accuracy" without saying whether it is top-1 over videos or mean class' in arch.caption
    assert "No paper numbers" not in arch.caption
    subset = "['Archery', 'Biking']"
    other = experiment(
        run("s", {"val/top1": 0.5, "test/top1": 0.9}, classes=subset),
        run("c", {"val/top1": 0.5, "test/top1": 0.9}, dataset="custom"),
    )
    hidden, _ = tables.arch_table(other)
    assert not any(label in hidden.frame for label in PAPER_LABEL.values())  # no row shows a paper number
    assert list(hidden.frame["classes"].fillna("")) == ["", subset]
    assert hidden.caption.endswith(
        " No paper numbers: custom is not one of the paper's datasets (ucf101, hmdb51, charades)."
        f" No paper numbers: ucf101 on a class subset ({subset}): the paper's numbers are on all classes."
    )
    fused = experiment(run("f", {"val/top1": 0.9, "test/top1": 0.95}, arch="tsn", stream="two-stream", kind="fusion"))
    splits = tables.splits_table(fused).frame.iloc[0]
    assert (splits[PAPER_LABEL["accuracy"]], splits["paper inside our top-1 CI"]) == (94.0, "no interval")
    assert splits["paper source"].startswith("Table 7 (the TSN paper's number ([5]: BN-Inception, 3 segments)")
    assert "Table 7's TSN is the TSN paper's number" in tables.splits_table(fused).caption
    assert "Table 7's TSN" not in tables.splits_table(ablation()).caption  # no such row there
    fused_subset = experiment(
        run("f", {"val/top1": 0.9, "test/top1": 0.95}, stream="two-stream", kind="fusion"),
        run("g", {"val/top1": 0.9, "test/top1": 0.95}, stream="two-stream", kind="fusion", classes=subset),
    )
    weights = tables.fusion_table(fused_subset).frame["paper RGB weight (chosen on test)"]
    assert list(weights.fillna(0)) == [0.45, 0]  # the paper's weight: on all of UCF-101's classes only


def test_a_refit_search_compares_the_refits_with_the_paper_and_shows_the_selection():
    stored = {"ra": scores(RLSTM_SCORES), "ta": scores(TSN_SCORES), "na": scores(TSN_SCORES)}
    exp = experiment(*refit_search(), stored=stored)
    arch, cells = tables.arch_table(exp)
    f = arch.frame
    assert list(zip(f["stream"], f["arch"], f[TRAINED_ON], strict=True)) == [
        ("spatial", "non-local only (R-LSTM)", "selection (no refit)"),
        ("spatial", "two-branch", "refit (full split)"),
        ("temporal", "two-branch", "refit (full split)"),
        ("two-stream", "two-branch", "refit (full split)"),
    ]
    assert list(f["test top-1 over videos (%)"]) == pytest.approx([65.0, 85.0, 80.0, 93.0])  # the refits' numbers
    assert list(f["runs"]) == ["na", "ra", "rf", "fr"] and list(f[REFIT_OF].fillna("")) == ["", "ta", "fa", "fu"]
    assert list(f["trials"]) == [1, 2, 1, 1]  # a refit stands for its group's selection trials
    assert "`selection (no refit)` rows are groups whose refit has not finished" in arch.caption
    splits = tables.splits_table(exp).frame
    assert list(splits[TRAINED_ON]) == ["selection (no refit)"] + ["refit (full split)"] * 3
    assert list(splits["test top-1 over videos (%)"]) == pytest.approx([65.0, 85.0, 80.0, 93.0])
    refit = tables.refit_table(exp)
    r = refit.frame
    assert list(r["paper tables use"]) == ["selection (no refit)"] + ["refit (full split)"] * 3
    assert list(r["selection run"]) == ["na", "ta", "fa", "fu"] and list(r["refit run"].fillna("")) == [
        "",
        "ra",
        "rf",
        "fr",
    ]
    assert list(r["selection val/top1 (%)"]) == pytest.approx([60.0, 90.0, 80.0, 95.0])
    assert list(r["selection: test top-1 over videos (%)"]) == pytest.approx([65.0, 70.0, 75.0, 90.0])
    assert list(r["refit: test top-1 over videos (%)"].fillna(-1)) == pytest.approx([-1, 85.0, 80.0, 93.0])
    assert list(r["refit - selection, test top-1 over videos (points)"].fillna(0)) == pytest.approx([0, 15, 5, 3])
    shown = refit.display().iloc[1]  # with stored scores: each side's interval over its test videos
    assert shown["selection: test top-1 over videos (%)"].startswith("70.0 [") and shown["refit run"] == "ra"
    assert shown["refit: test top-1 over videos (%)"].startswith("85.0 [")
    compared = tables.comparison_table(exp, cells).frame  # two-branch (refit) vs non-local only (no refit yet)
    assert set(compared[TRAINED_ON]) == {"A: refit (full split); B: selection (no refit)"}
    assert set(compared["runs A"]) == {"ra"} and set(compared["runs B"]) == {"na"}
    assert "the paper tables use the fusions of the refits" in tables.fusion_table(exp).caption
    board = tables.leaderboard_table(exp, []).frame
    assert set(board["kind"]) == {"trial", "fusion"}  # refits have no validation value to rank by
    assert tables.refit_table(ablation()) is None and TRAINED_ON not in tables.arch_table(ablation())[0].frame


def test_the_protocol_line_heads_the_markdown_and_the_page():
    report = Report("Report: x", ["intro"], [], "Numbers compared with the paper: refits `a`.")
    md, page = render_markdown(report), render_html(report, Path("."))
    assert md.startswith("# Report: x\n\n**Protocol.** Numbers compared with the paper: refits `a`.\n\nintro")
    assert (
        '<p class="protocol"><strong>Protocol.</strong> Numbers compared with the paper: refits <code>a</code>.' in page
    )
    assert page.index('class="protocol"') < page.index("<p>intro</p>")
    assert "Protocol." not in render_markdown(Report("Report: x", ["intro"], []))
