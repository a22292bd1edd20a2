"""The pose stage on real footage, one table for several pose models on the same frames.

Rows: pipan's bundled pose net, any other pipan pose nets given (e.g. the previous bundled
one), and BlazePose full (pipan's BlazePose backend). Columns (``training.pose.realeval``):

- UP-Fall camera 1 (33 clips, one person, 640x480): the fraction of sampled frames (one a
  second) where a reported person covers the person BlazePose full finds (its confident
  joints half right at PCK@0.2) and the fraction where the covering person has half of
  the reference's hips and knees right too (a person lying along the picture is covered
  by their head alone), other people reported per sampled frame, PCK@0.2 of the
  covered person, how often the covered person's right shoulder is on the reference's
  side (of the frames where the reference's shoulders are clearly apart), how far apart
  the covered person's hips, knees and ankles are against the reference's (median over
  the covered frames; 1 is as far, 0 one joint for two), the same of the shoulders,
  elbows and wrists, and on the
  walk and lie-down clips (one person each, others passing behind the glass now and
  then) the track ids that cover that person (mean over the clips where they are covered
  at all, and how many clips they never are), and all ids opened;
  through the whole pipeline, as ``pipan recognize --frames-json`` reports people;
- people reported per frame on held-out footage with nobody in it (DAVIS goat and
  drift-straight), through the pipeline;
- PCK@0.2 on the real JHMDB clip and on the real images of ``keypoints-gt`` (human ground
  truth), and recall / PCK of the teacher's people on held-out teacher-labelled footage
  (``--teacher-labels``);
- the pose stage's time per frame (region, net, maps) on UP-Fall frames, 1 thread, against
  BlazePose full's landmark model alone in the same process (median of ``--repeats``):
  90 frames of a walker and 90 of a person standing still (who also gets a tight look
  once a second).

    python -m benchmarks.pose_real [--model NAME=POSE.tflite ...] [--no-blazepose]
                                   [--teacher-labels runs/teacher-heldout-real] [--quick]

The BlazePose references of the sampled UP-Fall frames are cached in
``runs/pose_real_reference.npz`` (plain arrays) after the first run.
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import time
from pathlib import Path
from typing import Dict, List

import cv2
import numpy as np

from .common import ROOT, SHARED

DATA = SHARED / "data"
BLAZEPOSE_DIR = SHARED / "models" / "blazepose"
NEGATIVES = ("davis/goat", "davis/drift-straight")
#: The speed is measured on a walker (regions that follow them) and on a person standing
#: fairly still (who also gets the tight look for their left and right once a second).
SPEED_CLIPS = (("walk", "a06_walk_t1_cam1.mp4"), ("still", "a07_stand_t1_cam1.mp4"))
ID_CLIPS = ("a06_walk_t1", "a06_walk_t2", "a06_walk_t3",
            "a11_lie_down_t1", "a11_lie_down_t2", "a11_lie_down_t3")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", default=[],
                    help="NAME=PATH of a pipan pose .tflite (repeatable; rows after the "
                         "bundled net's)")
    ap.add_argument("--no-blazepose", action="store_true", help="leave out the BlazePose row")
    ap.add_argument("--no-bundled", action="store_true",
                    help="leave out the bundled net's row (compare --model rows alone)")
    ap.add_argument("--whole-frame", action="store_true",
                    help="add a row for each pipan net run on the whole frame always (no "
                         "regions around the tracked people)")
    ap.add_argument("--no-sides", action="store_true",
                    help="add a row for each pipan net without the tight looks that give "
                         "the tracker a person's left and right")
    ap.add_argument("--teacher-labels", default=str(ROOT / "runs" / "teacher-heldout-real"),
                    help="held-out teacher-labelled footage (distill label output)")
    ap.add_argument("--quick", action="store_true",
                    help="UP-Fall trial 1 only (11 clips), fewer speed repeats")
    ap.add_argument("--repeats", type=int, default=5, help="speed passes (median)")
    ap.add_argument("--threads", type=int, default=1)
    return ap.parse_args()


def make_pipeline_factory(pose, action_path, threads, regions=True):
    """Pipelines for one pose stage; ``regions``: True (the default policy), False (the
    whole frame always) or a dict of ``RegionPolicy`` settings (a fresh policy each)."""
    from pipan.pipeline import Pipeline, action_decay, load_action
    from pipan.region import RegionPolicy

    def make(fps: float):
        action = load_action(action_path, threads, action_decay(fps))
        policy = RegionPolicy(**regions) if isinstance(regions, dict) else regions
        return Pipeline(pose, action, regions=policy)
    return make


def speed(pose, frames: List[np.ndarray], landmarker, repeats: int, make) -> Dict[str, float]:
    """Median ms per frame of the pipeline's pose stage (region + net + maps, from its
    stage times) and of BlazePose full's landmark model alone, passes alternating."""
    from pipan.video import ArraySource
    crop = np.ascontiguousarray(cv2.resize(frames[0], (256, 256))[..., ::-1],
                                np.float32) / 255.0
    stage, ref = [], []
    for _ in range(repeats):
        pipe = make(18.0)
        with ArraySource(frames, fps=18.0) as src:
            for _ in pipe.run(src):
                pass
        T = pipe.times
        stage.append(1000 * (T.seconds["pose"] + T.seconds["maps"]) / max(T.processed, 1))
        t0 = time.perf_counter()
        for _ in frames:
            landmarker.run(crop, [(1, 195), (1, 1), (1, 64, 64, 39)])
        ref.append(1000 * (time.perf_counter() - t0) / len(frames))
    s, r = statistics.median(stage), statistics.median(ref)
    return {"stage_ms": s, "blazepose_landmark_ms": r, "ratio": s / r}


def main() -> None:
    args = parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA}: the shared data is not here")
    from pipan.blazepose import BlazePoseEstimator, _Net, find_model_files
    from pipan.pose import DEFAULT_MODEL, PoseEstimator
    from training.distill.label import read_frames
    from training.pose.evaluate import evaluate_clip
    from training.pose.realeval import (ReferenceCache, against_teacher, keypoints_gt,
                                        pck_on_images, people_on_negatives, upfall)

    rows = [] if args.no_bundled else [("pipan bundled", DEFAULT_MODEL)]
    for spec in args.model:
        name, _, path = spec.partition("=")
        rows.append((name, Path(path)))
    reference = BlazePoseEstimator(BLAZEPOSE_DIR, threads=args.threads)
    cache = ReferenceCache(ROOT / "runs" / "pose_real_reference.npz", reference.estimate)
    clips = sorted((DATA / "upfall").glob("*.mp4"))
    if args.quick:
        clips = [c for c in clips if "_t1_" in c.name]
    gt_images = keypoints_gt(DATA / "keypoints-gt")
    teacher = Path(args.teacher_labels) / "annotations.json"
    _, lmk = find_model_files(BLAZEPOSE_DIR)
    landmarker = _Net(lmk, args.threads)
    speed_frames = {name: list(itertools.islice(read_frames(DATA / "upfall" / clip), 90))
                    for name, clip in SPEED_CLIPS}

    estimators = []
    for name, path in rows:
        pose = PoseEstimator(path, threads=args.threads)
        estimators.append((name, pose, True))
        if args.whole_frame:
            estimators.append((f"{name}, whole frame", pose, False))
        if args.no_sides:
            estimators.append((f"{name}, no tight looks", pose, {"sides_every_s": 0.0}))
    if not args.no_blazepose:
        estimators.append(("BlazePose full", BlazePoseEstimator(BLAZEPOSE_DIR,
                                                                threads=args.threads), True))
    results = []
    for name, pose, regions in estimators:
        t0 = time.perf_counter()
        make = make_pipeline_factory(pose, None, args.threads, regions)
        up = upfall(make, clips, cache)
        cache.save()
        ids = [v for k, v in up.ids.items() if k.rsplit("_cam", 1)[0] in ID_CLIPS]
        on_person = [v for k, v in up.person_ids.items()
                     if k.rsplit("_cam", 1)[0] in ID_CLIPS]
        neg = people_on_negatives(make, [DATA / "footage" / n for n in NEGATIVES])
        r = {"name": name, "coverage": up.coverage, "sampled": up.sampled,
             "body_coverage": up.body_coverage,
             "others": up.others / max(up.sampled, 1),
             "pck_covered": up.correct / max(up.counted, 1),
             "sides": up.sides_right / max(up.sides_judged, 1),
             "sides_judged": up.sides_judged,
             "legs_apart": up.legs_apart, "arms_apart": up.arms_apart,
             "ids_mean": float(np.mean(ids)) if ids else float("nan"),
             "ids_max": max(ids) if ids else 0,
             # over the clips where the person was covered at all; the others counted
             "person_ids_mean": (float(np.mean([v for v in on_person if v]))
                                 if any(on_person) else float("nan")),
             "person_ids_max": max(on_person) if on_person else 0,
             "person_never": sum(1 for v in on_person if not v),
             "person_clips": len(on_person),
             "negatives": neg["people_per_frame"],
             "jhmdb": evaluate_clip(pose.estimate, DATA / "jhmdb-clip")["pck"],
             "kgt": pck_on_images(pose.estimate, gt_images)["pck"]}
        if teacher.is_file():
            t = against_teacher(pose.estimate, teacher)
            r["teacher_recall"], r["teacher_pck"] = t["recall"], t["pck_found"]
        for kind, frames in speed_frames.items():
            sp = speed(pose, frames, landmarker, 2 if args.quick else args.repeats, make)
            r.update({f"{k}_{kind}": v for k, v in sp.items()})
        r["seconds"] = time.perf_counter() - t0
        results.append(r)
        print(f"{name}: done in {r['seconds']:.0f} s", flush=True)

    print(f"\nUP-Fall: {len(clips)} clips, one sampled frame a second where BlazePose full "
          f"finds the person; negatives: {', '.join(NEGATIVES)}; "
          f"keypoints-gt: {len(gt_images)} images; {args.threads} thread(s)")
    head = ("model", "UP-Fall covered", "the same with hips and knees", "others/frame",
            "PCK covered",
            "shoulders on the reference's sides", "legs apart / the reference's (median)",
            "arms apart / the reference's (median)",
            "ids on the person, walk+lie mean/max (clips never covered)",
            "ids opened mean/max", "negatives people/frame", "PCK JHMDB clip",
            "PCK keypoints-gt", "teacher recall / PCK",
            "stage ms / BlazePose ms (ratio): walker", "the same: person still")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in results:
        teach = (f"{r['teacher_recall']:.2f} / {r['teacher_pck']:.2f}"
                 if "teacher_recall" in r else "-")
        print(f"| {r['name']} | {r['coverage']:.3f} ({r['sampled']}) | "
              f"{r['body_coverage']:.3f} | {r['others']:.2f} | "
              f"{r['pck_covered']:.3f} | {r['sides']:.2f} ({r['sides_judged']}) | "
              f"{r['legs_apart']:.2f} | {r['arms_apart']:.2f} | "
              f"{r['person_ids_mean']:.1f} / {r['person_ids_max']} "
              f"({r['person_never']} of {r['person_clips']}) | "
              f"{r['ids_mean']:.1f} / {r['ids_max']} | "
              f"{r['negatives']:.3f} | {r['jhmdb']:.3f} | {r['kgt']:.3f} | {teach} | "
              + " | ".join(f"{r['stage_ms_' + k]:.2f} / {r['blazepose_landmark_ms_' + k]:.2f} "
                           f"({r['ratio_' + k]:.2f})" for k in speed_frames) + " |")


if __name__ == "__main__":
    main()
