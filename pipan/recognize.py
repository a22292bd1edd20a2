"""Recognise a whole video: the pipeline over every frame, then the segments, with the
optional outputs (annotated video, timeline chart, per-frame JSON Lines), each written
atomically (a temp file renamed on success: nothing half-written on error or Ctrl-C)."""
from __future__ import annotations

import json
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import cv2

from .draw import draw_frame, timeline_image
from .errors import PipanError, VideoError
from .fileio import atomic_path, atomic_write_bytes
from .pipeline import FrameResult, Pipeline, StageTimes, frames_with_decode_time
from .types import Segment
from .video import FrameSource, SourceInfo

VIDEO_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG",
                ".mkv": "MJPG"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass
class Recognition:
    """The result of a whole video: every person's segments (by person, then time)."""

    segments: List[Segment]
    info: SourceInfo
    times: StageTimes
    labels: Sequence[str]


def check_output_paths(output: Optional[str] = None, plot: Optional[str] = None) -> None:
    """Reject output names pipan cannot write, before any work is done."""
    if output is not None and Path(output).suffix.lower() not in VIDEO_CODECS:
        raise VideoError(f"{output}: unsupported video type; use one of "
                         f"{', '.join(sorted(VIDEO_CODECS))}")
    if plot is not None and Path(plot).suffix.lower() not in IMAGE_SUFFIXES:
        raise VideoError(f"{plot}: the timeline is an image; use .png or .jpg")


def write_image(path: str, image) -> None:
    """Encode by extension and write atomically."""
    ok, buf = cv2.imencode(Path(path).suffix.lower(), image)
    if not ok:  # pragma: no cover - OpenCV encodes every suffix check_output_paths allows
        raise VideoError(f"{path}: cannot encode the image")
    atomic_write_bytes(path, buf.tobytes())


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
              progress: Optional[Callable[[int], None]] = None) -> Recognition:
    """Run ``pipeline`` over every frame of ``source``. ``output``: annotated video path;
    ``plot``: timeline chart image path; ``frames_json``: per-frame JSON Lines path;
    ``progress(n)``: called with the number of frames done since the last call.
    An output that cannot be written is a PipanError (nothing is left half-written)."""
    check_output_paths(output, plot)
    try:
        return _recognize(source, pipeline, output, plot, frames_json, progress)
    except OSError as e:
        where = e.filename or output or frames_json or plot
        raise PipanError(f"{where}: cannot write ({e.strerror or e})") from None


def _recognize(source, pipeline, output, plot, frames_json, progress) -> Recognition:
    info, T = source.info, pipeline.times
    segments: List[Segment] = []
    with ExitStack() as stack:
        writer = None
        if output is not None:
            tmp = stack.enter_context(atomic_path(output))
            fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[Path(output).suffix.lower()])
            writer = cv2.VideoWriter(str(tmp), fourcc, info.fps, (info.width, info.height))
            if not writer.isOpened():
                raise VideoError(f"{output}: OpenCV cannot write this video type here")
            stack.callback(writer.release)
        jf = None
        if frames_json is not None:
            jtmp = stack.enter_context(atomic_path(frames_json))
            jf = stack.enter_context(open(jtmp, "w", encoding="utf-8"))
        t_start = time.perf_counter()
        fps_est = None
        t_prev = t_start
        for frame in frames_with_decode_time(source, T):
            result = pipeline.process(frame)
            segments.extend(result.closed)
            if jf is not None and result.processed:
                jf.write(json.dumps(frame_record(result, pipeline.labels)) + "\n")
            if writer is not None:
                t0 = time.perf_counter()
                dt, t_prev = t0 - t_prev, t0  # the FPS drawn: smoothed processing rate
                if dt > 0:
                    fps_est = 1 / dt if fps_est is None else 0.9 * fps_est + 0.1 / dt
                image = frame.image
                if image.shape[:2] != (info.height, info.width):  # a resolution change
                    image = cv2.resize(image, (info.width, info.height))
                else:
                    image = image.copy()
                draw_frame(image, result.tracks, pipeline.captions(result), fps_est)
                writer.write(image)
                T.add("drawing", time.perf_counter() - t0)
            if progress is not None:
                progress(1)
        segments.extend(pipeline.finish())
        T.wall += time.perf_counter() - t_start
        if writer is not None:
            writer.release()
    segments.sort(key=lambda s: (s.person, s.start))
    if plot is not None:
        duration = T.frames / info.fps if info.fps else None
        write_image(plot, timeline_image(segments, pipeline.labels, duration))
    return Recognition(segments=segments, info=info, times=T, labels=pipeline.labels)


def segment_line(s: Segment) -> str:
    """One segment as a line (what `pipan live` prints as each segment ends)."""
    return (f"person {s.person}  {s.start:8.2f} - {s.end:8.2f} s  {s.label}  "
            f"({s.confidence:.2f})")


def format_timeline(segments: Sequence[Segment]) -> str:
    """A readable per-person timeline (what `pipan recognize` prints)."""
    if not segments:
        return "Nobody was detected."
    lines: List[str] = []
    width = max(len(s.label) for s in segments)
    for person in sorted({s.person for s in segments}):
        lines.append(f"Person {person}")
        for s in (s for s in segments if s.person == person):
            lines.append(f"  {s.start:7.2f} - {s.end:7.2f} s  {s.label:<{width}}  "
                         f"({s.confidence:.2f})")
    return "\n".join(lines)
