"""The whole pipeline on a synthetic video with ground truth (default: the bundled demo),
measured with the rules of tests/test_end_to_end.py: per true person, the frames matched to
a track (track centre within 15% of the frame height of the true centre), the main ids
(holding >= 10% of the person's frames), the segments of those ids, the true boundaries
with a predicted one within 1.5 s; over everybody, the frames whose predicted segment has
the true label.

    python -m benchmarks.demo_e2e [--action-model A.tflite ...] [--smooth on off]
        [--video V.mp4 ...] [--min-cutoff HZ] [--beta B] [--exact] [--json]

Several ``--video``s (each with its ``.json`` sidecar from ``python -m training synth
video``) give figures on held-out videos as well as on the demo.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict


from pipan.action import ActionRecognizer
from pipan.pipeline import Pipeline, action_decay
from pipan.pose import PoseEstimator
from pipan.smoothing import KeypointSmoother
from training.synth.truth import TruthPose, load_truth, run, score

from .common import DEMO, run_benchmark


class FramesApart:
    """An action recognizer fed without time stamps: every processed frame counts as 1/30 s
    later than the last (for comparing with the time-stamped default)."""

    def __init__(self, action):
        self.action, self.labels = action, action.labels

    def update(self, track_id, keypoints, time=None):
        return self.action.update(track_id, keypoints)

    def forget(self, track_id):
        self.action.forget(track_id)


def measure(video: Path, pose, action, smoother, every: int = 1) -> Dict:
    """Run ``video`` through the pipeline and score it against its sidecar."""
    truth = load_truth(video)
    pipe = Pipeline(pose, action, smoother=smoother if smoother is not None else False,
                    every=every)
    tracks_at, segments = run(video, pipe)
    return dict(score(truth, tracks_at, segments, action.labels).as_dict(), video=str(video))


def line(r: Dict) -> str:
    ppl = "; ".join(f"matched {p['matched']}/{p['visible']} main ids {len(p['main_ids'])} "
                    f"(all {p['ids']}), segments {p['segments']} (label runs {p['runs']})"
                    f"/{p['true_segments']}, "
                    f"boundaries {p['boundaries_near']}/{p['boundaries']}, "
                    f"right {p['right']}/{p['known']}" for p in r["people"])
    return (f"labels right {r['right']}/{r['known']} "
            f"({100 * r['right'] / max(r['known'], 1):.1f}%) | {ppl}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", nargs="+", default=[str(DEMO)])
    ap.add_argument("--pose-model", default=None)
    ap.add_argument("--action-model", nargs="+", default=[None])
    ap.add_argument("--smooth", nargs="+", choices=["on", "off"], default=["off", "on"])
    ap.add_argument("--min-cutoff", type=float, default=None)
    ap.add_argument("--beta", type=float, default=None)
    ap.add_argument("--exact", action="store_true",
                    help="The videos' true skeletons instead of the pose net.")
    ap.add_argument("--every", type=int, default=1,
                    help="Run the pose net (and the action model) on one frame in N.")
    ap.add_argument("--no-time-stamps", action="store_true",
                    help="Feed the action model without time stamps (velocities per "
                    "processed frame, as before the runtime measured real time gaps).")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    pose = PoseEstimator(args.pose_model, threads=1)
    for am in args.action_model:
        for sm in args.smooth:
            total = [0, 0]
            for video in args.video:
                fps = load_truth(video)["fps"]
                action = ActionRecognizer(model_path=am, threads=1,
                                          decay=action_decay(float(fps), every=args.every))
                if args.no_time_stamps:
                    action = FramesApart(action)
                kw = {k: v for k, v in (("min_cutoff_hz", args.min_cutoff),
                                        ("beta", args.beta)) if v is not None}
                smoother = KeypointSmoother(**kw) if sm == "on" else None
                r = measure(Path(video), TruthPose(load_truth(video)) if args.exact else pose,
                            action, smoother, args.every)
                total[0] += r["right"]
                total[1] += r["known"]
                r.update(action_model=am or "bundled", smooth=sm, **kw)
                print(json.dumps(r) if args.json else
                      f"{am or 'bundled'} smooth {sm} {Path(video).name}: {line(r)}",
                      flush=True)
            if len(args.video) > 1 and not args.json:
                print(f"{am or 'bundled'} smooth {sm} ALL: labels right {total[0]}/{total[1]}"
                      f" ({100 * total[0] / max(total[1], 1):.1f}%)", flush=True)


if __name__ == "__main__":
    run_benchmark(main)
