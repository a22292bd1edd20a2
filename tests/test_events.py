"""Events: segments reported when they open as well as when they close (each start before
its end, every start closed), one JSON format, and the dispatcher that keeps sinks off the
frame loop (bounded queues, oldest dropped and counted, a stop within its deadline)."""
import json
import threading
import time

import numpy as np
import pytest

from pipan.events import EventMaker, iso_utc
from pipan.pipeline import Pipeline
from pipan.segments import Segmenter
from pipan.sinks import Dispatcher, Sink
from pipan.types import Segment, SegmentStart
from pipan.video import ArraySource
from runtime_fakes import FakeAction, FakePose, two_people_scene

LABELS = ("a", "b", "c")


def feed(seq_by_person, min_duration, window, fps=10.0):
    """Label sequences (one per person, frames in lockstep; a person's stream closes where
    its sequence ends) through a Segmenter: yields (time, closed, opened) per frame."""
    seg = Segmenter(LABELS, min_duration=min_duration, window=window)
    n = max(len(s) for s in seq_by_person.values())
    for i in range(n):
        closed = []
        for person, seq in seq_by_person.items():
            if i < len(seq):
                p = np.full(3, 0.1, np.float32)
                p[seq[i]] = 0.8
                closed += seg.update(person, i / fps, p)
            elif i == len(seq):
                closed += seg.close(person)
        yield i / fps, closed, seg.take_opened()
    yield n / fps, seg.finish(), seg.take_opened()


def replay(seq_by_person, min_duration=0.5, window=0.4):
    """The events, in order, as (type, person, label, start, end)."""
    maker = EventMaker("test")
    out = [e for t, closed, opened in feed(seq_by_person, min_duration, window)
           for e in maker.segments(t, closed, opened)]
    return [(e.type, e.person, e.label, e.start, e.end) for e in out]


def check_sequence(events, closed_segments):
    """Per person: start, end, start, end ...; each end matches the start before it, and
    the ends are exactly the segments the segmenter closed."""
    by_person = {}
    for e in events:
        by_person.setdefault(e[1], []).append(e)
    for person, evs in by_person.items():
        types = [e[0] for e in evs]
        assert types == ["segment_start", "segment_end"] * (len(evs) // 2), (person, types)
        for s, e in zip(evs[::2], evs[1::2]):
            assert (s[2], s[3]) == (e[2], e[3]) and s[4] is None and e[4] > e[3]
    ends = sorted((e[1], e[2], e[3], e[4]) for e in events if e[0] == "segment_end")
    assert ends == sorted((s.person, s.label, s.start, s.end) for s in closed_segments)


@pytest.mark.parametrize("seed", range(30))
def test_every_segment_opens_before_it_closes_and_every_start_closes(seed):
    rng = np.random.default_rng(seed)
    seqs = {}
    for person in (1, 2, 3):
        seq = []
        length = int(rng.integers(1, 120))
        while len(seq) < length:  # runs of random labels, many shorter than min_duration
            seq += [int(rng.integers(3))] * int(rng.integers(1, 12))
        seqs[person] = seq[:length]
    min_duration = float(rng.choice([0.0, 0.3, 0.5]))
    window = float(rng.choice([0.0, 0.4]))
    closed = [s for _, c, _ in feed(seqs, min_duration, window) for s in c]
    check_sequence(replay(seqs, min_duration, window), closed)


def test_a_start_comes_once_the_action_lasted_min_duration():
    # 10 fps, min_duration 0.5 s, no smoothing window: label b from frame 0
    seg = Segmenter(LABELS, min_duration=0.5, window=0.0)
    p = np.array([0.1, 0.8, 0.1], np.float32)
    opened_at = None
    for i in range(20):
        seg.update(1, i / 10, p)
        got = seg.take_opened()
        if got and opened_at is None:
            opened_at = i / 10
            assert got == [SegmentStart(1, 0.0, "b", pytest.approx(0.8))]
    assert opened_at == pytest.approx(0.5)


def test_a_blip_and_a_merged_noisy_start_are_never_announced():
    events = replay({1: [2, 2] + [0] * 30, 2: [1] * 3})
    assert events == [("segment_start", 1, "a", 0.0, None),
                      ("segment_end", 1, "a", 0.0, pytest.approx(3.2))]


def test_a_change_reads_end_then_start_at_the_same_instant():
    events = replay({1: [0] * 20 + [1] * 20}, window=0.0)
    assert [e[0:1] + e[2:] for e in events] == [
        ("segment_start", "a", 0.0, None), ("segment_end", "a", 0.0, 2.0),
        ("segment_start", "b", 2.0, None), ("segment_end", "b", 2.0, pytest.approx(4.0))]


def test_pipeline_results_carry_opened_segments_and_the_final_one_closes_all():
    pipe = Pipeline(FakePose(two_people_scene()), FakeAction(), min_duration=0.3,
                    regions=False)
    image = np.zeros((8, 8, 3), np.uint8)
    opened, closed = [], []
    results = list(pipe.run(ArraySource([image] * 100, fps=30.0)))
    for r in results:
        opened += r.opened
        closed += r.closed
    end = results[-1]
    assert end.final and end.time == pytest.approx(99 / 30) and sorted(end.ended) == [1, 2]
    assert sorted((s.person, s.start, s.label) for s in opened) == \
        sorted((s.person, s.start, s.label) for s in closed)
    assert {s.person for s in closed} == {1, 2}


def test_event_json_keeps_the_segment_fields_and_adds_the_event_ones():
    maker = EventMaker("cam", alerts={"fall"}, started_at=lambda: 1_700_000_000.0,
                       clock=lambda: 1_700_000_012.5)
    seg = Segment(person=3, start=1.23456, end=4.5, label="fall", confidence=0.876543)
    (end,) = maker.segments(5.0, [seg])
    d = json.loads(end.to_json())
    assert d == {"type": "segment_end", "person": 3, "start": 1.235, "end": 4.5,
                 "label": "fall", "confidence": 0.8765, "alert": True,
                 "at": "2023-11-14T22:13:21.234Z", "source": "cam", "time": 5.0,
                 "wall": "2023-11-14T22:13:32.500Z"}
    assert {k: d[k] for k in seg.as_dict()} == seg.as_dict()  # what --jsonl always had
    (start,) = maker.segments(2.0, opened=[SegmentStart(3, 1.0, "walk", 0.5)])
    d = start.as_dict()
    assert d["type"] == "segment_start" and d["end"] is None and d["alert"] is False
    st = json.loads(maker.status(9.0, 14.234, 2, 10.0, 135, 4).to_json())
    assert st == {"type": "status", "fps": 14.23, "people": 2, "uptime": 10.0,
                  "frames": 135, "dropped": 4, "source": "cam", "time": 9.0,
                  "wall": "2023-11-14T22:13:32.500Z"}
    assert iso_utc(0) == "1970-01-01T00:00:00.000Z"


# --- the dispatcher ----------------------------------------------------------------------

class Gate(Sink):
    """A sink that takes events only while its gate is open (a broker that is down)."""

    name = "gate"

    def __init__(self):
        self.open = threading.Event()
        self.entered = threading.Event()
        self.got = []
        self.closed_in = None

    def send(self, event, halt):
        self.entered.set()
        while not self.open.wait(0.02):
            if halt.is_set():
                return False
        self.got.append(event.time)
        return True

    def close(self, timeout):
        self.closed_in = timeout


def events(n):
    maker = EventMaker("test")
    return [maker.status(float(i), 30.0, 1, float(i), i) for i in range(n)]


def test_a_full_queue_drops_the_oldest_and_counts_them():
    gate = Gate()
    d = Dispatcher([gate], queue_size=10)
    evs = events(25)
    d.publish(evs[0])
    assert gate.entered.wait(5)  # the sink is stuck on the first event
    d.publish_all(evs[1:5])
    for ev in evs[5:]:
        d.publish(ev)
    time.sleep(0.1)
    gate.open.set()  # the broker is back: the newest that waited go out, in order
    dropped = d.close(1.0)
    assert gate.got == [0.0] + [float(i) for i in range(15, 25)]
    assert dropped == {"gate": 14}


def test_close_keeps_its_deadline_when_a_sink_is_stuck():
    gate = Gate()
    d = Dispatcher([gate], queue_size=100)
    for ev in events(50):
        d.publish(ev)
    t0 = time.monotonic()
    dropped = d.close(1.0)
    assert time.monotonic() - t0 < 1.2
    assert dropped == {"gate": 50} and gate.got == [] and gate.closed_in is not None


def test_publish_never_blocks_on_a_stuck_sink():
    gate = Gate()
    d = Dispatcher([gate], queue_size=100)
    evs = events(5000)
    t0 = time.perf_counter()
    for ev in evs:
        d.publish(ev)
    per_event = (time.perf_counter() - t0) / len(evs)
    d.close(0.2)
    assert per_event < 1e-3  # microseconds in fact; a blocked put would take seconds
