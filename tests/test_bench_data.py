"""rlx.bench.data: `run(quick=True)` returns well-formed results (no timing asserts: the machine is shared)."""

from __future__ import annotations

import json
import math

import pytest

from rlx.bench import data
from rlx.bench.common import BenchResult


@pytest.fixture
def synthetic_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quick mode on synthetic clips, whatever the environment points at."""
    monkeypatch.delenv("RLX_DATASETS_META", raising=False)


def test_quick_run_returns_well_formed_ratios(synthetic_only):
    results = data.run(quick=True)
    assert [r.name for r in results] == ["data.train_path_vs_decode_ceiling", "data.train_path_vs_decode_all"]
    for r in results:
        assert isinstance(r, BenchResult) and r.unit == "x"
        assert math.isfinite(r.value) and r.value > 0
        assert r.baseline and r.candidate and r.details["goal"]
        assert r.details["clip_source"] == "synthetic" and r.details["clips"] > 0
        speeds = r.details["videos_per_s_per_core"]
        assert set(speeds) == {"ceiling", "candidate", "decode_all"} and all(v > 0 for v in speeds.values())
        json.loads(r.to_json())  # serialisable as the CLI prints it
