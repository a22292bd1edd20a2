"""A stable id per person across frames.

Each track keeps its last keypoints and a smoothed per-frame velocity of the body centre.
Every frame, each live track predicts where its keypoints are now (constant velocity, also
across frames where it was missed), detections are scored against predictions with object
keypoint similarity (OKS), and pairs are matched greedily, most similar first, above a
gate. Unmatched detections start new tracks (ids 1, 2, ...; never reused); a track missed
for more than ``max_missed`` frames in a row ends.

Greedy matching rather than Hungarian: with the handful of people a Pi sees, the two differ
only when similarities tie, and the velocity prediction is what separates crossing people.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Sequence

import numpy as np

from .types import Person, Track


@dataclass
class _State:
    id: int
    keypoints: np.ndarray  # (18, 3) last matched detection, frame pixels
    person: Person
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))  # px/frame
    age: int = 0
    missed: int = 0
    hits: int = 1
    centre: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))  # pixels
    area: float = 1.0  # of the present joints' bounding box, pixels^2 (>= 1)


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
    ``velocity_smoothing``: weight of the newest displacement in the velocity estimate.
    """

    def __init__(self, max_missed: int = 15, kappa: float = 0.25, min_similarity: float = 0.1,
                 velocity_smoothing: float = 0.5):
        self.max_missed = int(max_missed)
        self.kappa = float(kappa)
        self.min_similarity = float(min_similarity)
        self.velocity_smoothing = float(velocity_smoothing)
        self._tracks: List[_State] = []
        self._next_id = 1
        self.ended: List[int] = []

    @property
    def active_ids(self) -> List[int]:
        return [t.id for t in self._tracks]

    def update(self, people: Sequence[Person]) -> List[Track]:
        """Match this frame's detections to tracks; returns matched tracks, sorted by id."""
        self.ended = []
        N, M = len(self._tracks), len(people)
        if N == 0 and M == 0:  # nobody, before or now: the common case of an empty scene
            return []
        D = np.stack([np.asarray(p.keypoints, np.float32) for p in people]) if M else \
            np.zeros((0, 18, 3), np.float32)
        centres, det_areas = centres_and_areas(D) if M else (None, None)
        pairs = []
        if N and M:
            # every track's keypoints moved by its velocity for each frame since its match
            preds = np.stack([t.keypoints for t in self._tracks])
            steps = np.float32([t.missed + 1 for t in self._tracks])
            vel = np.stack([t.velocity for t in self._tracks])
            preds = preds.copy()
            preds[..., :2] += (vel * steps[:, None])[:, None, :]
            areas = np.float32([t.area for t in self._tracks])
            sim = oks_matrix(preds, D, areas, self.kappa)
            order = np.argsort(-sim, axis=None, kind="stable")
            used_t, used_d = set(), set()
            for flat in order:
                i, j = divmod(int(flat), M)
                if sim[i, j] < self.min_similarity:
                    break
                if i in used_t or j in used_d:
                    continue
                used_t.add(i)
                used_d.add(j)
                pairs.append((i, j))
        matched_t = {i for i, _ in pairs}
        matched_d = {j for _, j in pairs}
        out: List[Track] = []
        a = self.velocity_smoothing
        for i, j in pairs:
            t = self._tracks[i]
            step = (centres[j] - t.centre) / (t.missed + 1)
            t.velocity = (a * step + (1 - a) * t.velocity).astype(np.float32)
            t.keypoints, t.person = D[j], people[j]
            t.centre, t.area = centres[j], float(det_areas[j])
            t.missed, t.hits = 0, t.hits + 1
        survivors: List[_State] = []
        for i, t in enumerate(self._tracks):
            t.age += 1
            if i not in matched_t:
                t.missed += 1
                if t.missed > self.max_missed:
                    self.ended.append(t.id)
                    continue
            survivors.append(t)
        for j in range(M):
            if j not in matched_d:
                survivors.append(_State(id=self._next_id, keypoints=D[j], person=people[j],
                                        centre=centres[j], area=float(det_areas[j])))
                self._next_id += 1
        self._tracks = survivors
        for t in survivors:
            if t.missed == 0:
                out.append(Track(id=t.id, person=t.person, age=t.age, missed=0))
        out.sort(key=lambda tr: tr.id)
        return out

    def finish(self) -> List[int]:
        """End every live track (end of the source); returns their ids."""
        ids = [t.id for t in self._tracks]
        self._tracks = []
        return ids
