"""Recognise a whole video: the pipeline over every frame, then the segments, with the
optional outputs (annotated video, timeline chart, per-frame JSON Lines), committed
together by pipan.outputs (nothing half-written or replaced in part on error, Ctrl-C or
SIGTERM)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

from .draw import timeline_image
from .errors import PipanError
from .outputs import RecognizeOutputs, check_output_paths
from .pipeline import FrameResult, Pipeline, StageTimes
from .types import Segment
from .video import FrameSource, SourceInfo


@dataclass
class Recognition:
    """The result of a whole video: every person's segments (by person, then time);
    ``people_seen``: whether anyone was detected in any frame (segments can be empty
    when people were seen but no action lasted the minimum duration)."""

    segments: List[Segment]
    info: SourceInfo
    times: StageTimes
    labels: Sequence[str]
    people_seen: bool = False
    min_duration: Optional[float] = None


def frame_record(result: FrameResult, labels: Sequence[str]) -> dict:
    """One frame as a JSON-able dict: keypoints (x, y, score per joint, frame pixels) and
    the action probabilities of each person matched in it."""
    return {
        "frame": result.index,
        "time": round(result.time, 4),
        "people": [
            {"person": tr.id,
             "score": round(float(tr.person.score), 4),
             "keypoints": [[round(float(v), 2) for v in j] for j in tr.person.keypoints],
             "probabilities": {lab: round(float(p), 4) for lab, p in
                               zip(labels, result.probabilities.get(tr.id, ()))}}
            for tr in result.tracks],
    }


def recognize(source: FrameSource, pipeline: Pipeline, *, output: Optional[str] = None,
              plot: Optional[str] = None, frames_json: Optional[str] = None,
              progress: Optional[Callable[[int], None]] = None,
              on_result: Optional[Callable[[FrameResult], None]] = None) -> Recognition:
    """Run ``pipeline`` over every frame of ``source``. ``output``: annotated video path;
    ``plot``: timeline chart image path; ``frames_json``: per-frame JSON Lines path;
    ``progress(n)``: called with the number of frames done since the last call;
    ``on_result``: sees every frame's result, then the source end's.
    An output that cannot be written is a PipanError; the outputs are committed together
    at the end (see pipan.outputs), so nothing is left half-written or replaced in part."""
    check_output_paths(output, plot, frames_json)
    try:
        return _recognize(source, pipeline, output, plot, frames_json, progress, on_result)
    except OSError as e:
        where = e.filename or output or frames_json or plot
        raise PipanError(f"{where}: cannot write ({e.strerror or e})") from None


def _recognize(source, pipeline, output, plot, frames_json, progress,
               on_result) -> Recognition:
    info, T = source.info, pipeline.times
    segments: List[Segment] = []
    seen = False
    with RecognizeOutputs(output=output, frames_json=frames_json, plot=plot, fps=info.fps,
                          size=(info.width, info.height)) as outs:
        for result in pipeline.run(source, draw=outs.wants_video):
            segments.extend(result.closed)
            if on_result is not None:
                on_result(result)
            seen = seen or bool(result.tracks)
            if result.processed:
                outs.frame_record(frame_record(result, pipeline.labels))
            if result.annotated is not None:
                outs.video_frame(result.annotated)
            if progress is not None and not result.final:
                progress(1)
        segments.sort(key=lambda s: (s.person, s.start))
        chart = None
        if plot is not None:
            duration = T.frames / info.fps if info.fps else None
            chart = timeline_image(segments, pipeline.labels, duration)
        outs.commit(chart)
    return Recognition(segments=segments, info=info, times=T, labels=pipeline.labels,
                       people_seen=seen or bool(segments),
                       min_duration=pipeline.segmenter.min_duration)


def segment_line(s) -> str:
    """One closed segment (a Segment, or a segment_end pipan.events.Event) as a line (what
    `pipan live` prints as each segment ends); an alert's line says so."""
    return (f"person {s.person}  {s.start:8.2f} - {s.end:8.2f} s  {s.label}  "
            f"({s.confidence:.2f})" + ("  ALERT" if getattr(s, "alert", False) else ""))


def format_timeline(segments: Sequence[Segment], people_seen: bool = False,
                    min_duration: Optional[float] = None) -> str:
    """A readable per-person timeline (what `pipan recognize` prints). With no segments,
    says whether nobody was detected or people were but no action lasted long enough."""
    if not segments:
        if not people_seen:
            return "Nobody was detected."
        least = f" ({min_duration:g} s, --min-duration)" if min_duration is not None else ""
        return (f"People were detected, but no action lasted the minimum duration{least}; "
                f"a shorter --min-duration reports shorter actions.")
    lines: List[str] = []
    width = max(len(s.label) for s in segments)
    for person in sorted({s.person for s in segments}):
        lines.append(f"Person {person}")
        for s in (s for s in segments if s.person == person):
            lines.append(f"  {s.start:7.2f} - {s.end:7.2f} s  {s.label:<{width}}  "
                         f"({s.confidence:.2f})")
    return "\n".join(lines)
