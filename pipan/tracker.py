"""A stable id per person across frames.

Each track keeps its last keypoints and a smoothed per-frame velocity of the body centre.
Every frame, each live track predicts where its keypoints are now (constant velocity, also
across frames where it was missed), detections are scored against predictions with object
keypoint similarity (OKS), and pairs are matched greedily, most similar first, above a
gate; confirmed tracks choose before tentative ones. Unmatched detections start tentative
tracks; a tentative track is confirmed, and only then gets an id (1, 2, ...; never reused)
and is reported, once it has been matched in ``min_hits`` frames, and is dropped silently
if it misses a frame before that: a false detection or a fragment of a person that flickers
for a frame or two never becomes a track. Only detections with a person score of at least
``min_start_score`` start or grow a tentative track; weaker ones can only continue a
confirmed track. A confirmed track missed for more than
``max_missed`` frames in a row ends; while it is missed, the OKS falloff it is matched with
widens (up to ``max_widen`` times), since where it is now grows less certain.

Greedy matching rather than Hungarian: with the handful of people a Pi sees, the two differ
only when similarities tie, and the velocity prediction is what separates crossing people.

Speed: a frame with a few people is scored in plain Python on lists (``SMALL`` pairs or
fewer): right after the pose net has run, the CPU caches are cold, and a few dozen small
numpy calls then cost several times their warm price (0.3 ms against 0.1 ms measured for
two people), more than the arithmetic itself. Larger scenes use the vectorised
``oks_matrix``; both give the same similarities (tested).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import math

import numpy as np

from .types import Person, Track

#: Track x detection pairs up to which similarities are computed in plain Python.
SMALL = 36

Joints = List[Tuple[float, float, float]]  # (x, y, score) per joint, plain floats


@dataclass
class _State:
    id: int  # 0 while tentative
    keypoints: np.ndarray  # (18, 3) last matched detection, frame pixels
    person: Person
    joints: Joints  # the same keypoints as plain floats
    centre: Tuple[float, float]  # mean of the present joints, pixels
    area: float  # of the present joints' bounding box, pixels^2 (>= 1)
    velocity: Tuple[float, float] = (0.0, 0.0)  # of the centre, pixels per frame
    age: int = 0
    missed: int = 0
    hits: int = 1


def geometry(joints: Joints) -> Tuple[Tuple[float, float], float]:
    """Centre (mean of present joints; (0, 0) if none) and bounding-box area (pixels^2,
    at least 1; 1 with under two joints) of one skeleton given as plain floats."""
    xs = [x for x, _, sc in joints if sc > 0]
    ys = [y for _, y, sc in joints if sc > 0]
    n = len(xs)
    if not n:
        return (0.0, 0.0), 1.0
    centre = (sum(xs) / n, sum(ys) / n)
    area = max((max(xs) - min(xs)) * (max(ys) - min(ys)), 1.0) if n >= 2 else 1.0
    return centre, area


def oks_py(pred: Joints, shift: Tuple[float, float], det: Joints, area: float,
           kappa: float) -> float:
    """``oks`` on plain floats, with ``pred`` moved by ``shift`` (pixels)."""
    c = -1.0 / (2.0 * area * kappa * kappa)
    sx, sy = shift
    total, n = 0.0, 0
    for (px, py, ps), (dx, dy, ds) in zip(pred, det):
        if ps > 0 and ds > 0:
            ex, ey = px + sx - dx, py + sy - dy
            total += math.exp((ex * ex + ey * ey) * c)
            n += 1
    return total / n if n else 0.0


def centres_and_areas(kp: np.ndarray):
    """Per skeleton of ``(M, 18, 3)``: the mean of the present joints ``(M, 2)`` (0 when
    none) and their bounding box's area ``(M,)`` in pixels^2 (1 when under two joints)."""
    present = kp[..., 2] > 0
    n = present.sum(-1)
    xy = kp[..., :2]
    centre = (xy * present[..., None]).sum(-2) / np.maximum(n, 1)[:, None]
    big = np.float32(1e9)
    hi = np.where(present[..., None], xy, -big).max(-2)
    lo = np.where(present[..., None], xy, big).min(-2)
    wh = hi - lo
    area = np.where(n >= 2, np.maximum(wh[:, 0] * wh[:, 1], 1.0), 1.0)
    return centre.astype(np.float32), area.astype(np.float32)


def oks(a: np.ndarray, b: np.ndarray, area: float, kappa: float) -> float:
    """Object keypoint similarity of (18, 3) keypoints over the joints present in both:
    mean of exp(-d^2 / (2 area kappa^2)); 0 when they share no joint."""
    return float(oks_matrix(a[None], b[None], np.float32([area]), kappa)[0, 0])


def oks_matrix(preds: np.ndarray, dets: np.ndarray, areas: np.ndarray,
               kappa: float) -> np.ndarray:
    """OKS of every track prediction (N, 18, 3) against every detection (M, 18, 3), with
    each track's area (N,) in pixels^2 -> (N, M); one vectorised pass for the whole frame."""
    both = (preds[:, None, :, 2] > 0) & (dets[None, :, :, 2] > 0)  # (N, M, J)
    d2 = ((preds[:, None, :, :2] - dets[None, :, :, :2]) ** 2).sum(-1)
    e = np.exp(-d2 / (2.0 * areas[:, None, None] * kappa * kappa))
    n = both.sum(-1)
    return np.where(n > 0, (e * both).sum(-1) / np.maximum(n, 1), 0.0).astype(np.float32)


class Tracker:
    """Online multi-person tracker. ``update(people)`` returns the tracks matched in this
    frame; ``ended`` then lists the ids that ended in that call.

    ``kappa``: OKS falloff relative to the person's size (larger = more tolerant of motion);
    ``min_similarity``: the gate below which a detection never joins a track;
    ``velocity_smoothing``: weight of the newest displacement in the velocity estimate;
    ``min_hits``: frames a new track must be matched in, in a row, to be confirmed;
    ``max_missed``: frames a confirmed track may be missed before it ends (45: 1.5 s at
    30 fps, 2.5 s at 18 fps: a person hidden by furniture or another person for a second or
    two keeps their id); ``max_widen``: the most the falloff widens for a missed track;
    ``min_start_score``: the person score a detection needs to start or grow a tentative
    track (0.2: on UP-Fall room frames, pipan's pose net scored 77% of its detections of
    the real person at 0.2 or more, and 25% of its false people).
    """

    def __init__(self, max_missed: int = 45, kappa: float = 0.25, min_similarity: float = 0.1,
                 velocity_smoothing: float = 0.5, min_hits: int = 3, max_widen: float = 3.0,
                 min_start_score: float = 0.2):
        if min_hits < 1:
            raise ValueError("min_hits must be at least 1")
        self.min_hits = int(min_hits)
        self.max_widen = float(max_widen)
        self.min_start_score = float(min_start_score)
        self.max_missed = int(max_missed)
        self.kappa = float(kappa)
        self.min_similarity = float(min_similarity)
        self.velocity_smoothing = float(velocity_smoothing)
        self._tracks: List[_State] = []
        self._next_id = 1
        self.ended: List[int] = []

    @property
    def active_ids(self) -> List[int]:
        """Ids of the confirmed tracks alive now."""
        return [t.id for t in self._tracks if t.id]

    @property
    def tentative(self) -> int:
        """Live tracks not yet confirmed."""
        return sum(1 for t in self._tracks if not t.id)

    def skeletons(self) -> List[np.ndarray]:
        """Where every confirmed track is expected now: its last keypoints moved by its
        velocity for each frame since its last match (frame pixels)."""
        out = []
        for t in self._tracks:
            if not t.id:
                continue
            kp = t.keypoints.copy()
            kp[:, 0] += t.velocity[0] * (t.missed + 1)
            kp[:, 1] += t.velocity[1] * (t.missed + 1)
            out.append(kp)
        return out

    def _similarity(self, dets: List[np.ndarray], joints: List[Joints]) -> List[List[float]]:
        """OKS of every track's prediction (moved by its velocity for each frame since its
        last match) against every detection: N lists of M floats. A missed track's area is
        widened by ``(1 + missed / 4)^2`` (at most ``max_widen^2``)."""
        tracks = self._tracks
        shifts = [(t.velocity[0] * (t.missed + 1), t.velocity[1] * (t.missed + 1))
                  for t in tracks]
        areas = [t.area * min(1.0 + t.missed / 4.0, self.max_widen) ** 2 for t in tracks]
        if len(tracks) * len(dets) <= SMALL:
            return [[oks_py(t.joints, sh, d, a, self.kappa) for d in joints]
                    for t, sh, a in zip(tracks, shifts, areas)]
        preds = np.stack([t.keypoints for t in tracks]).copy()
        preds[..., :2] += np.float32(shifts)[:, None, :]
        return oks_matrix(preds, np.stack(dets), np.float32(areas), self.kappa).tolist()

    def update(self, people: Sequence[Person]) -> List[Track]:
        """Match this frame's detections to tracks; returns matched tracks, sorted by id."""
        self.ended = []
        N, M = len(self._tracks), len(people)
        if N == 0 and M == 0:  # nobody, before or now: the common case of an empty scene
            return []
        dets = [np.asarray(p.keypoints, np.float32) for p in people]
        joints = [d.tolist() for d in dets]
        geo = [geometry(jn) for jn in joints]
        pairs = []
        if N and M:
            sim = self._similarity(dets, joints)
            # confirmed tracks first, then the most similar; ties in (track, detection) order
            order = sorted(((sim[i][j], i, j) for i in range(N) for j in range(M)),
                           key=lambda x: (self._tracks[x[1]].id == 0, -x[0]))
            used_t, used_d = set(), set()
            weak = [p.score < self.min_start_score for p in people]
            for value, i, j in order:
                if value < self.min_similarity or i in used_t or j in used_d or (
                        weak[j] and not self._tracks[i].id):
                    continue
                used_t.add(i)
                used_d.add(j)
                pairs.append((i, j))
        matched_t = {i for i, _ in pairs}
        matched_d = {j for _, j in pairs}
        a = self.velocity_smoothing
        for i, j in pairs:
            t = self._tracks[i]
            (cx, cy), area = geo[j]
            k = t.missed + 1
            t.velocity = (a * (cx - t.centre[0]) / k + (1 - a) * t.velocity[0],
                          a * (cy - t.centre[1]) / k + (1 - a) * t.velocity[1])
            t.keypoints, t.person, t.joints = dets[j], people[j], joints[j]
            t.centre, t.area = (cx, cy), area
            t.missed, t.hits = 0, t.hits + 1
        survivors: List[_State] = []
        for i, t in enumerate(self._tracks):
            t.age += 1
            if i not in matched_t:
                t.missed += 1
                if not t.id:
                    continue  # a tentative track that flickered: never reported
                if t.missed > self.max_missed:
                    self.ended.append(t.id)
                    continue
            survivors.append(t)
        for j in range(M):
            if j not in matched_d and people[j].score >= self.min_start_score:
                survivors.append(_State(id=0, keypoints=dets[j], person=people[j],
                                        joints=joints[j], centre=geo[j][0], area=geo[j][1]))
        for t in survivors:  # confirmed now: ids in the order tracks started
            if not t.id and t.hits >= self.min_hits:
                t.id = self._next_id
                self._next_id += 1
        self._tracks = survivors
        out = [Track(id=t.id, person=t.person, age=t.age, missed=0)
               for t in survivors if t.missed == 0 and t.id]
        out.sort(key=lambda tr: tr.id)
        return out

    def finish(self) -> List[int]:
        """End every live track (end of the source); returns their ids."""
        ids = [t.id for t in self._tracks if t.id]
        self._tracks = []
        return ids
