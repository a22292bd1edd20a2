"""The pipeline's output scored against a synthetic video's ground truth.

The sidecar JSON that ``python -m training synth video`` writes beside each video (format 1,
e.g. ``pipan/models/demo.json``) gives, per person, the action segments in seconds and the
COCO-18 keypoints of every frame (COCO visibility flags as scores, 0 = outside the frame).
:func:`run` streams the video through a :class:`pipan.pipeline.Pipeline` and :func:`score`
compares, per true person:

- tracking: frames where some track's centre is within 15% of the frame height of the
  person's true centre (``matched`` of ``visible``), by how many track ids, and the "main"
  ids (those holding >= 10% of the person's frames);
- segments of the main ids: their number, and ``runs``, their number once consecutive
  segments with the same label are merged (a track id switch splits a segment without a
  change of action); true boundaries with a predicted segment start within
  ``boundary_s`` seconds;
- labels: the frames whose true label the model knows (``known``) and those where the
  predicted segment covering the frame has it (``right``). The truth names synthetic
  programs; a model of the bundled vocabulary (``pipan.vocabulary``) is judged on the
  programs' vocabulary names (``sit`` -> ``sit_down``, ``golf`` -> ``unknown``, ...), and
  consecutive true segments that read the same there are one segment.

One definition for ``tests/test_end_to_end.py`` (which asserts bars on these numbers) and
``benchmarks/demo_e2e.py`` (which prints them).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from pipan.pipeline import Pipeline
from pipan.types import Person, PoseEstimatorBase, PoseOutput, Segment
from pipan.video import VideoFileSource
from pipan.vocabulary import NAMES, SYNTHETIC, UNKNOWN

MATCH_RADIUS = 0.15  # of the frame height
MAIN_ID_SHARE = 0.1  # of the person's visible frames


@dataclass
class PersonScore:
    """How the pipeline did on one true person (see the module docstring)."""

    person: int
    visible: int
    matched: int
    ids: int
    main_ids: List[int]
    segments: int
    runs: int
    true_segments: int
    boundaries: int
    boundaries_near: int
    known: int
    right: int


@dataclass
class TruthScore:
    """Per-person scores and their sums over everybody."""

    people: List[PersonScore] = field(default_factory=list)

    @property
    def known(self) -> int:
        return sum(p.known for p in self.people)

    @property
    def right(self) -> int:
        return sum(p.right for p in self.people)

    @property
    def boundaries(self) -> int:
        return sum(p.boundaries for p in self.people)

    @property
    def boundaries_near(self) -> int:
        return sum(p.boundaries_near for p in self.people)

    def as_dict(self) -> Dict:
        return {"people": [asdict(p) for p in self.people], "known": self.known,
                "right": self.right, "boundaries": self.boundaries,
                "boundaries_near": self.boundaries_near}


def load_truth(video: Union[str, Path]) -> Dict:
    """The ground-truth sidecar of ``video`` (same name, ``.json``)."""
    return json.loads(Path(video).with_suffix(".json").read_text())


def centre(keypoints: np.ndarray) -> Optional[np.ndarray]:
    """Mean (x, y) of the present joints of one skeleton ``(18, 3)``; None if none."""
    kp = np.asarray(keypoints, np.float32)
    present = kp[:, 2] > 0
    return kp[present, :2].mean(0) if present.any() else None


def label_at(segments: Sequence[Segment], t: float) -> Optional[str]:
    """The label of the segment covering time ``t`` (seconds), or None."""
    return next((s.label for s in segments if s.start <= t < s.end), None)


def label_runs(segments: Sequence[Segment]) -> int:
    """Number of segments once consecutive ones (by start) with the same label merge."""
    labels = [s.label for s in sorted(segments, key=lambda s: s.start)]
    return sum(1 for i, lab in enumerate(labels) if i == 0 or lab != labels[i - 1])


class TruthPose(PoseEstimatorBase):
    """A pose "estimator" returning the sidecar's true skeletons of each frame in turn
    (joints outside the frame dropped, score 0.9; skeletons with < 3 joints left out):
    everything but the pose net. Yields people in the sidecar's order, a frame per call,
    so the pipeline gives it whole frames."""

    whole_frames = True

    def __init__(self, truth: Dict):
        self.kp = [np.asarray(p["keypoints"], np.float32) for p in truth["people"]]
        self.n = 0

    def people(self) -> List[Tuple[int, np.ndarray]]:
        """(true person index, keypoints) of the current frame; advances the frame."""
        out = []
        for i, kp in enumerate(self.kp):
            k = kp[self.n].copy()
            k[:, 2] = np.where(k[:, 2] > 0, 0.9, 0.0)
            k[k[:, 2] == 0, :2] = 0
            if (k[:, 2] > 0).sum() >= 3:
                out.append((i, k))
        self.n += 1
        return out

    def estimate_timed(self, frame) -> PoseOutput:
        return PoseOutput([Person(k, 0.9) for _, k in self.people()])


def run(video: Union[str, Path], pipeline: Pipeline
        ) -> Tuple[List[Dict[int, Optional[np.ndarray]]], List[Segment]]:
    """Stream ``video`` through ``pipeline``: per frame {track id: track centre}, and every
    segment (closed along the way and at the end)."""
    tracks_at: List[Dict[int, Optional[np.ndarray]]] = []
    segments: List[Segment] = []
    with VideoFileSource(Path(video)) as src:
        for r in pipeline.run(src):
            segments += r.closed
            if not r.final:
                tracks_at.append({t.id: centre(t.person.keypoints) for t in r.tracks})
    return tracks_at, segments


def truth_labels(model_labels: Sequence[str]) -> Dict[str, str]:
    """How the truth's program names read for a model with ``model_labels``: through
    ``pipan.vocabulary.SYNTHETIC`` for a model of the vocabulary (it has ``unknown`` and
    only vocabulary names), unchanged for a model of the programs' own names."""
    if UNKNOWN in model_labels and set(model_labels) <= set(NAMES):
        return dict(SYNTHETIC)
    return {}


def score(truth: Dict, tracks_at: Sequence[Dict[int, Optional[np.ndarray]]],
          segments: Sequence[Segment], labels: Sequence[str],
          boundary_s: float = 1.5) -> TruthScore:
    """Compare a run (:func:`run`) with the ground truth ``truth`` (see the module
    docstring); ``labels``: the action model's classes."""
    fps, H = float(truth["fps"]), float(truth["height"])
    known_labels = set(labels)
    rename = truth_labels(labels)
    out = TruthScore()
    for person in truth["people"]:
        gt_kp = np.asarray(person["keypoints"], np.float32)
        matched = visible = 0
        per_id: Dict[int, int] = {}
        for f, tracks in enumerate(tracks_at):
            c = centre(gt_kp[f])
            if c is None:
                continue
            visible += 1
            best = min(((float(np.linalg.norm(tc - c)), tid) for tid, tc in tracks.items()
                        if tc is not None), default=None)
            if best is not None and best[0] < MATCH_RADIUS * H:
                matched += 1
                per_id[best[1]] = per_id.get(best[1], 0) + 1
        main = sorted(i for i, n in per_id.items() if n >= MAIN_ID_SHARE * visible)
        mine = sorted((s for s in segments if s.person in main), key=lambda s: s.start)
        gt: List[Tuple[float, float, str]] = []
        for a, b, lab in person["segments"]:
            lab = rename.get(str(lab), str(lab))
            if gt and gt[-1][2] == lab and abs(gt[-1][1] - float(a)) < 1e-6:
                gt[-1] = (gt[-1][0], float(b), lab)  # one label on both sides: no boundary
            else:
                gt.append((float(a), float(b), lab))
        known = right = 0
        for f in range(len(tracks_at)):
            t = f / fps
            true = next((lab for a, b, lab in gt if a <= t < b), None)
            if true in known_labels:
                known += 1
                right += label_at(mine, t) == true
        starts = [s.start for s in mine[1:]]
        near = sum(any(abs(b - s) <= boundary_s for s in starts) for _, b, _ in gt[:-1])
        out.people.append(PersonScore(
            person=int(person.get("id", len(out.people))), visible=visible, matched=matched,
            ids=len(per_id), main_ids=main, segments=len(mine), runs=label_runs(mine),
            true_segments=len(gt), boundaries=len(gt) - 1, boundaries_near=near,
            known=known, right=right))
    return out
