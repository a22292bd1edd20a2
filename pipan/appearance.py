"""What a person looks like: colour histograms of their torso and legs, for telling whether
a person who appears is one who was lost a moment ago (``pipan.tracker``).

A person's look is two HSV histograms (8 hues x 3 saturations x 3 values, 72 bins each,
summing to 1): of the box spanned by their shoulders and hips (the torso: a shirt), and of
the box spanned by their hips and knees (the legs: trousers or a skirt), each narrowed to
its middle so that the background beside a thin body weighs little. A part whose joints
were not found, or whose box is under ``MIN_SIDE`` pixels, is left out (all zeros).
Two looks compare by the Bhattacharyya coefficient of each part both have (1: the same
colours, 0: none shared), the lower of the two: the same jeans under another shirt are
another person. Lighting changes shift values and saturations a little, so the bins are
coarse.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from .skeleton import JOINT_INDEX

BINS = (8, 3, 3)
PART_SIZE = BINS[0] * BINS[1] * BINS[2]
#: Joints spanning each part's box: torso, then legs.
PARTS = (
    tuple(JOINT_INDEX[n] for n in ("right_shoulder", "left_shoulder", "right_hip",
                                   "left_hip")),
    tuple(JOINT_INDEX[n] for n in ("right_hip", "left_hip", "right_knee", "left_knee")),
)
#: Share of a part box's width kept, around its middle.
KEEP_WIDTH = 0.6
#: Smallest side of a part's box, pixels.
MIN_SIDE = 6


def look(image: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """``(2 * PART_SIZE,)`` float32: the torso's and the legs' histograms of one person
    (``keypoints (18, 3)`` in ``image``'s pixels, BGR ``image``); a part not seen is 0."""
    kp = np.asarray(keypoints, np.float32)
    H, W = image.shape[:2]
    out = np.zeros(2 * PART_SIZE, np.float32)
    for p, joints in enumerate(PARTS):
        pts = kp[list(joints)]
        pts = pts[pts[:, 2] > 0, :2]
        if len(pts) < 3:
            continue
        (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
        cx, half = (x0 + x1) / 2, max(x1 - x0, (y1 - y0) / 2) * KEEP_WIDTH / 2
        xa, xb = int(max(cx - half, 0)), int(min(cx + half, W))
        ya, yb = int(max(y0, 0)), int(min(y1, H))
        if xb - xa < MIN_SIDE or yb - ya < MIN_SIDE:
            continue
        hsv = cv2.cvtColor(np.ascontiguousarray(image[ya:yb, xa:xb]), cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, list(BINS), [0, 180, 0, 256, 0, 256])
        total = float(hist.sum())
        if total > 0:
            out[p * PART_SIZE:(p + 1) * PART_SIZE] = hist.ravel() / total
    return out


def similarity(a: np.ndarray, b: np.ndarray) -> Optional[float]:
    """The lowest Bhattacharyya coefficient of the parts both looks have; None when they
    share no part."""
    values = []
    for p in range(2):
        pa, pb = a[p * PART_SIZE:(p + 1) * PART_SIZE], b[p * PART_SIZE:(p + 1) * PART_SIZE]
        if pa.any() and pb.any():
            values.append(float(np.sqrt(pa * pb).sum()))
    return min(values) if values else None


def blend(old: np.ndarray, new: np.ndarray, weight: float) -> np.ndarray:
    """``old`` moved towards ``new`` by ``weight``, part by part (a part only one of them
    has is taken from it)."""
    out = old.copy()
    for p in range(2):
        sl = slice(p * PART_SIZE, (p + 1) * PART_SIZE)
        if new[sl].any():
            out[sl] = new[sl] if not old[sl].any() else (1 - weight) * old[sl] + weight * new[sl]
    return out

