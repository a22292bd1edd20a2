"""How well the pipeline tracks the bundled demo's two people, per pose model and decoder
``min_joints``: tracker ids opened, and per true person the frames matched to a track (the
rule of tests/test_end_to_end.py: a track's keypoint centre within 15% of the frame height
of the true person's) and how many ids those frames were spread over.

    python benchmarks/demo_tracking.py [--model POSE.tflite ...] [--min-joints 3 5 ...]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipan.action import ActionRecognizer  # noqa: E402
from pipan.pipeline import Pipeline  # noqa: E402
from pipan.pose import DEFAULT_MODEL, PoseEstimator  # noqa: E402
from pipan.video import VideoFileSource  # noqa: E402

MODELS = ROOT / "pipan" / "models"


def centre(kp: np.ndarray):
    present = kp[:, 2] > 0
    return kp[present, :2].mean(0) if present.any() else None


def run(model: str, min_joints: int) -> str:
    truth = json.loads((MODELS / "demo.json").read_text())
    H = truth["height"]
    pipe = Pipeline(PoseEstimator(model, min_joints=min_joints), ActionRecognizer())
    tracks_at = []  # per frame: {track id: centre}
    with VideoFileSource(MODELS / "demo.mp4") as src:
        for frame in src:
            tracks_at.append({t.id: centre(t.person.keypoints)
                              for t in pipe.process(frame).tracks})
    ids = {i for t in tracks_at for i in t}
    parts = []
    for person in truth["people"]:
        gt = np.asarray(person["keypoints"], np.float32)  # (T, 18, 3)
        matched = visible = 0
        per_id: dict = {}
        for f, tracks in enumerate(tracks_at):
            c = centre(gt[f])
            if c is None:
                continue
            visible += 1
            best = min(((np.linalg.norm(tc - c), tid) for tid, tc in tracks.items()
                        if tc is not None), default=None)
            if best is not None and best[0] < 0.15 * H:
                matched += 1
                per_id[best[1]] = per_id.get(best[1], 0) + 1
        parts.append(f"person {person['id']}: matched {matched}/{visible} over "
                     f"{len(per_id)} ids")
    return f"{model} min_joints {min_joints}: {len(ids)} track ids; " + "; ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", nargs="+", default=[str(DEFAULT_MODEL)])
    ap.add_argument("--min-joints", nargs="+", type=int, default=[3, 5])
    args = ap.parse_args()
    for model in args.model:
        for mj in args.min_joints:
            print(run(model, mj), flush=True)


if __name__ == "__main__":
    main()
