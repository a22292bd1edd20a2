"""Keypoint accuracy, the one definition that training, the converter and the benchmarks
use (numpy only): PCK of COCO-18 predictions against reference keypoints, and how
predicted people are matched to reference people.

PCK@a counts a joint as correct when it lies within a * max(width, height) of the
reference person's bounding box (the box around its present joints) from the reference
position: the normaliser JHMDB's own PCK uses. Joints absent from the reference are not
counted (nor are people with fewer than two); a joint the prediction lacks (score 0)
counts as wrong.

Matching: each reference person is paired with at most one predicted person and vice
versa, greedily, the pair with most correct joints first (ties: the smaller mean distance
over the joints both have); pairs with no correct joint are not made. An unmatched
reference person's joints all count as wrong.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from pipan.types import Person

Keypoints = Union[np.ndarray, Person]


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


def _array(p: Keypoints) -> np.ndarray:
    return np.asarray(p.keypoints if isinstance(p, Person) else p, np.float32)


def match(reference: np.ndarray, predicted: Sequence[Keypoints], alpha: float = 0.2,
          joints: Optional[np.ndarray] = None) -> List[Tuple[int, int, int]]:
    """Pairs ``(reference index, prediction index, correct joints)`` between reference
    people ``(N, 18, 3)`` and predicted people (arrays (18, 3) or ``Person``), by the
    module's matching rule; ``joints``: an (18,) bool mask of the joints that count."""
    ref = np.asarray(reference, np.float32).reshape(-1, 18, 3)
    pred = [_array(p) for p in predicted]
    if not len(ref) or not pred:
        return []
    P = np.stack(pred)  # (M, 18, 3)
    hits, counted = pck_hits(np.broadcast_to(P[None], (len(ref), *P.shape)),
                             np.broadcast_to(ref[:, None], (len(ref), *P.shape)), alpha)
    if joints is not None:
        hits = hits & np.asarray(joints, bool)
    correct = hits.sum(-1).astype(np.float64)  # (N, M)
    both = (ref[:, None, :, 2] > 0) & (P[None, :, :, 2] > 0)
    dist = np.linalg.norm(P[None, :, :, :2] - ref[:, None, :, :2], axis=-1)
    mean = np.where(both.any(-1), (dist * both).sum(-1) / np.maximum(both.sum(-1), 1), 1e9)
    # most correct joints first, then the nearest: distance only breaks ties
    key = correct - mean / (mean.max() + 1.0)
    key[correct <= 0] = -np.inf
    pairs = []
    while np.isfinite(key).any():
        i, j = np.unravel_index(np.argmax(key), key.shape)
        pairs.append((int(i), int(j), int(correct[i, j])))
        key[i, :] = -np.inf
        key[:, j] = -np.inf
    return pairs


def pck_counts(reference: np.ndarray, predicted: Sequence[Keypoints], alpha: float = 0.2,
               joints: Optional[np.ndarray] = None) -> Tuple[int, int]:
    """(correct, counted) joints of the reference people ``(N, 18, 3)`` against the
    predicted people of the same image, matched by ``match``."""
    ref = np.asarray(reference, np.float32).reshape(-1, 18, 3)
    _, counted = pck_hits(ref, ref, alpha)
    if joints is not None:
        counted = counted & np.asarray(joints, bool)
    return sum(c for _, _, c in match(ref, predicted, alpha, joints)), int(counted.sum())


def match_person(people: Sequence[Keypoints], reference: np.ndarray,
                 alpha: float = 0.2) -> Optional[np.ndarray]:
    """The (18, 3) keypoints of whichever of ``people`` gets most of ``reference`` (18, 3)
    right (ties: the smaller mean distance); None when none gets a joint right."""
    pairs = match(np.asarray(reference)[None], people, alpha)
    return _array(people[pairs[0][1]]) if pairs else None


def frame_predictions(people_per_frame: Sequence[Sequence[Keypoints]],
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
