"""What the benchmarks share: where the repository, the bundled models and the shared data
are, and how a time is measured (median of several runs, in milliseconds)."""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Callable

from pipan.errors import PipanError

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "pipan" / "models"
DEMO = MODELS / "demo.mp4"
SHARED = ROOT.parent / "shared"
JHMDB = SHARED / "data" / "jhmdb14" / "jhmdb14_split1.npz"


def median_ms(fn: Callable[[], object], runs: int, calls: int = 1, warmup: int = 1) -> float:
    """Median over ``runs`` of the mean time of ``calls`` calls of ``fn``, in ms, after
    ``warmup`` calls that are not timed."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) / calls * 1e3)
    return float(statistics.median(times))


def require_file(path: Path, what: str) -> Path:
    """``path`` if it is a file, else exit with a one-line message naming ``what``."""
    if not Path(path).is_file():
        sys.exit(f"{path}: not found ({what})")
    return Path(path)


def run_benchmark(main: Callable[[], None]) -> None:
    """Run a benchmark's ``main``; pipan's own errors (a bad model directory, dataset or
    video) end it with their one-line message and exit status 1, not a traceback."""
    try:
        main()
    except PipanError as e:
        sys.exit(f"error: {e}")
