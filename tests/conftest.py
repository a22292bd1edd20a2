"""Shared fixtures. Real data lives in ../shared (never in the repository); tests that need
it use the ``shared`` fixture and skip with a reason when it is absent."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
    # click < 8.2 (Debian Bookworm's 8.1.3, which the 32-bit Pi install takes from apt)
    # mixes stderr into stdout unless told not to; the tests read the two apart, as every
    # click >= 8.2 runner does.
    _runner_init = CliRunner.__init__

    def _separate_stderr(self, *args, mix_stderr=False, **kwargs):
        _runner_init(self, *args, mix_stderr=mix_stderr, **kwargs)

    CliRunner.__init__ = _separate_stderr
    # ... and, as in click >= 8.2, ``output`` is everything the user saw (stdout, then
    # stderr here: the tests only look for text in it).
    from click.testing import Result

    Result.output = property(lambda r: r.stdout + (r.stderr if r.stderr_bytes else ""))


@pytest.fixture(scope="session")
def shared() -> Path:
    """Path of ../shared; skips the test when it is absent (a user's fresh clone)."""
    if not (SHARED / "data").is_dir():
        pytest.skip("../shared/data is absent (real data is not part of the repository)")
    return SHARED


def need_tool(name: str) -> str:
    """The path of program ``name``; skips the test when it is missing, except where
    PIPAN_REQUIRE_TOOLS is set (CI, whose .ci/run installs them), where that fails it."""
    import os
    import shutil
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (.ci/run installs it with apt-get)"
        if os.environ.get("PIPAN_REQUIRE_TOOLS"):
            pytest.fail(message)
        pytest.skip(message)
    return path
