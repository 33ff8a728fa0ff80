"""rlx.report.rows: mean ± std over seeds, the test metrics of a row, and the order rows are listed in."""

from __future__ import annotations

import math

import pytest

from rlx.report.rows import TEST_METRICS, Metrics, Stat, arch_rank, mean_std, metrics_from, shown_insertion, stream_rank


def test_mean_std_is_the_sample_std_of_the_values_present():
    stat = mean_std([1.0, 2.0, 3.0, None, math.nan])
    assert (stat.mean, stat.std) == (2.0, 1.0)  # std of 1, 2, 3 with ddof 1: sqrt((1 + 0 + 1) / 2)
    one = mean_std([5.0])
    assert one.mean == 5.0 and math.isnan(one.std)  # one seed: no spread
    none = mean_std([math.nan])
    assert math.isnan(none.mean) and math.isnan(none.std)


def test_metrics_from_percent_values_by_mlflow_name():
    m = metrics_from({"test/top1": [80.0, 84.0], "test/top5": [100.0, 100.0]})
    assert m.top1.mean == 82.0 and m.top1.std == pytest.approx(math.sqrt(8))  # (2² + 2²) / 1
    assert m.top5 == Stat(100.0, 0.0)
    assert math.isnan(m.mAP.mean) and math.isnan(m.mean_class_acc.mean)  # not given: NaN
    assert tuple(m.by_name()) == TEST_METRICS and m.by_name()["test/top1"] is m.top1
    assert Metrics() == metrics_from({})


def test_paper_order_of_archs_and_streams():
    archs = ["tsn+two_branch", "two_branch", "new_arch", "tsn", "local", "nonlocal", "tsn+nonlocal"]
    assert sorted(archs, key=arch_rank) == [
        "tsn",
        "local",
        "nonlocal",
        "two_branch",
        "tsn+nonlocal",
        "tsn+two_branch",
        "new_arch",
    ]
    streams = ["zeta", "two-stream", "alpha", "temporal", "spatial"]
    assert sorted(streams, key=stream_rank) == ["spatial", "temporal", "two-stream", "alpha", "zeta"]


def test_insertion_point_is_not_shown_for_archs_without_rlstm():
    assert shown_insertion("tsn", "conv5_2") == "–" and shown_insertion("local", "conv5_1") == "–"
    assert shown_insertion("two_branch", "conv5_1") == "conv5_1"
    assert shown_insertion("tsn+nonlocal", "conv5_3") == "conv5_3"  # an ensemble shows its R-LSTM member's


def test_a_stat_has_an_interval_only_with_both_bounds():
    assert not Stat(80.0, 1.0).has_interval and not Stat(80.0, 1.0, 75.0).has_interval
    assert Stat(80.0, 1.0, 75.0, 85.0).has_interval
    assert mean_std([80.0, 90.0]).low != mean_std([80.0, 90.0]).low  # NaN: a mean over seeds has no interval yet
