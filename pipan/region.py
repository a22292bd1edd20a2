"""Where the pose net looks: a region around the people being tracked, or the whole frame.

Letterboxing a whole 640x480 frame into the net's 224x224 input leaves a person across a
room some 60 pixels tall; the net then misses joints and people. Like MoveNet's cropping
around the last frame's keypoints, the pipeline runs the net on one region that holds
every tracked person (their joints' box, with a margin for motion and for the limbs the
decoder did not find), made square like the net's input, and looks at the whole frame
again every ``full_every_s`` seconds, whenever nobody is tracked, and while a new track
waits for confirmation (the tracker confirms a track over consecutive frames, and a look
at the whole frame is what found it), so a person who walks in is found and confirmed
within about ``full_every_s`` plus a few frames, and a false detection is dropped as fast.

One region for everybody, not one per person: the net's cost stays one call per frame.
When the people are spread over most of the frame the region is the frame.

Left and right: at the size the region shows a person (a third of the net's input), the
bundled net mostly labels a person facing the camera as if seen from behind (right
shoulder on the image's right): on UP-Fall's room footage, the
right shoulder was on BlazePose's side in 12 of 124 people at that size, against 63 of
70 in a tight crop (``sides_margin`` 0.15; held-out footage: 31 of 58 against 18 of 24;
``benchmarks/pose_sides.py``). So as soon as a track is confirmed, and again after a
second, the pipeline also runs the net on a tight crop around a tracked person who
stands fairly still: :meth:`RegionPolicy.sides_look`. The tracker learns from
it whether the ordinary looks swap that person's sides and puts them right
(``pipan.tracker``). Each look that agrees with what was learnt (or shows nothing to go
by) doubles the time to that person's next one, up to 8 s, so the extra calls soon cost
about one in a hundred frames.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .types import Person

#: (x0, y0, x1, y1) in frame pixels, integers, x1/y1 exclusive
Box = Tuple[int, int, int, int]


def joint_box(keypoints: np.ndarray) -> Optional[Tuple[float, float, float, float]]:
    """The box (x0, y0, x1, y1) of one skeleton's present joints (score > 0), or None with
    fewer than two."""
    kp = np.asarray(keypoints, np.float32)
    xy = kp[kp[:, 2] > 0, :2]
    if len(xy) < 2:
        return None
    (x0, y0), (x1, y1) = xy.min(0), xy.max(0)
    return float(x0), float(y0), float(x1), float(y1)


@dataclass
class RegionPolicy:
    """Chooses each frame's region (see the module docstring).

    ``full_every_s``: seconds between looks at the whole frame while people are tracked;
    ``margin``: added on every side, as a fraction of the people's box's longer side (1.0:
    the people fill about a third of the region, the size at which the bundled net finds
    them best; on UP-Fall camera 1, trial 1, it covers the person in 0.595 of the sampled
    frames with 1.0, 0.515 with 0.6 and 0.445 with 0.35, 0.590 on the whole frame always);
    ``max_area``: a region over this fraction of the frame's area is the whole frame;
    ``min_side``: pixels, the smallest region side (a far-away person is not blown up
    past what the net was trained on); ``sides_every_s``: seconds between tight looks at
    one tracked person, whose left and right the tracker then trusts (0: never);
    ``sides_margin``: that look's margin (as ``margin``); ``sides_max_speed``: body
    lengths a second above which a person is not looked at so; ``sides_max_every_s``:
    the longest interval between such looks at a person whose sides keep agreeing.
    """

    full_every_s: float = 0.4
    margin: float = 1.0
    max_area: float = 0.6
    min_side: int = 128
    sides_every_s: float = 1.0
    sides_margin: float = 0.15
    sides_max_speed: float = 0.3
    sides_max_every_s: float = 8.0
    _last_full: Optional[float] = None
    _sides_checked: Dict[int, float] = field(default_factory=dict)
    _sides_every: Dict[int, float] = field(default_factory=dict)
    _seen: Dict[int, Tuple[float, float, float]] = field(default_factory=dict)

    def region(self, time: float, skeletons: Sequence[np.ndarray],
               frame_hw: Tuple[int, int], pending: bool = False) -> Optional[Box]:
        """The region to run the net on at ``time`` (seconds), given the confirmed tracks'
        expected keypoints (frame pixels) and whether a new track awaits confirmation
        (``pending``); None means the whole frame."""
        boxes = [b for b in (joint_box(k) for k in skeletons) if b is not None]
        if self._full_due(time, boxes, pending):
            return None
        return self._people_box(time, boxes, frame_hw)

    def _full_due(self, time: float, boxes: list, pending: bool) -> bool:
        due = self._last_full is None or time - self._last_full >= self.full_every_s \
            or time < self._last_full  # a source that restarts its clock
        if not boxes or due or pending:
            self._last_full = time
            return True
        return False

    def _people_box(self, time: float, boxes: list, frame_hw: Tuple[int, int]
                    ) -> Optional[Box]:
        H, W = frame_hw
        box = square_box((min(b[0] for b in boxes), min(b[1] for b in boxes),
                          max(b[2] for b in boxes), max(b[3] for b in boxes)),
                         self.margin, self.min_side, frame_hw)
        if (box[2] - box[0]) * (box[3] - box[1]) > self.max_area * W * H:
            self._last_full = time
            return None
        return box

    def sides_look(self, time: float, people: Sequence[Tuple[int, np.ndarray]],
                   frame_hw: Tuple[int, int]) -> Optional[Tuple[int, Box]]:
        """A tight look at one tracked person, besides this frame's look, given ``(track
        id, expected keypoints)`` per confirmed track: ``(id, box)``, or None when none is
        due. Only a person moving under ``sides_max_speed`` body lengths a second is
        looked at (a tight crop around where a walker is expected cuts them). Due for such
        a person never looked at, and then after their own interval: ``sides_every_s``,
        doubled after each look that agreed with what the tracker had learnt or showed
        nothing, up to ``sides_max_every_s`` (:meth:`sides_result`). The one due longest
        goes first."""
        if self.sides_every_s <= 0:
            return None
        live = {tid for tid, _ in people}
        self._sides_checked = {k: v for k, v in self._sides_checked.items() if k in live}
        self._sides_every = {k: v for k, v in self._sides_every.items() if k in live}
        due = []
        for tid, kp in people:
            b = joint_box(kp)
            if b is None:
                continue
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            length = max(b[2] - b[0], b[3] - b[1], 1.0)
            last = self._seen.get(tid)
            self._seen[tid] = (time, cx, cy)
            if last is None or time <= last[0]:
                continue
            if np.hypot(cx - last[1], cy - last[2]) > \
                    self.sides_max_speed * length * (time - last[0]):
                continue
            checked = self._sides_checked.get(tid)
            if checked is None or time < checked:
                due.append((-np.inf, tid, b))
                continue
            late = time - checked - self._sides_every.get(tid, self.sides_every_s)
            if late >= -1e-9:
                due.append((-late, tid, b))
        self._seen = {k: v for k, v in self._seen.items() if k in live}
        if not due:
            return None
        _, tid, b = min(due, key=lambda d: d[0])
        self._sides_checked[tid] = time
        return tid, square_box(b, self.sides_margin, self.min_side, frame_hw)

    def sides_result(self, track_id: int, agreed: Optional[bool]) -> None:
        """What the tight look at ``track_id`` taught the tracker (``Tracker.learn_sides``):
        a look that agreed, or showed nothing to judge by (the person's sides hidden, or
        not found in the crop), doubles that person's interval; one that taught or
        contradicted something sets it back."""
        now = self._sides_every.get(track_id, self.sides_every_s)
        self._sides_every[track_id] = (self.sides_every_s if agreed is False
                                       else min(2 * now, self.sides_max_every_s))

    def reset(self) -> None:
        self._last_full = None
        self._sides_checked = {}
        self._sides_every = {}
        self._seen = {}


def square_box(box: Tuple[float, float, float, float], margin: float, min_side: int,
               frame_hw: Tuple[int, int]) -> Box:
    """``box`` grown by ``margin`` of its longer side on every side, made square (the
    net's input is) and at least ``min_side``, shifted to lie inside the frame (a side
    longer than the frame's is cut to it)."""
    H, W = frame_hw
    x0, y0, x1, y1 = box
    pad = margin * max(x1 - x0, y1 - y0)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    side = max(x1 - x0, y1 - y0, float(min_side))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = min(side, W), min(side, H)
    x0 = int(round(min(max(cx - w / 2, 0.0), W - w)))
    y0 = int(round(min(max(cy - h / 2, 0.0), H - h)))
    return x0, y0, int(round(x0 + w)), int(round(y0 + h))


def crop(image: np.ndarray, box: Optional[Box]) -> np.ndarray:
    """The region of ``image`` (a view, no copy); the whole image for None."""
    if box is None:
        return image
    x0, y0, x1, y1 = box
    return image[y0:y1, x0:x1]


def to_frame(people: List[Person], box: Optional[Box]) -> List[Person]:
    """People found in a region -> the frame's pixels (present joints moved)."""
    if box is None:
        return people
    shift = np.float32([box[0], box[1]])
    out = []
    for p in people:
        kp = np.array(p.keypoints, np.float32)
        have = kp[:, 2] > 0
        kp[have, :2] += shift
        out.append(Person(keypoints=kp, score=p.score))
    return out
