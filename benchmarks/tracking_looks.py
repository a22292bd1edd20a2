"""Whether a person's look (pipan.appearance) tells people apart on real footage: the
evidence for the tracker's ``min_look``.

Each video runs through the pipeline (``pipan recognize``'s defaults, bundled pose net)
for its first ``--frames`` frames; every reported person with at least 10 joints gets a
look. Two kinds of pairs are scored with ``pipan.appearance.similarity``:

- the same track 2 s apart (mostly one person; an id that jumped to someone else
  would score low here too);
- two tracks in the same frame (two people, or a person and a false detection).

It prints the spread of both per video and overall, and for several thresholds the share
of same-track pairs kept and of two-track pairs accepted. Footage: the multi-person
clips of ``../shared/data/footage`` and ``videos`` that may train a bundled model (never
UP-Fall, which measures the tracker in ``benchmarks/pose_real.py``).

    python -m benchmarks.tracking_looks [--frames 450]
"""
from __future__ import annotations

import argparse
import itertools
from typing import Dict, List, Tuple

import numpy as np

from pipan.appearance import look, similarity
from pipan.pipeline import Pipeline, action_decay, load_action
from pipan.pose import PoseEstimator
from pipan.video import VideoFileSource

from .common import SHARED, require_file, run_benchmark

CLIPS = ("footage/pose2sim_multiperson_cam1.mp4", "footage/opencv_vtest.avi",
         "videos/hug_1920x1080.mp4", "footage/mmaction2_structuralize.mp4",
         "footage/tfjs_pose_1.mp4", "videos/armwrestling_340x256.mp4")
MIN_JOINTS = 10
APART_S = 2.0
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)


def pairs(path, pose, frames: int) -> Tuple[List[float], List[float], int]:
    """(same-track similarities APART_S apart, same-frame two-track similarities, ids)."""
    src = VideoFileSource(path)
    pipe = Pipeline(pose, load_action(None, 1, action_decay(src.info.fps)))
    by_frame: Dict[int, list] = {}
    by_id: Dict[int, list] = {}
    with src:
        for r in pipe.run(src, max_frames=frames):
            if r.final:
                break
            for t in r.tracks:
                if (t.person.keypoints[:, 2] > 0).sum() >= MIN_JOINTS:
                    lk = look(r.image, t.person.keypoints)
                    by_frame.setdefault(r.index, []).append(lk)
                    by_id.setdefault(t.id, []).append(lk)
    gap = max(1, int(round(APART_S * src.info.fps)))
    same = [v for lks in by_id.values() for a, b in zip(lks, lks[gap:])
            if (v := similarity(a, b)) is not None]
    other = [v for lks in by_frame.values() for a, b in itertools.combinations(lks, 2)
             if (v := similarity(a, b)) is not None]
    return same, other, len(by_id)


def spread(values: List[float]) -> str:
    if not values:
        return "-"
    q = np.percentile(values, [5, 25, 50, 75, 95])
    return " / ".join(f"{v:.2f}" for v in q)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=450, help="frames per video")
    args = ap.parse_args()
    pose = PoseEstimator(None, threads=1)
    same_all: List[float] = []
    other_all: List[float] = []
    print("| video | ids | same track 2 s apart: pairs, 5/25/50/75/95% | two tracks, one "
          "frame: pairs, 5/25/50/75/95% |\n|---|---|---|---|")
    for rel in CLIPS:
        path = require_file(SHARED / "data" / rel, "real footage in ../shared/data")
        same, other, ids = pairs(path, pose, args.frames)
        same_all += same
        other_all += other
        print(f"| {rel} | {ids} | {len(same)}: {spread(same)} | {len(other)}: "
              f"{spread(other)} |", flush=True)
    print(f"| all | | {len(same_all)}: {spread(same_all)} | {len(other_all)}: "
          f"{spread(other_all)} |")
    print(f"\nhighest two-track similarity: {max(other_all, default=float('nan')):.3f}")
    print("| min_look | same-track pairs kept | two-track pairs accepted |\n|---|---|---|")
    s, o = np.array(same_all), np.array(other_all)
    for th in THRESHOLDS:
        print(f"| {th} | {np.mean(s >= th):.3f} | {np.mean(o >= th) if len(o) else 0:.3f} |")


if __name__ == "__main__":
    run_benchmark(main)
