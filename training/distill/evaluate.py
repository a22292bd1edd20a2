"""Keypoint accuracy: PCK of COCO-18 predictions against reference keypoints (numpy only).

PCK@a counts a joint as correct when it lies within a * max(width, height) of the
reference person's bounding box (the box around its present joints) from the reference
position: the normaliser JHMDB's own PCK uses. Joints absent from the reference are not
counted; a joint the prediction lacks (score 0) counts as wrong.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from pipan.types import Person


def reference_size(reference: np.ndarray) -> np.ndarray:
    """``(..., J, 3)`` keypoints -> ``(...)`` max(width, height) of the present joints' box
    (pixels; 0 where fewer than two joints are present)."""
    ref = np.asarray(reference, np.float32)
    present = ref[..., 2] > 0
    big = np.float32(1e9)
    lo = np.where(present[..., None], ref[..., :2], big).min(-2)
    hi = np.where(present[..., None], ref[..., :2], -big).max(-2)
    size = (hi - lo).max(-1)
    return np.where(present.sum(-1) >= 2, size, 0.0).astype(np.float32)


def pck_hits(pred: np.ndarray, reference: np.ndarray, alpha: float = 0.2,
             min_score: float = 0.0) -> tuple:
    """Per-joint correctness. ``pred``, ``reference``: ``(..., J, 3)`` x, y, score.

    Returns (hits, counted), both boolean ``(..., J)``: counted = the reference has the
    joint (score > 0) and a measurable size; hits = counted and the prediction has it
    (score > ``min_score``) within ``alpha`` * size.
    """
    pred = np.asarray(pred, np.float32)
    ref = np.asarray(reference, np.float32)
    if pred.shape != ref.shape:
        raise ValueError(f"prediction {pred.shape} and reference {ref.shape} differ")
    size = reference_size(ref)
    counted = (ref[..., 2] > 0) & (size[..., None] > 0)
    dist = np.linalg.norm(pred[..., :2] - ref[..., :2], axis=-1)
    hits = counted & (pred[..., 2] > min_score) & (dist <= alpha * size[..., None])
    return hits, counted


def pck(pred: np.ndarray, reference: np.ndarray, alpha: float = 0.2,
        min_score: float = 0.0) -> float:
    """Fraction of counted reference joints that the prediction gets right (NaN if none)."""
    hits, counted = pck_hits(pred, reference, alpha, min_score)
    n = int(counted.sum())
    return float(hits.sum()) / n if n else float("nan")


def match_person(people: Sequence[Person], reference: np.ndarray,
                 alpha: float = 0.2) -> Optional[np.ndarray]:
    """The (18, 3) keypoints of whichever of ``people`` gets most of ``reference`` (18, 3)
    right (ties: the smaller mean distance); None when ``people`` is empty."""
    best, best_key = None, None
    for p in people:
        hits, counted = pck_hits(p.keypoints, reference, alpha)
        both = counted & (p.keypoints[:, 2] > 0)
        dist = np.linalg.norm(p.keypoints[:, :2] - reference[:, :2], axis=-1)
        mean = float(dist[both].mean()) if both.any() else float("inf")
        key = (int(hits.sum()), -mean)
        if best_key is None or key > best_key:
            best, best_key = p.keypoints, key
    return best


def frame_predictions(people_per_frame: Sequence[Sequence[Person]],
                      reference: np.ndarray) -> np.ndarray:
    """``(T, 18, 3)`` one prediction per frame: the person matching the reference best,
    zeros (every joint missed) for a frame with nobody."""
    ref = np.asarray(reference, np.float32)
    out = np.zeros_like(ref)
    for t, people in enumerate(people_per_frame):
        kp = match_person(people, ref[t])
        if kp is not None:
            out[t] = kp
    return out
