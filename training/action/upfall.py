"""Actions judged on real footage through the whole pipeline: the scores
``benchmarks/action_upfall.py`` prints for UP-Fall (camera 1: one person in a lab room, 11
activities, 3 trials) and the open-set report on footage outside the vocabulary.

Labels: a model's labels are compared with the vocabulary (``pipan.vocabulary``) directly
when they all are vocabulary names, else through the first of its label maps that names
them all (the synthetic-motion model's ``idle`` is ``stand``, its ``sit`` is ``sit_down``).
UP-Fall's activities map onto the vocabulary by ``pipan.vocabulary.UPFALL``.

Per clip (``clip_right``), from the segments the run reports (``pipan recognize --json``):

- a fall clip (activities ``fall_*``) is right if some segment, of any person, is ``fall``;
- any other clip is right if the label with the longest total segment duration, summed
  over all people, is the clip's activity.

Per frame (``frame_labels``, ``frame_hits``): the main person is the track reported in the
most frames of the clip; a frame's label is the label of the main person's segment that
covers the frame's time, and a frame where the main person is not reported has no label
(it counts as wrong). On a clip of another activity every frame counts, and is right when
its label is the activity. On a fall clip only the fall's frames count, right when their
label is ``fall``. The fall's frames (``fall_window``) are located from BlazePose full's
skeletons of the clip (pipan's ``blazepose`` backend through the same pipeline; UP-Fall
shows one person: per frame, of the tracks reported, the one reported in most frames, so a
person lost while lying and found again under a new id stays one trajectory): the person's
height in the image is the mid-hip's y (the mean of the confident hips; the mean y of the
confident joints where no hip is confident), median-filtered over 5 frames. Its standing
level is the median over the first half second the person is seen (UP-Fall's falls begin
about a second in), its lying level the median over the last half second. The fall is the
interval over which the height goes from 10% to 90% of the way from one level to the other
(the last frame at or under 10% before the first frame at or over 90%), padded by 0.5 s
either side. A clip whose levels differ by less than a fifth of the person's standing
height (the vertical extent of their confident joints over the first half second) has no
fall found, and no fall frames.

Open set (``unknown_counts``): on footage of activities outside the vocabulary, the
fraction of person-frames (every reported person in every frame the pose net ran on)
whose label, the label of that person's segment then, is ``unknown``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from pipan.skeleton import JOINT_INDEX
from pipan.types import Segment
from pipan.vocabulary import MAPPINGS, NAMES, UNKNOWN

from .replay import TrackRecord

FALL = "fall"
CONFIDENT = 0.3  # joint score from which a joint counts in the fall's height
LEVEL_S = 0.5  # seconds at each end of the track that give the standing and lying levels
LOW, HIGH = 0.1, 0.9  # fractions of the way down that bound the fall
PAD_S = 0.5  # seconds added either side of the fall
MIN_DROP = 0.2  # of the standing height: a smaller change of level is no fall
HIPS = (JOINT_INDEX["right_hip"], JOINT_INDEX["left_hip"])


# --- labels --------------------------------------------------------------------------------

def label_map(labels: Sequence[str]) -> Tuple[str, Dict[str, str]]:
    """(name, model label -> vocabulary name): identity when every label is a vocabulary
    name, else the first of ``pipan.vocabulary.MAPPINGS`` that names every label; labels
    no map names are kept as they are (they never match an activity)."""
    labels = [str(x) for x in labels]
    if set(labels) <= set(NAMES):
        return "vocabulary", {x: x for x in labels}
    for name, mapping in MAPPINGS.items():
        if name != "upfall" and set(labels) <= set(mapping):
            return name, {x: mapping[x] for x in labels}
    return "none", {x: x for x in labels}


def mapped(segments: Sequence[Segment], mapping: Mapping[str, str]) -> List[Segment]:
    """``segments`` with their labels through ``mapping``."""
    return [Segment(s.person, s.start, s.end, mapping.get(s.label, s.label), s.confidence)
            for s in segments]


# --- per clip ------------------------------------------------------------------------------

def label_durations(segments: Sequence[Segment]) -> Dict[str, float]:
    """Seconds per label, summed over every segment of every person."""
    out: Dict[str, float] = {}
    for s in segments:
        out[s.label] = out.get(s.label, 0.0) + max(s.end - s.start, 0.0)
    return out


def longest_label(segments: Sequence[Segment]) -> Optional[str]:
    """The label with the longest total duration (ties: the first in name order); None
    without segments."""
    d = label_durations(segments)
    if not d:
        return None
    return min(d, key=lambda k: (-d[k], k))


def clip_right(activity: str, segments: Sequence[Segment]) -> bool:
    """The clip rule (module docstring); ``activity`` and the labels are vocabulary names."""
    if activity == FALL:
        return any(s.label == FALL for s in segments)
    return longest_label(segments) == activity


# --- per frame -----------------------------------------------------------------------------

def main_track(record: TrackRecord) -> Optional[int]:
    """The track id reported in the most frames (ties: the lower id); None if nobody."""
    counts = record.track_frames()
    if not counts:
        return None
    return min(counts, key=lambda i: (-counts[i], i))


def reported(record: TrackRecord, person: int) -> np.ndarray:
    """(T,) whether ``person`` is reported at each frame (a frame the pose net skipped
    reports the tracks of the last one it ran on, as the pipeline does)."""
    on = np.zeros(record.frames, bool)
    on[record.row_frame[record.row_id == person]] = True
    last = False
    for i in range(record.frames):
        if record.processed[i]:
            last = bool(on[i])
        on[i] = last
    return on


def label_at(segments: Sequence[Segment], person: int, t: float) -> Optional[str]:
    """The label of ``person``'s segment covering time ``t`` (start <= t < end)."""
    for s in segments:
        if s.person == person and s.start <= t < s.end:
            return s.label
    return None


def frame_labels(record: TrackRecord, segments: Sequence[Segment],
                 person: Optional[int]) -> List[Optional[str]]:
    """Per frame, ``person``'s label (None where they are not reported or no segment of
    theirs covers the frame)."""
    if person is None:
        return [None] * record.frames
    on = reported(record, person)
    own = [s for s in segments if s.person == person]
    return [label_at(own, person, float(t)) if on[i] else None
            for i, t in enumerate(record.times)]


def frame_hits(labels: Sequence[Optional[str]], activity: str,
               counted: Optional[np.ndarray] = None) -> Tuple[int, int]:
    """(frames right, frames counted): frames in ``counted`` (default all) whose label is
    ``activity``."""
    mask = np.ones(len(labels), bool) if counted is None else np.asarray(counted, bool)
    right = sum(1 for lab, m in zip(labels, mask) if m and lab == activity)
    return right, int(mask.sum())


# --- the fall's frames ---------------------------------------------------------------------

def body_height(keypoints: np.ndarray) -> float:
    """The y of a skeleton's mid-hip (mean of its confident hips), else the mean y of its
    confident joints; NaN when no joint is confident."""
    kp = np.asarray(keypoints, np.float64)
    hips = [kp[j, 1] for j in HIPS if kp[j, 2] >= CONFIDENT]
    if hips:
        return float(np.mean(hips))
    ok = kp[:, 2] >= CONFIDENT
    return float(kp[ok, 1].mean()) if ok.any() else float("nan")


def _median5(y: np.ndarray) -> np.ndarray:
    pad = np.pad(y, 2, mode="edge")
    return np.median(np.stack([pad[k:k + len(y)] for k in range(5)]), axis=0)


def fall_window(times: np.ndarray, y: np.ndarray, standing_height: float
                ) -> Optional[Tuple[float, float]]:
    """The fall's interval (seconds, padded) from a person's height trajectory (``y``
    per time in ``times``, NaN where unknown), or None when it finds no fall (see the
    module docstring); ``standing_height``: the person's height in the same units."""
    t = np.asarray(times, np.float64)
    y = np.asarray(y, np.float64)
    ok = np.isfinite(y)
    if ok.sum() < 5:
        return None
    t, y = t[ok], _median5(y[ok])
    start = float(np.median(y[t <= t[0] + LEVEL_S]))
    end = float(np.median(y[t >= t[-1] - LEVEL_S]))
    drop = end - start
    if not abs(drop) >= MIN_DROP * standing_height or standing_height <= 0:
        return None
    z = (y - start) / drop  # 0 at the standing level, 1 at the lying level
    high = np.flatnonzero(z >= HIGH)
    if not len(high):
        return None
    i90 = int(high[0])
    low = np.flatnonzero(z[:i90 + 1] <= LOW)
    i10 = int(low[-1]) if len(low) else 0
    return float(t[i10] - PAD_S), float(t[i90] + PAD_S)


def person_trajectory(record: TrackRecord) -> Tuple[np.ndarray, np.ndarray, float]:
    """(times, heights, standing height) of the one person of a clip: per frame the
    skeleton of the track reported in most frames of those there (a person lost and found
    again, lying, comes back under a new id)."""
    counts = record.track_frames()
    best: Dict[int, int] = {}  # frame -> row
    for r, (f, i) in enumerate(zip(record.row_frame, record.row_id)):
        if f not in best or counts[int(i)] > counts[int(record.row_id[best[f]])]:
            best[int(f)] = r
    rows = np.array([best[f] for f in sorted(best)], np.int64)
    times = record.times[record.row_frame[rows]] if len(rows) else np.zeros(0)
    kp = record.row_keypoints[rows] if len(rows) else np.zeros((0, 18, 3))
    y = np.array([body_height(k) for k in kp])
    extents = []
    for k in kp[times <= times[0] + LEVEL_S] if len(rows) else []:
        ok = k[:, 2] >= CONFIDENT
        if ok.sum() >= 2:
            extents.append(float(k[ok, 1].max() - k[ok, 1].min()))
    return times, y, float(np.median(extents)) if extents else 0.0


def fall_frames(reference: TrackRecord) -> Tuple[np.ndarray, Optional[Tuple[float, float]]]:
    """(T,) the frames of the fall in a clip, located on ``reference`` (the clip's
    BlazePose record), and the fall's interval (None: no fall found, no frames)."""
    window = fall_window(*person_trajectory(reference))
    if window is None:
        return np.zeros(reference.frames, bool), None
    return (reference.times >= window[0]) & (reference.times <= window[1]), window


# --- open set ------------------------------------------------------------------------------

def unknown_counts(record: TrackRecord, segments: Sequence[Segment]) -> Tuple[int, int]:
    """(person-frames labelled ``unknown``, person-frames): every reported person in every
    frame the pose net ran on, labelled by their segment then."""
    by_person: Dict[int, List[Segment]] = {}
    for s in segments:
        by_person.setdefault(s.person, []).append(s)
    hits = 0
    for f, i in zip(record.row_frame, record.row_id):
        if label_at(by_person.get(int(i), []), int(i), float(record.times[f])) == UNKNOWN:
            hits += 1
    return hits, int(len(record.row_id))


@dataclass
class ClipScore:
    """One clip's result: ``right`` by the clip rule, per-frame hits of the counted frames,
    the longest label and whether a fall was found (fall clips)."""

    name: str
    activity: str
    right: bool
    frames_right: int
    frames_counted: int
    longest: Optional[str]
    fall_window: Optional[Tuple[float, float]] = None


def score_clip(name: str, activity: str, record: TrackRecord, segments: Sequence[Segment],
               reference: Optional[TrackRecord] = None) -> ClipScore:
    """Both rules on one clip; ``segments`` already mapped to the vocabulary;
    ``reference``: the clip's BlazePose record (needed for a fall clip's frames)."""
    labels = frame_labels(record, segments, main_track(record))
    window = None
    if activity == FALL:
        if reference is None:
            raise ValueError(f"{name}: a fall clip needs its BlazePose record")
        counted, window = fall_frames(reference)
        if reference.frames != record.frames:
            raise ValueError(f"{name}: the reference has {reference.frames} frames, the run "
                             f"{record.frames}")
    else:
        counted = None
    r, n = frame_hits(labels, activity, counted)
    return ClipScore(name, activity, clip_right(activity, segments), r, n,
                     longest_label(segments), window)
