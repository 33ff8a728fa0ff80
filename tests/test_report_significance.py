"""rlx.report.significance: outcomes from stored scores, the intervals they give a row, paired comparisons."""

from __future__ import annotations

import math

import numpy as np
import pytest
from report_runs import LABELS, RLSTM_SCORES, TSN_SCORES, scores

from rlx.eval.uncertainty import accuracy_ci, accuracy_replicates, mean_class_accuracy_ci
from rlx.report.rows import Metrics, ResultRow, SplitRow, Stat
from rlx.report.significance import (
    NO_SCORES,
    compare,
    metrics_with_intervals,
    outcomes_from,
    outcomes_of,
    row_with_intervals,
    split_row_with_intervals,
)

TSN_RIGHT = np.array([1, 1, 1, 1, 1, 1, 0, 0], dtype=float)
RLSTM_RIGHT = np.array([0, 0, 1, 1, 1, 1, 1, 1], dtype=float)


def test_outcomes_are_aligned_by_video_id():
    frame, classes = scores(TSN_SCORES)
    shuffled = (frame.iloc[::-1].reset_index(drop=True), classes)
    got = outcomes_of(["a", "b"], {"a": scores(TSN_SCORES), "b": shuffled}.get)
    assert got.video_ids == tuple(f"v_{i}" for i in range(8)) and got.classes == tuple(classes)
    np.testing.assert_array_equal(got.scores[0], got.scores[1])
    np.testing.assert_array_equal(got.correct(1), [TSN_RIGHT, TSN_RIGHT])


def test_no_outcomes_without_comparable_scores():
    stored = {"a": scores(TSN_SCORES), "c": scores(TSN_SCORES, classes=["w", "x", "y", "z"])}
    assert outcomes_of(["a", "missing"], stored.get) is None
    assert outcomes_of(["a", "c"], stored.get) is None  # other classes
    fewer = (stored["a"][0].iloc[:6], stored["a"][1])
    assert outcomes_of(["a", "f"], {"a": stored["a"], "f": fewer}.get) is None  # other videos
    ids = ["v_0", "v_1"]
    assert outcomes_from([(ids, np.array([0, 1]), np.eye(2)), (ids, np.array([1, 1]), np.eye(2))]) is None
    assert outcomes_from([]) is None


def test_a_rows_intervals_are_the_bootstrap_of_its_seed_mean_in_percent():
    got = outcomes_of(["t", "r"], {"t": scores(TSN_SCORES), "r": scores(RLSTM_SCORES)}.get)
    metrics = Metrics(top1=Stat(75.0, 0.0), mean_class_acc=Stat(75.0, 0.0))
    out = metrics_with_intervals(metrics, got)
    both = np.stack([TSN_RIGHT, RLSTM_RIGHT])
    top1, mca = accuracy_ci(both).scaled(100), mean_class_accuracy_ci(both, LABELS).scaled(100)
    assert (out.top1.mean, out.top1.std, out.top1.low, out.top1.high) == (75.0, 0.0, top1.low, top1.high)
    assert (out.mean_class_acc.low, out.mean_class_acc.high) == (mca.low, mca.high)
    assert math.isnan(out.top5.low) and math.isnan(out.mAP.low)  # the row has no top-5: none computed
    assert metrics_with_intervals(metrics, None) == metrics


def test_a_row_without_scores_says_so():
    row = ResultRow("ucf101", 1, "spatial", "tsn", 8, "", Metrics(top1=Stat(80.0)), 1, 1, None, ("a",), None)
    assert row_with_intervals(row, None).interval == NO_SCORES
    got = outcomes_of(["a"], {"a": scores(TSN_SCORES)}.get)
    with_ci = row_with_intervals(row, got)
    assert with_ci.interval == "bootstrap over 8 test videos (1 run)" and with_ci.metrics.top1.has_interval


def test_compare_single_runs_top1_by_mcnemar_and_mean_class_by_bootstrap():
    stored = {"t": scores(TSN_SCORES), "r": scores(RLSTM_SCORES)}
    got = compare(outcomes_of(["r"], stored.get), outcomes_of(["t"], stored.get))
    top1, mca = got["test/top1"], got["test/mean_class_acc"]
    assert top1.discordant == (2, 2) and top1.p_value == 1.0 and top1.difference == 0.0  # in points
    assert top1.test == "McNemar exact" and top1.within_noise
    assert mca.test == "paired bootstrap" and mca.difference == 0.0 and mca.within_noise
    other = outcomes_of(["x"], {"x": scores(TSN_SCORES[:6], LABELS[:6])}.get)
    assert compare(outcomes_of(["t"], stored.get), other) is None  # not the same videos
    renamed = outcomes_of(["n"], {"n": scores(TSN_SCORES, classes=["w", "x", "y", "z"])}.get)
    assert compare(outcomes_of(["t"], stored.get), renamed) is None  # not the same classes


def test_multilabel_rows_get_a_map_interval():
    labels = np.array([[1, 0], [0, 1], [1, 1], [1, 0]])
    matrix = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.7]], np.float32)
    got = outcomes_of(["m"], {"m": scores(matrix, labels, ["a", "b"])}.get)
    assert got.multilabel
    out = metrics_with_intervals(Metrics(mAP=Stat(90.0)), got)
    assert out.mAP.low <= out.mAP.high <= 100 and math.isnan(out.top1.low)
    cmp = compare(got, got)
    assert list(cmp) == ["test/mAP"] and cmp["test/mAP"].difference == pytest.approx(0.0)


def test_a_split_mean_resamples_each_split_on_its_own():
    row = SplitRow("ucf101", "spatial", "tsn", 8, "", (1, 2), 3, Metrics(top1=Stat(62.5, 17.7)), 2, ("a", "b"), None)
    stored = {"a": scores(TSN_SCORES), "b": scores(RLSTM_SCORES[:4], LABELS[:4])}  # 8 and 4 videos
    per_split = [outcomes_of([r], stored.get) for r in ("a", "b")]
    out = split_row_with_intervals(row, per_split)
    a = accuracy_replicates(TSN_RIGHT, seed=0)
    b = accuracy_replicates(RLSTM_RIGHT[:4], seed=1)
    low, high = np.percentile(100 * (a.values + b.values) / 2, [2.5, 97.5])
    assert (out.metrics.top1.mean, out.metrics.top1.std) == (62.5, 17.7)  # the logged mean over splits, kept
    assert (out.metrics.top1.low, out.metrics.top1.high) == pytest.approx((low, high))
    assert out.interval == "bootstrap over each split's test videos (8, 4), resampled independently"
    assert split_row_with_intervals(row, [per_split[0], None]).interval == NO_SCORES
