"""rlx.report.tables on an `Experiment` built in memory (no MLflow): which runs each table holds, and its numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_runs import RLSTM_SCORES, TSN_SCORES, frame, run, scores

from rlx.report import tables
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
    assert list(f["test top-1 (%)"]) == pytest.approx([82.0, 88.0, 87.5, 93.0])
    assert list(f["paper (%)"].fillna(0)) == [87.0, 88.7, 0, 94.4]  # the paper has no TSN + two-branch
    assert list(f["RGB weight"].fillna("")) == ["", "", "", "0.45 (chosen on val)"]
    assert list(f["trials"]) == [2, 3, 5, 1] and list(f["seeds"]) == [2, 2, 2, 1]
    assert list(f.columns[:11]) == [
        "dataset",
        "split",
        "stream",
        "arch",
        "T",
        "insertion",
        "test top-1 (%)",
        "test top-1 (%) ±",
        "test top-1 (%) CI low",
        "test top-1 (%) CI high",
        "paper (%)",
    ]
    assert "test mAP (%)" not in f  # no run has it
    assert [c.row.arch for c in cells] == ["tsn", "two_branch", "two_branch"]


def test_sweep_tables_only_where_the_key_varies():
    exp = ablation()
    seg, rows = tables.sweep_table(exp, "T")
    assert list(seg.frame["T"]) == [6, 8] and list(seg.frame["paper (%)"]) == [87.2, 88.7]  # Table 3
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
    assert tsn["test top-1 (%) CI low"] <= 75.0 <= tsn["test top-1 (%) CI high"]
    assert tsn["95 % CI"] == "bootstrap over 8 test videos (mean of 2 runs)"
    assert list(table.frame["95 % CI"])[-1] == NO_SCORES  # the fusion run stored no scores
    assert list(table.frame["paper inside our 95 % CI"].fillna("")) == [
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
        ("architectures", "two-branch (spatial)", "TSN (spatial)", "test top-1 (%)"),
        ("architectures", "two-branch (spatial)", "TSN (spatial)", "mean class acc (%)"),
    ]
    assert set(f["comparison"]) == {"architectures", "ensemble vs its model"}  # the fusion run has no scores
    assert list(f["test"])[0] == "paired bootstrap"  # two seeds each: seed means
    assert "McNemar" in table.caption and "within noise" in table.caption
    assert tables.comparison_table(experiment(run("s", {"val/top1": 0.5})), []) is None
