"""rlx.eval.metrics against hand-computed values (ties, label-less videos, empty classes) and brute force."""

import math

import numpy as np
import pytest

from rlx.eval.metrics import (
    average_precision,
    charades_map,
    confusion_matrix,
    mean_class_accuracy,
    per_class_accuracy,
    predictions,
    summarize_single_label,
    top_k_accuracy,
)

# 5 videos x 6 classes. Rank of the true class = #classes scoring higher + #tied classes with a lower id.
SCORES = np.array(
    [
        [0.9, 0.1, 0.0, 0.0, 0.0, 0.0],  # label 0: rank 0
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],  # label 0: 5 classes higher -> rank 5
        [0.5, 0.5, 0.1, 0.1, 0.1, 0.1],  # label 1: tied with class 0 (lower id) -> rank 1
        [0.5, 0.5, 0.1, 0.1, 0.1, 0.1],  # label 0: the tie with class 1 (higher id) does not count -> rank 0
        [0.2, 0.2, 0.2, 0.2, 0.2, 0.2],  # label 5: tied with the 5 lower ids -> rank 5
    ]
)
LABELS = np.array([0, 0, 1, 0, 5])  # ranks [0, 5, 1, 0, 5]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_top_k_by_hand_with_ties_that_do_not_help(dtype):
    scores = SCORES.astype(dtype)
    assert top_k_accuracy(scores, LABELS, 1) == pytest.approx(2 / 5)  # ranks < 1: v0, v3
    assert top_k_accuracy(scores, LABELS, 2) == pytest.approx(3 / 5)  # ranks < 2: v0, v2, v3
    assert top_k_accuracy(scores, LABELS, 5) == pytest.approx(3 / 5)  # rank 5 (v1, v4) is 6th: out of the top 5
    assert top_k_accuracy(scores, LABELS, 6) == 1.0  # k = K
    assert top_k_accuracy(scores, LABELS, 10) == 1.0  # k > K


def test_mean_class_accuracy_is_not_top1_on_imbalanced_data():
    # 4 videos of class 0 all right, 1 video of class 1 wrong: top-1 = 4/5 = 0.8, mean class = (4/4 + 0/1)/2 = 0.5.
    scores = np.array([[1, 0], [1, 0], [1, 0], [1, 0], [1, 0]], float)
    labels = np.array([0, 0, 0, 0, 1])
    assert top_k_accuracy(scores, labels, 1) == pytest.approx(0.8)
    assert mean_class_accuracy(scores, labels) == pytest.approx(0.5)
    assert summarize_single_label(scores, labels, ["a", "b"]) == pytest.approx(
        {"top1": 0.8, "top5": 1.0, "mean_class_acc": 0.5}
    )


def test_per_class_accuracy_marks_absent_classes_nan():
    # class 0: v0 right, v1 wrong, v3 right -> 2/3; class 1: v2 wrong -> 0; class 5: v4 wrong -> 0; 2, 3, 4 absent.
    acc = per_class_accuracy(SCORES, LABELS, 6)
    np.testing.assert_allclose(acc, [2 / 3, 0, np.nan, np.nan, np.nan, 0])
    assert mean_class_accuracy(SCORES, LABELS) == pytest.approx((2 / 3 + 0 + 0) / 3)  # 2/9, top-1 is 2/5


def test_confusion_matrix_rows_true_columns_predicted():
    # argmax (lowest id among tied maxima): [0, 5, 0, 0, 0]; (true, pred) pairs: (0,0) (0,5) (1,0) (0,0) (5,0)
    expected = np.zeros((6, 6), np.int64)
    expected[0, 0], expected[0, 5], expected[1, 0], expected[5, 0] = 2, 1, 1, 1
    np.testing.assert_array_equal(predictions(SCORES), [0, 5, 0, 0, 0])
    cm = confusion_matrix(SCORES, LABELS, 6)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, expected)
    np.testing.assert_array_equal(confusion_matrix(np.array([0, 5, 0, 0, 0]), LABELS, 6), expected)  # 1-D preds
    assert np.trace(cm) / cm.sum() == top_k_accuracy(SCORES, LABELS, 1)  # same tie rule as top-1


def test_average_precision_by_hand():
    # ranking + - + - : precisions at the positives 1/1 and 2/3 -> (1 + 2/3)/2 = 0.8333
    assert average_precision(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 0, 1, 0])) == pytest.approx(0.8333, abs=1e-4)
    # all positives first: 1/1, 2/2 -> 1.0
    assert average_precision(np.array([0.9, 0.8, 0.1]), np.array([True, True, False])) == 1.0
    # ranking - + + (scores need not be sorted in the input): 1/2, 2/3 -> 7/12
    assert average_precision(np.array([0.2, 0.7, 0.9]), np.array([1, 1, 0])) == pytest.approx(7 / 12)
    assert math.isnan(average_precision(np.array([0.5, 0.4]), np.array([0, 0])))  # no positive: undefined


def test_average_precision_ties_keep_input_order():
    # Same (score, label) pairs, two input orders. Stable sort: the earlier of the tied 0.5s ranks first.
    scores = np.array([0.9, 0.5, 0.5])
    assert average_precision(scores, np.array([0, 1, 0])) == pytest.approx(1 / 2)  # ranking - + - : 1/2
    assert average_precision(scores, np.array([0, 0, 1])) == pytest.approx(1 / 3)  # ranking - - + : 1/3
    tied = np.zeros(3)
    assert average_precision(tied, np.array([1, 0, 0])) == 1.0
    assert average_precision(tied, np.array([0, 0, 1])) == pytest.approx(1 / 3)


def test_charades_map_excludes_label_less_videos_and_reports_empty_classes():
    scores = np.array(
        [
            [0.9, 0.1, 0.2],
            [0.8, 0.7, 0.1],
            [0.99, 0.9, 0.3],  # no label at all: would rank first (as a negative) for classes 0 and 1
            [0.2, 0.6, 0.0],
            [0.1, 0.2, 0.5],
        ]
    )
    labels = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 1, 0], [0, 1, 0]], np.float32)  # float, as the loader
    mean_ap, per_class = result = charades_map(scores, labels)
    # Without v2. class 0: v0(+) v1(-) v3(+) v4(-) -> (1/1 + 2/3)/2 = 5/6.
    # class 1: v1(+) v3(+) v4(+) v0(-) -> (1 + 1 + 1)/3 = 1.  class 2: no positive -> NaN, left out of the mean.
    np.testing.assert_allclose(per_class, [5 / 6, 1.0, np.nan])
    assert mean_ap == pytest.approx((5 / 6 + 1) / 2)  # 11/12
    assert result.num_without_positives == 1
    # Had v2 been kept as a negative: class 0: v2(-) v0(+) v1(-) v3(+) v4(-) -> (1/2 + 2/4)/2 = 0.5;
    # class 1: v2(-) v1(+) v3(+) v4(+) v0(-) -> (1/2 + 2/3 + 3/4)/3 = 23/36.
    assert average_precision(scores[:, 0], labels[:, 0]) == pytest.approx(0.5)
    assert average_precision(scores[:, 1], labels[:, 1]) == pytest.approx(23 / 36)


def test_charades_map_ties_after_exclusion_keep_input_order():
    # all scores equal; v1 has no label and is dropped; class 0 ranking: v0(-) v2(+) -> 1/2; class 1: v0(+) v2(-) -> 1
    labels = np.array([[0, 1], [0, 0], [1, 0]])
    mean_ap, per_class = charades_map(np.zeros((3, 2)), labels)
    np.testing.assert_allclose(per_class, [0.5, 1.0])
    assert mean_ap == pytest.approx(0.75)


def brute_force_ap(scores, positives):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    hits, precisions = 0, []
    for rank, i in enumerate(order, start=1):
        if positives[i]:
            hits += 1
            precisions.append(hits / rank)
    return sum(precisions) / len(precisions) if precisions else math.nan


def test_average_precision_and_map_match_a_brute_force_reference():
    rng = np.random.default_rng(0)
    for _ in range(30):
        n, k = rng.integers(1, 40), rng.integers(1, 6)
        scores = rng.permutation(n * k).reshape(n, k).astype(float)  # no ties
        labels = rng.random((n, k)) < 0.3
        for c in range(k):
            np.testing.assert_allclose(
                average_precision(scores[:, c], labels[:, c]), brute_force_ap(scores[:, c], labels[:, c])
            )
        keep = labels.any(axis=1)
        if not keep.any():
            continue
        expected = [brute_force_ap(scores[keep, c], labels[keep, c]) for c in range(k)]
        mean_ap, per_class = charades_map(scores, labels)
        np.testing.assert_allclose(per_class, expected)
        assert mean_ap == pytest.approx(np.nanmean(expected))


def test_average_precision_matches_sklearn_without_ties():
    sk_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    for _ in range(20):
        scores = rng.random(50)
        positives = rng.random(50) < 0.3
        positives[0] = True
        assert average_precision(scores, positives) == pytest.approx(
            sk_metrics.average_precision_score(positives, scores)
        )


@pytest.mark.parametrize(
    "call,message",
    [
        (
            lambda: top_k_accuracy(np.zeros((2, 3)), np.array([0, 3]), 1),
            "label 3 in labels is out of range for 3 classes",
        ),
        (lambda: top_k_accuracy(np.zeros((2, 3)), np.array([-1, 0]), 1), "label -1 in labels is out of range"),
        (lambda: top_k_accuracy(np.zeros((2, 3)), np.array([0.0, 1.5]), 1), "must be integer class ids, got 1.5"),
        (lambda: top_k_accuracy(np.zeros((2, 3)), np.array([0]), 1), r"labels must be \(2,\)"),
        (lambda: top_k_accuracy(np.array([[np.nan, 1.0]]), np.array([0]), 1), "scores contain NaN"),
        (lambda: top_k_accuracy(np.zeros((0, 3)), np.zeros(0, int), 1), "no videos to evaluate"),
        (lambda: top_k_accuracy(np.zeros(3), np.zeros(3, int), 1), r"scores must be \(N, K\)"),
        (lambda: top_k_accuracy(np.zeros((2, 3)), np.zeros(2, int), 0), "k must be an integer >= 1"),
        (lambda: mean_class_accuracy(np.zeros((2, 3)), np.array([0, 7])), "label 7 in labels is out of range"),
        (lambda: per_class_accuracy(np.zeros((2, 3)), np.zeros(2, int), 4), "num_classes=4 does not match"),
        (lambda: confusion_matrix(np.array([0, 1]), np.zeros(2, int)), "num_classes .* required"),
        (lambda: confusion_matrix(np.array([0, 4]), np.zeros(2, int), 3), "label 4 in predictions is out of range"),
        (lambda: average_precision(np.zeros(3), np.zeros(2)), r"positives must have shape \(3,\)"),
        (lambda: average_precision(np.array([0.1, np.nan]), np.array([1, 0])), "scores contain NaN"),
        (lambda: average_precision(np.zeros(0), np.zeros(0)), "no videos to evaluate"),
        (lambda: average_precision(np.zeros(2), np.array([0, 2])), "positives must be 0/1"),
        (lambda: charades_map(np.zeros((2, 3)), np.zeros((2, 2))), r"labels must have shape \(2, 3\)"),
        (lambda: charades_map(np.zeros((2, 2)), np.array([[1, np.nan], [0, 1]])), "labels must be 0/1"),
        (lambda: charades_map(np.zeros((2, 2)), np.zeros((2, 2))), "none of the 2 videos has a label"),
        (lambda: charades_map(np.full((1, 2), np.nan), np.ones((1, 2))), "scores contain NaN"),
        (
            lambda: summarize_single_label(np.zeros((2, 3)), np.zeros(2, int), ["a", "b"]),
            "num_classes=2 does not match",
        ),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
