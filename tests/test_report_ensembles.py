"""rlx.report.ensembles: TSN + R-LSTM rows from stored logits, worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from report_runs import RLSTM_SCORES, TSN_SCORES, frame, run, scores

from rlx.report.ensembles import ensemble_metrics, ensemble_outcomes, ensemble_rows, seed_pairs
from rlx.report.selection import Selection, cell_results

SEL = Selection("val/top1", "max")
# The equal-weight average of TSN_SCORES and RLSTM_SCORES: v_0 back to class 0 (1.0 > 0.75), v_1 stays wrong
# (class 1: 1.5 > 1.0), v_6/v_7 right (class 3: 1.5 > 1.0) -> top-1 7/8; per class [50, 100, 100, 100].
ENSEMBLE_TOP1 = 87.5


def test_seed_pairs_pair_runs_by_seed_else_the_first_of_each():
    a = pd.DataFrame({"run_id": ["a0", "a1"], "seed": [0, 1]})
    b = pd.DataFrame({"run_id": ["b1", "b2"], "seed": [1, 2]})
    assert seed_pairs(a, b) == [("a1", "b1")]
    assert seed_pairs(a, pd.DataFrame({"run_id": ["c5", "c6"], "seed": [5, 6]})) == [("a0", "c5")]


def test_ensemble_metrics_average_the_two_models_logits():
    stored = {"tsn": scores(TSN_SCORES), "rlstm": scores(RLSTM_SCORES)}
    (result,) = ensemble_metrics(stored.get, [("tsn", "rlstm"), ("tsn", "missing")])  # a pair without scores: out
    assert result["test/top1"] == pytest.approx(0.875)
    assert result["test/mean_class_acc"] == pytest.approx(np.mean([0.5, 1, 1, 1]))
    assert result["test/top5"] == 1.0  # 4 classes: every label is in the top 4
    other_classes = scores(RLSTM_SCORES, classes=["a", "b", "c", "d"])
    assert ensemble_metrics({"tsn": stored["tsn"], "x": other_classes}.get, [("tsn", "x")]) == []


def cells():
    return cell_results(
        frame(
            run("tsn0", {"val/top1": 0.7}, arch="tsn", seed=0),
            run("tsn1", {"val/top1": 0.7}, arch="tsn", seed=1),
            run("nl52", {"val/top1": 0.7}, arch="nonlocal", insertion="conv5_2", seed=1),
            run("nl51", {"val/top1": 0.7}, arch="nonlocal", insertion="conv5_1", seed=0),
            run("tb0", {"val/top1": 0.9}, arch="two_branch", seed=0),
            run("tb1", {"val/top1": 0.8}, arch="two_branch", seed=1),
            run("tbT6", {"val/top1": 0.8}, arch="two_branch", T=6),
            run("other", {"val/top1": 0.8}, arch="two_branch", split=2),
        ),
        SEL,
    )


def test_ensemble_rows_pair_tsn_with_each_partner_of_the_same_t():
    stored = {r: scores(TSN_SCORES if r.startswith("tsn") else RLSTM_SCORES) for r in ("tsn0", "tsn1", "nl51", "tb0")}
    rows = ensemble_rows(cells(), stored.get)
    assert [(r.arch, r.insertion, r.seeds, r.run_ids) for r in rows] == [
        ("tsn+nonlocal", "conv5_1", 1, ("tsn0", "nl51")),  # the lowest insertion point; seed 0 is common
        ("tsn+two_branch", "conv5_2", 1, ("tsn0", "tb0", "tsn1", "tb1")),  # tb1 has no scores: one pair counts
    ]
    tb = rows[1]
    assert tb.metrics.top1.mean == pytest.approx(ENSEMBLE_TOP1) and np.isnan(tb.metrics.top1.std)
    assert tb.metrics.mean_class_acc.mean == pytest.approx(87.5) and np.isnan(tb.metrics.mAP.mean)
    assert (tb.dataset, tb.split, tb.stream, tb.T, tb.trials, tb.command) == ("ucf101", 1, "spatial", 8, 4, "cmd")
    assert [m.arch for m in tb.members] == ["tsn", "two_branch"] and tb.chosen is None


def test_no_ensemble_without_scores():
    assert ensemble_rows(cells(), {}.get) == []


def test_ensemble_rows_carry_the_interval_of_the_averaged_logits():
    stored = {r: scores(TSN_SCORES if r.startswith("tsn") else RLSTM_SCORES) for r in ("tsn0", "tsn1", "nl51", "tb0")}
    tb = ensemble_rows(cells(), stored.get)[1]
    assert tb.interval == "bootstrap over 8 test videos (1 run)"  # one pair with scores
    assert tb.metrics.top1.low <= tb.metrics.top1.mean <= tb.metrics.top1.high
    got = ensemble_outcomes(stored.get, [("tsn0", "tb0"), ("tsn1", "tb1")])
    np.testing.assert_array_equal(got.scores[0], (TSN_SCORES + RLSTM_SCORES) / 2)
    assert ensemble_outcomes(stored.get, [("tsn1", "tb1")]) is None
