"""A stable id per person across frames.

Each track keeps its last keypoints, a smoothed per-frame velocity of the body (the mean
displacement of the joints found in both frames, so that a change in which joints were
found does not look like motion), a smoothed person score and a remembered size (area
and length of the body, averaged over the confident detections, so that a frame where
only part of the person, or something else, was found does not change it). Every frame,
each live track is scored against each detection; pairs are matched greedily, most
similar first, above a gate; confirmed tracks choose before tentative ones. A track's
similarity to a detection is the best of:

- object keypoint similarity (OKS) with where its keypoints are predicted now (constant
  velocity, also across frames where it was missed);
- for a missed track, OKS with where it was last seen: a person who stopped behind
  something, or stepped out of the picture and back in, reappears there, not where the
  velocity would have carried them;
- a lower, fallback score from the distance between the body centres (of the prediction
  or of the last place seen) relative to the remembered body length: a person who falls,
  sits or lies down changes shape and the joints move far, but the body stays about
  where it was. It is capped well below a good OKS so that it only decides when the
  keypoints do not (people crossing are told apart by their keypoints and velocity). It
  is given only to a detection confident enough to start a track (``min_start_score``):
  a faint one continues a track by its keypoints alone, so a lost person's track does not
  drift onto a false person found faintly nearby (on UP-Fall, a walker's track that took
  over a stool's legs 150 px away: 3 ids on one walker, 2 without that).

A detection more than ``max_size_change`` times longer or shorter than the track's
remembered length is never that person, whatever its joints say (a bottle or a chair leg
the pose net took for a small person beside them). While a track is missed, the falloffs
widen (up to ``max_widen`` times), since where it is now grows less certain; a confirmed
track missed for more than ``max_missed`` frames in a row ends.

New tracks: a detection that matches no track starts a tentative track only if it shows
a person's head and hips (a fragment, such as a pair of legs the pose net split from the
rest of the body, never does), its person score is at least ``min_start_score``, and it
is not part of a person already accounted for in this frame (a detection matched to a
track, or a stronger new one): mostly inside their box padded by ``fragment_pad`` of
their length, and clearly smaller than them or with its joints where theirs are: a
fragment or a duplicate of a tracked person opens no track. A tentative track is confirmed, and only
then gets an id (1, 2, ...; never reused), once it has been matched in ``min_hits``
frames in a row; it is dropped silently if it misses a frame before that. Weaker
detections can only continue a confirmed track, and a confirmed track is reported only
in frames where it is believed: its detection, or its smoothed score, at least
``min_start_score`` (a track the pose net keeps finding only faintly, a false person on a
pole or a reflection, goes unreported while that lasts, and keeps its id).

A person who leaves the picture and comes back, or whom the pose net loses for longer
than ``max_missed`` frames, would come back under a new id. Given the frame
(``update(people, image)``), a track keeps a running look (``pipan.appearance``: colour
histograms of torso and legs; taken while the track waits for confirmation, then
refreshed every ``LOOK_EVERY`` matches, 0.1 ms a look), and a track being confirmed takes
the id of a person lost in the last ``recall_frames`` frames (ended, or missed now) whose
look is similar enough (``min_look``), the most similar one; the person keeps their id.
Two people dressed alike (or everyone, in the dark) can swap ids this way; without the
frame, ids are never reused.

Left and right: the pose net does not always tell a person's left from right. At the
size a region shows a person it mostly labels someone facing the camera as if seen from
behind, the same way frame after frame, and it can swap the arms and not the legs; a
tight look at the person reads their sides right about nine times in ten
(``pipan.region``). So a track learns, per group of joints (face, arms, legs), whether
the ordinary looks swap this person's sides: from the people found in such a look
(:meth:`Tracker.learn_sides`), by comparing on which side of the body's axis (neck to
hips) the right joint of the group's first present pair lies in the trusted detection
and in the last ordinary one (:func:`side_signs`). The first trusted look sets it, later
ones change it only when ``SIDES_DOUBT`` in a row disagree; the track's detections get
the groups it says are swapped swapped back.

Greedy matching rather than Hungarian: with the handful of people a Pi sees, the two differ
only when similarities tie, and the velocity prediction is what separates crossing people.

Speed: a frame with a few people is scored in plain Python on lists (``SMALL`` pairs or
fewer): right after the pose net has run, the CPU caches are cold, and a few dozen small
numpy calls then cost several times their warm price (0.3 ms against 0.1 ms measured for
two people), more than the arithmetic itself. Larger scenes use the vectorised
``oks_matrix``; both give the same similarities (tested).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import math

import numpy as np

from . import appearance
from .skeleton import JOINT_INDEX
from .types import Person, Track

#: Track x detection pairs up to which similarities are computed in plain Python.
SMALL = 36

Joints = List[Tuple[float, float, float]]  # (x, y, score) per joint, plain floats
Box = Tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels

#: A detection shows a whole enough person to start a track when it has one of each group.
HEAD = tuple(JOINT_INDEX[n] for n in ("nose", "right_eye", "left_eye", "right_ear",
                                      "left_ear"))
HIPS = (JOINT_INDEX["right_hip"], JOINT_INDEX["left_hip"])


def _pairs(*names: str) -> Tuple[Tuple[int, int], ...]:
    return tuple((JOINT_INDEX[f"right_{n}"], JOINT_INDEX[f"left_{n}"]) for n in names)


#: Right and left joints in the groups whose sides the pose net swaps together.
SIDE_GROUPS = (_pairs("eye", "ear"), _pairs("shoulder", "elbow", "wrist"),
               _pairs("hip", "knee", "ankle"))
#: Trusted looks in a row that must disagree with what a track learnt to change it.
SIDES_DOUBT = 2
#: A pair's spread across the body's axis, as a fraction of the axis's length, that shows
#: which joint is on which side (a person seen from the side shows neither).
MIN_SIDE_SPREAD = 0.15
_NECK, _RHIP, _LHIP = JOINT_INDEX["neck"], JOINT_INDEX["right_hip"], JOINT_INDEX["left_hip"]

#: Weight of the remembered size given to each new confident detection's size.
SIZE_SMOOTHING = 0.2
#: Weight of each new detection's person score in a track's smoothed score.
SCORE_SMOOTHING = 0.3
#: Weight of each new confident detection's look in a track's running look.
LOOK_SMOOTHING = 0.1
#: A confirmed track's look is refreshed on every this many matches.
LOOK_EVERY = 10


@dataclass
class _Detection:
    """One detection's keypoints and geometry, computed once per frame."""

    keypoints: np.ndarray  # (18, 3) frame pixels
    person: Person
    joints: Joints  # the same keypoints as plain floats
    centre: Tuple[float, float]  # mean of the present joints
    box: Box  # of the present joints
    area: float  # of that box, pixels^2 (>= 1)
    length: float  # the box's longer side, pixels (>= 1)
    whole: bool  # head and hips present


@dataclass
class _State:
    id: int  # 0 while tentative
    det: _Detection  # last matched detection
    area: float  # remembered body area, pixels^2
    length: float  # remembered body length, pixels
    velocity: Tuple[float, float] = (0.0, 0.0)  # of the body, pixels per frame
    age: int = 0
    missed: int = 0
    hits: int = 1
    score: float = 0.0  # smoothed person score of the matched detections
    look: Optional[np.ndarray] = None  # running look (pipan.appearance), if given
    #: per side group: whether ordinary looks swap this person's sides (None: not known)
    swapped: List[Optional[bool]] = field(default_factory=lambda: [None] * len(SIDE_GROUPS))
    #: per side group: the last ordinary detection's side signs (``side_signs``)
    ordinary: List[Optional[bool]] = field(default_factory=lambda: [None] * len(SIDE_GROUPS))
    #: per side group: trusted looks in a row that disagreed with ``swapped``
    doubt: List[int] = field(default_factory=lambda: [0] * len(SIDE_GROUPS))


@dataclass
class _Gone:
    """A confirmed track that ended, remembered for ``recall_frames``."""

    id: int
    look: np.ndarray
    frames: int = 0  # since it ended


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


def _detection(person: Person) -> _Detection:
    kp = np.asarray(person.keypoints, np.float32)
    joints = kp.tolist()
    xs = [x for x, _, sc in joints if sc > 0]
    ys = [y for _, y, sc in joints if sc > 0]
    if xs:
        box = (min(xs), min(ys), max(xs), max(ys))
        centre = (sum(xs) / len(xs), sum(ys) / len(ys))
    else:
        box, centre = (0.0, 0.0, 0.0, 0.0), (0.0, 0.0)
    w, h = box[2] - box[0], box[3] - box[1]
    area = max(w * h, 1.0) if len(xs) >= 2 else 1.0
    whole = (any(joints[j][2] > 0 for j in HEAD) and any(joints[j][2] > 0 for j in HIPS))
    return _Detection(kp, person, joints, centre, box, area, max(w, h, 1.0), whole)


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


def _inside(box: Box, other: Box, pad: float) -> float:
    """The fraction of ``box``'s area inside ``other`` padded by ``pad`` on every side
    (a box without area counts as a point: 1 or 0)."""
    x0, y0, x1, y1 = other[0] - pad, other[1] - pad, other[2] + pad, other[3] + pad
    w, h = box[2] - box[0], box[3] - box[1]
    if w <= 0 or h <= 0:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        return float(x0 <= cx <= x1 and y0 <= cy <= y1)
    iw = min(box[2], x1) - max(box[0], x0)
    ih = min(box[3], y1) - max(box[1], y0)
    return iw * ih / (w * h) if iw > 0 and ih > 0 else 0.0


def side_signs(joints: Joints) -> List[Optional[bool]]:
    """Per group of ``SIDE_GROUPS``: on which side of the body's axis (neck to the hips'
    middle) the right joint of its first pair with both joints present lies, relative to
    the left one (True: as for an upright person facing the camera, the right joint on
    the image's left); None when the axis or the pair is missing or the pair is under
    ``MIN_SIDE_SPREAD`` of the axis's length across it."""
    neck, rh, lh = joints[_NECK], joints[_RHIP], joints[_LHIP]
    hips = [h for h in (rh, lh) if h[2] > 0]
    if neck[2] <= 0 or not hips:
        return [None] * len(SIDE_GROUPS)
    ax = sum(h[0] for h in hips) / len(hips) - neck[0]
    ay = sum(h[1] for h in hips) / len(hips) - neck[1]
    length = math.hypot(ax, ay)
    if length < 1.0:
        return [None] * len(SIDE_GROUPS)
    out: List[Optional[bool]] = []
    for group in SIDE_GROUPS:
        sign: Optional[bool] = None
        for a, b in group:
            r, l_ = joints[a], joints[b]
            if r[2] > 0 and l_[2] > 0:
                across = (ax * (r[1] - l_[1]) - ay * (r[0] - l_[0])) / length
                if abs(across) >= MIN_SIDE_SPREAD * length:
                    sign = across > 0
                break
        out.append(sign)
    return out


def _swap_groups(d: _Detection, swap: Sequence[bool]) -> _Detection:
    """``d`` with the right and left joints of the groups marked in ``swap`` exchanged."""
    if not any(swap):
        return d
    kp = d.keypoints.copy()
    for group, yes in zip(SIDE_GROUPS, swap):
        if yes:
            for a, b in group:
                kp[[a, b]] = kp[[b, a]]
    return _detection(Person(keypoints=kp, score=d.person.score))


def _body_shift(old: Joints, new: Joints, fallback: Tuple[float, float]
                ) -> Tuple[float, float]:
    """How far the body moved between two skeletons: the mean displacement of the joints
    present in both (a change of which joints were found does not look like motion), or
    ``fallback`` when they share none."""
    sx = sy = 0.0
    n = 0
    for (ox, oy, os_), (nx, ny, ns) in zip(old, new):
        if os_ > 0 and ns > 0:
            sx += nx - ox
            sy += ny - oy
            n += 1
    return (sx / n, sy / n) if n else fallback


class Tracker:
    """Online multi-person tracker. ``update(people)`` returns the tracks matched in this
    frame; ``ended`` then lists the ids that ended in that call.

    ``kappa``: OKS falloff relative to the person's size (larger = more tolerant of motion);
    ``min_similarity``: the gate below which a detection never joins a track;
    ``velocity_smoothing``: weight of the newest displacement in the velocity estimate;
    ``min_hits``: frames a new track must be matched in, in a row, to be confirmed;
    ``max_missed``: frames a confirmed track may be missed before it ends (45: 1.5 s at
    30 fps, 2.5 s at 18 fps: a person hidden by furniture or another person for a second or
    two keeps their id); ``max_widen``: the most the falloffs widen for a missed track;
    ``min_start_score``: the person score a detection needs to start or grow a tentative
    track (0.2: on UP-Fall room frames, pipan's pose net scored 77% of its detections of
    the real person at 0.2 or more, and 25% of its false people);
    ``centre_sigma``: falloff of the centre-distance score, as a fraction of the body's
    length; ``centre_weight``: that score's cap (below a fair OKS, above the gate);
    ``fragment_pad``: how far around an accounted-for person (a fraction of their length)
    a new detection counts as part of them; ``max_size_change``: the most a detection's
    length may differ from a track's (as a factor) for it to be that person;
    ``recall_frames``: how long an ended track's id may be taken again by a person who
    looks like them; ``min_look``: the look similarity that takes it (0.5: on real
    footage, two people in the same frame scored at most 0.35, one person 2 s apart
    scored 0.5 or more in 75% of pairs: ``benchmarks/tracking_looks.py``).
    """

    def __init__(self, max_missed: int = 45, kappa: float = 0.25, min_similarity: float = 0.1,
                 velocity_smoothing: float = 0.5, min_hits: int = 3, max_widen: float = 3.0,
                 min_start_score: float = 0.2, centre_sigma: float = 0.35,
                 centre_weight: float = 0.3, fragment_pad: float = 0.2,
                 max_size_change: float = 2.5, recall_frames: int = 300,
                 min_look: float = 0.5):
        if min_hits < 1:
            raise ValueError("min_hits must be at least 1")
        self.min_hits = int(min_hits)
        self.max_widen = float(max_widen)
        self.min_start_score = float(min_start_score)
        self.max_missed = int(max_missed)
        self.kappa = float(kappa)
        self.min_similarity = float(min_similarity)
        self.velocity_smoothing = float(velocity_smoothing)
        self.centre_sigma = float(centre_sigma)
        self.centre_weight = float(centre_weight)
        self.fragment_pad = float(fragment_pad)
        self.max_size_change = float(max_size_change)
        self.recall_frames = int(recall_frames)
        self.min_look = float(min_look)
        self._tracks: List[_State] = []
        self._gone: List[_Gone] = []
        self._next_id = 1
        self.ended: List[int] = []
        #: ids given back (to a person seen again) in the last ``update``: their motion
        #: so far belongs to before the gap, which whoever keeps per-person state (the
        #: keypoint smoother, the action model) should forget
        self.resumed: List[int] = []

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
            kp = t.det.keypoints.copy()
            kp[:, 0] += t.velocity[0] * (t.missed + 1)
            kp[:, 1] += t.velocity[1] * (t.missed + 1)
            out.append(kp)
        return out

    def expected(self) -> List[Tuple[int, np.ndarray]]:
        """``(id, expected keypoints)`` of every confirmed track (as :meth:`skeletons`)."""
        return list(zip([t.id for t in self._tracks if t.id], self.skeletons()))

    def _widen(self, t: _State) -> float:
        return min(1.0 + t.missed / 4.0, self.max_widen)

    def _similarity(self, dets: List[_Detection]) -> List[List[float]]:
        """Every track's similarity to every detection (see the module docstring): N lists
        of M floats. A missed track's falloffs widen by ``1 + missed / 4`` (at most
        ``max_widen``)."""
        tracks = self._tracks
        shifts = [(t.velocity[0] * (t.missed + 1), t.velocity[1] * (t.missed + 1))
                  for t in tracks]
        widen = [self._widen(t) for t in tracks]
        areas = [t.area * w * w for t, w in zip(tracks, widen)]
        k = self.kappa
        if len(tracks) * len(dets) <= SMALL:
            sim = [[oks_py(t.det.joints, sh, d.joints, a, k) for d in dets]
                   for t, sh, a in zip(tracks, shifts, areas)]
            for i, (t, a) in enumerate(zip(tracks, areas)):
                if t.missed:
                    row = sim[i]
                    for j, d in enumerate(dets):
                        row[j] = max(row[j], oks_py(t.det.joints, (0.0, 0.0), d.joints, a, k))
        else:
            preds = np.stack([t.det.keypoints for t in tracks])
            det_kp = np.stack([d.keypoints for d in dets])
            moved = preds.copy()
            moved[..., :2] += np.float32(shifts)[:, None, :]
            arr = oks_matrix(moved, det_kp, np.float32(areas), k)
            if any(t.missed for t in tracks):
                missed = np.array([t.missed > 0 for t in tracks])
                arr = np.where(missed[:, None],
                               np.maximum(arr, oks_matrix(preds, det_kp, np.float32(areas),
                                                          k)), arr)
            sim = arr.tolist()
        # the fallback: centre distance relative to the body's length
        for i, t in enumerate(tracks):
            s = self.centre_sigma * t.length * widen[i]
            c = -1.0 / (2.0 * s * s)
            lx, ly = t.det.centre
            px, py = lx + shifts[i][0], ly + shifts[i][1]
            row = sim[i]
            lo, hi = t.length / self.max_size_change, t.length * self.max_size_change
            for j, d in enumerate(dets):
                if not lo <= d.length <= hi:
                    row[j] = 0.0  # not the same person, whatever their joints say
                    continue
                if d.person.score < self.min_start_score:
                    continue  # a faint detection: by its joints only
                dx, dy = d.centre
                d2 = min((dx - px) ** 2 + (dy - py) ** 2, (dx - lx) ** 2 + (dy - ly) ** 2)
                v = self.centre_weight * math.exp(d2 * c)
                if v > row[j]:
                    row[j] = v
        return sim

    def _part_of(self, d: _Detection, other: _Detection, length: float) -> bool:
        """Whether ``d`` is a fragment or a duplicate of the person ``other`` was found
        as (``length``: that person's length): mostly inside their box, padded by
        ``fragment_pad`` of their length, and either clearly smaller (a part of them) or
        with its joints where theirs are (OKS at least 0.5: found twice). Two people
        side by side are neither."""
        if _inside(d.box, other.box, self.fragment_pad * length) < 0.5:
            return False
        return (d.length <= 0.8 * length
                or oks_py(other.joints, (0.0, 0.0), d.joints, other.area, self.kappa) >= 0.5)

    def learn_sides(self, track_id: int, people: Sequence[Person]) -> Optional[bool]:
        """People found in a look whose left and right are trusted (a tight crop around
        the confirmed track ``track_id``, in frame pixels): the one most like where the
        track is expected teaches it whether ordinary detections swap its sides (see the
        module docstring). Call before this frame's :meth:`update`. Returns True when the
        look agreed with everything the track had learnt, False when it taught or
        contradicted something, None when it showed nothing to judge by."""
        i = next((i for i, t in enumerate(self._tracks) if t.id == track_id), None)
        if i is None or not people:
            return None
        dets = [_detection(p) for p in people]
        both = dets + [_swap_groups(d, [True] * len(SIDE_GROUPS)) for d in dets]
        row = self._similarity(both)[i]  # either way round: the sides are in question
        best = max(range(len(dets)), key=lambda j: max(row[j], row[j + len(dets)]))
        if max(row[best], row[best + len(dets)]) < self.min_similarity:
            return None
        return self._learn_sides(self._tracks[i], side_signs(dets[best].joints))

    def update(self, people: Sequence[Person],
               image: Optional[np.ndarray] = None) -> List[Track]:
        """Match this frame's detections to tracks; returns matched tracks, sorted by id.
        ``image``: the frame the people were found in (BGR), whose colours give a person
        who comes back their id again; None: ids are never reused."""
        self.ended = []
        self.resumed = []
        for g in self._gone:
            g.frames += 1
        if self._gone:
            self._gone = [g for g in self._gone if g.frames <= self.recall_frames]
        N, M = len(self._tracks), len(people)
        if N == 0 and M == 0:  # nobody, before or now: the common case of an empty scene
            return []
        dets = [_detection(p) for p in people]
        pairs = []
        if N and M:
            sim = self._similarity(dets)
            # confirmed tracks first, then the most similar, each similarity discounted by
            # how far its track's falloffs were widened (a missed track's wider gate lets it
            # be found again, but never beats a track seen a frame ago to a detection both
            # explain: two tracks would take turns on one person); ties in (track,
            # detection) order
            widen = [self._widen(t) for t in self._tracks]
            order = sorted(((sim[i][j], i, j) for i in range(N) for j in range(M)),
                           key=lambda x: (self._tracks[x[1]].id == 0, -x[0] / widen[x[1]]))
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
        s = SIZE_SMOOTHING
        taken: List[Tuple[_Detection, float]] = []  # people accounted for: (det, length)
        for i, j in pairs:
            t, d = self._tracks[i], dets[j]
            k = t.missed + 1
            t.ordinary = [n if n is not None else o
                          for n, o in zip(side_signs(d.joints), t.ordinary)]
            d = _swap_groups(d, [w is True for w in t.swapped])
            fallback = (d.centre[0] - t.det.centre[0], d.centre[1] - t.det.centre[1])
            mx, my = _body_shift(t.det.joints, d.joints, fallback)
            t.velocity = (a * mx / k + (1 - a) * t.velocity[0],
                          a * my / k + (1 - a) * t.velocity[1])
            t.det = d
            if d.person.score >= self.min_start_score:  # sizes from confident detections
                t.area = (1 - s) * t.area + s * d.area
                t.length = (1 - s) * t.length + s * d.length
            t.missed, t.hits = 0, t.hits + 1
            t.score += SCORE_SMOOTHING * (d.person.score - t.score)
            if image is not None and d.whole and d.person.score >= self.min_start_score \
                    and (not t.id or t.look is None or t.hits % LOOK_EVERY == 0):
                new = appearance.look(image, d.keypoints)
                t.look = new if t.look is None else appearance.blend(t.look, new,
                                                                      LOOK_SMOOTHING)
            taken.append((d, t.length))
        survivors: List[_State] = []
        for i, t in enumerate(self._tracks):
            t.age += 1
            if i not in matched_t:
                t.missed += 1
                if not t.id:
                    continue  # a tentative track that flickered: never reported
                if t.missed > self.max_missed:
                    self.ended.append(t.id)
                    if t.look is not None:
                        self._gone.append(_Gone(t.id, t.look))
                    continue
            survivors.append(t)
        # new tracks: the strongest first, none inside a person already accounted for
        fresh = sorted((j for j in range(M) if j not in matched_d and dets[j].whole
                        and people[j].score >= self.min_start_score),
                       key=lambda j: -people[j].score)
        for j in fresh:
            d = dets[j]
            if any(self._part_of(d, other, length) for other, length in taken):
                continue
            taken.append((d, d.length))
            survivors.append(_State(id=0, det=d, area=d.area, length=d.length,
                                    score=d.person.score,
                                    look=None if image is None
                                    else appearance.look(image, d.keypoints)))
        for t in survivors:  # confirmed now: ids in the order tracks started
            if not t.id and t.hits >= self.min_hits:
                t.id = self._recall(t, survivors)
                if not t.id:
                    t.id = self._next_id
                    self._next_id += 1
        self._tracks = [t for t in survivors if t.id >= 0]
        # reported: confirmed, matched now, and believed (this detection or the recent
        # ones confident enough to start a track)
        low = self.min_start_score
        out = [Track(id=t.id, person=t.det.person, age=t.age, missed=0)
               for t in self._tracks if t.missed == 0 and t.id
               and (t.det.person.score >= low or t.score >= low)]
        out.sort(key=lambda tr: tr.id)
        return out

    @staticmethod
    def _learn_sides(t: _State, trusted: Sequence[Optional[bool]]) -> Optional[bool]:
        """What a trusted detection's side signs say about whether ordinary looks swap
        ``t``'s sides (see the module docstring); as :meth:`learn_sides` returns."""
        agreed: Optional[bool] = None
        for g, (sure, seen) in enumerate(zip(trusted, t.ordinary)):
            if sure is None or seen is None:
                continue
            says = sure != seen
            if says == t.swapped[g]:
                t.doubt[g] = 0
                agreed = agreed is not False
            elif t.swapped[g] is None:
                t.swapped[g], t.doubt[g] = says, 0
                agreed = False
            else:
                agreed = False
                t.doubt[g] += 1
                if t.doubt[g] >= SIDES_DOUBT:
                    t.swapped[g], t.doubt[g] = says, 0
        return agreed

    def _recall(self, new: _State, live: List[_State]) -> int:
        """The id of the lost person ``new`` looks most like (a confirmed track missed now,
        which then gives up its id and is dropped, or one ended lately), or 0."""
        if new.look is None:
            return 0
        best, who = self.min_look, None
        for cand in [t for t in live if t.id > 0 and t.missed and t.look is not None] \
                + self._gone:
            v = appearance.similarity(new.look, cand.look)
            if v is not None and v >= best:
                best, who = v, cand
        if who is None:
            return 0
        tid = who.id
        self.resumed.append(tid)
        if isinstance(who, _Gone):
            self._gone.remove(who)
        else:
            who.id = -1  # taken over: dropped without ending (the id goes on)
        return tid

    def finish(self) -> List[int]:
        """End every live track (end of the source); returns their ids."""
        ids = [t.id for t in self._tracks if t.id]
        self._tracks = []
        self._gone = []
        return ids
