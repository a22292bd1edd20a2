"""Accuracy of an action recognizer on a skeleton dataset's test clips, streamed by the
runtime (``pipan evaluate``); the scoring is shared with ``python -m training action
evaluate``, so both print the same figures for the same model and data."""
from __future__ import annotations

import math
from typing import Dict, Sequence

import numpy as np

from .dataset import SkeletonDataset
from .errors import DatasetError

#: Fractions of each clip observed at which ``by_fraction`` accuracy is measured.
FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)


def score_predictions(probs: Sequence[np.ndarray], y: np.ndarray,
                      classes: Sequence[str]) -> Dict:
    """Accuracy of the full-clip prediction, per class, and against the observed fraction.

    ``probs[i]`` is ``(T_i, C)``; ``y`` true class indices. Prediction at fraction f uses
    frames 1..ceil(f T)."""
    final = np.array([int(np.argmax(p[-1])) for p in probs])
    per_class = {}
    for c, name in enumerate(classes):
        m = y == c
        if m.any():
            per_class[name] = round(float((final[m] == c).mean()), 4)
    by_fraction = {}
    for f in FRACTIONS:
        pred = np.array([int(np.argmax(p[max(1, math.ceil(f * len(p))) - 1])) for p in probs])
        by_fraction[str(f)] = round(float((pred == y).mean()), 4)
    confusion = np.zeros((len(classes), len(classes)), np.int64)
    for t, p in zip(y, final):
        confusion[t, p] += 1
    return {"accuracy": round(float((final == y).mean()), 4), "per_class": per_class,
            "by_fraction": by_fraction, "clips": int(len(y)),
            "confusion": confusion.tolist()}


def evaluate(recognizer, dataset: SkeletonDataset) -> Dict:
    """Stream each test clip (``test`` = 1; every clip without a test column) through
    ``recognizer`` (``labels``, ``run_clip``) as one fresh person and score the prediction
    after its last frame. Clips whose label the recognizer does not know are skipped
    (``skipped``)."""
    ds = dataset.to_coco18()
    mask = ds.test.astype(bool) if ds.test is not None else np.ones(len(ds), bool)
    if not mask.any():
        raise DatasetError("no clip has test=1: nothing to evaluate")
    classes = list(recognizer.labels)
    lookup = {c: i for i, c in enumerate(classes)}
    y = np.array([lookup.get(str(s), -1) for s in ds.labels], np.int64)
    keep = mask & (y >= 0)
    if not keep.any():
        raise DatasetError(f"no evaluation clip has a label the model knows "
                           f"({', '.join(classes)})")
    probs = [recognizer.run_clip(ds.clip(i)) for i in np.flatnonzero(keep)]
    scores = score_predictions(probs, y[keep], classes)
    scores["skipped"] = int((mask & (y < 0)).sum())
    return scores
