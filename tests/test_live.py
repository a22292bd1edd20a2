"""Live loop: MJPEG serving (one JPEG fetched from an ephemeral port on 127.0.0.1), stop
by event, periodic status, and a bounded soak run whose memory stays flat."""
import threading
import time
import tracemalloc
import urllib.request

import cv2
import numpy as np
import pytest

from pipan.live import run_live
from pipan.pipeline import Pipeline
from pipan.serve import FrameServer, parse_address
from pipan.tracker import Tracker
from pipan.video import ArraySource, FrameSource, Frame, SourceInfo
from runtime_fakes import Actor, FakeAction, FakePose, Scene, two_people_scene


class Endless(FrameSource):
    """A live-like synthetic source: the same small frame forever (until stopped)."""

    def __init__(self, W=160, H=120, fps=30.0, delay=0.0):
        self.image = np.zeros((H, W, 3), np.uint8)
        self.delay = delay
        self.info = SourceInfo("endless", fps, W, H, live=True)

    def __iter__(self):
        i = 0
        while True:
            if self.delay:
                time.sleep(self.delay)
            yield Frame(i, i / self.info.fps, self.image)
            i += 1


def test_parse_address():
    assert parse_address("8080") == ("127.0.0.1", 8080)
    assert parse_address("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_address(":0") == ("127.0.0.1", 0)
    for bad in ("x", "host:", "1:99999"):
        with pytest.raises(ValueError):
            parse_address(bad)


def test_serve_gives_a_jpeg_frame_and_stops():
    server = FrameServer("127.0.0.1", 0)
    assert server.address[0] == "127.0.0.1" and server.address[1] > 0
    stop = threading.Event()
    # tracks confirmed at once: the first frame served already shows the people
    pipe = Pipeline(FakePose(Scene(two_people_scene().actors)), FakeAction(), regions=False,
                    tracker=Tracker(min_hits=1))
    out = {}

    def run():
        out["how"] = run_live(Endless(delay=0.005), pipe, on_segment=lambda s: None,
                              server=server, stop=stop)

    th = threading.Thread(target=run)
    th.start()
    try:
        page = urllib.request.urlopen(server.url, timeout=10).read()
        assert b"/stream.mjpg" in page
        with urllib.request.urlopen(server.url + "frame.jpg", timeout=10) as resp:
            assert resp.headers["Content-Type"] == "image/jpeg"
            jpeg = resp.read()
        img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (120, 160, 3)
        assert img.max() > 100  # annotations drawn on the black frame
        with urllib.request.urlopen(server.url + "stream.mjpg", timeout=10) as resp:
            assert resp.headers["Content-Type"].startswith("multipart/x-mixed-replace")
            head = resp.read(200)
            assert b"--pipanframe" in head and b"image/jpeg" in head
    finally:
        stop.set()
        th.join(timeout=10)
        server.close()
    assert out["how"] == "stopped"


def test_status_is_reported_periodically():
    seen = []
    pipe = Pipeline(FakePose(two_people_scene()), FakeAction(), regions=False)
    how = run_live(Endless(delay=0.002), pipe, on_segment=lambda s: None,
                   on_status=seen.append, status_every=0.05, max_frames=100)
    assert how == "ended" and seen
    assert seen[-1].people == 2 and seen[-1].fps > 0 and "FPS" in str(seen[-1])


#: The soak scene: a new person every SOAK_EVERY frames, each walking, standing and waving
#: SOAK_PHASE frames apiece (3 people at a time), so tracks keep starting and ending.
SOAK_EVERY, SOAK_PHASE = 20, 20


def soak_scene(n_frames: int) -> Scene:
    actors = [Actor(enter=k * SOAK_EVERY, start=(20.0 + (k % 5) * 50, 60.0 + (k % 3) * 50),
                    phases=[(SOAK_PHASE, "walk", (1.5, 0)), (SOAK_PHASE, "stand", (0, 0)),
                            (SOAK_PHASE, "wave", (0, 0))], scale=0.5)
              for k in range(n_frames // SOAK_EVERY)]
    return IndexedScene(actors)


class IndexedScene(Scene):
    """Scene lookup in O(people present) (the soak run has hundreds of actors)."""

    def people(self, frame):
        from pipan.types import Person
        lo = max(0, (frame - 3 * SOAK_PHASE) // SOAK_EVERY - 1)
        out = []
        for a in self.actors[lo:frame // SOAK_EVERY + 1]:
            r = a.at(frame)
            if r is not None:
                out.append(Person(r[0], 0.9))
        return out


@pytest.mark.slow
def test_soak_memory_stays_flat():
    """150 people come, act and leave over 3,000 frames after a warm-up: what the pipeline
    holds must not grow with them (measured: 14 kB, whatever the length; the bound allows
    20 bytes a frame or 400 bytes a person)."""
    N, WARM_UP = 4000, 1000
    scene = soak_scene(N)
    action = FakeAction()
    pipe = Pipeline(FakePose(scene), action, min_duration=0.3, regions=False)
    pipe.tracker.max_missed = 5
    image = np.zeros((8, 8, 3), np.uint8)
    segments = [0]

    def on_segment(s):
        segments[0] += 1

    def frames(n):
        return ArraySource((image for _ in range(n)), fps=30.0)

    # warm up (caches, first tracks), then measure over the long run
    run_live(frames(WARM_UP), pipe, on_segment=on_segment, max_frames=WARM_UP)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        how = run_live(frames(N - WARM_UP), pipe, on_segment=on_segment)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert how == "ended"
    assert pipe.times.frames == N
    assert segments[0] > 2 * len(scene.actors)  # hundreds of people came, acted and left
    assert grown < 60_000, f"memory grew by {grown} bytes over {N - WARM_UP} frames"
    assert len(action.state) == 0  # every ended track was forgotten


def test_url_source_reads_an_mjpeg_stream_and_reports_it_lost():
    """A network stream through OpenCV: pipan's own MJPEG server as the camera. When the
    server goes away, the source retries for retry_s, then raises VideoError."""
    from pipan.errors import VideoError
    from pipan.video import CaptureSource, open_source
    server = FrameServer("127.0.0.1", 0)
    stop = threading.Event()

    def publish():
        i = 0
        while not stop.is_set():
            server.publish(np.full((48, 64, 3), (i * 7) % 255, np.uint8))
            i += 1
            time.sleep(0.02)

    th = threading.Thread(target=publish, daemon=True)
    th.start()
    try:
        src = open_source(server.url + "stream.mjpg", retry_s=1.0)
        assert isinstance(src, CaptureSource) and src.info.live
        assert (src.info.width, src.info.height) == (64, 48)
        frames = []
        with pytest.raises(VideoError, match="lost"):
            for f in src:
                frames.append(f.time)
                if len(frames) == 5:
                    stop.set()
                    server.close()
        assert len(frames) >= 5 and frames == sorted(frames)
        src.close()
    finally:
        stop.set()
        if not server._closed:
            server.close()
