"""Actions on real footage through the whole pipeline: UP-Fall camera 1 (33 clips) and
footage of activities outside the vocabulary.

Each clip runs as ``pipan recognize CLIP --json`` runs it (the same Pipeline, defaults and
segments) for each pose backend (``--pose``; BlazePose full separates the action model's
errors from the pose stage's) and each action model (``--action-model``). Scores
(``training.action.upfall``): clips right of 33 (a fall clip has a ``fall`` segment, any
other clip's longest-labelled action is its activity), the fraction of frames right (the
main person's label; a fall clip's fall frames only, located on BlazePose's skeletons),
per activity, and the fraction of person-frames labelled ``unknown`` on footage outside
the vocabulary (a basketball game, a dancer, a skateboarder).

The pose stage (pose net, tracker, smoothing) is run once per clip and backend and cached
under ``runs/action_upfall/`` (``training.action.replay``: keyed by the clip, the pose
model files, the settings and the pose stage's code); another action model replays only
the action stage and the segmenter over the cached tracks (seconds for all clips):

    python -m benchmarks.action_upfall [--pose pipan|blazepose ...]
        [--action-model NAME=PATH ...] [--every N] [--quick] [--cache DIR]

Once the tracks are cached (the first run records the pose stage: about 5 minutes for
pipan's pose net and 15 for BlazePose on 2 busy cores), judging a new action model is a
replay of seconds: ``--action-model new=runs/new/action.tflite`` (repeat the option to
compare models in one table; ``--cache`` may name another worktree's cache: a record is
used only when its key matches).
"""
from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .common import ROOT, SHARED, run_benchmark

DATA = SHARED / "data"
BLAZEPOSE_DIR = SHARED / "models" / "blazepose"
CACHE = ROOT / "runs" / "action_upfall"
#: footage outside the vocabulary (the data README's footage/): a basketball game
#: (shooting and dribbling), a dancer in a room, a skateboarder
OUTSIDE = ("mmaction2_structuralize.mp4", "tfjs_pose_1.mp4", "mmskeleton_skateboarding.mp4")
SHORT = {"fall_forward_hands": "fall fwd hands", "fall_forward_knees": "fall fwd knees",
         "fall_backward": "fall back", "fall_sideways": "fall side",
         "fall_sitting": "fall sitting", "lie_down": "lie down", "pick_up": "pick up"}


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pose", action="append", choices=("pipan", "blazepose"), default=[],
                    help="pose backend (repeatable; default both)")
    ap.add_argument("--pose-model", default=None,
                    help="pipan pose .tflite for the pipan backend (default: the bundled one)")
    ap.add_argument("--action-model", action="append", default=[],
                    help="NAME=PATH or PATH of an action model or learned head (repeatable; "
                         "default: the bundled one)")
    ap.add_argument("--every", type=int, default=1, help="run the pose net on one frame in N "
                                                         "(pipan recognize --every)")
    ap.add_argument("--quick", action="store_true", help="UP-Fall trial 1 only (11 clips)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", default=str(CACHE), help="where the tracks are cached")
    args = ap.parse_args()
    if args.every < 1:
        ap.error("--every must be at least 1")
    return args


def action_models(specs: List[str]) -> List[Tuple[str, Optional[Path]]]:
    if not specs:
        return [("bundled", None)]
    out = []
    for spec in specs:
        name, eq, path = spec.partition("=")
        if not eq:
            name, path = Path(spec).stem, spec
        if not Path(path).is_file():
            sys.exit(f"{path}: not found (action model)")
        out.append((name, Path(path)))
    return out


def upfall_clips(quick: bool) -> List[Tuple[Path, str, int]]:
    """(clip, UP-Fall activity, trial) from labels.tsv."""
    folder = DATA / "upfall"
    with open(folder / "labels.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    out = [(folder / r["file"], r["label"], int(r["trial"])) for r in rows]
    return [c for c in out if c[2] == 1] if quick else out


class Recorder:
    """Cached pose-stage records per (backend, clip): loaded, or recorded through the
    pipeline as ``pipan recognize`` builds it (checking once that replaying the same
    action model gives the run's own segments)."""

    def __init__(self, cache: Path, every: int, threads: int, pose_model: Optional[str]):
        self.cache, self.every, self.threads = cache, every, threads
        self.pose_model = pose_model
        self.checked = self.identical = 0
        self.recorded_s: Dict[str, float] = {}

    def pose_files(self, backend: str) -> Tuple[Optional[str], List[Path]]:
        if backend == "blazepose":
            from pipan.blazepose import find_model_files
            return str(BLAZEPOSE_DIR), list(find_model_files(BLAZEPOSE_DIR))
        from pipan.pose import DEFAULT_MODEL
        path = Path(self.pose_model) if self.pose_model else DEFAULT_MODEL
        return self.pose_model, [path]

    def get(self, backend: str, clip: Path):
        from training.action.replay import (TrackRecord, record_key, record_run, replay,
                                            replay_action)
        pose_model, files = self.pose_files(backend)
        settings = f"{backend}|every={self.every}|min_score=0|smooth=default"
        path = (self.cache / backend / f"{clip.stem}-{record_key(clip, files, settings)}.npz")
        if path.is_file():
            return TrackRecord.load(path)
        from pipan.cli import _pipeline
        from pipan.video import VideoFileSource
        t0 = time.perf_counter()
        source = VideoFileSource(clip)
        pipe = _pipeline(source.info.fps, backend, pose_model, None, self.threads,
                         self.every, 0.0, 0.5, 1.0, None)
        record, segments, _ = record_run(pipe, source)
        seconds = time.perf_counter() - t0
        self.recorded_s[backend] = self.recorded_s.get(backend, 0.0) + seconds
        again, _ = replay(record, replay_action(None, record.fps, self.every,
                                                threads=self.threads), every=self.every)
        self.checked += 1
        self.identical += again == segments
        record.save(path)
        print(f"  {backend}: {clip.name} recorded in {seconds:.0f} s "
              f"({record.frames} frames)", file=sys.stderr, flush=True)
        return record


def main() -> None:
    args = parse_args()
    if not (DATA / "upfall" / "labels.tsv").is_file():
        print(f"skipped: {DATA / 'upfall'} is absent (the shared data is not here)")
        return
    from pipan.vocabulary import UPFALL
    from training.action.replay import replay, replay_action
    from training.action.upfall import (FALL, label_durations, label_map, mapped,
                                        score_clip, unknown_counts)

    backends = args.pose or ["pipan", "blazepose"]
    models = action_models(args.action_model)
    clips = upfall_clips(args.quick)
    outside = [DATA / "footage" / n for n in OUTSIDE]
    rec = Recorder(Path(args.cache), args.every, args.threads, args.pose_model)
    # BlazePose's records locate the falls, whatever backends are scored
    reference = {c.name: rec.get("blazepose", c) for c, a, _ in clips
                 if UPFALL[a] == FALL}
    records = {b: {c.name: rec.get(b, c) for c in [c for c, _, _ in clips] + outside}
               for b in backends}

    of_activity = {c.name: a for c, a, _ in clips}
    rows = []
    for backend in backends:
        for name, path in models:
            t0 = time.perf_counter()
            scores, raw_durations, unk, n_unk, steps = [], {}, 0, 0, 0
            labels_map = None
            for clip in [c for c, _, _ in clips] + outside:
                r = records[backend][clip.name]
                action = replay_action(path, r.fps, args.every, threads=args.threads)
                if labels_map is None:
                    map_name, labels_map = label_map(action.labels)
                    has_unknown = "unknown" in action.labels
                segments, _ = replay(r, action, every=args.every)
                steps += len(r.row_id)
                if clip in outside:
                    u, n = unknown_counts(r, segments)
                    unk, n_unk = unk + u, n_unk + n
                    continue
                raw_durations[clip.name] = label_durations(segments)
                scores.append(score_clip(clip.name, UPFALL[of_activity[clip.name]], r,
                                         mapped(segments, labels_map),
                                         reference.get(clip.name)))
            rows.append({"backend": backend, "model": name, "map": map_name,
                         "scores": scores, "raw_durations": raw_durations,
                         "labels_map": labels_map,
                         "unknown": unk / n_unk if n_unk else float("nan"),
                         "has_unknown": has_unknown, "person_frames": n_unk,
                         "replay_s": time.perf_counter() - t0, "steps": steps})
    report(rows, clips, reference, rec)


def _activities(clips) -> List[str]:
    seen: List[str] = []
    for _, a, _ in clips:
        if a not in seen:
            seen.append(a)
    return seen


def _shown(longest: Optional[str], raw: Dict[str, float], mapping: Dict[str, str]) -> str:
    """A clip's longest (mapped) label, with the model's own label behind it if renamed."""
    own = [k for k in raw if mapping.get(k, k) == longest]
    if longest is None or not own:
        return str(longest)
    top = max(own, key=lambda k: (raw[k], k))
    return longest if top == longest else f"{longest}({top})"


def report(rows, clips, reference, rec: "Recorder") -> None:
    from training.action.upfall import fall_frames
    activities = _activities(clips)
    of_activity = {c.name: a for c, a, _ in clips}
    found = sum(1 for r in reference.values() if fall_frames(r)[1] is not None)
    print(f"\nUP-Fall camera 1: {len(clips)} clips; falls located on BlazePose full's "
          f"skeletons in {found} of {len(reference)} fall clips; outside the vocabulary: "
          f"{', '.join(OUTSIDE)}")
    if rec.checked:
        print(f"replay check: {rec.identical} of {rec.checked} newly recorded runs give the "
              f"same segments when replayed from their record")
    for b, s in rec.recorded_s.items():
        print(f"pose stage recorded for {b}: {s:.0f} s")
    head = ("pose", "action model", "label map",
            f"clips right /{len(clips)} (target >= {27 * len(clips) // 33})",
            "frames right (pooled; target >= 0.75)", "frames right (mean of activities)",
            "unknown person-frames", "replay s (person-steps)")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        sc = r["scores"]
        right = sum(s.right for s in sc)
        fr = sum(s.frames_right for s in sc) / max(sum(s.frames_counted for s in sc), 1)
        per = []
        for a in activities:
            mine = [s for s in sc if of_activity[s.name] == a]
            n = sum(s.frames_counted for s in mine)
            if n:
                per.append(sum(s.frames_right for s in mine) / n)
        unknown = (f"{r['unknown']:.3f} ({r['person_frames']})" if r["has_unknown"]
                   else f"0 (no 'unknown' class; {r['person_frames']})")
        print(f"| {r['backend']} | {r['model']} | {r['map']} | {right} | {fr:.3f} | "
              f"{statistics.mean(per) if per else float('nan'):.3f} | {unknown} | "
              f"{r['replay_s']:.1f} ({r['steps']}) |")
    print("\nper activity: clips right / frames right (fall clips: the fall's frames)")
    head = ("pose", "action model") + tuple(SHORT.get(a, a) for a in activities)
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        cells = []
        for a in activities:
            mine = [s for s in r["scores"] if of_activity[s.name] == a]
            n = sum(s.frames_counted for s in mine)
            f = f"{sum(s.frames_right for s in mine) / n:.2f}" if n else "-"
            cells.append(f"{sum(s.right for s in mine)}/{len(mine)} {f}")
        print(f"| {r['backend']} | {r['model']} | " + " | ".join(cells) + " |")
    print("\nlongest label per clip, trials in order (in brackets, where the label map "
          "renames it: the model's own label that lasts longest of those mapped to it)")
    for r in rows:
        parts = []
        for a in activities:
            mine = [s for s in r["scores"] if of_activity[s.name] == a]
            parts.append(f"{SHORT.get(a, a)}: " + ",".join(
                _shown(s.longest, r["raw_durations"][s.name], r["labels_map"]) for s in mine))
        print(f"  {r['backend']} / {r['model']}: " + "; ".join(parts))


if __name__ == "__main__":
    run_benchmark(main)
