"""What the tight looks for left and right (``RegionPolicy.sides_look``) cost end to end:
``pipan benchmark``'s measurement of the demo (or ``--video``), with and without them, in
alternating rounds in one process, 1 interpreter thread, CPU clock.

Per round and setting it prints the pipeline's FPS, the reference's (decoding and one
whole-frame pose call per frame), their ratio, and the share of the pipeline's time that
decoding and its pose stage (regions, tight looks, maps) take by the pipeline's own stage
times (what the stages after the pose net add).

    python -m benchmarks.sides_speed [--video V.mp4] [--rounds 2] [--repeats 3]
"""
from __future__ import annotations

import argparse

from pipan.benchmark import benchmark
from pipan.pipeline import action_decay, load_action
from pipan.pose import PoseEstimator
from pipan.region import RegionPolicy
from pipan.video import VideoFileSource

from .common import DEMO, run_benchmark


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", default=str(DEMO))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="passes per measurement (median)")
    args = ap.parse_args()
    with VideoFileSource(args.video) as src:
        fps = src.info.fps
    pose = PoseEstimator(threads=1)
    print("| round | tight looks | pipeline FPS | reference FPS | ratio | decode + pose stage "
          "share |\n|---|---|---|---|---|---|")
    for r in range(args.rounds):
        for on in (True, False):
            # on: the default policy, made afresh by each pass's pipeline (its schedule of
            # tight looks starts over); off: one policy that never takes them
            res = benchmark(args.video, pose, load_action(None, 1, action_decay(fps)),
                            repeats=args.repeats, clock="cpu",
                            regions=True if on else RegionPolicy(sides_every_s=0.0))
            ms = res["ms_per_frame"]
            share = (ms["decode"] + ms["pose"] + ms["maps"]) * res["fps"] / 1000
            print(f"| {r + 1} | {'on' if on else 'off'} | {res['fps']:.1f} | "
                  f"{res['reference_fps']:.1f} | {res['ratio_to_reference']:.3f} | "
                  f"{share:.3f} |", flush=True)


if __name__ == "__main__":
    run_benchmark(main)
