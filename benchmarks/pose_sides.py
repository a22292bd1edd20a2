"""Whether the pose net tells a person's left from right, by how large the person is in
its input: the evidence for ``RegionPolicy.sides_margin`` and the tracker's side groups.

For each reference person, the net runs on a square crop around the person's joints
grown by a margin (``pipan.region.square_box``, as the pipeline cuts regions; margin 1.0
is the size the pipeline's regions show a person at) and on the whole frame. Per margin
it prints: the reference people found (half their confident joints right at PCK@0.2),
PCK@0.2 of those found, the same if each found person's left and right joints were
swapped where that fits better (what a right left/right would give), and how often the
found person's right shoulder is on the reference's side (of the people whose shoulders
are clearly apart: ``training.pose.realeval.shoulders_agree``).

References: the teacher's people on held-out, training-allowed footage
(``--teacher-labels``, written by ``python -m training distill label``; never trained on),
and BlazePose full's person on UP-Fall camera 1's upright activities (walk, stand, sit,
pick up, jump; one frame in three of those ``pose_real`` samples, from its cache
``runs/pose_real_reference.npz``), which measures and is never chosen on.

    python -m benchmarks.pose_sides [--margins 0.15,0.3,0.5,1.0] [--teacher-labels DIR]
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from pipan.pose import PoseEstimator
from pipan.region import crop, joint_box, square_box, to_frame
from pipan.skeleton import FLIP
from pipan.types import Person

from .common import ROOT, SHARED, run_benchmark

UPRIGHT = ("a06_walk", "a07_stand", "a08_sit", "a09_pick_up", "a10_jump")
REFERENCE_CACHE = ROOT / "runs" / "pose_real_reference.npz"


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--margins", default="0.15,0.3,0.5,1.0",
                    help="crop margins, comma-separated (the whole frame is always added)")
    ap.add_argument("--teacher-labels", default=str(ROOT / "runs" / "teacher-heldout-real"))
    ap.add_argument("--model", default=None, help="pose .tflite (default: the bundled net)")
    ap.add_argument("--threads", type=int, default=2)
    return ap.parse_args()


def teacher_people(folder: Path) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """(frame, one teacher person (18, 3)) for every person of a teacher-labelled folder."""
    from training.pose.coco import CocoPoseData
    for item in CocoPoseData(folder / "annotations.json").items:
        frame = item.load_image()
        for person in item.people:
            yield frame, person


def upfall_people(cache: Path) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """(frame, BlazePose full's person) on UP-Fall's upright activities."""
    from training.distill.label import read_frames
    from training.pose.realeval import ReferenceCache
    table = ReferenceCache(cache, None).table
    wanted: Dict[str, List[int]] = {}
    for key, ref in table.items():
        clip, index = key.split(":")
        if len(ref) and clip.startswith(UPRIGHT):
            wanted.setdefault(clip, []).append(int(index))
    for clip, indices in sorted(wanted.items()):
        keep = set(sorted(indices)[::3])
        for i, frame in enumerate(read_frames(SHARED / "data" / "upfall" / clip)):
            if i in keep:
                keep.discard(i)
                yield frame, table[f"{clip}:{i}"][0]
            if not keep:
                break


def study(pose, people: List[Tuple[np.ndarray, np.ndarray]], margins: List[Optional[float]]
          ) -> List[Tuple[str, int, int, float, float, int, int]]:
    from training.pose.realeval import found_pairs, shoulders_agree
    rows = []
    for m in margins:
        found = correct = counted = swap_correct = judged = right = 0
        for frame, ref in people:
            box = joint_box(np.where((ref[:, 2] > 0.5)[:, None], ref, 0)) \
                if m is not None else None
            if m is not None and box is None:
                continue
            region = None if m is None else square_box(box, m, 128, frame.shape[:2])
            predicted = to_frame(pose.estimate(crop(frame, region)), region)
            kept, pairs, n = found_pairs(ref[None], predicted)
            if not kept or not pairs:
                continue
            _, j, c = max(pairs, key=lambda p: p[2])
            kp = predicted[j].keypoints
            _, swapped, _ = found_pairs(ref[None], [Person(kp[list(FLIP)], 0.0)])
            found += 1
            correct += c
            counted += int(n[0])
            swap_correct += max(c, max((p[2] for p in swapped), default=0))
            agree = shoulders_agree(ref, kp)
            if agree is not None:
                judged += 1
                right += agree
        name = "whole frame" if m is None else f"margin {m}"
        rows.append((name, found, len(people), correct / max(counted, 1),
                     swap_correct / max(counted, 1), right, judged))
    return rows


def main() -> None:
    args = parse_args()
    margins: List[Optional[float]] = [float(v) for v in args.margins.split(",")] + [None]
    pose = PoseEstimator(args.model, threads=args.threads)
    sets = []
    teacher = Path(args.teacher_labels)
    if (teacher / "annotations.json").is_file():
        sets.append((f"held-out footage, teacher ({teacher.name})", list(teacher_people(teacher))))
    else:
        print(f"{teacher}: no teacher labels (python -m training distill label); left out")
    if REFERENCE_CACHE.is_file() and (SHARED / "data" / "upfall").is_dir():
        sets.append(("UP-Fall camera 1, upright activities, BlazePose full",
                     list(upfall_people(REFERENCE_CACHE))))
    else:
        print(f"{REFERENCE_CACHE}: run python -m benchmarks.pose_real first; UP-Fall left out")
    if not sets:
        raise SystemExit("nothing to measure")
    for title, people in sets:
        print(f"\n{title}: {len(people)} people")
        print("| crop | found | PCK@0.2 of found | PCK, sides swapped where better | "
              "right shoulder on the reference's side |\n|---|---|---|---|---|")
        for name, f, n, pck, spck, right, judged in study(pose, people, margins):
            print(f"| {name} | {f}/{n} | {pck:.3f} | {spck:.3f} | {right}/{judged} "
                  f"({right / max(judged, 1):.2f}) |", flush=True)


if __name__ == "__main__":
    run_benchmark(main)
