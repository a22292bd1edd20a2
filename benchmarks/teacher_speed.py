"""Speed of the BlazePose teacher per frame: detector, landmark model (per person), and the
whole ``BlazePoseEstimator.estimate``, with 1 and 2 interpreter threads (median of
several runs, after a warm-up). pipan's own pose net is timed beside it when
``pipan/models/pose.tflite`` and ``pipan.pose`` exist, for the ratio.

    python -m benchmarks.teacher_speed [--runs 30] [--model-dir DIR]
"""
from __future__ import annotations

import argparse

import cv2
import numpy as np


from pipan.blazepose import BlazePoseEstimator
from pipan.runtime import runtime_name

from .common import ROOT, SHARED, median_ms


def frames():
    """(name, BGR frame): a 320x240 JHMDB frame with one person, a 1080p frame with two."""
    out = []
    jh = SHARED / "data" / "jhmdb-clip" / "frames" / "00010.png"
    if jh.is_file():
        out.append(("jhmdb 320x240, 1 person", cv2.imread(str(jh))))
    hug = SHARED / "data" / "videos" / "hug_1920x1080.mp4"
    if hug.is_file():
        cap = cv2.VideoCapture(str(hug))
        ok, f = cap.read()
        cap.release()
        if ok:
            out.append(("hug 1920x1080, 2 people", f))
    if not out:
        rng = np.random.default_rng(0)
        out.append(("noise 320x240, nobody", rng.integers(0, 256, (240, 320, 3), np.uint8)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--model-dir", default=None,
                    help="BlazePose models (default: the usual search, then ../shared)")
    args = ap.parse_args()
    model_dir = args.model_dir
    if model_dir is None and (SHARED / "models" / "blazepose").is_dir():
        model_dir = str(SHARED / "models" / "blazepose")
    print(f"runtime: {runtime_name()}; median of {args.runs} runs, milliseconds")
    print(f"{'frame':28s} {'threads':>7s} {'detector':>9s} {'landmark':>9s} "
          f"{'people':>6s} {'estimate':>9s} {'vs 1 thr':>8s}")
    for name, frame in frames():
        reference = None
        for threads in (1, 2):
            est = BlazePoseEstimator(model_dir, threads=threads)
            rois = est.detect(frame)
            det = median_ms(lambda: est.detect(frame), args.runs, warmup=3)
            lmk = (median_ms(lambda: est.landmarks(frame, rois[0][0]), args.runs, warmup=3)
                   if rois else float("nan"))
            people = len(est.estimate(frame))
            full = median_ms(lambda: est.estimate(frame), args.runs, warmup=3)
            reference = reference or full
            print(f"{name:28s} {threads:7d} {det:9.2f} {lmk:9.2f} {people:6d} {full:9.2f} "
                  f"{reference / full:7.2f}x")
    student = ROOT / "pipan" / "models" / "pose.tflite"
    try:
        from pipan.pose import PoseEstimator  # written on the 'pose' branch
    except ImportError:
        PoseEstimator = None
    if PoseEstimator is not None and student.is_file():
        for name, frame in frames():
            for threads in (1, 2):
                pe = PoseEstimator(threads=threads)
                ms = median_ms(lambda: pe.estimate(frame), args.runs, warmup=3)
                print(f"pipan pose net, {name:18s} {threads:2d} threads: {ms:7.2f} ms")
    else:
        print("pipan's own pose net: not here yet (pipan/pose.py + pipan/models/pose.tflite)")


if __name__ == "__main__":
    main()
