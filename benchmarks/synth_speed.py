"""Speed of the synthetic data generators on one core (median of several runs).

    python -m benchmarks.synth_speed [--repeats 5]

Prints (by CPU time of this process, and by wall time) skeleton frames/s (``generate_dataset``: motion, camera, projection, detector
noise), rendered 224x224 frames/s (``coco_image``: pose sampling, drawing, visibility,
camera effects; without JPEG encoding), the same with JPEG encoding, and 640x480 video
frames/s (``write_video``). Targets: >= 10,000 skeleton frames/s, >= 100 rendered 224x224
frames/s.
"""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # one core: before numpy loads its BLAS

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2

cv2.setNumThreads(1)

from training.synth.coco import coco_image
from training.synth.motions import generate_dataset
from training.synth.video import write_video


def median_rate(fn, repeats: int):
    """Medians over ``repeats`` runs of items/second by CPU time of this process (what one
    core does, even when other jobs share the machine) and by wall time; one warm-up."""
    fn()
    cpu, wall = [], []
    for _ in range(repeats):
        c, w = time.process_time(), time.perf_counter()
        n = fn()
        cpu.append(n / (time.process_time() - c))
        wall.append(n / (time.perf_counter() - w))
    return statistics.median(cpu), statistics.median(wall)


def show(name: str, rates, target: str = "") -> None:
    cpu, wall = rates
    print(f"{name:<48} {cpu:9,.0f} /s CPU   {wall:9,.0f} /s wall   {target}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    r = args.repeats

    def skeletons():
        return int(generate_dataset(200, seed=1).keypoints.shape[0])

    def frames(encode=False):
        for i in range(100):
            img, _ = coco_image(i, 1, 224)
            if encode:
                cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        return 100

    def video():
        with tempfile.TemporaryDirectory() as d:
            return write_video(Path(d) / "v.mp4", 1, seconds=4, people=2, fps=15)["frames"]

    print(f"one core (one thread), median of {r} runs; CPU = per CPU-second of this process")
    show("skeleton frames (generate_dataset, 200 clips)", median_rate(skeletons, r),
         "(target >= 10,000)")
    show("rendered 224x224 frames (coco_image)", median_rate(frames, r), "(target >= 100)")
    show("rendered 224x224 frames + JPEG encoding", median_rate(lambda: frames(True), r))
    show("video 640x480 frames (write_video, 2 people)", median_rate(video, max(1, r // 2)))


if __name__ == "__main__":
    main()
