"""Metrics against hand-computed values, including ties and label-less videos."""
import math

import numpy as np
import pytest

from rlx.eval.metrics import (
    average_precision,
    charades_map,
    confusion_matrix,
    mean_class_accuracy,
    per_class_accuracy,
    top_k_accuracy,
)

SCORES = np.array(
    [
        [0.9, 0.05, 0.05],  # label 0: rank 0
        [0.2, 0.7, 0.1],  # label 0: rank 1
        [0.1, 0.3, 0.6],  # label 1: rank 1
        [0.5, 0.5, 0.0],  # label 1: tied with class 0, which has the lower id -> rank 1
        [0.3, 0.3, 0.4],  # label 0: rank 1 (class 2 higher; tie with class 1 at a higher id doesn't count)
    ]
)
LABELS = np.array([0, 0, 1, 1, 0])


def test_top_k_with_ties_that_do_not_help():
    assert top_k_accuracy(SCORES, LABELS, 1) == pytest.approx(1 / 5)
    assert top_k_accuracy(SCORES, LABELS, 2) == pytest.approx(5 / 5)
    assert top_k_accuracy(SCORES, LABELS, 10) == 1.0  # k >= K


def test_mean_class_accuracy_is_not_top1_on_imbalanced_data():
    # 4 videos of class 0 all right, 1 video of class 1 wrong: top-1 = 4/5, mean class = (1 + 0)/2.
    scores = np.array([[1, 0], [1, 0], [1, 0], [1, 0], [1, 0]], float)
    labels = np.array([0, 0, 0, 0, 1])
    assert top_k_accuracy(scores, labels, 1) == pytest.approx(0.8)
    assert mean_class_accuracy(scores, labels) == pytest.approx(0.5)


def test_per_class_accuracy_marks_absent_classes_nan():
    acc = per_class_accuracy(SCORES, LABELS, 4)
    assert acc[0] == pytest.approx(1 / 3) and acc[1] == 0.0
    assert math.isnan(acc[2]) and math.isnan(acc[3])


def test_confusion_matrix_rows_true_columns_predicted():
    # predictions: argmax -> [0, 1, 2, 0 (tie -> lower id), 2]
    expected = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 0]])
    np.testing.assert_array_equal(confusion_matrix(SCORES, LABELS), expected)


def test_average_precision_by_hand():
    # ranking + - + - : precisions at positives 1/1 and 2/3 -> 0.8333
    assert average_precision(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 0, 1, 0])) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision(np.array([0.9, 0.8, 0.1]), np.array([1, 1, 0])) == 1.0
    assert math.isnan(average_precision(np.array([0.5, 0.4]), np.array([0, 0])))


def test_average_precision_ties_keep_input_order():
    tied = np.array([0.5, 0.5, 0.5])
    # positive first among equals -> ranked first: AP 1; positive last -> precision 1/3.
    assert average_precision(tied, np.array([1, 0, 0])) == 1.0
    assert average_precision(tied, np.array([0, 0, 1])) == pytest.approx(1 / 3)


def test_charades_map_excludes_label_less_videos_and_reports_empty_classes():
    scores = np.array(
        [
            [0.9, 0.1, 0.2],
            [0.8, 0.7, 0.1],
            [0.99, 0.9, 0.3],  # no label at all: would rank first for classes 0 and 1
            [0.2, 0.6, 0.0],
            [0.1, 0.2, 0.5],
        ]
    )
    labels = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 1, 0], [0, 0, 0]])
    mean_ap, per_class = charades_map(scores, labels)
    # Without video 2. class 0 ranking: v0(+) v1 v3(+) v4 -> (1 + 2/3)/2.
    # class 1 ranking: v1(+) v3(+) v4 v0 -> 1. class 2: no positives -> NaN, excluded.
    assert per_class[0] == pytest.approx(5 / 6) and per_class[1] == 1.0 and math.isnan(per_class[2])
    assert mean_ap == pytest.approx((5 / 6 + 1) / 2)


def brute_force_ap(scores, positives):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    hits, precisions = 0, []
    for rank, i in enumerate(order, start=1):
        if positives[i]:
            hits += 1
            precisions.append(hits / rank)
    return sum(precisions) / len(precisions)


def test_average_precision_matches_a_brute_force_reference():
    rng = np.random.default_rng(0)
    for _ in range(50):
        scores = rng.permutation(30).astype(float)  # no ties
        positives = rng.random(30) < 0.3
        positives[0] = True
        assert average_precision(scores, positives) == pytest.approx(brute_force_ap(scores, positives))


@pytest.mark.parametrize(
    "scores,labels,message",
    [
        (np.zeros((2, 3)), np.array([0, 3]), "label 3 is out of range for 3 classes"),
        (np.zeros((2, 3)), np.array([0]), r"labels must be \(2,\)"),
        (np.array([[np.nan, 1.0]]), np.array([0]), "scores contain NaN"),
        (np.zeros((0, 3)), np.zeros(0, int), "no videos to evaluate"),
    ],
)
def test_bad_input_is_named(scores, labels, message):
    with pytest.raises(ValueError, match=message):
        top_k_accuracy(scores, labels, 1)
