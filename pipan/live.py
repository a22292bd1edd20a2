"""Live recognition: a camera or stream through the pipeline, each segment reported as it
closes, a periodic status, an optional window and an optional MJPEG server.

Ending: the source ends, ``max_frames`` are done, ``stop`` is set (e.g. by SIGTERM), the
window's q/Esc, or Ctrl-C. Every way closes the open segments (reported like the others,
from the pipeline run's final result) before returning, so files written by the callbacks
are complete.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from .errors import MissingDependencyError, PipanError
from .pipeline import FrameResult, Pipeline, StageTimes
from .serve import FrameServer
from .types import Segment
from .video import FrameSource

WINDOW = "pipan live"


@dataclass
class LiveStatus:
    frames: int
    fps: float  # frames per second over the last status period
    people: int  # tracks matched in the latest frame
    time: float = 0.0  # the latest frame's time, seconds from the source's start
    uptime: float = 0.0  # seconds since the loop started

    def __str__(self) -> str:
        return f"{self.fps:5.1f} FPS, {self.people} people, {self.frames} frames"


def check_display() -> None:
    """Raise a one-line error unless an OpenCV window can be opened here."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        raise PipanError("--show needs a display (DISPLAY is not set); "
                         "use --serve PORT to watch from a browser")
    import cv2
    try:
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
    except cv2.error:
        raise MissingDependencyError(
            "--show needs OpenCV with GUI support (pip install opencv-python; this one is "
            "headless); or use --serve PORT to watch from a browser") from None


def run_live(source: FrameSource, pipeline: Pipeline, *,
             on_segment: Callable[[Segment], None],
             on_status: Optional[Callable[[LiveStatus], None]] = None,
             status_every: float = 1.0, show: bool = False,
             server: Optional[FrameServer] = None, max_frames: Optional[int] = None,
             stop: Optional[threading.Event] = None,
             on_result: Optional[Callable[[FrameResult], None]] = None) -> str:
    """Run until the source ends or is stopped. Returns how it ended: "ended" (source or
    ``max_frames``), "stopped" (``stop`` set or window closed) or "interrupted" (Ctrl-C).
    ``on_result`` sees every frame's result, then the final one (the source's end)."""
    T: StageTimes = pipeline.times
    how = "ended"

    def stopping() -> bool:
        nonlocal how
        if how == "ended" and stop is not None and stop.is_set():
            how = "stopped"
        return how != "ended"

    def drawing() -> bool:
        return show or (server is not None and server.watching)

    t_start = time.perf_counter()
    last_t, last_n = t_start, T.frames
    try:
        for result in pipeline.run(source, max_frames=max_frames, stop=stopping,
                                   draw=drawing):
            try:
                for seg in result.closed:
                    on_segment(seg)
                if on_result is not None:
                    on_result(result)
                if result.final:
                    continue
                now = time.perf_counter()
                if now - last_t >= status_every:
                    fps_now = (T.frames - last_n) / (now - last_t)
                    last_t, last_n = now, T.frames
                    if on_status is not None:
                        on_status(LiveStatus(T.frames, fps_now, len(result.tracks),
                                             result.time, now - t_start))
                if result.annotated is not None:
                    if server is not None:
                        server.publish(result.annotated)
                    if show:
                        import cv2
                        cv2.imshow(WINDOW, result.annotated)
                        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                            how = "stopped"
            except KeyboardInterrupt:  # here: the pipeline's run ends, and closes segments
                how = "interrupted"
    except KeyboardInterrupt:  # inside the pipeline: raised after its final result
        how = "interrupted"
    finally:
        if show:
            import cv2
            cv2.destroyAllWindows()
    return how
