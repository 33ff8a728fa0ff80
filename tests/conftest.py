"""Shared test fixtures.

The real official annotation files and clips live outside the repository
(../shared/datasets-meta); tests reach them only through RLX_DATASETS_META
so the suite also runs where they are absent (on self-made fixtures).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


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
