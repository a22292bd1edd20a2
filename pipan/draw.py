"""Drawing with OpenCV only: skeletons, track ids and action captions on frames (as the
paper's figure 5), an FPS counter, and the per-person timeline chart. ``annotate`` is what
``pipan.pipeline.Pipeline.run`` draws every annotated frame with."""
from __future__ import annotations

import colorsys
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

from .skeleton import LIMBS
from .types import Segment

FONT = cv2.FONT_HERSHEY_SIMPLEX


def track_colour(track_id: int) -> tuple:
    """A distinct, stable BGR colour per track id (golden-ratio hue steps)."""
    h = (track_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, 0.75, 1.0)
    return (int(b * 255), int(g * 255), int(r * 255))


def label_colour(index: int) -> tuple:
    """A distinct BGR colour per action label index (softer than track colours)."""
    h = (index * 0.618033988749895 + 0.1) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, 0.55, 0.9)
    return (int(b * 255), int(g * 255), int(r * 255))


def _text(img: np.ndarray, text: str, org, scale: float, colour, thickness: int = 1) -> None:
    """Text with a dark outline, readable on any background."""
    cv2.putText(img, text, org, FONT, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(img, text, org, FONT, scale, colour, thickness, cv2.LINE_AA)


def draw_person(img: np.ndarray, keypoints: np.ndarray, track_id: int,
                caption: Optional[str] = None, min_score: float = 0.0) -> None:
    """Draw one skeleton (COCO-18, frame pixels) with its id and caption, in place."""
    H, W = img.shape[:2]
    s = max(1, round(max(H, W) / 480))  # line widths grow with the frame
    colour = track_colour(track_id)
    kp = np.asarray(keypoints, np.float32)
    ok = kp[:, 2] > min_score
    for a, b in LIMBS:
        if ok[a] and ok[b]:
            cv2.line(img, (int(kp[a, 0]), int(kp[a, 1])), (int(kp[b, 0]), int(kp[b, 1])),
                     colour, 2 * s, cv2.LINE_AA)
    for j in np.flatnonzero(ok):
        cv2.circle(img, (int(kp[j, 0]), int(kp[j, 1])), 2 * s + 1, colour, -1, cv2.LINE_AA)
    if not ok.any():
        return
    x0, y0 = kp[ok, 0].min(), kp[ok, 1].min()
    text = f"#{track_id}" + (f" {caption}" if caption else "")
    scale = 0.5 * s
    (tw, th), _ = cv2.getTextSize(text, FONT, scale, s)
    x = int(np.clip(x0, 0, max(0, W - tw)))
    y = int(np.clip(y0 - 6 * s, th + 2, H - 2))
    _text(img, text, (x, y), scale, colour, s)


def draw_frame(img: np.ndarray, people: Sequence, captions: Dict[int, str],
               fps: Optional[float] = None) -> np.ndarray:
    """Draw every tracked person (objects with ``id`` and ``person.keypoints``) with their
    caption, and the FPS in the top-left corner. Draws in place and returns ``img``."""
    for tr in people:
        draw_person(img, tr.person.keypoints, tr.id, captions.get(tr.id))
    if fps is not None:
        s = max(1, round(max(img.shape[:2]) / 480))
        _text(img, f"{fps:.1f} FPS", (8 * s, 20 * s), 0.55 * s, (255, 255, 255), s)
    return img


def annotate(image: np.ndarray, people: Sequence, captions: Dict[int, str],
             fps: Optional[float] = None,
             size: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """A drawn copy of a frame (``draw_frame``), resized to ``size`` (width, height) first
    when given and different (a video writer needs one size throughout)."""
    if size is not None and image.shape[:2] != (size[1], size[0]):
        image = cv2.resize(image, size)
    else:
        image = image.copy()
    return draw_frame(image, people, captions, fps)


def timeline_image(segments: Sequence[Segment], labels: Sequence[str],
                   duration: Optional[float] = None, width: int = 1000,
                   row_height: int = 36) -> np.ndarray:
    """The timeline chart: one row per person, coloured labelled bars for its segments,
    a time axis in seconds, and a legend of labels. Returns a BGR uint8 image."""
    people = sorted({s.person for s in segments})
    end = max([duration or 0.0] + [s.end for s in segments]) or 1.0
    left, right, top = 90, 20, 30
    axis_h, legend_h = 40, 30
    H = top + max(1, len(people)) * row_height + axis_h + legend_h
    img = np.full((H, width, 3), 255, np.uint8)
    plot_w = width - left - right

    def x_of(t: float) -> int:
        return left + int(round(t / end * plot_w))

    label_index = {name: i for i, name in enumerate(labels)}
    cv2.putText(img, "pipan: actions per person", (left, 20), FONT, 0.5, (40, 40, 40), 1,
                cv2.LINE_AA)
    if not people:
        cv2.putText(img, "nobody detected", (left, top + 24), FONT, 0.5, (90, 90, 90), 1,
                    cv2.LINE_AA)
    for r, person in enumerate(people):
        y0 = top + r * row_height
        cv2.putText(img, f"person {person}", (8, y0 + row_height // 2 + 5), FONT, 0.45,
                    (30, 30, 30), 1, cv2.LINE_AA)
        for s in (s for s in segments if s.person == person):
            colour = label_colour(label_index.get(s.label, len(labels)))
            xa, xb = x_of(s.start), max(x_of(s.end), x_of(s.start) + 1)
            cv2.rectangle(img, (xa, y0 + 4), (xb, y0 + row_height - 4), colour, -1)
            cv2.rectangle(img, (xa, y0 + 4), (xb, y0 + row_height - 4), (80, 80, 80), 1)
            (tw, _), _ = cv2.getTextSize(s.label, FONT, 0.4, 1)
            if tw + 6 < xb - xa:
                cv2.putText(img, s.label, (xa + 3, y0 + row_height // 2 + 4), FONT, 0.4,
                            (20, 20, 20), 1, cv2.LINE_AA)
    # time axis with round-number ticks
    ya = top + max(1, len(people)) * row_height + 6
    cv2.line(img, (left, ya), (left + plot_w, ya), (60, 60, 60), 1)
    step = next(s for s in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 1e9)
                if end / s <= 12)
    t = 0.0
    while t <= end + 1e-9:
        x = x_of(t)
        cv2.line(img, (x, ya), (x, ya + 5), (60, 60, 60), 1)
        cv2.putText(img, f"{t:g}", (x - 8, ya + 18), FONT, 0.38, (60, 60, 60), 1, cv2.LINE_AA)
        t += step
    cv2.putText(img, "time (s)", (left + plot_w - 60, ya + 34), FONT, 0.4, (60, 60, 60), 1,
                cv2.LINE_AA)
    # legend of the labels that occur
    x, yl = left, H - 10
    for name in [n for n in labels if any(s.label == n for s in segments)]:
        cv2.rectangle(img, (x, yl - 10), (x + 12, yl), label_colour(label_index[name]), -1)
        cv2.putText(img, name, (x + 16, yl), FONT, 0.4, (30, 30, 30), 1, cv2.LINE_AA)
        x += 26 + cv2.getTextSize(name, FONT, 0.4, 1)[0][0]
    return img
