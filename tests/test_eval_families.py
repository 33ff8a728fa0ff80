"""rlx.eval.families: top-1 accuracy per synthetic class family and within each order pair, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rlx.data.synthetic import scenes
from rlx.eval import families

TOY = ["appearance_red_square", "order_left_to_right", "order_right_to_left", "interaction_meet"]


def test_counts_families_and_order_pairs():
    labels = np.array([0, 1, 2, 3, 1])
    scores = np.eye(4)[[0, 1, 1, 0, 2]]  # right, right, wrong (pair confusion), wrong, wrong
    acc = families.family_accuracy(scores, labels, TOY)
    assert list(acc) == [
        "all",
        "appearance",
        "order",
        "interaction",
        "pair:order_circle_before_square",
        "pair:order_left_to_right",
    ]
    assert acc["all"] == 40.0  # 2 of 5
    assert acc["appearance"] == 100.0 and acc["interaction"] == 0.0
    assert acc["order"] == acc["pair:order_left_to_right"] == pytest.approx(100.0 / 3)  # 1 of the 3 order videos
    assert math.isnan(acc["pair:order_circle_before_square"])  # no such class in this toy list


def test_labels_index_the_given_class_names_and_ties_go_to_the_lowest_id():
    names = TOY[::-1]  # interaction_meet is class 0 here
    labels = np.array([0, 3, 3])
    scores = np.array([[1.0, 1.0, 0.0, 0.0], [0.5, 0.5, 0.5, 0.5], [0.0, 0.0, 0.0, 2.0]])  # ties -> class 0
    acc = families.family_accuracy(scores, labels, names)
    assert acc["interaction"] == 100.0 and acc["appearance"] == 50.0 and math.isnan(acc["order"])
    assert acc["all"] == pytest.approx(200.0 / 3)


def test_a_class_outside_the_benchmark_raises():
    with pytest.raises(ValueError, match=r"'ApplyEyeMakeup' is not a synthetic benchmark class"):
        families.family_accuracy(np.eye(2), np.array([0, 1]), ["appearance_red_square", "ApplyEyeMakeup"])


def test_families_are_the_benchmark_classes_families():
    assert families.FAMILIES is scenes.FAMILIES == ("appearance", "order", "interaction")
    assert families.class_family is scenes.class_family
