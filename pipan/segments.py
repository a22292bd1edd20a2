"""Per-frame class probabilities of each person -> labelled segments (start, end, label,
confidence), online.

Two stages of smoothing:

1. A centred mode filter on the arg-max label: frame t gets the most frequent arg-max of
   the frames within ``window / 2`` seconds either side (ties keep the previous smoothed
   label). Isolated wrong frames vanish and boundaries stay where they were; the price is
   a lag of ``window / 2`` seconds before a frame is settled.
2. Hysteresis on the smoothed label: a new label takes over only once it has lasted
   ``min_duration`` seconds in a row; the new segment then starts where that run began,
   so boundaries are not delayed. Shorter runs count toward the current segment. The
   first segment is the only one that may be shorter than ``min_duration`` before a
   switch; it is merged into the next one instead (a noisy start is not a segment).

3. Events that end in a state (a fall ends lying, ``pipan.vocabulary``'s ``ends_in``) are
   short: once the smoothed label has been such an event for ``event_max`` seconds, the
   following frames take its state instead (the event's probability counted as the
   state's) until the label changes. A fall is then a short segment followed by ``lie``,
   even when the model's answer lingers on the fall while the person lies still.

A segment's confidence is the mean, over its frames, of the probability of its label.
Segments are closed at the next segment's start, or at the last frame's time plus one
frame period when a track or the source ends (never past the source's end: a person seen
only now and then does not stretch the last segment beyond the video). A track shorter than ``min_duration`` in
all (a false detection, a person at the frame's edge) yields no segment.

Segments are also reported when they open (``take_opened``), once it is certain they will
be reported closed too: a segment that follows a closed one at once; a person's first
segment once it has lasted ``min_duration`` with its own label (before that it may still be
merged into the next one, or be a blip), or at the latest just before it is closed. So
every opened segment is closed later, and every closed one was opened first.
"""
from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Deque, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .types import Segment, SegmentStart

Frame = Tuple[float, List[float], int]  # time s, probabilities (C,), arg-max


@dataclass
class _Open:
    """One person's open segment and hysteresis state (smoothed frames only)."""

    label: int
    start: float  # seconds
    conf_sum: float = 0.0
    frames: int = 0
    last: float = 0.0  # time of the last smoothed frame
    period: float = 0.0  # seconds between frames, last seen
    candidate: Optional[int] = None
    pending: List[Tuple[float, List[float]]] = field(default_factory=list)
    closed_once: bool = False  # a segment of this person has been closed before
    announced: bool = False  # reported as opened

    def absorb(self, p: List[float]) -> None:
        self.conf_sum += float(p[self.label])
        self.frames += 1

    def flush_pending(self) -> None:
        for _, p in self.pending:
            self.absorb(p)
        self.pending.clear()
        self.candidate = None


@dataclass
class _Person:
    """Raw frames of one person waiting for their mode window, and the segment state."""

    queue: Deque[Frame] = field(default_factory=deque)  # not yet smoothed
    history: Deque[Tuple[float, int]] = field(default_factory=deque)  # (time, arg-max)
    last_label: Optional[int] = None  # the last smoothed label
    last_time: Optional[float] = None  # time of the last raw frame
    period: float = 0.0
    seg: Optional[_Open] = None
    event: Optional[int] = None  # the transition event the smoothed label is in
    event_start: float = 0.0  # since when


class Segmenter:
    """Online segmentation of many people's probability streams.

    ``update(person, time_s, probs)`` returns the segments that frame closed (usually
    none); ``close(person)`` ends one person's open segment (track ended); ``finish()``
    ends all. ``window`` (seconds) is the mode filter's width (0 = off); ``min_duration``
    (seconds) the hysteresis; ``default_period`` the frame period assumed until two frames
    are seen; ``transitions`` maps an event label to the state label it ends in, and
    ``event_max`` (seconds) is how long such an event lasts at most.
    """

    def __init__(self, labels: Sequence[str], min_duration: float = 0.5,
                 window: float = 0.4, default_period: float = 1 / 30,
                 transitions: Optional[Mapping[str, str]] = None, event_max: float = 1.5):
        self.labels = tuple(labels)
        index = {name: i for i, name in enumerate(self.labels)}
        self._ends_in: Dict[int, int] = {
            index[e]: index[s] for e, s in (transitions or {}).items()
            if e in index and s in index}
        self.event_max = float(event_max)
        self.min_duration = float(min_duration)
        self.half = float(window) / 2
        self.default_period = float(default_period)
        self._people: Dict[int, _Person] = {}
        self._opened: List[SegmentStart] = []

    def take_opened(self) -> List[SegmentStart]:
        """The segments opened since the last call, in the order they opened."""
        out, self._opened = self._opened, []
        return out

    def _announce(self, person: int, s: _Open) -> None:
        if not s.announced:
            s.announced = True
            conf = s.conf_sum / s.frames if s.frames else 0.0
            self._opened.append(SegmentStart(person=person, start=s.start,
                                             label=self.labels[s.label], confidence=conf))

    def _announce_if_certain(self, person: int, s: _Open, t: float) -> None:
        """Called at a frame ``t`` of the open segment's own label (no run of another label
        pending). A segment after a closed one is always reported; a first segment once it
        has lasted min_duration: any later run starts after ``t``, so it can no longer be
        merged, and its end comes after ``t``, so it is long enough to report."""
        if s.closed_once or t - s.start >= self.min_duration - 1e-9:
            self._announce(person, s)

    @property
    def open_people(self) -> List[int]:
        return sorted(self._people)

    def current(self, person: int) -> Optional[str]:
        """The label of ``person``'s open segment (None if none yet)."""
        st = self._people.get(person)
        return None if st is None or st.seg is None else self.labels[st.seg.label]

    # --- stage 1: centred mode filter ----------------------------------------------------

    def update(self, person: int, time_s: float, probs: np.ndarray) -> List[Segment]:
        # plain floats: a handful of numpy calls per person costs more than the arithmetic
        # right after the pose net has cooled the caches (see pipan.tracker)
        p = np.asarray(probs, np.float32).tolist()
        st = self._people.setdefault(person, _Person(period=self.default_period))
        t = float(time_s)
        if st.last_time is not None and t > st.last_time:
            st.period = t - st.last_time
        st.last_time = t
        k = max(range(len(p)), key=p.__getitem__)  # first maximum, as np.argmax
        st.queue.append((t, p, k))
        st.history.append((t, k))
        closed: List[Segment] = []
        # a frame is settled once every frame within half a window after it has arrived
        while st.queue and st.queue[0][0] <= t - self.half + 1e-9:
            closed += self._settle(person, st)
        return closed

    def _settle(self, person: int, st: _Person) -> List[Segment]:
        t, p, k = st.queue.popleft()
        while st.history and st.history[0][0] < t - self.half - 1e-9:
            st.history.popleft()
        votes = Counter(kk for tt, kk in st.history if tt <= t + self.half + 1e-9)
        top = max(votes.values())
        winners = [lab for lab, n in votes.items() if n == top]
        label = st.last_label if st.last_label in winners else \
            (k if k in winners else min(winners))
        st.last_label = label
        if label in self._ends_in:
            if st.event != label:
                st.event, st.event_start = label, t
            elif t - st.event_start > self.event_max + 1e-9:
                state = self._ends_in[label]
                p = list(p)
                p[state] += p[label]
                p[label] = 0.0
                label = state
        else:
            st.event = None
        return self._step(person, st, t, p, label)

    # --- stage 2: hysteresis -------------------------------------------------------------

    def _step(self, person: int, st: _Person, t: float, p: List[float],
              k: int) -> List[Segment]:
        s = st.seg
        if s is None:
            st.seg = _Open(label=k, start=t, last=t, period=st.period)
            st.seg.absorb(p)
            self._announce_if_certain(person, st.seg, t)
            return []
        s.period = t - s.last if t > s.last else s.period
        s.last = t
        if k == s.label:
            s.flush_pending()
            s.absorb(p)
            self._announce_if_certain(person, s, t)
            return []
        if k != s.candidate:
            s.flush_pending()  # another label's run broke off: it was a flicker
            s.candidate = k
        s.pending.append((t, p))
        run_start = s.pending[0][0]
        if t - run_start + s.period < self.min_duration - 1e-9:
            return []
        # The candidate has lasted min_duration: it takes over from where its run began.
        closed: List[Segment] = []
        new_start = run_start
        if run_start - s.start < self.min_duration and not s.closed_once:
            new_start = s.start  # a short first segment merges into the next
        else:
            closed.append(self._segment(person, s, run_start))
        n = st.seg = _Open(label=k, start=new_start, last=t, period=s.period,
                           closed_once=s.closed_once or bool(closed))
        for _, q in s.pending:
            n.absorb(q)
        self._announce_if_certain(person, n, t)
        return closed

    def _segment(self, person: int, s: _Open, end: float) -> Segment:
        self._announce(person, s)  # a first segment closed before it was announced
        conf = s.conf_sum / s.frames if s.frames else 0.0
        return Segment(person=person, start=s.start, end=end, label=self.labels[s.label],
                       confidence=conf)

    def close(self, person: int, until: Optional[float] = None) -> List[Segment]:
        """End ``person``'s stream: settle the frames still in the window, then close the
        open segment at its last frame plus one period, but not after ``until`` (seconds:
        the source's end). Returns the segments closed."""
        st = self._people.pop(person, None)
        if st is None:
            return []
        closed: List[Segment] = []
        while st.queue:
            closed += self._settle(person, st)
        s = st.seg
        if s is not None:
            s.flush_pending()
            end = s.last + (s.period or st.period)
            if until is not None:
                end = max(min(end, until), s.last)
            # A person seen for less than min_duration in all is a blip (a false
            # detection, someone crossing the frame's edge): no segment of its own.
            if s.closed_once or end - s.start >= self.min_duration - 1e-9:
                closed.append(self._segment(person, s, end))
        return closed

    def finish(self, until: Optional[float] = None) -> List[Segment]:
        """Close every open segment (end of the source at ``until`` seconds, if known), in
        person order."""
        return [seg for p in sorted(self._people) for seg in self.close(p, until)]


def segment_probabilities(times: Sequence[float], probs: np.ndarray, labels: Sequence[str],
                          person: int = 1, min_duration: float = 0.5,
                          window: float = 0.4,
                          transitions: Optional[Mapping[str, str]] = None,
                          event_max: float = 1.5) -> List[Segment]:
    """Offline convenience: one person's (T,) times and (T, C) probabilities -> segments."""
    T, C = np.asarray(probs).shape
    seg = Segmenter(labels, min_duration=min_duration, window=window,
                    transitions=transitions, event_max=event_max)
    out = [s for t in range(T) for s in seg.update(person, float(times[t]), probs[t])]
    return out + seg.close(person)
