"""Measure the pose-stage noise model on real footage (``python -m training action
noise-model``).

Each video runs through ``pipan.pipeline.Pipeline`` with pipan's pose estimator and the
pipeline's defaults -- the composition ``pipan recognize`` uses: pose net, decoding,
tracker, regions and keypoint smoothing -- and every frame it processes also through the
teacher, BlazePose (heavy, as ``training.distill`` labels real footage). In each frame the
teacher's people are matched to the people the runtime reports by
``training.pose.metrics.match``; each track becomes a ``pose_noise.TrackSeries`` and
``pose_noise.fit_noise_model`` fits the model. Teacher joints below the teacher's
"visible" confidence, or outside the frame, count as unseen.

Only sources that may train a bundled model are accepted: the data README keeps some
folders for measuring only, and the noise model shapes a bundled model's training.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from pipan.errors import PipanError
from pipan.fileio import atomic_path
from pipan.skeleton import NUM_JOINTS

from .pose_noise import FORMAT, JOINT_GROUPS, SWAP_PAIRS, PoseNoise, TrackSeries, \
    fit_noise_model

#: Folders of ../shared/data that are for measuring only (never training data).
MEASURE_ONLY = ("upfall", "keypoints-gt", "jhmdb-clip", "coco-mini")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
#: A teacher person with fewer visible joints is not a reference.
MIN_REFERENCE_JOINTS = 2
#: A track matched to a teacher person in fewer of its reported frames is not a person
#: the teacher sees (a false detection, someone too small for the teacher) and is left out.
MIN_MATCHED_FRACTION = 0.5


@dataclass
class VideoMeasure:
    """What one video gave: its tracks and counts."""

    path: str
    fps: float
    frames: int
    series: List[TrackSeries]
    teacher_people: int  # teacher person-frames with at least 6 visible joints
    teacher_matched: int  # of those, matched to a reported person
    dropped_tracks: int  # tracks left out (MIN_MATCHED_FRACTION)


def find_sources(paths: Sequence[Path]) -> List[Path]:
    """Video files given directly or found (recursively) in folders, sorted, refusing
    measuring-only data."""
    found: List[Path] = []
    for p in map(Path, paths):
        bad = [part for part in p.resolve().parts if part in MEASURE_ONLY]
        if bad:
            raise PipanError(f"{p}: {bad[0]}/ is measuring-only data (the data README); "
                             f"the noise model shapes a bundled model's training")
        if p.is_dir():
            found += sorted(f for f in p.rglob("*")
                            if f.is_file() and f.suffix.lower() in VIDEO_EXTENSIONS
                            and not any(x in MEASURE_ONLY for x in f.parts))
        elif p.is_file():
            found.append(p)
        else:
            raise PipanError(f"{p}: no such file or folder")
    if not found:
        raise PipanError("no video files given (" + ", ".join(VIDEO_EXTENSIONS) + ")")
    return sorted(set(found))


def teacher_reference(keypoints: np.ndarray, width: int, height: int,
                      visible: float) -> np.ndarray:
    """A teacher person's ``(18, 3)`` keypoints with unseen joints (confidence below
    ``visible``, or outside the frame) zeroed."""
    kp = np.array(keypoints, np.float32)
    inside = (kp[:, 0] >= 0) & (kp[:, 0] < width) & (kp[:, 1] >= 0) & (kp[:, 1] < height)
    seen = (kp[:, 2] >= visible) & inside
    kp[~seen] = 0.0
    return kp


def measure_video(path: Path, pose, teacher, *, max_frames: int,
                  visible: float = 0.5) -> VideoMeasure:
    """Run the pipeline and the teacher over the first ``max_frames`` frames of one video."""
    from pipan.pipeline import NoAction, Pipeline
    from pipan.video import VideoFileSource

    from ..pose.metrics import match

    if hasattr(teacher, "reset"):
        teacher.reset()
    pipe = Pipeline(pose, NoAction())
    fed: Dict[int, Dict[int, np.ndarray]] = {}  # track id -> frame -> keypoints fed
    refs: Dict[int, Dict[int, np.ndarray]] = {}  # track id -> frame -> teacher person
    people = matched = frames = 0
    with VideoFileSource(path) as src:
        fps = float(src.info.fps)
        for r in pipe.run(src, max_frames=max_frames):
            if r.final or not r.processed:
                continue
            frames += 1
            H, W = r.image.shape[:2]
            ref = [teacher_reference(p.keypoints, W, H, visible)
                   for p in teacher.estimate(r.image)]
            ref = [k for k in ref if (k[:, 2] > 0).sum() >= MIN_REFERENCE_JOINTS]
            preds = [np.array(tr.person.keypoints, np.float32) for tr in r.tracks]
            for tr, kp in zip(r.tracks, preds):
                fed.setdefault(tr.id, {})[r.index] = kp
            pairs = match(np.stack(ref), preds) if ref and preds else []
            for i, j, _ in pairs:
                refs.setdefault(r.tracks[j].id, {})[r.index] = ref[i]
            big = [i for i, k in enumerate(ref) if (k[:, 2] > 0).sum() >= 6]
            people += len(big)
            matched += sum(1 for i, _, _ in pairs if i in big)
    series = []
    dropped = 0
    for tid, frames_fed in sorted(fed.items()):
        if len(refs.get(tid, {})) < MIN_MATCHED_FRACTION * len(frames_fed):
            dropped += 1
            continue
        first, last = min(frames_fed), max(frames_fed)
        T = last - first + 1
        pred = np.zeros((T, NUM_JOINTS, 3), np.float32)
        ref_kp = np.zeros((T, NUM_JOINTS, 3), np.float32)
        reported = np.zeros(T, bool)
        for f, kp in frames_fed.items():
            pred[f - first], reported[f - first] = kp, True
        for f, kp in refs.get(tid, {}).items():
            ref_kp[f - first] = kp
        series.append(TrackSeries(pred, ref_kp, reported, fps, str(path)))
    return VideoMeasure(str(path), fps, frames, series, people, matched, dropped)


def _stamp(paths: Sequence[Path], max_frames: int, pose_model: Optional[str],
           teacher: Dict) -> str:
    """What measured pairs depend on, as one string (file sizes and times, options)."""
    files = [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in paths]
    if pose_model is not None:
        files.append([str(pose_model), Path(pose_model).stat().st_size,
                      Path(pose_model).stat().st_mtime_ns])
    return json.dumps({"videos": files, "max_frames": max_frames, "teacher": teacher},
                      sort_keys=True)


def save_measures(path: Path, results: Sequence[VideoMeasure], stamp: str,
                  seconds: float) -> None:
    """The runtime/teacher pairs of every video, as plain arrays (npz, no pickles), and
    the ``seconds`` measuring them took."""
    series = [(k, s) for k, m in enumerate(results) for s in m.series]
    empty = np.zeros((0, NUM_JOINTS, 3), np.float32)
    arrays = dict(
        stamp=np.array(stamp), seconds=np.array(float(seconds)),
        video_path=np.array([m.path for m in results]),
        video_numbers=np.array([[m.frames, m.teacher_people, m.teacher_matched,
                                 m.dropped_tracks] for m in results], np.int64),
        video_fps=np.array([m.fps for m in results], np.float64),
        series_video=np.array([k for k, _ in series], np.int64),
        series_length=np.array([len(s.reported) for _, s in series], np.int64),
        pred=np.concatenate([s.pred for _, s in series]) if series else empty,
        ref=np.concatenate([s.ref for _, s in series]) if series else empty,
        reported=np.concatenate([s.reported for _, s in series]) if series
        else np.zeros(0, bool))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)


def load_measures(path: Path, stamp: str) -> Optional[Tuple[List[VideoMeasure], float]]:
    """The pairs ``save_measures`` stored and the seconds measuring them took, if made
    with the same ``stamp``; else None."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["stamp"]) != stamp:
                return None
            d = {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError):
        return None
    results = [VideoMeasure(str(p), float(fps), int(n[0]), [], int(n[1]), int(n[2]),
                            int(n[3]))
               for p, fps, n in zip(d["video_path"], d["video_fps"], d["video_numbers"])]
    ends = np.cumsum(d["series_length"])
    for k, end, length in zip(d["series_video"], ends, d["series_length"]):
        m = results[int(k)]
        sl = slice(int(end - length), int(end))
        m.series.append(TrackSeries(d["pred"][sl], d["ref"][sl], d["reported"][sl],
                                    m.fps, m.path))
    return results, float(d["seconds"])


def to_json(doc: Dict) -> str:
    """The document as JSON a reader can scan: one line per entry of the top level and of
    its objects, one per element of its lists of objects."""
    def dump(v):
        return json.dumps(v, allow_nan=False)

    lines = []
    for k, v in doc.items():
        if isinstance(v, dict) and v:
            inner = ",\n".join(f"  {dump(a)}: {dump(b)}" for a, b in v.items())
            lines.append(f" {dump(k)}: {{\n{inner}\n }}")
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            inner = ",\n".join(f"  {dump(x)}" for x in v)
            lines.append(f" {dump(k)}: [\n{inner}\n ]")
        else:
            lines.append(f" {dump(k)}: {dump(v)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def headline(params: PoseNoise, summary: Dict) -> Dict:
    """The model's figures in a few numbers (per joint group: median over its joints)."""
    from pipan.skeleton import JOINT_INDEX

    def group(values):
        return {g: round(float(np.median([values[JOINT_INDEX[n]] for n in names])), 4)
                for g, names in JOINT_GROUPS.items()}

    return {
        "jitter_sigma": group(params.jitter_sigma),
        "jitter_tau_s": group(params.jitter_tau_s),
        "tail_fraction": group(summary["tail_fraction"]),
        "missing_rate": group(params.missing_rate),
        "swap_rate": {f"{a[5:]}": round(float(r), 4)
                      for (a, _), r in zip(SWAP_PAIRS, params.swap_rate)},
        "scale_log_std": round(params.scale_log_std, 4),
        "offset_std": np.round(params.offset_std, 4).tolist(),
        "gap_rate": round(params.gap_rate, 4),
    }


def measure_noise(videos: Sequence[Path], *, max_frames: int = 200,
                  pose_model: Optional[str] = None, teacher_dir: Optional[str] = None,
                  pairs: Optional[Path] = None, command: str = "",
                  progress: Callable[[str], None] = lambda s: None) -> Dict:
    """The noise-model document: ``format``, ``params`` (``pose_noise.PoseNoise``), how
    and on what it was measured, and the headline figures of the whole footage and of two
    halves of it (alternate videos) to show how stable they are.

    ``pairs``: an npz that keeps the measured runtime/teacher pairs; when it holds pairs
    made from the same videos and options they are fitted again without running the
    models (``seconds_measuring`` is then the time they took when measured)."""
    from pipan.blazepose import BlazePoseEstimator
    from pipan.pose import PoseEstimator

    from ..distill.label import LabelOptions
    from ..provenance import git_commit

    if max_frames < 2:
        raise PipanError("max_frames must be at least 2")
    sources = find_sources(videos)
    start = time.perf_counter()
    opts = LabelOptions(landmark="heavy")
    teacher_options = {"landmark": opts.landmark, "passes": opts.passes,
                       "visible": opts.visible, "max_people": opts.max_people,
                       "min_score": opts.min_score}
    stamp = _stamp(sources, max_frames, pose_model, teacher_options)
    stored = load_measures(pairs, stamp) if pairs is not None and pairs.is_file() else None
    if stored is not None:
        results, measuring = stored
        progress(f"{pairs}: pairs of the same videos and options, fitted again")
    else:
        pose = PoseEstimator(pose_model, threads=1)
        teacher = BlazePoseEstimator(teacher_dir, threads=1, max_people=opts.max_people,
                                     min_score=opts.min_score, passes=opts.passes,
                                     track=opts.track, landmark=opts.landmark)
        results = []
        for k, path in enumerate(sources):
            m = measure_video(path, pose, teacher, max_frames=max_frames,
                              visible=opts.visible)
            results.append(m)
            progress(f"[{k + 1}/{len(sources)}] {path.name}: {m.frames} frames, "
                     f"{len(m.series)} tracks ({m.dropped_tracks} left out), teacher "
                     f"people matched {m.teacher_matched}/{m.teacher_people}")
        measuring = time.perf_counter() - start
        if pairs is not None:
            save_measures(pairs, results, stamp, measuring)
    all_series = [s for m in results for s in m.series]
    params, summary = fit_noise_model(all_series)
    halves = {}
    for h in (0, 1):
        part = [s for m in results[h::2] for s in m.series]
        try:
            p, s = fit_noise_model(part)
            halves[f"videos {h}::2"] = headline(p, s)
        except PipanError as e:
            halves[f"videos {h}::2"] = str(e)
    people = sum(m.teacher_people for m in results)
    return {
        "format": FORMAT,
        "what": "errors of pipan's pose stage (pose net, decoding, tracker, regions, "
                "keypoint smoothing: pipan recognize's defaults) against the BlazePose "
                "heavy teacher on real footage; distances in the teacher's body scales "
                "(torso length), durations in seconds; see training/action/pose_noise.py",
        "command": command,
        "commit": git_commit(),
        "teacher": teacher_options,
        "pose_model": pose_model or "bundled",
        "max_frames": max_frames,
        "footage": [{"file": m.path, "fps": round(m.fps, 3), "frames": m.frames,
                     "tracks": len(m.series), "dropped_tracks": m.dropped_tracks,
                     "reported_frames": int(sum(s.reported.sum() for s in m.series)),
                     "teacher_people": m.teacher_people,
                     "teacher_matched": m.teacher_matched} for m in results],
        "frames": sum(m.frames for m in results),
        "teacher_coverage": round(sum(m.teacher_matched for m in results) / max(people, 1),
                                  4),
        "seconds_measuring": round(measuring, 1),
        "seconds": round(time.perf_counter() - start, 1),
        "summary": summary,
        "headline": headline(params, summary),
        "halves": halves,
        "params": params.to_dict(),
    }
