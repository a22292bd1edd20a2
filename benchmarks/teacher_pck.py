"""Accuracy of the BlazePose teacher (and of pipan's own pose net, when it exists) on real
frames, and how well the student agrees with the teacher.

1. PCK@0.2 (and @0.1, @0.5) of the teacher with 1 landmark pass (the runtime backend) and 2
   (the labeller) against the per-frame ground truth of the real JHMDB clip in
   ``../shared/data/jhmdb-clip`` (JHMDB-15 joints mapped to COCO-18; a joint counts as
   right within alpha * max(width, height) of the ground-truth person's box; a frame where
   nobody is found counts every joint as wrong). Per joint, too.
2. With ``pipan/pose.py`` and ``pipan/models/pose.tflite`` (the 'pose' branch): the same for
   the student, and student-versus-teacher agreement on real videos: PCK@0.2 of the
   student's people against the teacher's (the teacher's joints with confidence >= 0.5 as
   the reference; each teacher person matched to the student person that agrees best).
   Pass the videos the student was NOT trained on with --videos for a held-out figure.
   The teacher here is the labeller's (2 passes).

    python -m benchmarks.teacher_pck [--model-dir DIR] [--student POSE.tflite]
                                     [--videos V1 V2 ...] [--every 5]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from pipan.blazepose import BlazePoseEstimator
from pipan.skeleton import COCO18, JHMDB15, to_coco18
from training.pose.metrics import (frame_predictions, match_person, pck,
                                   pck_hits)

from .common import ROOT, SHARED

CLIP = SHARED / "data" / "jhmdb-clip"


def clip_scores(estimator, name: str) -> None:
    gt = to_coco18(np.load(CLIP / "pos_img.npy", allow_pickle=False), JHMDB15)
    T = gt.shape[0]
    people = [estimator.estimate(cv2.imread(str(CLIP / "frames" / f"{t + 1:05d}.png")))
              for t in range(T)]
    pred = frame_predictions(people, gt)
    found = sum(len(p) > 0 for p in people)
    figures = ", ".join(f"PCK@{a} {pck(pred, gt, a):.3f}" for a in (0.1, 0.2, 0.5))
    print(f"{name} on the JHMDB clip ({T} frames, someone found in {found}): {figures}")
    hits, counted = pck_hits(pred, gt, 0.2)
    per = [f"{COCO18[j]} {hits[:, j].sum() / counted[:, j].sum():.2f}"
           for j in range(len(COCO18)) if counted[:, j].any()]
    print("  per joint @0.2: " + ", ".join(per))


def agreement(student, teacher, videos, every: int) -> None:
    hits_all, counted_all, missed = 0, 0, 0
    for video in videos:
        cap = cv2.VideoCapture(str(video))
        index, h, c = 0, 0, 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if index % every == 0:
                ref_people = teacher.estimate(frame)
                mine = student.estimate(frame)
                for rp in ref_people:
                    ref = rp.keypoints.copy()
                    ref[:, 2] = (ref[:, 2] >= 0.5).astype(np.float32)
                    kp = match_person(mine, ref)
                    if kp is None:
                        missed += 1
                        kp = np.zeros_like(ref)
                    hh, cc = pck_hits(kp, ref, 0.2)
                    h, c = h + int(hh.sum()), c + int(cc.sum())
            index += 1
        cap.release()
        print(f"  {Path(video).name}: student vs teacher PCK@0.2 "
              f"{h / c if c else float('nan'):.3f} ({c} teacher joints)")
        hits_all, counted_all = hits_all + h, counted_all + c
    print(f"student vs teacher, all videos: PCK@0.2 {hits_all / max(counted_all, 1):.3f}; "
          f"teacher people the student missed entirely: {missed}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", default=None)
    ap.add_argument("--videos", nargs="*", default=None,
                    help="videos for student-vs-teacher agreement (default: ../shared's)")
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--student", default=None,
                    help="pose .tflite to compare (default: pipan/models/pose.tflite)")
    args = ap.parse_args()
    if not CLIP.is_dir():
        sys.exit(f"{CLIP} is absent: nothing to measure")
    model_dir = args.model_dir
    if model_dir is None and (SHARED / "models" / "blazepose").is_dir():
        model_dir = str(SHARED / "models" / "blazepose")
    for passes in (1, 2):
        teacher = BlazePoseEstimator(model_dir, threads=2, passes=passes)
        clip_scores(teacher, f"teacher (BlazePose full, {passes} landmark pass(es))")
    try:
        from pipan.pose import PoseEstimator  # written on the 'pose' branch
    except ImportError:
        PoseEstimator = None
    student_path = Path(args.student or ROOT / "pipan" / "models" / "pose.tflite")
    if PoseEstimator is None or not student_path.is_file():
        print(f"student: pipan/pose.py or {student_path} not here yet; skipped")
        return
    student = PoseEstimator(student_path, threads=2)
    clip_scores(student, "student (pipan pose net)")
    videos = args.videos
    if videos is None:
        videos = sorted((SHARED / "data" / "videos").glob("*.[ma][pv][4i]"))
        print("(default videos: if the student was trained on their labels, this is "
              "agreement on training data, not held-out)")
    agreement(student, teacher, videos, args.every)


if __name__ == "__main__":
    main()
