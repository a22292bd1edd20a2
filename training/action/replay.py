"""Record what the pose stage of a pipeline run saw, and replay only the action stage and
the segmenter over it.

The pose stage (pose net, regions, tracker, keypoint smoothing) is the slow part of a run,
and it does not depend on the action model; the action model is what changes most. A
:class:`TrackRecord` holds, for one source, every frame's time, which frames went through
the pose net (``every``), the tracks each of those frames reported (ids, smoothed
keypoints, scores) and the tracks that ended there. :func:`replay` runs the same
:class:`pipan.pipeline.Pipeline` (its one frame loop, its action and segment stages) with
stand-ins for the pose estimator and the tracker that give back the recorded tracks, so
the segments are those of a full run with that action model (a test checks it).

Records are saved as plain ``.npz`` arrays (no pickle) under a key that hashes the source,
the pose model files, the pose-side settings and the runtime code of the pose stage.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from pipan.pipeline import Pipeline, action_decay
from pipan.types import Person, PoseEstimatorBase, PoseOutput, Segment, Track
from pipan.video import Frame, FrameSource, SourceInfo

PathLike = Union[str, os.PathLike]

#: pipan modules whose code decides the tracks a run reports (the record's key hashes them,
#: with the pipeline's frame step, its smoothing default and the pose stage's part of
#: pipan.skeleton: the rest of pipeline.py and skeleton.py, the segmenter's set-up and the
#: action model's features, leaves the tracks alone).
POSE_STAGE_MODULES: Tuple[str, ...] = (
    "pose.py", "blazepose.py", "decode.py", "image.py", "region.py", "tracker.py",
    "appearance.py", "smoothing.py", "types.py", "video.py", "runtime.py")
#: where pipan.skeleton's action-model part begins (the joint layouts come before it)
SKELETON_FEATURES = "# --- the action model's per-frame features"


@dataclass
class TrackRecord:
    """The pose stage's output for one source. ``times`` (T,) every frame's time, s;
    ``processed`` (T,) whether the frame went through the pose net; per track row (one per
    track per processed frame, in the pipeline's order): ``row_frame`` its frame index,
    ``row_id``, ``row_keypoints`` (N, 18, 3, as smoothed), ``row_score``, ``row_age``,
    ``row_missed``; ``ended_frame``, ``ended_id``: tracks that ended at a processed frame;
    ``resumed_frame``, ``resumed_id``: ids given back there to a person seen again."""

    fps: float
    width: int
    height: int
    times: np.ndarray
    processed: np.ndarray
    row_frame: np.ndarray
    row_id: np.ndarray
    row_keypoints: np.ndarray
    row_score: np.ndarray
    row_age: np.ndarray
    row_missed: np.ndarray
    ended_frame: np.ndarray
    ended_id: np.ndarray
    resumed_frame: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    resumed_id: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    FIELDS = ("times", "processed", "row_frame", "row_id", "row_keypoints", "row_score",
              "row_age", "row_missed", "ended_frame", "ended_id", "resumed_frame",
              "resumed_id")

    @property
    def frames(self) -> int:
        return int(len(self.times))

    def track_frames(self) -> Dict[int, int]:
        """Processed frames each track id is reported in."""
        ids, counts = np.unique(self.row_id, return_counts=True)
        return {int(i): int(c) for i, c in zip(ids, counts)}

    def tracks_at(self) -> List[List[Track]]:
        """Per processed frame (in order), the tracks it reported."""
        out: List[List[Track]] = [[] for _ in range(int(self.processed.sum()))]
        slot = np.cumsum(self.processed) - 1  # frame index -> processed frame number
        for r in range(len(self.row_id)):
            out[slot[self.row_frame[r]]].append(Track(
                int(self.row_id[r]), Person(self.row_keypoints[r], float(self.row_score[r])),
                int(self.row_age[r]), int(self.row_missed[r])))
        return out

    def ended_at(self) -> List[List[int]]:
        """Per processed frame, the ids that ended there."""
        return self._ids_at(self.ended_frame, self.ended_id)

    def resumed_at(self) -> List[List[int]]:
        """Per processed frame, the ids given back there."""
        return self._ids_at(self.resumed_frame, self.resumed_id)

    def _ids_at(self, frames: np.ndarray, ids: np.ndarray) -> List[List[int]]:
        out: List[List[int]] = [[] for _ in range(int(self.processed.sum()))]
        slot = np.cumsum(self.processed) - 1
        for f, i in zip(frames, ids):
            out[slot[f]].append(int(i))
        return out

    def save(self, path: PathLike) -> None:
        """Write as a plain ``.npz`` (temp file, then rename)."""
        from pipan.fileio import atomic_write, write_npz
        arrays = {k: np.asarray(getattr(self, k)) for k in self.FIELDS}
        arrays["meta"] = np.array([self.fps, self.width, self.height], np.float64)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(Path(path), lambda f: write_npz(f, arrays))

    @classmethod
    def load(cls, path: PathLike) -> "TrackRecord":
        with np.load(path, allow_pickle=False) as z:
            fps, w, h = (float(v) for v in z["meta"])
            return cls(fps, int(w), int(h), **{k: z[k] for k in cls.FIELDS if k in z.files})


def record_run(pipeline: Pipeline, source: FrameSource
               ) -> Tuple[TrackRecord, List[Segment], List[Dict[int, np.ndarray]]]:
    """Run ``pipeline`` over ``source`` (its one loop), keeping what the pose stage
    reported; returns the record, the run's segments (every result's ``closed``, as
    ``pipan recognize --json`` reports them) and each processed frame's probabilities."""
    times: List[float] = []
    processed: List[bool] = []
    rows: List[Tuple[int, Track]] = []
    ended: List[Tuple[int, int]] = []
    resumed: List[Tuple[int, int]] = []
    segments: List[Segment] = []
    probs: List[Dict[int, np.ndarray]] = []
    with source:
        info = source.info
        for r in pipeline.run(source):
            segments.extend(r.closed)
            if r.final:
                break
            times.append(r.time)
            processed.append(r.processed)
            if r.processed:
                rows += [(r.index, t) for t in r.tracks]
                ended += [(r.index, i) for i in r.ended]
                resumed += [(r.index, i) for i in r.resumed]
                probs.append(dict(r.probabilities))
    kp = (np.stack([np.asarray(t.person.keypoints) for _, t in rows]) if rows
          else np.zeros((0, 18, 3), np.float32))
    rec = TrackRecord(
        fps=float(info.fps), width=int(info.width), height=int(info.height),
        times=np.array(times, np.float64), processed=np.array(processed, bool),
        row_frame=np.array([f for f, _ in rows], np.int64),
        row_id=np.array([t.id for _, t in rows], np.int64), row_keypoints=kp,
        row_score=np.array([t.person.score for _, t in rows], np.float64),
        row_age=np.array([t.age for _, t in rows], np.int64),
        row_missed=np.array([t.missed for _, t in rows], np.int64),
        ended_frame=np.array([f for f, _ in ended], np.int64),
        ended_id=np.array([i for _, i in ended], np.int64),
        resumed_frame=np.array([f for f, _ in resumed], np.int64),
        resumed_id=np.array([i for _, i in resumed], np.int64))
    return rec, segments, probs


class _NoPose(PoseEstimatorBase):
    """The replay's pose stage: nobody (the recorded tracker gives the tracks)."""

    def estimate_timed(self, frame_bgr: np.ndarray) -> PoseOutput:
        return PoseOutput([])


class _RecordedTracker:
    """Gives back a record's tracks, one processed frame per ``update``."""

    def __init__(self, record: TrackRecord):
        self._tracks = iter(record.tracks_at())
        self._ended = iter(record.ended_at())
        self._resumed = iter(record.resumed_at())
        self.ended: List[int] = []
        self.resumed: List[int] = []
        self.tentative = 0

    def update(self, people: Sequence[Person],
               image: Optional[np.ndarray] = None) -> List[Track]:
        self.ended = next(self._ended)
        self.resumed = next(self._resumed)
        return next(self._tracks)

    def skeletons(self) -> List[np.ndarray]:
        return []

    def expected(self) -> List[Tuple[int, np.ndarray]]:
        return []

    def finish(self) -> List[int]:
        return []


class _RecordedSource(FrameSource):
    """The record's frames (times and indices) with 1x1 images."""

    def __init__(self, record: TrackRecord):
        self.record = record
        self.info = SourceInfo("<record>", record.fps, record.width, record.height,
                               record.frames)

    def __iter__(self) -> Iterator[Frame]:
        image = np.zeros((1, 1, 3), np.uint8)
        for i, t in enumerate(self.record.times):
            yield Frame(i, float(t), image)


def replay(record: TrackRecord, action, *, every: int = 1, min_duration: float = 0.5
           ) -> Tuple[List[Segment], List[Dict[int, np.ndarray]]]:
    """The action stage and the segmenter of :class:`Pipeline` over a record: the run's
    segments and each processed frame's probabilities, as a full run with ``action`` (an
    action recognizer built for the record's fps and ``every``, see
    :func:`replay_action`) would give them."""
    pipe = Pipeline(_NoPose(), action, tracker=_RecordedTracker(record), every=every,
                    min_duration=min_duration, smoother=False, regions=False)
    segments: List[Segment] = []
    probs: List[Dict[int, np.ndarray]] = []
    for r in pipe.run(_RecordedSource(record)):
        segments.extend(r.closed)
        if r.processed:
            probs.append(dict(r.probabilities))
    return segments, probs


def replay_action(model_path: Optional[PathLike], fps: float, every: int = 1,
                  half_life: Optional[float] = 1.0, threads: Optional[int] = 1):
    """The action recognizer ``pipan recognize`` builds for a source at ``fps``."""
    from pipan.pipeline import load_action
    return load_action(None if model_path is None else str(model_path), threads,
                       action_decay(fps, half_life, every))


def file_digest(paths: Iterable[PathLike], extra: str = "") -> str:
    """SHA-256 over the given files' bytes (in order) and ``extra``, hex, 16 digits."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).name.encode() + b"\0")
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    h.update(extra.encode())
    return h.hexdigest()[:16]


def pose_stage_code() -> List[Path]:
    """The runtime source files of the pose stage (part of a record's key)."""
    import pipan
    root = Path(pipan.__file__).resolve().parent
    return [root / m for m in POSE_STAGE_MODULES]


def record_key(source: PathLike, pose_files: Sequence[PathLike], settings: str) -> str:
    """The cache key of a record: the source, the pose model files, the settings (backend,
    every, min_score, smoothing) and the pose stage's code (``POSE_STAGE_MODULES``,
    :meth:`Pipeline.process` and the smoothing default)."""
    return file_digest([Path(source), *pose_files, *pose_stage_code()],
                       settings + pose_stage_source())


def pose_stage_source() -> str:
    """The pose stage's code outside ``POSE_STAGE_MODULES``: :meth:`Pipeline.process`, the
    smoothing default, pipan.skeleton's joint layouts and ``body_frame`` (smoothing's)."""
    import inspect

    from pipan import pipeline, skeleton
    text = inspect.getsource(skeleton)
    layouts = text.split(SKELETON_FEATURES)[0]
    return (inspect.getsource(pipeline.Pipeline.process) + repr(pipeline.SMOOTH_KEYPOINTS)
            + layouts + inspect.getsource(skeleton.body_frame))
