"""The `--serve` page in a real headless Chromium: the annotated stream, and a per-person
timeline drawn from the Server-Sent Events of /events while pipan runs; and the /events
stream itself read as a client would (history for late viewers, Last-Event-ID)."""
import json
import threading
import time
import urllib.request

import pytest

from conftest import need_tool
from pipan.events import EventMaker
from pipan.live import run_live
from pipan.pipeline import Pipeline
from pipan.serve import FrameServer
from pipan.sinks import Dispatcher
from pipan.sinks.sse import PAGE, EventHub
from pipan.types import Segment, SegmentStart
from runtime_fakes import FakeAction, FakePose, Scene, two_people_scene
from test_live import Endless


class Looping(Scene):
    def people(self, frame):
        return super().people(frame % self.length)


@pytest.fixture
def running(request):
    """pipan's live loop on an endless paced source, its events to the page's hub:
    yields (server, the events published so far, the hub)."""
    hub = EventHub()
    bus = Dispatcher([hub])
    server = FrameServer("127.0.0.1", 0, page=PAGE, routes={"/events": hub.serve})
    pipe = Pipeline(FakePose(Looping(two_people_scene().actors)), FakeAction(),
                    min_duration=0.3)
    maker = EventMaker("endless", alerts={"wave"})
    sent = []
    stop = threading.Event()

    def on_result(r):
        for ev in maker.frame(r):
            sent.append(ev)
            bus.publish(ev)

    th = threading.Thread(target=run_live, args=(Endless(delay=0.01), pipe), kwargs=dict(
        on_segment=lambda s: None, server=server, stop=stop, on_result=on_result))
    th.start()
    try:
        yield server, sent, hub
    finally:
        stop.set()
        th.join(10)
        bus.close(1.0)
        server.close()


def test_the_page_draws_each_persons_timeline_from_the_events(running, tmp_path):
    chromium = need_tool("chromium")
    from browser import Browser
    server, sent, hub = running
    with Browser(chromium, tmp_path / "profile") as b:
        b.open(server.url)
        rows = None
        end = time.monotonic() + 20
        while time.monotonic() < end:
            # the segments sent so far, and what the page shows (only complete views)
            want = {(e.person, e.label) for e in list(sent) if e.type != "status"}
            rows = b.eval("""Array.from(document.querySelectorAll('#timeline .row')).map(
                r => [r.querySelector('.pid').textContent,
                      Array.from(r.querySelectorAll('.bar')).map(
                          x => [x.dataset.label, x.className])])""")
            shown = {(int(pid.split()[1]), label) for pid, bars in rows or []
                     for label, _ in bars}
            labels = {label for _, label in want}
            if len(want) >= 4 and {"walk", "wave"} <= labels and want <= shown:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the page shows {rows}, pipan sent {sorted(want)}")
        assert {pid for pid, _ in rows} == {"person 1", "person 2"}
        bars = [bar for _, bs in rows for bar in bs]
        assert all(("alert" in cls) == (label == "wave") for label, cls in bars)
        assert any("open" in cls for _, cls in bars)  # someone's current action
        log = b.eval("document.getElementById('log').innerText")
        assert "person 1 started" in log and "(alert)" in log
        # the annotated stream plays beside it
        assert b.eval("document.getElementById('stream').naturalWidth") == 160
        b.screenshot(tmp_path / "page.png")
    assert (tmp_path / "page.png").stat().st_size > 5000


def read_sse(url, headers=None, until=3, timeout=5.0):
    """The first ``until`` events of an SSE stream, as (id, JSON)."""
    req = urllib.request.Request(url, headers=headers or {})
    out = []
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        ev_id = None
        for raw in resp:
            line = raw.decode().rstrip("\n")
            if line.startswith("id: "):
                ev_id = int(line[4:])
            elif line.startswith("data: "):
                out.append((ev_id, json.loads(line[6:])))
                if len(out) == until:
                    return out
    return out


def test_events_stream_replays_history_and_resumes_after_last_event_id():
    hub = EventHub()
    bus = Dispatcher([hub])
    server = FrameServer("127.0.0.1", 0, page=PAGE, routes={"/events": hub.serve})
    maker = EventMaker("cam")
    try:
        for i in range(3):
            for ev in maker.segments(float(i), [Segment(1, float(i), i + 0.5, "walk", 0.9)],
                                     [SegmentStart(1, i + 0.5, "wave", 0.8)]):
                bus.publish(ev)
        late = read_sse(server.url + "events", until=6)  # opened after the events
        assert [e["type"] for _, e in late] == ["segment_end", "segment_start"] * 3
        ids = [i for i, _ in late]
        assert ids == sorted(ids)
        again = read_sse(server.url + "events", headers={"Last-Event-ID": str(ids[3])},
                         until=2)
        assert [i for i, _ in again] == ids[4:]

        def later():
            time.sleep(0.3)
            bus.publish(maker.status(9.0, 15.0, 2, 9.0, 270))
        threading.Thread(target=later).start()
        (new,) = read_sse(server.url + "events", headers={"Last-Event-ID": str(ids[-1])},
                          until=1)
        assert new[1]["type"] == "status" and new[1]["fps"] == 15.0
    finally:
        t0 = time.monotonic()
        bus.close(1.0)
        server.close()
        assert time.monotonic() - t0 < 2.0  # open streams do not hold the stop
