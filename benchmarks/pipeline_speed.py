"""Pipeline speed on a 640x480 video against decoding + the pose net alone, and the
action step's cost per person.

    python benchmarks/pipeline_speed.py [--video V] [--pose-model P] [--action-model A]

Without ``--video`` it makes a 640x480 MP4 from ../shared/data/videos/armwrestling_340x256.mp4
(two people; resized, in a temp folder) or from the bundled demo video. Models default to
the bundled ones.

``--truth-people``: run on the bundled demo video (640x480, two people) and, after the pose
net and its decoding have run (and been timed) on each frame, hand the tracker the demo's
ground-truth skeletons instead of the net's people: the stages after the pose net then
see two people on every frame whatever the pose model's quality (an untrained model finds
nobody), so their cost is measured as it will be. Prints per-stage ms/frame, end-to-end FPS, the ratio to decode + pose
alone (goal >= 0.90), and the action step in ms per person (goal < 0.2): medians of
``--repeats`` alternating passes in one process.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_640x480(dst: Path, frames: int) -> Path:
    import cv2
    from pipan.video import VideoFileSource
    src_path = ROOT.parent / "shared" / "data" / "videos" / "armwrestling_340x256.mp4"
    if not src_path.is_file():
        src_path = ROOT / "pipan" / "models" / "demo.mp4"
    with VideoFileSource(src_path) as src:
        w = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), src.info.fps, (640, 480))
        for f in src:
            if f.index >= frames:
                break
            w.write(cv2.resize(f.image, (640, 480), interpolation=cv2.INTER_LINEAR))
        w.release()
    return dst


def action_step_ms(action, people: int, steps: int, repeats: int, clock=time.perf_counter) -> float:
    """Median ms per person-step of ``action.update`` (features + int8 step + attention)
    for ``people`` tracks moving a little each frame."""
    rng = np.random.default_rng(0)
    base = np.concatenate([rng.random((people, 18, 2), np.float32) * 300 + 100,
                           np.full((people, 18, 1), 0.8, np.float32)], -1)
    results = []
    for _ in range(repeats):
        for p in range(people):
            action.forget(p)
        t0 = clock()
        for t in range(steps):
            kp = base.copy()
            kp[..., :2] += t * 0.5
            for p in range(people):
                action.update(p, kp[p])
        results.append(1000 * (clock() - t0) / (steps * people))
    return statistics.median(results)


class TruthPeople:
    """A pose estimator that runs ``inner`` (for its cost and timing) and returns the demo's
    ground-truth people of the n-th frame (cycling), COCO-18 with score 0.9 per visible
    joint."""

    def __init__(self, inner, truth_json: Path):
        from pipan.types import Person
        truth = json.loads(truth_json.read_text())
        kp = np.asarray([p["keypoints"] for p in truth["people"]], np.float32)  # P,T,18,3
        kp[..., 2] = np.where(kp[..., 2] > 0, 0.9, 0.0)
        self.frames = [[Person(kp[p, t], 0.9) for p in range(kp.shape[0])
                        if (kp[p, t, :, 2] > 0).sum() >= 3] for t in range(kp.shape[1])]
        self.inner = inner
        self.n = 0

    @property
    def last_timing(self):
        return getattr(self.inner, "last_timing", None)

    def estimate(self, frame):
        self.inner.estimate(frame)
        people = self.frames[self.n % len(self.frames)]
        self.n += 1
        return people


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default=None)
    ap.add_argument("--frames", type=int, default=150, help="frames per pass")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--pose", default="pipan", choices=["pipan", "blazepose"])
    ap.add_argument("--pose-model", default=None)
    ap.add_argument("--action-model", default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--truth-people", action="store_true",
                    help="demo video; the tracker gets its ground-truth people")
    ap.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                    help="cpu: process CPU time (steadier on a busy machine; with --threads 1)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from pipan.benchmark import CLOCKS, benchmark, format_report
    from pipan.pipeline import action_decay, load_action, load_pose

    pose = load_pose(args.pose, args.pose_model, args.threads)
    action = load_action(args.action_model, args.threads, action_decay(30.0))
    if args.truth_people:
        models = ROOT / "pipan" / "models"
        pose = TruthPeople(pose, models / "demo.json")
        args.video = str(models / "demo.mp4")
    with tempfile.TemporaryDirectory() as tmp:
        video = args.video or str(make_640x480(Path(tmp) / "speed_640x480.mp4", args.frames))
        result = benchmark(video, pose, action, frames=args.frames, repeats=args.repeats,
                           clock=args.clock)
    result["action_step_ms_per_person_isolated"] = {
        str(n): round(action_step_ms(action, n, 200, args.repeats, CLOCKS[args.clock]), 4)
        for n in (1, 2, 4)}
    inner = getattr(pose, "inner", pose)
    result["threads"] = getattr(getattr(inner, "model", None), "threads", args.threads)
    result["truth_people"] = bool(args.truth_people)
    if args.json:
        print(json.dumps(result))
        return
    print(format_report(result))
    print("action step alone, ms per person:",
          ", ".join(f"{k} people {v:.3f}"
                    for k, v in result["action_step_ms_per_person_isolated"].items()))
    print(f"goals: pipeline >= 90% of decode + pose: "
          f"{'met' if result['ratio_to_reference'] >= 0.9 else 'NOT met'} "
          f"({100 * result['ratio_to_reference']:.0f}%); action step < 0.2 ms/person: "
          f"{'met' if result['action_ms_per_person'] < 0.2 else 'NOT met'} "
          f"({result['action_ms_per_person']:.3f} ms in the pipeline)")


if __name__ == "__main__":
    main()
