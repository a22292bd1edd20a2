"""Per-frame class probabilities of each person -> labelled segments (start, end, label,
confidence), online.

Smoothing is hysteresis on the arg-max label: a new label takes over only once it has been
the arg-max for ``min_duration`` seconds in a row; the new segment then starts where that
run began, so boundaries are not delayed. Shorter runs (flickers) count toward the current
segment. The first segment is the only one that may be shorter than ``min_duration``
before a switch; it is merged into the next one instead (so a noisy start does not become
a segment of its own). A segment's confidence is the mean, over its frames, of the
probability of its label. Segments are closed at the time of the next segment's start,
or at the last frame's time plus one frame period when a track or the source ends.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .types import Segment


@dataclass
class _Open:
    label: int
    start: float  # seconds
    conf_sum: float = 0.0
    frames: int = 0
    last: float = 0.0  # time of the last frame seen
    period: float = 0.0  # seconds between frames, last seen
    candidate: Optional[int] = None
    pending: List[Tuple[float, np.ndarray]] = field(default_factory=list)

    def absorb(self, p: np.ndarray) -> None:
        self.conf_sum += float(p[self.label])
        self.frames += 1

    def flush_pending(self) -> None:
        for _, p in self.pending:
            self.absorb(p)
        self.pending.clear()
        self.candidate = None


class Segmenter:
    """Online segmentation of many people's probability streams.

    ``update(person, time_s, probs)`` returns the segment that the frame closed, if any;
    ``close(person)`` ends one person's open segment (track ended); ``finish()`` ends all.
    ``default_period`` (seconds) is the frame period assumed until two frames are seen.
    """

    def __init__(self, labels: Sequence[str], min_duration: float = 0.5,
                 default_period: float = 1 / 30):
        self.labels = tuple(labels)
        self.min_duration = float(min_duration)
        self.default_period = float(default_period)
        self._open: Dict[int, _Open] = {}
        # people whose first segment has been closed: later short segments are kept
        self._closed_once: set = set()

    @property
    def open_people(self) -> List[int]:
        return sorted(self._open)

    def current(self, person: int) -> Optional[str]:
        """The label of ``person``'s open segment (None if none)."""
        s = self._open.get(person)
        return None if s is None else self.labels[s.label]

    def _segment(self, person: int, s: _Open, end: float) -> Segment:
        conf = s.conf_sum / s.frames if s.frames else 0.0
        return Segment(person=person, start=s.start, end=end, label=self.labels[s.label],
                       confidence=conf)

    def update(self, person: int, time_s: float, probs: np.ndarray) -> Optional[Segment]:
        p = np.asarray(probs, np.float32)
        k = int(np.argmax(p))
        s = self._open.get(person)
        if s is None:
            s = self._open[person] = _Open(label=k, start=float(time_s), last=float(time_s),
                                           period=self.default_period)
            s.absorb(p)
            return None
        if time_s > s.last:
            s.period = float(time_s) - s.last
        s.last = float(time_s)
        if k == s.label:
            s.flush_pending()
            s.absorb(p)
            return None
        if k != s.candidate:
            s.flush_pending()  # another label's run broke off: it was a flicker
            s.candidate = k
        s.pending.append((float(time_s), p))
        run_start = s.pending[0][0]
        if time_s - run_start + s.period < self.min_duration - 1e-9:
            return None
        # The candidate has lasted min_duration: it takes over from where its run began.
        pending = s.pending[:]
        closed: Optional[Segment] = None
        new_start = run_start
        if run_start - s.start < self.min_duration and person not in self._closed_once:
            new_start = s.start  # a short first segment merges into the next
        else:
            closed = self._segment(person, s, run_start)
            self._closed_once.add(person)
        n = self._open[person] = _Open(label=k, start=new_start, last=float(time_s),
                                       period=s.period)
        for _, q in pending:
            n.absorb(q)
        return closed

    def close(self, person: int) -> Optional[Segment]:
        """Close ``person``'s open segment at its last frame plus one period."""
        s = self._open.pop(person, None)
        self._closed_once.discard(person)
        if s is None:
            return None
        s.flush_pending()
        return self._segment(person, s, s.last + s.period)

    def finish(self) -> List[Segment]:
        """Close every open segment (end of the source), in person order."""
        return [seg for seg in (self.close(p) for p in sorted(self._open)) if seg is not None]


def segment_probabilities(times: Sequence[float], probs: np.ndarray, labels: Sequence[str],
                          person: int = 1, min_duration: float = 0.5) -> List[Segment]:
    """Offline convenience: one person's (T,) times and (T, C) probabilities -> segments."""
    T, C = np.asarray(probs).shape
    seg = Segmenter(labels, min_duration=min_duration)
    out = [s for t in range(T) if (s := seg.update(person, float(times[t]), probs[t]))]
    last = seg.close(person)
    return out + ([last] if last else [])
