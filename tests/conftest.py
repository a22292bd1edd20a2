"""Shared fixtures. Real data lives in ../shared (never in the repository); tests that need
it use the ``shared`` fixture and skip with a reason when it is absent."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared() -> Path:
    """Path of ../shared; skips the test when it is absent (a user's fresh clone)."""
    if not (SHARED / "data").is_dir():
        pytest.skip("../shared/data is absent (real data is not part of the repository)")
    return SHARED
