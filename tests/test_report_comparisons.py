"""rlx.report.comparisons: which rows the report compares, each with a paired test on the same test videos."""

from __future__ import annotations

from report_runs import RLSTM_SCORES, TSN_SCORES, frame, logits, run, scores

from rlx.report.comparisons import comparison_rows
from rlx.report.ensembles import ensemble_rows
from rlx.report.selection import Selection, cell_results

SEL = Selection("val/top1", "max")


def test_archs_ensembles_and_two_stream_against_one_stream():
    runs = [
        run("tsn", {"val/top1": 0.5, "test/top1": 0.75}, arch="tsn"),
        run("loc", {"val/top1": 0.5, "test/top1": 0.25}, arch="local"),
        run("tb", {"val/top1": 0.5, "test/top1": 0.75}),
        run("tb-flow", {"val/top1": 0.5, "test/top1": 0.75}, stream="temporal"),
        run("tb-two", {"val/top1": 0.5, "test/top1": 1.0}, stream="two-stream", kind="fusion"),
    ]
    all_wrong = logits([1, 1, 0, 0, 3, 3, 2, 2], [1.0] * 8)  # no video right
    stored = {
        "tsn": scores(TSN_SCORES),
        "loc": scores(all_wrong),
        "tb": scores(RLSTM_SCORES),
        "tb-flow": scores(RLSTM_SCORES),
        "tb-two": scores(logits([0, 0, 1, 1, 2, 2, 3, 3], [1.0] * 8)),
    }
    cells = cell_results(frame(*runs), SEL)
    ens = ensemble_rows(cells, stored.get)
    rows = comparison_rows(cells, ens, stored.get)
    pairs = [(r.what, r.a.arch, r.a.stream, r.b.arch, r.b.stream) for r in rows if r.metric == "test/top1"]
    assert pairs == [
        ("architectures", "two_branch", "spatial", "local", "spatial"),
        ("architectures", "two_branch", "spatial", "tsn", "spatial"),
        ("ensemble vs its model", "tsn+two_branch", "spatial", "tsn", "spatial"),
        ("ensemble vs its model", "tsn+two_branch", "spatial", "two_branch", "spatial"),
        ("two-stream vs one stream", "two_branch", "two-stream", "two_branch", "spatial"),
        ("two-stream vs one stream", "two_branch", "two-stream", "two_branch", "temporal"),
    ]
    assert {r.metric for r in rows} == {"test/top1", "test/mean_class_acc"}
    top1 = [r for r in rows if r.metric == "test/top1"]
    vs_local = top1[0].result
    # two-branch right on 6 videos local gets wrong, local on none: exact McNemar p = 2 / 2^6
    assert vs_local.discordant == (6, 0) and vs_local.p_value == 2 / 64 and not vs_local.within_noise
    assert vs_local.difference == 75.0
    assert top1[0].stat_a.mean == 75.0 and top1[0].stat_b.mean == 25.0 and top1[0].stat_a.has_interval is False
    vs_tsn = top1[1].result  # two-branch right on v_6, v_7; TSN on v_0, v_1
    assert vs_tsn.discordant == (2, 2) and vs_tsn.p_value == 1.0 and vs_tsn.within_noise
    # the ensemble's averaged logits are right on all but v_1 (TSN 2.0 on class 0 < R-LSTM 3.0 on class 1)
    ens_vs_tsn = top1[2].result
    assert ens_vs_tsn.discordant == (2, 1) and ens_vs_tsn.p_value == 1.0 and ens_vs_tsn.difference == 12.5
    assert top1[2].stat_a.has_interval  # ensemble rows carry their intervals


def test_rows_without_scores_are_not_compared():
    runs = [run("tsn", {"val/top1": 0.5}, arch="tsn"), run("tb", {"val/top1": 0.5})]
    cells = cell_results(frame(*runs), SEL)
    assert comparison_rows(cells, [], {"tsn": scores(TSN_SCORES)}.get) == []
