"""Shared test fixtures.

The real official annotation files and clips live outside the repository
(../shared/datasets-meta); tests reach them only through RLX_DATASETS_META
so the suite also runs where they are absent (on self-made fixtures).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from rlx.tune.space import load_space

FIXTURES = Path(__file__).parent / "fixtures"
SMOKE_SPACE = Path(__file__).resolve().parents[1] / "tune_spaces" / "smoke.yaml"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def datasets_meta() -> Path:
    """Root of the real annotation files; skips the test when not configured."""
    root = os.environ.get("RLX_DATASETS_META")
    if not root:
        pytest.skip("RLX_DATASETS_META is not set (point it at shared/datasets-meta)")
    path = Path(root)
    if not path.is_dir():
        pytest.fail(f"RLX_DATASETS_META={root} is not a directory")
    return path


@pytest.fixture
def whole_cpu_smoke():
    """The smoke space with one whole CPU per worker and a 0.5-CPU decode task (as before the shipped one went
    to two trials at once on 2 CPUs): on 2 CPUs the next trial's worker cannot start beside a running one."""
    smoke = load_space(SMOKE_SPACE, check_data=False)
    return dataclasses.replace(
        smoke,
        fixed={**smoke.fixed, "data.loader_cpus": 0.5},
        resources=dataclasses.replace(smoke.resources, cpus_per_worker=1),
    )
