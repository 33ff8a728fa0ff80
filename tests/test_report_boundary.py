"""rlx.report.boundary: where the best trial's value sits in each searched range, by hand."""

from __future__ import annotations

import math

import pytest
from report_runs import frame, run

from rlx.report.boundary import BoundaryFlag, boundary, boundary_rows, searched_keys
from rlx.report.search import SearchedKey, SearchSpaceInfo
from rlx.report.selection import Selection


@pytest.mark.parametrize(
    ("kind", "values", "value", "verdict", "position"),
    [
        ("uniform", (0.5, 0.9), "0.88", "yes: high edge", 0.95),  # (0.88 - 0.5) / 0.4
        ("uniform", (0.5, 0.9), "0.7", "no", 0.5),
        ("uniform", (0.5, 0.9), 0.52, "yes: low edge", 0.05),
        ("loguniform", (0.001, 0.1), "0.01", "no", 0.5),  # log scale: 0.01 is the middle
        ("loguniform", (0.001, 0.1), "0.0015", "yes: low edge", round(math.log(1.5) / math.log(100), 4)),
        ("randint", (4, 32), "30", "yes: high edge", round(26 / 28, 4)),
        ("grid", (6, 8), "8", "yes: highest value", 1.0),
        ("grid", (6, 8, 10), "8", "no", 0.5),
        ("choice", ("6", "10", "8"), "6", "yes: lowest value", 0.0),
        ("choice", ("tsn", "nonlocal"), "tsn", "n/a (categorical)", None),
        ("grid", (6, "auto"), "6", "n/a (categorical)", None),  # a list with a non-number has no order
        ("grid", (8,), "8", "n/a (one value)", None),
        ("observed", (True, False), True, "n/a (categorical)", None),  # a bool is not a number
    ],
)
def test_boundary(kind, values, value, verdict, position):
    assert boundary(kind, values, value) == BoundaryFlag(verdict, position)


def test_searched_keys_are_the_spaces_else_the_params_varying_within_a_group():
    space = SearchSpaceInfo(
        "s", "", "val/top1", "max", (SearchedKey("optim.lr", "loguniform", (0.001, 0.1), "nuisance"),)
    )
    trials = frame(
        run("a", params={"optim.lr": "0.1"}, dataset="ucf101", group="g1", seed=0),
        run("b", params={"optim.lr": "1e-3"}, dataset="ucf101", group="g1", seed=1),
        run("c", params={"optim.lr": "0.01"}, dataset="hmdb51", group="g2", seed=2),
    )
    assert searched_keys(space, trials) == list(space.searched)
    # lr varies within g1; the dataset only across groups; the seed is no hyperparameter.
    assert searched_keys(None, trials) == [SearchedKey("optim.lr", "observed", ("1e-3", "0.01", "0.1"), "unknown")]


def test_boundary_rows_per_group_for_the_best_trial():
    trials = frame(
        run("a", {"val/top1": 0.9}, {"model.dropout": "0.88", "optim.lr": "0.1"}, group="g1"),
        run("b", {"val/top1": 0.6}, {"model.dropout": "0.6", "optim.lr": "0.01"}, group="g1", command=""),
        run("c", {"val/top1": 0.5}, {"model.dropout": "0.5", "optim.lr": "0.01"}, group="", command=""),
    )
    searched = [
        SearchedKey("model.dropout", "uniform", (0.5, 0.9), "nuisance"),
        SearchedKey("optim.lr", "observed", ("0.01", "0.1", "1.0"), "unknown"),
        SearchedKey("model.width", "grid", (1, 2), "scientific"),
    ]
    rows = boundary_rows(trials, searched, Selection("val/top1", "max"))
    assert [(r.group, r.key.key, r.flag.verdict) for r in rows] == [
        ("all", "model.dropout", "yes: low edge"),  # group "" (no group) sorts first and shows as "all"
        ("all", "optim.lr", "n/a (one value)"),  # observed in this group: 0.01 only
        ("g1", "model.dropout", "yes: high edge"),
        ("g1", "optim.lr", "yes: highest value"),  # observed in g1: 0.01 and 0.1; 1.0 was never run
    ]  # model.width: no trial has it, no row
    g1 = rows[2]
    assert (g1.best_value, g1.flag.position, g1.best_metric, g1.trials, g1.run_id, g1.command) == (
        "0.88",
        0.95,
        90.0,
        2,
        "a",
        "cmd",
    )
    assert rows[3].key.values == ("0.01", "0.1") and rows[0].command is None
