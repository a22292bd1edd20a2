"""How well the pipeline tracks the bundled demo's two people, per pose model and decoder
``min_joints``: tracker ids opened, and per true person the frames matched to a track (the
rule of tests/test_end_to_end.py, ``training.synth.truth``: a track's keypoint centre within 15% of the
frame height of the true person's) and how many ids those frames were spread over.

    python -m benchmarks.demo_tracking [--model POSE.tflite ...] [--min-joints 3 5 ...]
"""
from __future__ import annotations

import argparse


from pipan.action import ActionRecognizer
from pipan.pipeline import Pipeline
from pipan.pose import DEFAULT_MODEL, PoseEstimator
from training.synth.truth import load_truth, score
from training.synth.truth import run as run_video

from .common import DEMO, run_benchmark


def run(model: str, min_joints: int) -> str:
    truth = load_truth(DEMO)
    pipe = Pipeline(PoseEstimator(model, min_joints=min_joints), ActionRecognizer())
    tracks_at, segments = run_video(DEMO, pipe)
    ids = {i for t in tracks_at for i in t}
    scores = score(truth, tracks_at, segments, pipe.labels)
    parts = [f"person {p.person}: matched {p.matched}/{p.visible} over {p.ids} ids"
             for p in scores.people]
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
    run_benchmark(main)
