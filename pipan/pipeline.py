"""The runtime pipeline: frames -> people -> tracks -> per-track action probabilities ->
segments, with per-stage timing. :meth:`Pipeline.run` is the one loop over a source's
frames that every command iterates (``pipan recognize``, ``live``, ``benchmark``).

The pose estimator and the action recognizer are passed in (any objects with the runtime
API of docs/design.md), so tests and benchmarks can run the pipeline with stand-ins:

- pose: a :class:`pipan.types.PoseEstimatorBase`, whose ``estimate_timed(frame_bgr)``
  returns a :class:`pipan.types.PoseOutput` (the people, and the estimator's own split of
  its time between the net and decoding its maps into people);
- action: ``labels``, ``update(track_id, keypoints18x3, time=seconds) -> probabilities``,
  ``forget(track_id)``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from .action import ActionRecognizer
from .blazepose import BlazePoseEstimator
from .draw import annotate
from .errors import ModelError
from .head import is_head_file, load_head_recognizer
from .pose import PoseEstimator
from .region import RegionPolicy, crop, to_frame
from .segments import Segmenter
from .vocabulary import TRANSITIONS
from .smoothing import KeypointSmoother
from .tracker import Tracker
from .types import Person, Segment, SegmentStart, Track
from .video import Frame, FrameSource

#: Stages timed per frame, in pipeline order ("maps" = decoding heatmaps/PAFs into people).
STAGES: Tuple[str, ...] = ("decode", "pose", "maps", "tracking", "action", "segments",
                           "drawing")


#: Whether the pipeline smooths each track's keypoints (pipan.smoothing) by default; decided
#: by measurement on the demo (pipan/models/MODEL_CARD.md). The action model's detected
#: training clips (training/synth/detected.py) go through the same default.
SMOOTH_KEYPOINTS = True


@dataclass
class StageTimes:
    """Seconds spent per stage, summed over frames; ``frames`` frames read, ``processed``
    of them through the pose net (``--every``), ``steps`` action-model steps (people)."""

    seconds: Dict[str, float] = field(default_factory=lambda: {s: 0.0 for s in STAGES})
    frames: int = 0
    processed: int = 0
    steps: int = 0
    wall: float = 0.0  # seconds from the first frame request to the last result
    #: the clock stages are timed with: wall time (default), or ``time.process_time`` for
    #: CPU time, which a busy machine disturbs far less (use one interpreter thread then)
    clock: Callable[[], float] = time.perf_counter

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] += seconds

    def per_frame_ms(self) -> Dict[str, float]:
        n = max(self.frames, 1)
        return {s: 1000.0 * v / n for s, v in self.seconds.items()}

    @property
    def fps(self) -> float:
        """End-to-end frames per second (wall clock, everything included)."""
        return self.frames / self.wall if self.wall > 0 else 0.0

    @property
    def action_ms_per_person(self) -> float:
        return 1000.0 * self.seconds["action"] / self.steps if self.steps else 0.0

    def as_dict(self) -> dict:
        return {"frames": self.frames, "processed_frames": self.processed,
                "person_steps": self.steps, "fps": round(self.fps, 2),
                "ms_per_frame": {k: round(v, 3) for k, v in self.per_frame_ms().items()},
                "action_ms_per_person": round(self.action_ms_per_person, 4),
                "wall_s": round(self.wall, 3)}


@dataclass
class FrameResult:
    """What the pipeline made of one frame. ``tracks``: people matched in this frame (on a
    frame skipped by ``every``, those of the last processed frame); ``probabilities``:
    per track id; ``ended``: ids whose tracks ended here; ``resumed``: ids given back here to
    a person seen again (their state before the gap forgotten, their segment before it
    closed where they were last seen); ``closed``: segments closed here;
    ``opened``: segments opened here (see pipan.segments: each is closed later);
    ``image``: the frame as read (BGR); ``annotated``: a drawn copy when :meth:`Pipeline.run`
    was asked to draw it.

    The last result of :meth:`Pipeline.run` is ``final``: the source has ended, there is no
    frame (no tracks, no image), ``ended`` lists the people still tracked then, and
    ``closed`` (and ``opened``, for a segment not yet reported as open) hold the segments
    that ended with it."""

    index: int
    time: float
    tracks: List[Track]
    probabilities: Dict[int, np.ndarray]
    ended: List[int] = field(default_factory=list)
    closed: List[Segment] = field(default_factory=list)
    processed: bool = True
    image: Optional[np.ndarray] = None
    annotated: Optional[np.ndarray] = None
    final: bool = False
    opened: List[SegmentStart] = field(default_factory=list)
    resumed: List[int] = field(default_factory=list)


class NoAction:
    """The action stage's place when only the tracked keypoints are wanted (learning,
    measuring the pose stage, cutting training clips): uniform probabilities over
    ``labels``, no state."""

    def __init__(self, labels: Sequence[str] = ("-",)):
        self.labels = tuple(labels)
        self._uniform = np.full(len(self.labels), 1.0 / len(self.labels), np.float32)

    def update(self, track_id, keypoints, time=None) -> np.ndarray:
        return self._uniform

    def forget(self, track_id) -> None:
        pass

class Pipeline:
    """Pose -> tracker -> action -> segments for one stream of frames.

    ``every``: run the pose net on one frame in ``every`` (the others reuse the last
    result); ``min_score``: drop detected people whose overall score is below it;
    ``min_duration``: seconds a new action must last to open a segment; ``window``:
    seconds of the centred mode filter on per-frame labels (see pipan.segments);
    ``smoother``: per-track keypoint smoothing before the action model (and drawing) -- a
    ``KeypointSmoother``, True for the default one, False for none; ``regions``: where the
    pose net looks (``pipan.region``) -- a ``RegionPolicy``, True for the default one
    (crops around the tracked people, the whole frame every 0.4 s, and now and then a
    tight look at one person for their left and right), False for the whole frame
    always.
    """

    def __init__(self, pose, action, *, tracker: Optional[Tracker] = None, every: int = 1,
                 min_score: float = 0.0, min_duration: float = 0.5, window: float = 0.4,
                 times: Optional[StageTimes] = None,
                 smoother: Union[KeypointSmoother, bool] = SMOOTH_KEYPOINTS,
                 regions: Union[RegionPolicy, bool] = True):
        if every < 1:
            raise ValueError("every must be at least 1")
        self.pose = pose
        self.action = action
        self.labels: Tuple[str, ...] = tuple(action.labels)
        self.tracker = tracker or Tracker()
        self.segmenter = Segmenter(self.labels, min_duration=min_duration, window=window,
                                   transitions=TRANSITIONS)
        self.every = int(every)
        self.min_score = float(min_score)
        self.times = times or StageTimes()
        if smoother is True:
            smoother = KeypointSmoother()
        self.smoother: Optional[KeypointSmoother] = (
            smoother if isinstance(smoother, KeypointSmoother) else None)
        if regions is True:
            regions = RegionPolicy()
        if getattr(pose, "whole_frames", False):
            regions = False
        self.regions: Optional[RegionPolicy] = (
            regions if isinstance(regions, RegionPolicy) else None)
        #: where to take tight looks for left and right: only for an estimator that cannot
        #: tell them at region size (``PoseEstimatorBase.tells_sides``)
        self._sides: Optional[RegionPolicy] = (
            None if getattr(pose, "tells_sides", True) else self.regions)
        self._last: Optional[FrameResult] = None
        #: times (s) of the frame before the latest and of the latest frame read
        self._frame_times: Tuple[Optional[float], Optional[float]] = (None, None)
        #: frames per second over the last frames of :meth:`run` (smoothed; what the
        #: annotated frames show), None before the second frame
        self.recent_fps: Optional[float] = None

    def process(self, frame: Frame) -> FrameResult:
        """Run one frame through every stage (or reuse the last result on skipped frames)."""
        T = self.times
        T.frames += 1
        self._frame_times = (self._frame_times[1], frame.time)
        if self._last is not None and frame.index % self.every:
            last = self._last
            return FrameResult(frame.index, frame.time, last.tracks, last.probabilities,
                               processed=False, image=frame.image)
        T.processed += 1
        clock = T.clock
        t0 = clock()
        box = None if self.regions is None else self.regions.region(
            frame.time, self.tracker.skeletons(), frame.image.shape[:2],
            pending=self.tracker.tentative > 0)
        found = self.pose.estimate_timed(crop(frame.image, box))
        people = to_frame(found.people, box)
        net_s, maps_s = found.net_s, found.maps_s
        close = None if self._sides is None else self._sides.sides_look(
            frame.time, self.tracker.expected(), frame.image.shape[:2])
        if close is not None:  # a tight look at one person: their left and right
            tid, tight = close
            near = self.pose.estimate_timed(crop(frame.image, tight))
            self._sides.sides_result(
                tid, self.tracker.learn_sides(tid, to_frame(near.people, tight)))
            net_s, maps_s = net_s + near.net_s, maps_s + near.maps_s
        t1 = clock()
        # the estimator's split (its own wall clock) applied to this call's time on the
        # pipeline's clock, so CPU-time benchmarks stay consistent
        total = net_s + maps_s
        maps = (t1 - t0) * maps_s / total if total > 0 else 0.0
        T.add("pose", t1 - t0 - maps)
        T.add("maps", maps)
        if self.min_score > 0:
            people = [p for p in people if p.score >= self.min_score]
        tracks = self.tracker.update(people, frame.image)
        ended = list(self.tracker.ended)
        resumed = list(self.tracker.resumed)
        for tid in resumed:  # a person seen again: their motion starts afresh
            self.action.forget(tid)
        if self.smoother is not None:
            sm = self.smoother
            for tid in resumed:
                sm.forget(tid)
            tracks = [Track(tr.id, Person(sm.smooth(tr.id, tr.person.keypoints, frame.time),
                                          tr.person.score), tr.age, tr.missed)
                      for tr in tracks]
            for tid in ended:
                sm.forget(tid)
        t2 = clock()
        T.add("tracking", t2 - t1)
        probs: Dict[int, np.ndarray] = {}
        for tr in tracks:
            probs[tr.id] = np.asarray(self.action.update(tr.id, tr.person.keypoints,
                                                          time=frame.time))
        for tid in ended:
            self.action.forget(tid)
        T.steps += len(tracks)
        t3 = clock()
        T.add("action", t3 - t2)
        closed: List[Segment] = []
        for tid in resumed:  # what they did before the gap ends where they were lost
            closed += self.segmenter.close(tid)
        for tr in tracks:
            closed += self.segmenter.update(tr.id, frame.time, probs[tr.id])
        for tid in ended:
            closed += self.segmenter.close(tid)
        opened = self.segmenter.take_opened()
        T.add("segments", clock() - t3)
        self._last = FrameResult(frame.index, frame.time, tracks, probs, ended, closed,
                                 image=frame.image, opened=opened, resumed=resumed)
        return self._last

    def run(self, source: FrameSource, *, max_frames: Optional[int] = None,
            stop: Optional[Callable[[], bool]] = None,
            draw: Union[bool, Callable[[], bool]] = False,
            size: Optional[Tuple[int, int]] = None) -> Iterator[FrameResult]:
        """Every frame of ``source`` through the pipeline, in order, then one ``final``
        result carrying the segments closed at the end (:meth:`finish`).

        Ends after ``max_frames`` frames, when the source ends, or when ``stop()`` is true
        after a frame's result was handled. ``draw``: give each result an ``annotated``
        copy of its frame (skeletons, ids, captions, FPS), or a function asked per frame
        whether to; ``size``: (width, height) of the annotated frames (default: the
        frame's own). Times "decode" (waiting for frames), every stage, "drawing" and the
        wall clock from the first frame request to the final result into ``self.times``.

        Should the source or a stage raise (a camera lost, Ctrl-C), the final result still
        comes, and the exception is raised after it: nothing said so far is lost.
        """
        T = self.times
        clock = T.clock
        t_start = previous = clock()
        error: Optional[BaseException] = None
        try:
            for frame in frames_with_decode_time(source, T, max_frames):
                result = self.process(frame)
                now = clock()
                dt, previous = now - previous, now
                if dt > 0:  # smoothed processing rate
                    self.recent_fps = (1 / dt if self.recent_fps is None
                                       else 0.9 * self.recent_fps + 0.1 / dt)
                if draw is True or (callable(draw) and draw()):
                    result.annotated = annotate(result.image, result.tracks,
                                                self.captions(result), self.recent_fps, size)
                    T.add("drawing", clock() - now)
                yield result
                if stop is not None and stop():
                    break
        except (Exception, KeyboardInterrupt) as e:  # not GeneratorExit: no yield then
            error = e
        ended = sorted(self.segmenter.open_people)
        closed = self.finish()
        T.wall += clock() - t_start
        last = self._last
        yield FrameResult(T.frames, last.time if last is not None else 0.0, [], {},
                          ended=ended, closed=closed, processed=False, final=True,
                          opened=self.segmenter.take_opened())
        if error is not None:
            raise error

    def captions(self, result: FrameResult) -> Dict[int, str]:
        """Per track id: its current (smoothed) action and that action's probability now."""
        out = {}
        for tr in result.tracks:
            label = self.segmenter.current(tr.id)
            p = result.probabilities.get(tr.id)
            if label is None or p is None:
                continue
            out[tr.id] = f"{label} {float(p[self.labels.index(label)]):.2f}"
        return out

    def finish(self) -> List[Segment]:
        """End of the source: end every track and close every open segment, none past the
        source's end (its last frame's time plus one frame period)."""
        for tid in self.tracker.finish():
            self.action.forget(tid)
            if self.smoother is not None:
                self.smoother.forget(tid)
        before, last = self._frame_times
        end = None if last is None else last + (last - before if before is not None else 0.0)
        return self.segmenter.finish(until=end)


def frames_with_decode_time(source: FrameSource, times: StageTimes,
                            max_frames: Optional[int] = None) -> Iterator[Frame]:
    """Iterate ``source``, adding the time spent waiting for each frame to "decode"."""
    it = iter(source)
    n = 0
    clock = times.clock
    while max_frames is None or n < max_frames:
        t0 = clock()
        try:
            frame = next(it)
        except StopIteration:
            return
        times.add("decode", clock() - t0)
        n += 1
        yield frame


# --- models ------------------------------------------------------------------------------

POSE_BACKENDS = ("pipan", "blazepose")


def load_pose(backend: str = "pipan", model_path: Optional[str] = None,
              threads: Optional[int] = None):
    """The pose estimator of ``backend`` ("pipan": pipan's own int8 net; "blazepose": the
    BlazePose reference), from ``model_path`` or the bundled model."""
    if backend == "pipan":
        return PoseEstimator(threads=threads, model_path=model_path)
    if backend == "blazepose":  # two files: model_path names their folder
        return BlazePoseEstimator(threads=threads, model_dir=model_path)
    raise ModelError(f"unknown pose backend {backend!r} (choose {', '.join(POSE_BACKENDS)})")


#: Half-life, in seconds, of each frame's weight in the action model's frame attention
#: during a stream: about the length of the clips it was trained on. Without forgetting
#: the attention averages over everything a person did, and the first action never ends.
#: Exponential forgetting keeps the per-person state O(1) (a window would be O(W)).
ACTION_HALF_LIFE_S = 1.0


def action_decay(fps: float, half_life_s: Optional[float] = ACTION_HALF_LIFE_S,
                 every: int = 1) -> float:
    """The recognizer's per-step ``decay`` for a source at ``fps`` with the pose net run on
    one frame in ``every``: a frame's weight halves every ``half_life_s`` seconds; 1.0 (no
    forgetting) when ``half_life_s`` is None or 0."""
    if not half_life_s:
        return 1.0
    steps = max(half_life_s * fps / every, 1.0)
    return float(0.5 ** (1.0 / steps))


def load_action(model_path: Optional[str] = None, threads: Optional[int] = None,
                decay: float = 1.0):
    """The action recognizer from ``model_path`` or the bundled model; ``decay``: see
    ``action_decay``. A learned head (``pipan learn``, told by the file's content) runs
    over its base model."""
    if model_path is not None and is_head_file(model_path):
        return load_head_recognizer(model_path, threads=threads, decay=decay)
    return ActionRecognizer(model_path=model_path, threads=threads, decay=decay)
