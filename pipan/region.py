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
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

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
    past what the net was trained on).
    """

    full_every_s: float = 0.4
    margin: float = 1.0
    max_area: float = 0.6
    min_side: int = 128
    _last_full: Optional[float] = None

    def region(self, time: float, skeletons: Sequence[np.ndarray],
               frame_hw: Tuple[int, int], pending: bool = False) -> Optional[Box]:
        """The region to run the net on at ``time`` (seconds), given the confirmed tracks'
        expected keypoints (frame pixels) and whether a new track awaits confirmation
        (``pending``); None means the whole frame."""
        H, W = frame_hw
        boxes = [b for b in (joint_box(k) for k in skeletons) if b is not None]
        due = self._last_full is None or time - self._last_full >= self.full_every_s \
            or time < self._last_full  # a source that restarts its clock
        if not boxes or due or pending:
            self._last_full = time
            return None
        x0 = min(b[0] for b in boxes)
        y0 = min(b[1] for b in boxes)
        x1 = max(b[2] for b in boxes)
        y1 = max(b[3] for b in boxes)
        side = max(x1 - x0, y1 - y0)
        pad = self.margin * side
        x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
        # square, like the net's input, and not smaller than min_side
        side = max(x1 - x0, y1 - y0, float(self.min_side))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        w, h = min(side, W), min(side, H)
        x0 = int(round(min(max(cx - w / 2, 0.0), W - w)))
        y0 = int(round(min(max(cy - h / 2, 0.0), H - h)))
        box = (x0, y0, int(round(x0 + w)), int(round(y0 + h)))
        if (box[2] - box[0]) * (box[3] - box[1]) > self.max_area * W * H:
            self._last_full = time
            return None
        return box

    def reset(self) -> None:
        self._last_full = None


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
