"""What a pose net finds of a person lying on the floor, on UP-Fall camera 1.

The frames: UP-Fall's fall and lie-down clips, one frame a second (as
``benchmarks/pose_real.py`` samples them), where the reference (BlazePose full, the same
cached references as ``pose_real``) shows a person whose joint box is over twice as wide
as tall. Each net looks at the whole frame once (the look that has to find a person before
the pipeline can track them). Per net, the frames where:

- *covered*: a reported person covers the reference person by ``pose_real``'s rule (half
  of the reference's confident joints right at PCK@0.2). On a lying person this rule is
  met by the head alone: of the 14 confident joints BlazePose usually gives, five are the
  face and two the shoulders, and a body this long makes 0.2 of it a wide radius;
- *head*: the nose within 0.1 of the body's length (the longer side of the reference's
  joint box) of the reference's;
- *body*: of the hips and knees the reference is confident of, at least one / at least
  three within 0.1 of the body's length of the reference's, on one reported person.

    python -m benchmarks.pose_lying [--model NAME=PATH ...] [--no-bundled]
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from pipan.skeleton import JOINT_INDEX
from training.pose.realeval import BODY_JOINTS as BODY

from .common import ROOT, SHARED

DATA = SHARED / "data"
BLAZEPOSE_DIR = SHARED / "models" / "blazepose"
NOSE = JOINT_INDEX["nose"]
NEAR = 0.1  # of the body's length
CONFIDENT = 0.5


def lying(ref: np.ndarray) -> bool:
    """A reference person lying: their confident joints' box over twice as wide as tall."""
    xy = ref[ref[:, 2] > CONFIDENT, :2]
    if len(xy) < 4:
        return False
    w, h = np.ptp(xy[:, 0]), np.ptp(xy[:, 1])
    return w > 2 * h


def judge(ref: np.ndarray, people: List) -> Tuple[bool, int]:
    """(head found, most of the reference's confident hips and knees one reported
    person has near theirs)."""
    xy = ref[ref[:, 2] > CONFIDENT, :2]
    length = float(max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1])))
    near = NEAR * length
    head, body = False, 0
    for p in people:
        kp = np.asarray(p.keypoints)
        ok = [bool(kp[j, 2] > 0 and np.hypot(*(kp[j, :2] - ref[j, :2])) < near)
              for j in (NOSE, *BODY)]
        head |= ok[0] and ref[NOSE, 2] > CONFIDENT
        body = max(body, sum(o for o, j in zip(ok[1:], BODY) if ref[j, 2] > CONFIDENT))
    return head, body


def lying_frames(cache, clips: List[Path]):
    """(clip name, frame, reference person) for every sampled frame with a person lying."""
    from pipan.video import VideoFileSource
    for clip in clips:
        with VideoFileSource(clip) as src:
            step = max(1, int(round(src.info.fps)))
            for frame in src:
                if frame.index % step:
                    continue
                ref = cache(clip, frame.index, frame.image)
                if len(ref) and lying(ref[0]):
                    yield clip.name, frame.image, ref[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", default=[],
                    help="NAME=PATH of a pipan pose .tflite (repeatable)")
    ap.add_argument("--no-bundled", action="store_true", help="leave out the bundled net")
    args = ap.parse_args()
    if not (DATA / "upfall").is_dir():
        raise SystemExit(f"{DATA / 'upfall'}: the shared data is not here")
    from pipan.blazepose import BlazePoseEstimator
    from pipan.pose import DEFAULT_MODEL, PoseEstimator
    from training.pose.realeval import ReferenceCache, found_people

    rows = [] if args.no_bundled else [("pipan bundled", DEFAULT_MODEL)]
    rows += [(name, Path(path)) for name, _, path in
             (spec.partition("=") for spec in args.model)]
    nets = [(name, PoseEstimator(path, threads=1)) for name, path in rows]
    cache = ReferenceCache(ROOT / "runs" / "pose_real_reference.npz",
                           BlazePoseEstimator(BLAZEPOSE_DIR, threads=1).estimate)
    clips = sorted(c for c in (DATA / "upfall").glob("*.mp4")
                   if "fall" in c.name or "lie_down" in c.name)
    counts: Dict[str, Dict[str, int]] = {name: dict.fromkeys(
        ("covered", "head", "body1", "body3"), 0) for name, _ in nets}
    n = falls = 0
    for clip, image, ref in lying_frames(cache, clips):
        n += 1
        falls += "fall" in clip
        for name, net in nets:
            people = net.estimate(image)
            c = counts[name]
            c["covered"] += found_people(ref[None], people)[1] > 0
            head, body = judge(ref, people)
            c["head"] += head
            c["body1"] += body >= 1
            c["body3"] += body >= 3
    cache.save()
    print(f"UP-Fall camera 1: {n} sampled frames of a person lying ({falls} in fall clips, "
          f"{n - falls} in lie-down clips), each net on the whole frame")
    print("| net | covered (pose_real's rule) | head | a hip or knee | 3+ of hips and knees |")
    print("|---|---|---|---|---|")
    for name, c in counts.items():
        print(f"| {name} | {c['covered']} | {c['head']} | {c['body1']} | {c['body3']} |")


if __name__ == "__main__":
    main()
