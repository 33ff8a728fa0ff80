"""rlx.bench.train: the quick run measures the data path against compute only (no timing asserts)."""

import pytest

from rlx.bench import train


def test_quick_train_bench_measures_the_data_path(tmp_path, monkeypatch):
    monkeypatch.setenv("RLX_CACHE", str(tmp_path))
    (result,) = train.run(quick=True)
    assert result.name == "train.steps_with_data_vs_compute_only" and result.value > 0
    assert 0.0 <= result.details["data_wait_fraction"] < 1.0
    assert result.details["steps_per_s_compute_only"] > 0
    rates = result.details["steps_per_s_with_data"] / result.details["steps_per_s_compute_only"]
    assert result.value == pytest.approx(rates, rel=0.05)  # the ratio of the two rates (each rounded)
