"""The per-family benchmark runs end to end and writes well-formed results (no accuracy asserts: quick is 1 epoch)."""

import json
import math

import numpy as np

from rlx.bench import families
from rlx.bench.common import BenchResult


def test_family_accuracy_rounds_to_two_decimals_and_keeps_nan():
    """The bench's wrapper of `rlx.eval.families.family_accuracy` (tested there): 2 decimals, NaN kept."""
    names = ["appearance_red_square", "order_left_to_right", "order_right_to_left", "interaction_meet"]
    labels = np.array([0, 1, 2, 3, 1])
    scores = np.eye(4)[[0, 1, 1, 0, 2]]  # right, right, wrong (pair confusion), wrong, wrong
    acc = families.family_accuracy(scores, labels, names)
    assert acc["appearance"] == 100.0 and acc["interaction"] == 0.0
    assert acc["order"] == round(100 / 3, 2)
    assert acc["pair:order_left_to_right"] == round(100 / 3, 2)
    assert math.isnan(acc["pair:order_circle_before_square"])  # no such class in this toy list
    assert acc["all"] == 40.0


def test_quick_run_returns_well_formed_results(tmp_path, monkeypatch):
    monkeypatch.setenv("RLX_CACHE", str(tmp_path))
    results = families.run(quick=True)
    names = {r.name for r in results}
    assert {
        "families.order_acc_two_branch_vs_local",
        "families.order_acc_nonlocal_vs_local",
        "families.appearance_acc_two_branch_vs_local",
        "families.appearance_acc_nonlocal_vs_local",
    } <= names
    for r in results:
        assert isinstance(r, BenchResult) and r.unit == "points" and r.baseline and r.candidate
        assert -100.0 <= r.value <= 100.0
        d = r.details
        assert d["quick"] is True and d["seeds"] == [0] and d["wall_s"] > 0
        for arch in families.ARCHS:
            for family in ("all", *families.FAMILIES):
                assert 0.0 <= d[f"{family}_acc_{arch}"] <= 100.0
            assert d[f"{arch}_seed0"]["train_s"] > 0
        json.loads(r.to_json())  # serialisable as a bench line
    order = next(r for r in results if r.name == "families.order_acc_two_branch_vs_local")
    assert order.value == round(order.details["order_acc_two_branch"] - order.details["order_acc_local"], 2)
