"""Time of pipan.smoothing per person per frame, against the action model's update (the
reference, measured in the same process): medians of several runs.

    python -m benchmarks.smoothing_speed [--runs 7] [--calls 2000]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from pipan.action import ActionRecognizer
from pipan.smoothing import KeypointSmoother

from .common import run_benchmark


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    base = np.c_[rng.uniform(200, 400, (18, 2)), np.full(18, 0.8)].astype(np.float32)
    kps = base + np.c_[rng.normal(0, 3, (args.calls, 18, 2)),
                       np.zeros((args.calls, 18, 1))].astype(np.float32)
    action = ActionRecognizer(threads=1)
    smooth, act = [], []
    for r in range(args.runs):
        sm = KeypointSmoother()
        t0 = time.perf_counter()
        for i in range(args.calls):
            sm.smooth(1, kps[i], i / 30)
        t1 = time.perf_counter()
        for i in range(args.calls):
            action.update(1, kps[i])
        t2 = time.perf_counter()
        action.forget(1)
        smooth.append((t1 - t0) / args.calls * 1e3)
        act.append((t2 - t1) / args.calls * 1e3)
    s, a = float(np.median(smooth)), float(np.median(act))
    print(f"smoothing {s:.4f} ms per person per frame; action update {a:.4f} ms; "
          f"ratio {s / a:.2f}")


if __name__ == "__main__":
    run_benchmark(main)
