"""Time of one streaming step of the int8 action model, per person per frame (LiteRT).

    python -m benchmarks.action_speed [--model pipan/models/action.tflite] [--threads 1]

Reports the median over repeats of (a) the interpreter call alone and (b) the whole
``ActionRecognizer.update`` (features + step + running attention, and the running
statistics for a model with a statistics head), for one person and
for five people in turn. Goal on a Pi: under 0.2 ms per person per frame for the step.
Runtime only (no TensorFlow).
"""
from __future__ import annotations

import argparse
import platform
from pathlib import Path

import numpy as np

from .common import median_ms, run_benchmark


def main() -> None:
    from pipan.action import DEFAULT_MODEL, ActionRecognizer
    from pipan.runtime import runtime_name

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--frames", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()

    rec = ActionRecognizer(args.model, threads=args.threads)
    rng = np.random.default_rng(0)
    kp = np.zeros((args.frames, 18, 3), np.float32)
    kp[..., :2] = rng.uniform(100, 300, (1, 18, 2)) + np.cumsum(rng.normal(0, 2, (args.frames, 18, 2)), 0)
    kp[..., 2] = rng.uniform(0.3, 1, (args.frames, 18))
    feats = {"features": np.zeros((1, 18, 5), np.float32),
             "h_prev": np.zeros((1, rec.hidden), np.float32)}
    if rec.stats:  # a statistics head: its running statistics are an input too
        from pipan.skeleton import NUM_STATS
        feats["stats"] = np.zeros((1, NUM_STATS), np.float32)
    step_ms = median_ms(lambda: rec.model(**feats), args.repeats, args.frames, warmup=0)
    i = [0]

    def one():
        rec.update(1, kp[i[0] % args.frames])
        i[0] += 1

    def five():
        t = i[0] % args.frames
        for p in range(5):
            rec.update(p, kp[t])
        i[0] += 1

    upd_ms = median_ms(one, args.repeats, args.frames, warmup=0)
    five_ms = median_ms(five, args.repeats, args.frames // 5, warmup=0) / 5
    print(f"{args.model.name}: {runtime_name()}, {args.threads} thread(s), "
          f"{platform.machine()} {platform.processor() or ''}".rstrip())
    print(f"int8 step (interpreter call)        {step_ms:.4f} ms per person per frame")
    print(f"update (features + step + attention) {upd_ms:.4f} ms per person per frame")
    print(f"update, 5 people in turn             {five_ms:.4f} ms per person per frame")


if __name__ == "__main__":
    run_benchmark(main)
