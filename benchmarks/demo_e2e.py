"""The whole pipeline on a synthetic video with ground truth (default: the bundled demo),
measured with the rules of tests/test_end_to_end.py: per true person, the frames matched to
a track (track centre within 15% of the frame height of the true centre), the main ids
(holding >= 10% of the person's frames), the segments of those ids, the true boundaries
with a predicted one within 1.5 s; over everybody, the frames whose predicted segment has
the true label.

    python benchmarks/demo_e2e.py [--action-model A.tflite ...] [--smooth on off]
        [--video V.mp4 ...] [--min-cutoff HZ] [--beta B] [--exact] [--json]

Several ``--video``s (each with its ``.json`` sidecar from ``python -m training synth
video``) give figures on held-out videos as well as on the demo.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipan.action import ActionRecognizer  # noqa: E402
from pipan.pipeline import Pipeline, action_decay  # noqa: E402
from pipan.pose import PoseEstimator  # noqa: E402
from pipan.smoothing import KeypointSmoother  # noqa: E402
from pipan.video import VideoFileSource  # noqa: E402

DEMO = ROOT / "pipan" / "models" / "demo.mp4"


def centre(kp: np.ndarray):
    present = kp[:, 2] > 0
    return kp[present, :2].mean(0) if present.any() else None


def label_at(segments, t: float) -> Optional[str]:
    return next((s.label for s in segments if s.start <= t < s.end), None)


class ExactPose:
    """The sidecar's true keypoints of each frame in turn (joints outside the frame
    dropped, score 0.9): everything but the pose net."""

    def __init__(self, video: Path):
        truth = json.loads(Path(video).with_suffix(".json").read_text())
        self.kp = [np.asarray(p["keypoints"], np.float32) for p in truth["people"]]
        self.n = 0

    def estimate(self, frame):
        from pipan.types import Person
        out = []
        for kp in self.kp:
            k = kp[self.n].copy()
            k[:, 2] = np.where(k[:, 2] > 0, 0.9, 0.0)
            k[k[:, 2] == 0, :2] = 0
            if (k[:, 2] > 0).sum() >= 3:
                out.append(Person(k, 0.9))
        self.n += 1
        return out


def measure(video: Path, pose, action, smoother) -> Dict:
    """Run ``video`` through the pipeline and compare with its sidecar."""
    truth = json.loads(Path(video).with_suffix(".json").read_text())
    fps, H = float(truth["fps"]), truth["height"]
    pipe = Pipeline(pose, action, smoother=smoother if smoother is not None else False)
    tracks_at: List[dict] = []
    segments = []
    with VideoFileSource(video) as src:
        for frame in src:
            r = pipe.process(frame)
            segments += r.closed
            tracks_at.append({t.id: centre(t.person.keypoints) for t in r.tracks})
    segments += pipe.finish()
    labels = set(action.labels)
    out = {"video": str(video), "people": [], "known": 0, "right": 0}
    for person in truth["people"]:
        gt_kp = np.asarray(person["keypoints"], np.float32)
        matched = visible = 0
        per_id: Dict[int, int] = {}
        for f, tracks in enumerate(tracks_at):
            c = centre(gt_kp[f])
            if c is None:
                continue
            visible += 1
            best = min(((np.linalg.norm(tc - c), tid) for tid, tc in tracks.items()
                        if tc is not None), default=None)
            if best is not None and best[0] < 0.15 * H:
                matched += 1
                per_id[best[1]] = per_id.get(best[1], 0) + 1
        main = [i for i, n in per_id.items() if n >= 0.1 * visible]
        mine = sorted((s for s in segments if s.person in main), key=lambda s: s.start)
        gt = [(float(a), float(b), lab) for a, b, lab in person["segments"]]
        known = right = 0
        for f in range(len(tracks_at)):
            t = f / fps
            true = next((lab for a, b, lab in gt if a <= t < b), None)
            if true in labels:
                known += 1
                right += label_at(mine, t) == true
        starts = [s.start for s in mine[1:]]
        near = sum(any(abs(b - s) <= 1.5 for s in starts) for _, b, _ in gt[:-1])
        out["people"].append({"matched": matched, "visible": visible, "ids": len(per_id),
                              "main_ids": len(main), "segments": len(mine),
                              "true_segments": len(gt), "boundaries_near": near,
                              "boundaries": len(gt) - 1, "right": right, "known": known})
        out["known"] += known
        out["right"] += right
    return out


def line(r: Dict) -> str:
    ppl = "; ".join(f"matched {p['matched']}/{p['visible']} main ids {p['main_ids']} "
                    f"(all {p['ids']}), segments {p['segments']}/{p['true_segments']}, "
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
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    pose = PoseEstimator(args.pose_model, threads=1)
    for am in args.action_model:
        for sm in args.smooth:
            total = [0, 0]
            for video in args.video:
                fps = json.loads(Path(video).with_suffix(".json").read_text())["fps"]
                action = ActionRecognizer(model_path=am, threads=1,
                                          decay=action_decay(float(fps)))
                kw = {k: v for k, v in (("min_cutoff_hz", args.min_cutoff),
                                        ("beta", args.beta)) if v is not None}
                smoother = KeypointSmoother(**kw) if sm == "on" else None
                r = measure(Path(video), ExactPose(Path(video)) if args.exact else pose,
                            action, smoother)
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
    main()
