"""Events: what pipan tells other systems, in one format for every sink (JSON Lines, MQTT,
webhooks, the live page's Server-Sent Events).

Three types, each a flat JSON object:

- ``segment_start``: a person's action segment opened (``end`` is null). Reported once it
  is certain (pipan.segments): an action must last ``--min-duration`` first, so a start
  comes that long (plus the smoothing window's half) after the segment's ``start``.
- ``segment_end``: the segment closed, with its full ``start``, ``end`` and ``confidence``
  (the mean probability of its label over its frames). Every end follows its start.
- ``status``: a heartbeat: ``fps``, ``people`` (tracks in the latest frame), ``uptime``
  (seconds), ``frames`` and ``dropped`` (events the sinks had to drop so far).

Every event has ``type``, ``source`` (the video file, camera or stream), ``time`` (the
frame's time, seconds from the source's start) and ``wall`` (UTC ISO 8601 wall-clock
time when pipan made the event). Segment events add ``person``, ``label``, ``start``,
``end``, ``confidence`` (seconds, from the source's start) and ``alert`` (the label is
one of ``--alert``); from a live source also ``at``, the wall-clock time of ``start``.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Collection, Iterable, List, Optional, Union

from .types import Segment, SegmentStart

SEGMENT_START, SEGMENT_END, STATUS = "segment_start", "segment_end", "status"
EVENT_TYPES = (SEGMENT_START, SEGMENT_END, STATUS)


def iso_utc(unix_s: float) -> str:
    """UTC ISO 8601 with milliseconds, e.g. 2026-11-26T10:33:46.120Z."""
    t = dt.datetime.fromtimestamp(unix_s, dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Event:
    """One event (see the module's docstring). Times in seconds: ``time``, ``start``,
    ``end`` from the source's start; ``wall`` and ``at`` Unix time."""

    type: str
    source: str
    time: float
    wall: float
    person: Optional[int] = None
    label: Optional[str] = None
    start: Optional[float] = None
    end: Optional[float] = None
    confidence: Optional[float] = None
    alert: bool = False
    at: Optional[float] = None
    fps: Optional[float] = None
    people: Optional[int] = None
    uptime: Optional[float] = None
    frames: Optional[int] = None
    dropped: Optional[int] = None

    def as_dict(self) -> dict:
        if self.type == STATUS:
            d = {"type": self.type, "fps": round(float(self.fps or 0.0), 2),
                 "people": self.people, "uptime": round(float(self.uptime or 0.0), 3),
                 "frames": self.frames, "dropped": self.dropped}
        else:
            # person, start, end, label, confidence (and at) as the closed segments of
            # earlier versions had them, so readers of those lines keep working
            d = {"type": self.type, "person": self.person,
                 "start": round(float(self.start), 3),
                 "end": None if self.end is None else round(float(self.end), 3),
                 "label": self.label, "confidence": round(float(self.confidence), 4),
                 "alert": self.alert}
            if self.at is not None:
                d["at"] = iso_utc(self.at)
        d.update(source=self.source, time=round(float(self.time), 3),
                 wall=iso_utc(self.wall))
        return d

    def to_json(self) -> str:
        """The event as one line of JSON (made once, however many sinks ask)."""
        return self._json

    @cached_property
    def _json(self) -> str:
        return json.dumps(self.as_dict())


class EventMaker:
    """Makes the events of one run. ``source``: its name; ``started_at()``: the Unix time
    of the source's time 0 for live sources, else None (asked per event: a live source
    knows it only once it delivers frames); ``alerts``: labels whose events are alerts."""

    def __init__(self, source: str, alerts: Collection[str] = (),
                 started_at: Callable[[], Optional[float]] = lambda: None,
                 clock: Callable[[], float] = time.time):
        self.source = source
        self.alerts = frozenset(alerts)
        self.started_at = started_at
        self.clock = clock

    def segments(self, time_s: float, closed: Iterable[Segment] = (),
                 opened: Iterable[SegmentStart] = ()) -> List[Event]:
        """The events of one frame (at ``time_s``): per person in time order, an end before
        the start at the same instant, so each person's events read as a sequence."""
        wall, t0 = self.clock(), self.started_at()
        items: List[Union[Segment, SegmentStart]] = [*closed, *opened]
        if not items:
            return []
        items.sort(key=lambda s: (s.person, s.end, 0) if isinstance(s, Segment)
                   else (s.person, s.start, 1))
        return [Event(type=SEGMENT_END if isinstance(s, Segment) else SEGMENT_START,
                      source=self.source, time=time_s, wall=wall, person=s.person,
                      label=s.label, start=s.start,
                      end=s.end if isinstance(s, Segment) else None,
                      confidence=float(s.confidence), alert=s.label in self.alerts,
                      at=None if t0 is None else t0 + s.start)
                for s in items]

    def frame(self, result) -> List[Event]:
        """The events of a pipan.pipeline.FrameResult."""
        return self.segments(result.time, result.closed, result.opened)

    def status(self, time_s: float, fps: float, people: int, uptime: float, frames: int,
               dropped: int = 0) -> Event:
        return Event(type=STATUS, source=self.source, time=time_s, wall=self.clock(),
                     fps=fps, people=people, uptime=uptime, frames=frames, dropped=dropped)
