"""rlx.report.per_class: per-class accuracy and gains, family accuracy and the Fig. 4 videos, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from report_runs import LABELS, RLSTM_SCORES, TSN_SCORES, frame, logits, run, scores

from rlx.report.per_class import (
    class_gains,
    family_rows,
    gain_pairs,
    per_class_accuracy,
    softmax,
    top5_videos,
)
from rlx.report.selection import Selection, cell_results

SEL = Selection("val/top1", "max")


def test_per_class_accuracy_is_the_mean_over_runs():
    stored = {"tsn": scores(TSN_SCORES), "rlstm": scores(RLSTM_SCORES)}
    acc = per_class_accuracy(["tsn", "rlstm"], stored.get)
    assert acc.classes == ["ApplyEyeMakeup", "Archery", "Basketball", "Biking"]
    np.testing.assert_allclose(acc.percent, [50, 100, 100, 50])  # [100, 100, 100, 0] and [0, 100, 100, 100]
    assert per_class_accuracy(["tsn", "missing"], stored.get) is None
    stored["renamed"] = scores(TSN_SCORES, classes=["a", "b", "c", "d"])
    assert per_class_accuracy(["tsn", "renamed"], stored.get) is None
    multilabel = (stored["tsn"][0].drop(columns="label"), stored["tsn"][1])
    assert per_class_accuracy(["x"], {"x": multilabel}.get) is None


def group_cells(stream: str, *archs: str) -> list:
    return [run(f"{stream}-{a}", {"val/top1": 0.5}, arch=a, stream=stream) for a in archs]


def test_gain_pairs_take_the_first_pair_present_per_stream():
    runs = frame(*group_cells("temporal", "nonlocal", "local"), *group_cells("spatial", "tsn", "two_branch", "local"))
    pairs = gain_pairs(cell_results(runs, SEL))
    assert [(a.row.stream, a.row.arch, b.row.arch) for a, b in pairs] == [
        ("spatial", "two_branch", "tsn"),
        ("temporal", "nonlocal", "local"),
    ]
    assert gain_pairs(cell_results(frame(*group_cells("spatial", "tsn", "local")), SEL)) == []


def test_class_gains_most_improved_first():
    cells = cell_results(frame(run("a", {"val/top1": 0.5}), run("b", {"val/top1": 0.5}, arch="tsn")), SEL)
    stored = {"a": scores(RLSTM_SCORES), "b": scores(TSN_SCORES)}
    (gains,) = class_gains(cells, stored.get)
    assert (gains.a.row.arch, gains.b.row.arch) == ("two_branch", "tsn")
    assert gains.classes == ["Biking", "Archery", "Basketball", "ApplyEyeMakeup"]  # ties (0) by name
    np.testing.assert_allclose(gains.gain, [100, 0, 0, -100])
    np.testing.assert_allclose(gains.acc_a, [100, 100, 100, 0])
    np.testing.assert_allclose(gains.acc_b, [0, 100, 100, 100])
    (top2,) = class_gains(cells, stored.get, top=2)
    assert top2.classes == ["Biking", "Archery"]
    assert class_gains(cells, {"a": stored["a"]}.get) == []


@pytest.mark.filterwarnings("ignore:Mean of empty slice")  # numpy, on the class without videos
def test_a_class_without_videos_goes_last():
    labels = np.array([0, 1])  # class 2 has no video: NaN accuracy, NaN gain
    classes = ["x", "y", "z"]
    stored = {
        "a": scores(logits([0, 0], [1, 1], 3), labels, classes),
        "b": scores(logits([1, 1], [1, 1], 3), labels, classes),
    }
    cells = cell_results(frame(run("a", {"val/top1": 0.5}), run("b", {"val/top1": 0.5}, arch="tsn")), SEL)
    (gains,) = class_gains(cells, stored.get)
    assert gains.classes == ["x", "y", "z"] and math.isnan(gains.gain[2])


SYNTHETIC = ["appearance_red_square", "interaction_meet", "order_left_to_right"]


def test_family_rows_mean_std_over_seeds():
    labels = np.array([0, 0, 1, 1, 2, 2])
    eye = np.eye(3, dtype=np.float32)
    stored = {
        "s0": scores(eye[[0, 0, 1, 1, 2, 0]], labels, SYNTHETIC),  # one order video wrong: 100 / 100 / 50
        "s1": scores(eye[[0, 0, 1, 0, 2, 2]], labels, SYNTHETIC),  # one interaction video wrong: 100 / 50 / 100
        "ucf": scores(TSN_SCORES),
    }
    runs = frame(
        run("s0", {"val/top1": 0.5}, dataset="synthetic", seed=0),
        run("s1", {"val/top1": 0.5}, dataset="synthetic", seed=1),
        run("nos", {"val/top1": 0.5}, dataset="synthetic", arch="local"),  # no scores: no row
        run("ucf", {"val/top1": 0.5}),  # not the benchmark
    )
    (row,) = family_rows(cell_results(runs, SEL), stored.get)
    assert list(row.accuracy) == ["appearance", "order", "interaction", "all"]
    assert row.accuracy["appearance"].mean == 100.0 and row.accuracy["appearance"].std == 0.0
    assert row.accuracy["order"].mean == 75.0 and row.accuracy["order"].std == pytest.approx(np.std([50, 100], ddof=1))
    assert row.accuracy["all"].mean == pytest.approx(100 * 5 / 6)
    assert (row.arch, row.seeds, row.run_ids) == ("two_branch", 2, ("s0", "s1"))
    wrong_classes = {"s0": scores(TSN_SCORES), "s1": scores(TSN_SCORES)}
    assert family_rows(cell_results(runs, SEL), wrong_classes.get) == []  # not the benchmark's classes


def test_top5_videos_wins_of_a_first_one_per_class():
    classes = ["c0", "c1", "c2"]
    labels = np.array([1, 0, 1, 2])  # videos v_0 .. v_3
    a = scores(logits([1, 1, 1, 2], [2.0, 2.0, 1.0, 2.0], 3), labels, classes)  # right on v_0, v_2, v_3
    b = scores(logits([0, 0, 0, 2], [2.0, 2.0, 2.0, 2.0], 3), labels, classes)  # right on v_1, v_3
    shuffled = (a[0].iloc[[3, 1, 0, 2]], a[1])  # sorted by video id first
    videos = top5_videos(shuffled, b)
    # Wins of A: v_0 and v_2 (both class c1): one per class first, then the other win, then the rest by id.
    assert [v.video_id for v in videos] == ["v_0", "v_2", "v_1", "v_3"]
    assert [v.true for v in videos] == ["c1", "c1", "c0", "c2"]
    p = softmax(np.array([[0.0, 2.0, 0.0]]))[0]
    assert videos[0].a == [("c1", pytest.approx(p[1])), ("c0", pytest.approx(p[0])), ("c2", pytest.approx(p[2]))]
    assert videos[0].b[0][0] == "c0"  # B's best guess for v_0
    assert len(top5_videos(a, b, videos=2)) == 2
    assert top5_videos(a, scores(logits([0] * 4, [1.0] * 4, 3), labels, ["x", "y", "z"])) is None
    assert top5_videos(a, (b[0].iloc[:3], b[1])) is None  # B lacks a video


def test_softmax_rows_sum_to_one():
    p = softmax(np.array([[0.0, 0.0], [1000.0, 0.0]]))
    np.testing.assert_allclose(p, [[0.5, 0.5], [1.0, 0.0]])
    assert LABELS.shape == (8,)


def test_each_class_gain_carries_a_paired_test_and_each_accuracy_its_interval():
    cells = cell_results(frame(run("a", {"val/top1": 0.5}), run("b", {"val/top1": 0.5}, arch="tsn")), SEL)
    stored = {"a": scores(RLSTM_SCORES), "b": scores(TSN_SCORES)}
    (gains,) = class_gains(cells, stored.get)
    biking = gains.tests[0]  # both class-3 videos: A right, B wrong -> exact McNemar p = 2 / 2^2 = 0.5
    assert biking.discordant == (2, 0) and biking.p_value == 0.5 and biking.within_noise
    assert biking.difference == 100.0 and biking.test == "McNemar exact"
    assert gains.intervals_a[0] == (100.0, 100.0) and gains.intervals_b[0] == (0.0, 0.0)
    assert gains.tests[1].p_value == 1.0  # no discordant video
    assert len(gains.tests) == len(gains.classes) == len(gains.intervals_a)


def test_family_accuracies_carry_their_intervals():
    classes = ["appearance_red_square", "order_left_to_right", "order_right_to_left", "interaction_meet"]
    right = logits([0, 0, 1, 1, 2, 2, 3, 3], [1.0] * 8)
    cells = cell_results(frame(run("s", {"val/top1": 0.5}, dataset="synthetic")), SEL)
    (row,) = family_rows(cells, {"s": scores(right, LABELS, classes)}.get)
    assert (row.accuracy["order"].mean, row.accuracy["order"].low, row.accuracy["order"].high) == (100.0, 100.0, 100.0)
    assert row.accuracy["all"].has_interval
