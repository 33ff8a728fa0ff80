"""rlx.report.per_run: the leaderboard's ranks and the fusion runs' rows, by hand."""

from __future__ import annotations

import math

from report_runs import TSN_SCORES, frame, run, scores

from rlx.report.per_run import fusion_rows, is_loss, leaderboard_rows
from rlx.report.search import SearchedKey
from rlx.report.selection import Selection

SEARCHED = [
    SearchedKey("model.arch", "grid", ("tsn", "local"), "scientific"),
    SearchedKey("optim.lr", "grid", ("0.1", "0.01"), "nuisance"),
]


def test_leaderboard_ranks_by_the_selection_metric_ties_by_run_id_missing_last():
    runs = frame(
        run("r1", {"val/top1": 0.7, "test/top1": 0.99}, {"optim.lr": "0.1", "optim.epochs": "3"}),
        run("r2", {"val/top1": 0.9, "test/top1": 0.5}, {"optim.lr": "0.01"}, group=""),
        run("r0", {"val/top1": 0.9}, {"optim.lr": "0.01"}, arch="tsn"),
        run("r3", {"test/top1": 1.0}, {"optim.lr": "0.1"}),
        run("f", {"val/top1": 0.1}, stream="two-stream", kind="fusion"),
    )
    rows = leaderboard_rows(runs, SEARCHED, Selection("val/top1", "max"))
    ranked = [(r.stream, r.rank, r.run_id) for r in rows]
    assert ranked == [
        ("spatial", 1, "r0"),
        ("spatial", 2, "r2"),
        ("spatial", 3, "r1"),
        ("spatial", 4, "r3"),
        ("two-stream", 1, "f"),
    ]
    r1 = rows[2]
    assert (r1.value, r1.metrics.top1.mean, r1.epochs, r1.params) == (70.0, 99.0, "3", {"optim.lr": "0.1"})
    assert rows[1].group == "all" and rows[0].insertion == "conv5_2" and rows[0].arch == "tsn"
    assert math.isnan(rows[3].value) and math.isnan(rows[0].metrics.top1.mean)


def test_leaderboard_ties_of_named_runs_go_to_the_earlier_trial():
    runs = frame(
        run("a0", {"val/top1": 0.8}, name="s-g-7c1d2_00002"),
        run("ff", {"val/top1": 0.8}, name="s-g-7c1d2_00001"),
        run("b5", {"val/top1": 0.9}, name="s-g-7c1d2_00003"),
    )
    rows = leaderboard_rows(runs, [], Selection("val/top1", "max"))
    assert [r.run_id for r in rows] == ["b5", "ff", "a0"]


def test_leaderboard_on_a_loss_keeps_it_as_logged_lowest_first():
    runs = frame(run("a", {"val/loss": 0.5}), run("b", {"val/loss": 0.25}))
    rows = leaderboard_rows(runs, [], Selection("val/loss", "min"))
    assert [(r.run_id, r.value) for r in rows] == [("b", 0.25), ("a", 0.5)]
    assert is_loss("val/loss") and not is_loss("val/top1")


def fusion(run_id, arch, metrics, **kw):
    row = run(run_id, metrics, arch=arch, stream="two-stream", kind="fusion", **kw)
    return row | {"pairing": "equal-config", "rgb_run": "rgb-" + run_id, "flow_run": "flow-" + run_id}


def test_fusion_rows_top1_or_map_and_their_order():
    runs = frame(
        fusion(
            "z",
            "two_branch",
            {
                "fusion/weight_rgb": 0.4,
                "val/top1": 0.9,
                "test/top1": 0.91,
                "fusion/test_optimal_weight_rgb": 0.5,
                "test/top1_at_test_optimal_weight": 0.93,
            },
        ),
        fusion("a", "tsn", {"fusion/weight_rgb": 0.55, "test/top1": 0.8}),
        fusion("m", "tsn", {"test/mAP": 0.3, "val/mAP": 0.25}, dataset="charades", group=""),
    )
    rows = fusion_rows(runs)
    # TSN's insertion point is shown as "–", after "conv5_2" within the same group and T.
    assert [r.run_id for r in rows] == ["m", "z", "a"]
    charades, tb, tsn = rows
    assert (charades.metric, charades.val, charades.test, charades.group) == ("mAP", 25.0, 30.0, "all")
    assert charades.paper_weight_rgb is None and math.isnan(charades.test_at_test_optimal)
    assert (tb.metric, tb.weight_rgb, tb.val, tb.test) == ("top1", 0.4, 90.0, 91.0)
    assert (tb.test_optimal_weight_rgb, tb.test_at_test_optimal, tb.paper_weight_rgb) == (0.5, 93.0, 0.45)
    assert (tb.rgb_run, tb.flow_run, tb.pairing, tb.command) == ("rgb-z", "flow-z", "equal-config", "cmd")
    assert math.isnan(tsn.test_optimal_weight_rgb)


def test_leaderboard_and_fusion_rows_carry_intervals_from_stored_scores():
    runs = frame(run("r1", {"val/top1": 0.7, "test/top1": 0.75}), run("r2", {"val/top1": 0.6, "test/top1": 0.5}))
    stored = {"r1": scores(TSN_SCORES)}
    rows = leaderboard_rows(runs, SEARCHED, Selection("val/top1", "max"), stored.get)
    assert rows[0].metrics.top1.has_interval and rows[0].metrics.top1.low <= 75.0 <= rows[0].metrics.top1.high
    assert not rows[1].metrics.top1.has_interval  # no stored scores
    fusions = frame(run("f", {"val/top1": 0.9, "test/top1": 0.75}, stream="two-stream", kind="fusion"))
    (fused,) = fusion_rows(fusions, {"f": scores(TSN_SCORES)}.get)
    assert fused.test_interval.mean == 75.0 and fused.test_interval.has_interval
    assert not fusion_rows(fusions)[0].test_interval.has_interval
