"""rlx.report.selection on hand-built runs: the best configuration of a cell, defaults held, means over seeds/splits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from report_runs import frame, run

from rlx.report.search import SearchSpaceInfo
from rlx.report.selection import (
    Selection,
    cell_results,
    choose,
    commands,
    hold,
    hold_defaults,
    selection,
    split_rows,
    varying,
    with_paper,
)

MAX_TOP1 = Selection("val/top1", "max")


def space(metric: str, mode: str) -> SearchSpaceInfo:
    return SearchSpaceInfo("s", "", metric, mode, ())


def test_selection_is_the_searchs_metric_else_what_the_runs_have():
    cols = pd.Index(["run_id", "metric:val/loss", "metric:val/mAP"])
    assert selection(space("val/loss", "min"), cols) == Selection("val/loss", "min")
    assert selection(space("val/top5", "max"), cols) == Selection("val/mAP", "max")  # the space's metric not logged
    assert selection(None, pd.Index(["metric:val/top1", "metric:val/mAP"])) == Selection("val/top1", "max")
    assert selection(None, pd.Index(["run_id"])) == Selection("test/top1", "max")


def cell() -> pd.DataFrame:
    """Three configurations (dropout): A mean val 0.75 over 2 seeds, B mean 0.7, C one run at 0.74."""
    return frame(
        run("a1", {"val/top1": 0.8, "test/top1": 0.80}, {"model.dropout": 0.5}, seed=1),
        run("a0", {"val/top1": 0.7, "test/top1": 0.84}, {"model.dropout": 0.5}, seed=0),
        run("b0", {"val/top1": 0.9, "test/top1": 0.99}, {"model.dropout": 0.9}, seed=0),
        run("b1", {"val/top1": 0.5, "test/top1": 0.99}, {"model.dropout": 0.9}, seed=1),
        run("c0", {"val/top1": 0.74, "test/top1": 0.99}, {"model.dropout": 0.7}, seed=0),
    )


def test_choose_the_configuration_with_the_best_mean_validation_metric():
    chosen = choose(cell(), MAX_TOP1)
    assert list(chosen["run_id"]) == ["a0", "a1"]  # mean 0.75 beats B's single best run; by seed
    assert list(choose(cell(), Selection("val/top1", "min"))["run_id"]) == ["b0", "b1"]  # mean 0.7 is lowest
    tie = frame(
        run("z", {"val/top1": 0.6}, {"model.dropout": 0.1}), run("y", {"val/top1": 0.6}, {"model.dropout": 0.2})
    )
    assert list(choose(tie, MAX_TOP1)["run_id"]) == ["y"]  # a tie of unnamed runs goes to the lowest run id
    named = frame(
        run("z", {"val/top1": 0.6}, {"model.dropout": 0.1}, name="s-g-ab12c_00000"),
        run("y", {"val/top1": 0.6}, {"model.dropout": 0.2}, name="s-g-ab12c_00001"),
    )
    assert list(choose(named, MAX_TOP1)["run_id"]) == ["z"]  # else to the earlier trial, as rlx.tune.best
    missing = frame(
        run("a", {"test/top1": 0.9}, {"model.dropout": 0.1}), run("b", {"val/top1": 0.1}, {"model.dropout": 0.2})
    )
    assert list(choose(missing, MAX_TOP1)["run_id"]) == ["b"]  # without the metric: last


def test_varying_params_and_commands():
    c = cell()
    assert varying(c, choose(c, MAX_TOP1)) == "model.dropout=0.5"
    assert varying(c[c["run_id"].isin(["a0", "a1"])], c) == ""  # only the seed varies
    assert commands(pd.DataFrame({"command": ["b", "a", "", "b"]})) == "a ; b"
    assert commands(pd.DataFrame({"command": ["", ""]})) is None


def test_hold_keeps_the_preferred_value_where_a_model_has_it():
    runs = frame(run("t6", T=6), run("t8", T=8), run("other6", arch="tsn", T=6), run("i1", T=8, insertion="conv5_1"))
    held = hold(runs, ["dataset", "split", "stream", "arch"], "T", 8)
    assert sorted(held["run_id"]) == ["i1", "other6", "t8"]  # tsn has no T = 8: all its runs stay
    assert sorted(hold_defaults(runs)["run_id"]) == ["other6", "t8"]  # and conv5_2 over conv5_1


def test_cell_row_is_the_chosen_configurations_mean_std_over_seeds():
    c = cell()
    (result,) = cell_results(c, MAX_TOP1)
    row = result.row
    assert (row.dataset, row.split, row.stream, row.arch, row.T, row.insertion) == (
        "ucf101",
        1,
        "spatial",
        "two_branch",
        8,
        "conv5_2",
    )
    assert row.metrics.top1.mean == pytest.approx(82.0)  # (80 + 84) / 2, test numbers of A only
    assert row.metrics.top1.std == pytest.approx(np.std([80, 84], ddof=1))
    assert math.isnan(row.metrics.mAP.mean)
    assert (row.trials, row.seeds, row.chosen, row.run_ids, row.command) == (
        5,
        2,
        "model.dropout=0.5",
        ("a0", "a1"),
        "cmd",
    )
    assert row.rgb_weights is None and row.paper is None
    assert list(result.chosen["run_id"]) == ["a0", "a1"]


def test_cells_are_split_by_every_cell_key_and_two_stream_cells_keep_their_weights():
    runs = frame(
        run("f1", {"test/top1": 0.9, "fusion/weight_rgb": 0.45}, stream="two-stream", kind="fusion"),
        run("f2", {"test/top1": 0.8, "fusion/weight_rgb": 0.5}, stream="two-stream", kind="fusion", seed=1),
        run("s", {"test/top1": 0.7}, insertion="conv5_1"),
        run("t", {"test/top1": 0.6}),
    )
    results = cell_results(runs, MAX_TOP1)
    assert [(r.row.stream, r.row.insertion, r.row.run_ids) for r in results] == [
        ("spatial", "conv5_1", ("s",)),
        ("spatial", "conv5_2", ("t",)),
        ("two-stream", "conv5_2", ("f1", "f2")),
    ]
    assert results[0].row.rgb_weights is None and results[2].row.rgb_weights == (0.45, 0.5)


def test_with_paper_matches_every_key_and_prefers_the_given_tables():
    (result,) = cell_results(cell(), MAX_TOP1)
    assert with_paper(result.row, ()).paper.table == "Table 3"  # Table 3's T = 8 row is the default model's
    found = with_paper(result.row, ("Table 2", "Table 4")).paper
    assert (found.table, found.value) == ("Table 4", 88.7)
    (t6,) = cell_results(frame(run("x", {"val/top1": 0.5}, T=7)), MAX_TOP1)
    assert with_paper(t6.row, ()).paper is None  # the paper has no T = 7


def test_split_rows_average_the_cells_over_splits():
    runs = frame(
        run("s3", {"test/top1": 0.60}, split=3),
        run("s1a", {"test/top1": 0.90}, split=1, command="c1"),
        run("s1b", {"test/top1": 0.86}, split=1, seed=1, command="c1"),
        run("s2", {"test/top1": 0.70}, split=2, command="c2"),
        run("h1", {"test/top1": 0.50}, dataset="hmdb51"),
        run("ch", {"test/mAP": 0.25}, dataset="charades", arch="tsn"),
    )
    rows = split_rows(cell_results(runs, MAX_TOP1))
    assert [(r.dataset, r.arch) for r in rows] == [
        ("charades", "tsn"),
        ("hmdb51", "two_branch"),
        ("ucf101", "two_branch"),
    ]
    ucf = rows[2]
    assert ucf.metrics.top1.mean == pytest.approx((88.0 + 70.0 + 60.0) / 3)  # split 1 is the mean of its 2 seeds
    assert ucf.metrics.top1.std == pytest.approx(np.std([88.0, 70.0, 60.0], ddof=1))  # over splits
    assert (ucf.splits, ucf.expected_splits, ucf.trials) == ((1, 2, 3), 3, 4)
    assert ucf.run_ids == ("s1a", "s1b", "s2", "s3") and ucf.command == "c1 ; c2 ; cmd"
    assert ucf.paper is None  # the paper's 3-split means are two-stream only
    charades = rows[0]
    assert (charades.splits, charades.expected_splits, charades.metrics.mAP.mean) == ((1,), 1, 25.0)
    assert (charades.paper.table, charades.paper.value) == ("Table 8", 25.6)


SUBSET = "['ApplyEyeMakeup', 'Archery']"


def test_a_class_subset_is_its_own_cell_without_the_papers_number():
    runs = frame(
        run("all", {"val/top1": 0.5, "test/top1": 0.80}),
        run("sub", {"val/top1": 0.9, "test/top1": 0.99}, classes=SUBSET),  # best on val, but another task
    )
    cells = cell_results(runs, MAX_TOP1)
    assert [(c.row.classes, c.row.run_ids) for c in cells] == [("", ("all",)), (SUBSET, ("sub",))]
    full, subset = (with_paper(c.row, ()) for c in cells)
    assert (full.paper.table, full.paper.value, full.paper_hidden) == ("Table 3", 88.7, None)
    assert subset.paper is None and "class subset" in subset.paper_hidden
    custom = with_paper(cell_results(frame(run("c", {"test/top1": 0.5}, dataset="custom")), MAX_TOP1)[0].row, ())
    assert custom.paper is None and "custom is not one of the paper's datasets" in custom.paper_hidden


def test_cells_and_split_rows_carry_their_test_set_coverage():
    runs = frame(
        run("s1a", {"test/top1": 0.9, "test/videos": 3700, "data/excluded/test": 83}, stream="two-stream"),
        run("s1b", {"test/top1": 0.9, "test/videos": 3783, "data/excluded/test": 0}, stream="two-stream", seed=1),
        run("s2", {"test/top1": 0.9, "test/videos": 3734, "data/excluded/test": 0}, stream="two-stream", split=2),
        run("h", {"test/top1": 0.7}, dataset="hmdb51", stream="two-stream", classes=SUBSET),
    )
    cells = cell_results(runs, MAX_TOP1)
    assert [(c.row.coverage.covered, c.row.coverage.excluded) for c in cells] == [
        (None, None),  # hmdb51: an old run, counts unknown
        (3700, 83),  # the worse of split 1's seeds
        (3734, 0),
    ]
    hmdb, ucf = split_rows(cells)
    assert (ucf.coverage.covered, ucf.coverage.excluded, ucf.coverage.status) == (7434, 83, "incomplete")
    assert ucf.paper.value == 94.8 and ucf.paper_hidden is None
    assert hmdb.paper is None and hmdb.classes == SUBSET and "class subset" in hmdb.paper_hidden
