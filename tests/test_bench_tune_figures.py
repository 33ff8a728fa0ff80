"""rlx.bench.tune_figures: the figures of `python -m rlx.bench tune` on hand-made curves."""

import pytest

from rlx.bench import tune_figures as bench
from rlx.bench.tune_figures import Report

# Two trials reporting alternately (times 1..6): a plateaus at 0.70, b peaks at 0.80 then ends at 0.75.
GRID = [
    Report("a", 1, 0.50, 1.0),
    Report("b", 1, 0.40, 2.0),
    Report("a", 2, 0.60, 3.0),
    Report("b", 2, 0.80, 4.0),
    Report("a", 3, 0.70, 5.0),
    Report("b", 3, 0.75, 6.0),
]


def test_final_values_take_each_trials_last_epoch_not_its_peak():
    assert bench.final_values(GRID) == {"a": 0.70, "b": 0.75}
    shuffled = list(reversed(GRID))  # the order reports arrive in does not matter, the epoch does
    assert bench.final_values(shuffled) == {"a": 0.70, "b": 0.75}


def test_best_trial_by_final_value_and_mode():
    assert bench.best_trial(GRID) == ("b", 0.75)
    assert bench.best_trial(GRID, mode="min") == ("a", 0.70)
    with pytest.raises(ValueError):
        bench.best_trial([])


def test_trial_epochs_to_reach_counts_every_trials_reports_in_time_order():
    assert bench.trial_epochs_to_reach(GRID, 0.75) == 4  # b's epoch 2 (0.80) is the 4th report
    assert bench.trial_epochs_to_reach(GRID, 0.70) == 4
    assert bench.trial_epochs_to_reach(GRID, 0.60) == 3
    assert bench.trial_epochs_to_reach(GRID, 0.50) == 1
    assert bench.trial_epochs_to_reach(GRID, 0.81) is None
    assert bench.trial_epochs_to_reach(list(reversed(GRID)), 0.75) == 4  # sorted by time, not list order
    assert bench.trial_epochs_to_reach(GRID, 0.45, mode="min") == 2  # loss-like: b's 0.40


def test_compare_asha_to_grid_on_hand_made_runs():
    grid_cfg = {"a": {"lr": 0.1, "width": 4}, "b": {"lr": 0.01, "width": 16}}
    # ASHA: a stopped after epoch 1; b (the same config as the grid's b, the same curve) promoted to the end.
    asha = [Report("x", 1, 0.50, 1.0), Report("y", 1, 0.40, 1.5), Report("y", 2, 0.80, 2.0), Report("y", 3, 0.75, 3.0)]
    asha_cfg = {"x": {"lr": 0.1, "width": 4}, "y": {"width": 16, "lr": 0.01}}
    fig = bench.compare_asha_to_grid(GRID, grid_cfg, asha, asha_cfg, tolerance=0.005)
    assert fig["grid_best_val_acc"] == 0.75 and fig["grid_best_config"] == {"lr": 0.01, "width": 16}
    assert fig["same_best_config"] is True and fig["asha_best_val_acc"] == 0.75
    assert fig["grid_trial_epochs"] == 6 and fig["asha_trial_epochs"] == 4
    assert fig["asha_trial_epochs_to_reach"] == 3  # y's epoch 2 (0.80 >= 0.745)
    assert fig["grid_trial_epochs_to_reach"] == 4
    assert fig["asha_curves_match_grid"] is True

    wrong = [Report("x", 1, 0.51, 1.0)]  # a value the deterministic grid never produced for that config
    fig = bench.compare_asha_to_grid(GRID, grid_cfg, wrong, {"x": {"lr": 0.1, "width": 4}}, tolerance=0.005)
    assert fig["asha_curves_match_grid"] is False and fig["same_best_config"] is False
    assert fig["asha_trial_epochs_to_reach"] is None


def test_overhead_figures():
    fig = bench.overhead_figures([20.0], [25.0])
    assert fig == {"bare_s_per_trial": 20.0, "rlx_s_per_trial": 25.0, "ratio": 1.25}
    assert bench.overhead_figures([10.0, 30.0], [30.0])["ratio"] == 1.5
    with pytest.raises(ValueError):
        bench.overhead_figures([], [1.0])
