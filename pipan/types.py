"""Plain types passed between pipeline stages (never bare tuples of arrays)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import List, NamedTuple, Tuple

import numpy as np


@dataclass(frozen=True)
class Person:
    """One detected person in one frame.

    ``keypoints``: (18, 3) float32 COCO-18, x and y in the frame's pixels, score in [0, 1]
    (0 = joint not found). ``score``: the person's overall confidence in [0, 1].
    """

    keypoints: np.ndarray
    score: float

    def bbox(self) -> Tuple[float, float, float, float]:
        """(x0, y0, x1, y1) in pixels around the present joints; zeros if none."""
        present = self.keypoints[:, 2] > 0
        if not present.any():
            return (0.0, 0.0, 0.0, 0.0)
        xy = self.keypoints[present, :2]
        x0, y0 = xy.min(0)
        x1, y1 = xy.max(0)
        return (float(x0), float(y0), float(x1), float(y1))


@dataclass(frozen=True)
class Track:
    """A person followed across frames: a stable ``id`` (1, 2, ...) and the latest detection."""

    id: int
    person: Person
    age: int = 0  # frames since the track was created
    missed: int = 0  # consecutive frames without a matching detection


@dataclass(frozen=True)
class Segment:
    """A labelled span of one person's timeline, in seconds from the start of the source."""

    person: int
    start: float
    end: float
    label: str
    confidence: float

    def as_dict(self) -> dict:
        return {
            "person": self.person,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "label": self.label,
            "confidence": round(float(self.confidence), 4),
        }


@dataclass(frozen=True)
class SegmentStart:
    """A segment that has just opened: its end is not known yet (see pipan.segments)."""

    person: int
    start: float
    label: str
    confidence: float  # mean probability of the label over its frames so far


@dataclass(frozen=True)
class TrackPrediction:
    """The action model's output for one track at one frame."""

    track_id: int
    probabilities: np.ndarray  # (num_classes,) float32, sums to 1
    labels: Tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        return self.labels[int(np.argmax(self.probabilities))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.probabilities))


class PoseOutput(NamedTuple):
    """The people a pose estimator found in one frame, and how its time split: ``net_s``
    seconds preparing the image and running the net(s), ``maps_s`` seconds decoding the
    net's maps into people (0 for an estimator without that stage). The pipeline's clock
    times the whole call; this split only divides it between its "pose" and "maps" stages.
    """

    people: List[Person]
    net_s: float = 0.0
    maps_s: float = 0.0


class PoseEstimatorBase(ABC):
    """What the pipeline asks of a pose estimator: ``estimate_timed``. ``estimate`` (the
    people alone) follows from it. ``whole_frames``: True for an estimator that reports
    the people of each frame in turn whatever image it is given (recorded or true
    skeletons, one call per frame): the pipeline then gives it every frame whole, never a
    region of it, and never a second look. ``tells_sides``: False for an estimator that
    cannot tell a person's left from right at the size a region shows them, but can in a
    tight crop (pipan's net): the pipeline then takes tight looks for the tracker
    (``pipan.region.RegionPolicy.sides_look``)."""

    whole_frames: bool = False
    tells_sides: bool = True

    @abstractmethod
    def estimate_timed(self, frame_bgr: np.ndarray) -> PoseOutput:
        """People in one BGR uint8 frame (H, W, 3), keypoints in the frame's pixels, with
        the estimator's own time split."""

    def estimate(self, frame_bgr: np.ndarray) -> List[Person]:
        """People in one BGR uint8 frame (H, W, 3), keypoints in the frame's pixels."""
        return self.estimate_timed(frame_bgr).people
