"""Webhooks against a real HTTP server on loopback: each event POSTed as JSON, retries with
backoff after a 500 or a timeout, no retry after a 4xx, a hook that is down costs one
warning and counted drops, and `pipan live --webhook` delivers its segment events."""
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipan.events import EventMaker
from pipan.sinks import Dispatcher
from pipan.sinks.webhook import WebhookSink, check_webhook_url
from pipan.types import Segment


class Hook:
    """A webhook receiver. ``script``: per request, in turn, what to answer (an HTTP code,
    or ("sleep", seconds) before a 200); past its end, 200."""

    def __init__(self, script=()):
        self.script = list(script)
        self.bodies = []  # every request's JSON body, answered or not
        self.accepted = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with hook.lock:
                    hook.bodies.append((time.monotonic(), body,
                                        self.headers["Content-Type"]))
                    step = hook.script.pop(0) if hook.script else 200
                if isinstance(step, tuple):
                    time.sleep(step[1])
                    step = 200
                if step == 200:
                    with hook.lock:
                        hook.accepted.append(body)
                self.send_response(step)
                self.send_header("Content-Length", "2")
                self.end_headers()
                try:
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the client gave up (timeout)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hook(request):
    h = Hook(getattr(request, "param", ()))
    yield h
    h.close()


def segment_events(n):
    maker = EventMaker("cam", alerts={"b"})
    return [e for i in range(n) for e in maker.segments(
        float(i), [Segment(1, float(i), i + 0.5, "ab"[i % 2], 0.9)])]


def wait_for(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_check_webhook_url():
    assert check_webhook_url("https://h.example/x") == "https://h.example/x"
    for bad in ("ftp://h/x", "localhost:1880/x", "http:///x"):
        with pytest.raises(ValueError, match="not an http"):
            check_webhook_url(bad)


def test_each_event_is_posted_as_json_in_order(hook):
    d = Dispatcher([WebhookSink(hook.url)])
    evs = segment_events(5)
    for e in evs:
        d.publish(e)
    assert d.close(2.0) == {f"webhook 127.0.0.1:{hook.url.split(':')[2].split('/')[0]}": 0}
    assert [b for _, b, _ in hook.bodies] == [e.as_dict() for e in evs]
    assert all(ct == "application/json" for _, _, ct in hook.bodies)
    assert [b["alert"] for b in hook.accepted] == [False, True, False, True, False]


@pytest.mark.parametrize("hook", [(500, 500)], indirect=True)
def test_a_500_is_retried_with_backoff(hook):
    sink = WebhookSink(hook.url, retries=3, backoff=0.1)
    halt = threading.Event()
    (e,) = segment_events(1)
    assert sink.send(e, halt) is True
    times = [t for t, _, _ in hook.bodies]
    assert len(times) == 3 and len(hook.accepted) == 1
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2  # doubling


@pytest.mark.parametrize("hook", [(("sleep", 1.0),)], indirect=True)
def test_a_timeout_is_retried(hook):
    sink = WebhookSink(hook.url, timeout=0.3, retries=2, backoff=0.05)
    (e,) = segment_events(1)
    t0 = time.monotonic()
    assert sink.send(e, threading.Event()) is True
    assert len(hook.bodies) == 2 and time.monotonic() - t0 < 1.0  # did not wait the 1 s


@pytest.mark.parametrize("hook", [(404, 500, 500, 500)], indirect=True)
def test_a_4xx_is_not_retried_and_a_hook_that_keeps_failing_is_given_up(hook, caplog):
    sink = WebhookSink(hook.url, retries=2, backoff=0.05)
    a, b = segment_events(2)
    with caplog.at_level(logging.WARNING, logger="pipan"):
        assert sink.send(a, threading.Event()) is False  # 404: once
        assert len(hook.bodies) == 1
        assert sink.send(b, threading.Event()) is False  # 500 x 3
        assert len(hook.bodies) == 4
    assert "refused with HTTP 404" in caplog.text and "HTTP 500 after 3 tries" in caplog.text


def test_a_hook_that_is_down_costs_one_warning_and_counted_drops(caplog):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = WebhookSink(f"http://127.0.0.1:{port}/x", retries=1, backoff=0.01)
    d = Dispatcher([sink], queue_size=5)
    with caplog.at_level(logging.WARNING, logger="pipan"):
        for e in segment_events(20):
            d.publish(e)
        dropped = d.close(1.0)
    assert dropped == {sink.name: 20}
    lines = [r.getMessage() for r in caplog.records]
    assert sum("unreachable" in m for m in lines) == 1, lines
    assert sum("dropping the oldest" in m for m in lines) <= 1


def test_a_stuck_hook_does_not_hold_the_exit(hook):
    hook.script = [("sleep", 3.0)] * 5
    d = Dispatcher([WebhookSink(hook.url, timeout=5.0)])
    for e in segment_events(5):
        d.publish(e)
    time.sleep(0.1)
    t0 = time.monotonic()
    d.close(1.0)
    assert time.monotonic() - t0 < 1.3


def test_live_posts_segment_events_to_every_webhook(hook, tmp_path, monkeypatch):
    import pipan.pipeline
    from runtime_fakes import FakeAction, FakePose, two_people_scene, write_video
    from click.testing import CliRunner
    from pipan.cli import cli
    monkeypatch.setattr(pipan.pipeline, "load_pose",
                        lambda *a, **k: FakePose(two_people_scene()))
    monkeypatch.setattr(pipan.pipeline, "load_action", lambda *a, **k: FakeAction())
    video = tmp_path / "clip.avi"
    write_video(video, 150)
    other = Hook()
    try:
        r = CliRunner().invoke(cli, ["live", "--source", str(video), "--json",
                                     "--webhook", hook.url, "--webhook", other.url,
                                     "--alert", "wave", "--min-duration", "0.3"])
        assert r.exit_code == 0, r.output
    finally:
        other.close()
    ends = [json.loads(line) for line in r.stdout.splitlines()]
    for h in (hook, other):
        got = h.accepted
        assert [b for b in got if b["type"] == "segment_end"] == ends
        assert sum(b["type"] == "segment_start" for b in got) == len(ends)
        assert all(b["alert"] == (b["label"] == "wave") for b in got)
    assert any(b["alert"] for b in hook.accepted)


def test_bad_webhook_and_alert_are_one_line_errors(tmp_path, monkeypatch):
    import pipan.pipeline
    from click.testing import CliRunner
    from pipan.cli import cli
    from runtime_fakes import FakeAction, FakePose, two_people_scene, write_video
    monkeypatch.setattr(pipan.pipeline, "load_pose",
                        lambda *a, **k: FakePose(two_people_scene()))
    monkeypatch.setattr(pipan.pipeline, "load_action", lambda *a, **k: FakeAction())
    video = tmp_path / "clip.avi"
    write_video(video, 10)
    for args, msg in ((["--webhook", "ftp://x/y"], "not an http"),
                      (["--alert", "fal"], "'fal' is not an action of the model"),
                      (["--ha-discovery"], "--ha-discovery needs --mqtt"),
                      (["--mqtt", "http://broker"], "use mqtt://")):
        r = CliRunner().invoke(cli, ["live", "--source", str(video), *args])
        assert r.exit_code == 2 and msg in r.stderr and "Traceback" not in r.output, r.stderr
