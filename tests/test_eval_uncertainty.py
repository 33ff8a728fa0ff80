import math

import numpy as np
import pytest
from scipy import stats

from rlx.eval.metrics import charades_map, mean_class_accuracy
from rlx.eval.uncertainty import (
    ALPHA,
    EXACT_BELOW,
    RESAMPLES,
    accuracy_ci,
    accuracy_replicates,
    binomial_two_sided,
    bootstrap,
    bootstrap_p,
    compare_accuracy,
    compare_map,
    compare_mean_class_accuracy,
    map_ci,
    mcnemar_p,
    mean_class_accuracy_ci,
    mean_over_splits,
    percentile_interval,
    resample_indices,
)


def test_resamples_are_fixed_by_the_seed():
    a, b = resample_indices(5), resample_indices(5)
    assert a.shape == (RESAMPLES, 5) and np.array_equal(a, b)
    assert not np.array_equal(a, resample_indices(5, seed=1))
    with pytest.raises(ValueError, match="no videos"):
        resample_indices(0)


def test_percentile_interval_is_numpys_linear_percentile():
    assert percentile_interval(np.arange(101.0)) == (2.5, 97.5)
    assert percentile_interval(np.array([1.0, np.nan, 3.0]), alpha=1.0) == (2.0, 2.0)  # the median, NaN dropped
    assert all(math.isnan(x) for x in percentile_interval(np.array([np.nan])))


def test_accuracy_ci_equals_the_generic_bootstrap_by_hand():
    correct = np.array([1, 1, 1, 0, 1, 0, 1, 1, 1, 1], dtype=float)
    est = accuracy_ci(correct)
    idx = resample_indices(10)
    by_hand = np.percentile(correct[idx].mean(axis=1), [2.5, 97.5])
    assert est.value == 0.8 and (est.low, est.high) == pytest.approx(tuple(by_hand))
    assert bootstrap(lambda i: correct[i].mean(), 10) == est
    assert est.low < 0.8 < est.high and est.contains(0.8) and not est.contains(1.01)


def test_all_right_has_a_degenerate_interval():
    est = accuracy_ci(np.ones(7))
    assert (est.value, est.low, est.high) == (1.0, 1.0, 1.0)


def test_seed_mean_resamples_videos_jointly():
    runs = np.array([[1, 0, 1, 1], [1, 1, 0, 1]], dtype=float)  # two seeds on the same 4 videos
    est = accuracy_ci(runs)
    assert est.value == 0.75  # mean of 0.75 and 0.75
    assert est == accuracy_ci(np.array([1, 0.5, 0.5, 1]))  # = the per-video fraction of seeds right


def test_mean_class_accuracy_ci_recomputes_per_class_recall():
    labels = np.array([0, 0, 1, 1, 1, 2])
    correct = np.array([1, 0, 1, 1, 0, 1], dtype=float)  # recalls 1/2, 2/3, 1 -> mean 13/18
    scores = np.eye(3)[np.where(correct == 1, labels, (labels + 1) % 3)]
    est = mean_class_accuracy_ci(correct, labels)
    assert est.value == pytest.approx(13 / 18) == pytest.approx(mean_class_accuracy(scores, labels))
    idx = resample_indices(6)
    by_hand = [mean_class_accuracy(scores[i], labels[i]) for i in idx]  # classes absent from a resample left out
    assert (est.low, est.high) == pytest.approx(tuple(np.percentile(by_hand, [2.5, 97.5])))


def test_map_ci_is_the_bootstrap_of_charades_map():
    rng = np.random.default_rng(3)
    labels = (rng.random((12, 3)) < 0.4).astype(int)
    scores = [rng.normal(size=(12, 3)), rng.normal(size=(12, 3))]
    est = map_ci(scores, labels, resamples=50)
    assert est.value == pytest.approx(np.mean([charades_map(s, labels).mean_ap for s in scores]))
    assert est.low <= est.value <= est.high


@pytest.mark.parametrize(("k", "n"), [(0, 0), (0, 1), (1, 5), (2, 10), (7, 10), (12, 24), (3, 3)])
def test_exact_binomial_matches_scipy(k, n):
    expected = 1.0 if n == 0 else stats.binomtest(k, n, 0.5).pvalue
    assert binomial_two_sided(k, n) == pytest.approx(expected, rel=1e-12)


def test_mcnemar_by_hand_and_against_scipy():
    # b=1, c=6: n=7 < EXACT_BELOW, exact: 2 * (1 + 7) / 128 = 0.125
    assert mcnemar_p(1, 6) == (pytest.approx(0.125), "McNemar exact")
    # b=10, c=25: chi2 = (15 - 1)^2 / 35 = 5.6
    p, test = mcnemar_p(10, 25)
    assert test == "McNemar chi-square" and p == pytest.approx(stats.chi2.sf(5.6, 1), rel=1e-12)
    assert mcnemar_p(0, 0) == (1.0, "McNemar exact")
    assert mcnemar_p(EXACT_BELOW, 0)[1] == "McNemar chi-square"


def test_compare_accuracy_of_two_single_runs_uses_mcnemar():
    a = np.array([1, 1, 1, 1, 1, 1, 1, 0, 1, 0], dtype=float)
    b = np.array([1, 0, 0, 0, 0, 0, 0, 1, 1, 0], dtype=float)  # only A right: 6, only B right: 1
    cmp = compare_accuracy(a, b)
    assert cmp.discordant == (6, 1) and cmp.test == "McNemar exact"
    assert cmp.difference == pytest.approx(0.5) and cmp.p_value == pytest.approx(0.125)
    assert cmp.within_noise  # p >= ALPHA
    idx = resample_indices(10)
    assert (cmp.low, cmp.high) == pytest.approx(tuple(np.percentile((a - b)[idx].mean(axis=1), [2.5, 97.5])))
    assert compare_accuracy(a[None, :], b[None, :]) == cmp  # one seed each, as (1, N)


def test_compare_accuracy_of_seed_means_is_a_paired_bootstrap():
    a = np.ones((2, 40))
    b = np.zeros((2, 40))
    cmp = compare_accuracy(a, b)
    assert cmp.test == "paired bootstrap" and cmp.discordant is None
    assert (cmp.difference, cmp.low, cmp.high) == (1.0, 1.0, 1.0)
    assert cmp.p_value == pytest.approx(2 / (1 + RESAMPLES)) and not cmp.within_noise
    with pytest.raises(ValueError, match="different numbers of videos"):
        compare_accuracy(np.ones(3), np.ones(4))


def test_bootstrap_p_by_hand():
    assert bootstrap_p(np.array([1.0, 2.0, 3.0])) == pytest.approx(2 * 1 / 4)
    assert bootstrap_p(np.array([-1.0, 1.0, 2.0, 3.0])) == pytest.approx(2 * 2 / 5)
    assert bootstrap_p(np.zeros(9)) == 1.0  # identical models
    assert ALPHA == 0.05


def test_identical_models_are_within_noise():
    c = np.array([1, 0, 1, 1, 0, 1], dtype=float)
    labels = np.array([0, 0, 1, 1, 2, 2])
    for cmp in (compare_accuracy(c, c), compare_mean_class_accuracy(c, c, labels)):
        assert (cmp.difference, cmp.low, cmp.high, cmp.p_value) == (0.0, 0.0, 0.0, 1.0) and cmp.within_noise


def test_compare_mean_class_accuracy_by_hand():
    labels = np.array([0, 0, 1, 1])
    a = np.array([1, 1, 1, 0], dtype=float)  # recalls 1, 1/2 -> 0.75
    b = np.array([1, 0, 0, 0], dtype=float)  # 1/2, 0 -> 0.25
    cmp = compare_mean_class_accuracy(a, b, labels, resamples=200)
    assert cmp.difference == pytest.approx(0.5) and cmp.test == "paired bootstrap"
    assert cmp.low <= 0.5 <= cmp.high


def test_compare_map_difference_is_the_map_difference():
    rng = np.random.default_rng(0)
    labels = (rng.random((15, 4)) < 0.3).astype(int)
    labels[0] = 1
    good, bad = [labels + rng.normal(0, 0.1, labels.shape)], [rng.normal(size=labels.shape)]
    cmp = compare_map(good, bad, labels, resamples=100)
    expected = charades_map(good[0], labels).mean_ap - charades_map(bad[0], labels).mean_ap
    assert cmp.difference == pytest.approx(expected) and cmp.low <= cmp.difference <= cmp.high
    assert cmp.scaled(100).difference == pytest.approx(100 * expected) and cmp.scaled(100).p_value == cmp.p_value


def test_mean_over_splits_averages_independent_replicates():
    a = accuracy_replicates(np.array([1, 0, 1, 1.0]), seed=0)
    b = accuracy_replicates(np.array([1, 1, 0, 0, 1, 0.0]), seed=1)
    est = mean_over_splits([a, b])
    assert est.value == pytest.approx((0.75 + 0.5) / 2)
    by_hand = np.percentile((a.values + b.values) / 2, [2.5, 97.5])
    assert (est.low, est.high) == pytest.approx(tuple(by_hand))
    assert mean_over_splits([a]) == a.estimate() == accuracy_ci(np.array([1, 0, 1, 1.0]))
    with pytest.raises(ValueError, match="no splits"):
        mean_over_splits([])
