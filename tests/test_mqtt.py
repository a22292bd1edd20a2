"""MQTT against a real broker (Debian's mosquitto, started here on loopback) and a real
subscriber (paho-mqtt): events arrive in order with QoS 1, alerts on their own topic,
a retained online/offline availability whose last will fires when pipan is killed, a
broker restarted mid-run gets the events that follow, and Home Assistant discovery."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import pipan.pipeline
from conftest import need_tool
from pipan.cli import cli
from pipan.sinks.mqtt import MqttTarget, parse_mqtt_url
from runtime_fakes import FakeAction, FakePose, two_people_scene, write_video

mqtt = pytest.importorskip("paho.mqtt.client", reason="paho-mqtt is not installed "
                           "(pip install -e '.[test]')")

TESTS = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """mosquitto on 127.0.0.1:port, started and stopped by the test."""

    def __init__(self, exe: str, folder: Path, extra: str = ""):
        self.exe, self.port = exe, free_port()
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                             f"persistence false\nlog_dest stderr\n{extra}")
        self.log = folder / "mosquitto.log"
        self.proc = None

    def start(self) -> "Broker":
        self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "a"))
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                assert self.proc.poll() is None, self.log.read_text()
                time.sleep(0.02)
        raise AssertionError("mosquitto did not start: " + self.log.read_text())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def broker(tmp_path):
    b = Broker(need_tool("mosquitto"), tmp_path).start()
    yield b
    b.stop()


class Subscriber:
    """A real MQTT client that records every message under ``topic`` (re-subscribing on
    each reconnection)."""

    def __init__(self, port: int, topic: str):
        self.messages = []  # (topic, payload str, qos, retain, monotonic time)
        self.cond = threading.Condition()
        c = self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        c.reconnect_delay_set(0.1, 0.5)
        subscribed = self.subscribed = threading.Event()

        def on_connect(client, userdata, flags, rc, props=None):
            client.subscribe(topic, qos=1)

        def on_subscribe(client, userdata, mid, rcs, props=None):
            subscribed.set()

        def on_message(client, userdata, m):
            with self.cond:
                self.messages.append((m.topic, m.payload.decode(), m.qos, m.retain,
                                      time.monotonic()))
                self.cond.notify_all()
        c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
        c.connect("127.0.0.1", port)
        c.loop_start()
        assert subscribed.wait(5)

    def wait(self, pred, timeout=10.0):
        with self.cond:
            assert self.cond.wait_for(lambda: pred(self.messages), timeout), \
                self.messages[-5:]

    def on(self, topic):
        return [m for m in self.messages if m[0] == topic]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def fakes(monkeypatch):
    monkeypatch.setattr(pipan.pipeline, "load_pose",
                        lambda *a, **k: FakePose(two_people_scene()))
    monkeypatch.setattr(pipan.pipeline, "load_action", lambda *a, **k: FakeAction())


def test_parse_mqtt_url(tmp_path):
    assert parse_mqtt_url("mqtt://broker") == MqttTarget("broker", 1883, "pipan")
    t = parse_mqtt_url("mqtts://me:p%40ss@broker.lan:8884/home/cam1/")
    assert (t.host, t.port, t.prefix, t.tls, t.username, t.password) == (
        "broker.lan", 8884, "home/cam1", True, "me", "p@ss")
    assert "p@ss" not in str(t) and "p%40ss" not in str(t)
    assert parse_mqtt_url("mqtt://me@b/x", env={"PIPAN_MQTT_PASSWORD": "s"}).password == "s"
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    assert parse_mqtt_url(f"mqtts://b/x?ca={ca}").ca_file == str(ca)
    for bad, why in (("http://b/x", "use mqtt://"), ("mqtt://b:99999/x", "port"),
                     ("mqtt:///x", "no host"), ("mqtt://b/a/+/c", "prefix"),
                     ("mqtt://b/x?tls=1", "unknown option"), ("mqtts://b/x?ca=/no/such",
                                                              "not found")):
        with pytest.raises(ValueError, match=why):
            parse_mqtt_url(bad)


def test_events_arrive_in_order_with_qos1_and_alerts_apart(broker, fakes, tmp_path):
    video = tmp_path / "clip.avi"
    write_video(video, 150)
    sub = Subscriber(broker.port, "test/cam/#")
    try:
        r = CliRunner().invoke(cli, [
            "live", "--source", str(video), "--json", "--min-duration", "0.3",
            "--mqtt", f"mqtt://127.0.0.1:{broker.port}/test/cam", "--alert", "wave"])
        assert r.exit_code == 0, r.output
        sub.wait(lambda ms: ("test/cam/availability", "offline") in
                 [(m[0], m[1]) for m in ms])
    finally:
        sub.close()
    ends = [json.loads(line) for line in r.stdout.splitlines()]
    events = [json.loads(m[1]) for m in sub.on("test/cam/events")]
    assert all(m[2] == 1 for m in sub.on("test/cam/events"))  # QoS 1 end to end
    assert [e for e in events if e["type"] == "segment_end"] == ends  # same, in order
    # per person: start, end, start, end ... each end closing the start before it
    for person in (1, 2):
        mine = [e for e in events if e["person"] == person]
        assert [e["type"] for e in mine] == ["segment_start", "segment_end"] * (len(mine) // 2)
        assert all(s["start"] == e["start"] and s["label"] == e["label"]
                   for s, e in zip(mine[::2], mine[1::2]))
    alerts = [json.loads(m[1]) for m in sub.on("test/cam/alerts")]
    assert alerts == [e for e in events if e["label"] == "wave"] and alerts
    assert all(e["alert"] for e in alerts)
    assert [m[1] for m in sub.on("test/cam/availability")] == ["online", "offline"]
    counts = {m[0]: m[1] for m in sub.messages if m[0].startswith("test/cam/label/")}
    assert set(counts) == {"test/cam/label/stand", "test/cam/label/walk",
                           "test/cam/label/wave"}
    assert set(counts.values()) == {"0"}  # everyone's segments closed at the end
    waving = [m[1] for m in sub.on("test/cam/label/wave")]
    assert "1" in waving  # someone waved while it ran


def test_home_assistant_discovery_and_retained_state(broker, fakes, tmp_path):
    video = tmp_path / "clip.avi"
    write_video(video, 30)
    r = CliRunner().invoke(cli, ["live", "--source", str(video), "--ha-discovery",
                                 "--mqtt", f"mqtt://127.0.0.1:{broker.port}/home/cam1"])
    assert r.exit_code == 0, r.output
    # a subscriber that comes later gets the retained messages: what Home Assistant reads
    sub = Subscriber(broker.port, "#")
    try:
        sub.wait(lambda ms: len([m for m in ms if m[0].startswith("homeassistant/")]) == 3
                 and any(m[0] == "home/cam1/availability" for m in ms))
    finally:
        sub.close()
    configs = {m[0]: json.loads(m[1]) for m in sub.messages
               if m[0].startswith("homeassistant/")}
    assert all(m[3] for m in sub.messages)  # all retained
    walk = configs["homeassistant/sensor/pipan_home_cam1/walk/config"]
    assert walk["name"] == "pipan walk" and walk["state_topic"] == "home/cam1/label/walk"
    assert walk["availability_topic"] == "home/cam1/availability"
    assert walk["unique_id"] == "pipan_home_cam1_walk"
    assert [m[1] for m in sub.on("home/cam1/availability")] == ["offline"]


def child(video, port, *extra, delay=0.02):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS.parent), str(TESTS)]))
    return subprocess.Popen(
        [sys.executable, str(TESTS / "live_child.py"), str(delay), "live", "--source",
         str(video), "--min-duration", "0.3", "--mqtt", f"mqtt://127.0.0.1:{port}/kill",
         *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_last_will_says_offline_when_pipan_is_killed(broker, tmp_path):
    video = tmp_path / "long.avi"
    write_video(video, 900, size=(64, 48))
    sub = Subscriber(broker.port, "kill/#")
    proc = child(video, broker.port)
    try:
        sub.wait(lambda ms: any(m[0] == "kill/events" for m in ms), timeout=20)
        assert [m[1] for m in sub.on("kill/availability")] == ["online"]
        proc.kill()  # no goodbye: only the broker can say it
        t_kill = time.monotonic()
        sub.wait(lambda ms: [m[1] for m in ms if m[0] == "kill/availability"][-1:] ==
                 ["offline"], timeout=5)
        assert sub.on("kill/availability")[-1][4] - t_kill < 3.0
    finally:
        proc.kill()
        proc.communicate(timeout=10)
        sub.close()


def test_sigterm_flushes_and_says_offline_within_a_second(broker, tmp_path):
    video = tmp_path / "long.avi"
    write_video(video, 900, size=(64, 48))
    sub = Subscriber(broker.port, "kill/#")
    proc = child(video, broker.port, "--json")
    try:
        sub.wait(lambda ms: any(m[0] == "kill/events" for m in ms), timeout=20)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert time.monotonic() - t0 < 3.0
        sub.wait(lambda ms: [m[1] for m in ms if m[0] == "kill/availability"][-1:] ==
                 ["offline"], timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        sub.close()
    ends = [json.loads(line) for line in out.splitlines()]
    got = [json.loads(m[1]) for m in sub.on("kill/events")]
    # every segment closed at the stop reached the broker before pipan left
    assert [e for e in got if e["type"] == "segment_end"] == ends and ends


def test_a_broker_restarted_mid_run_gets_the_events_that_follow(broker, tmp_path):
    video = tmp_path / "long.avi"
    write_video(video, 900, size=(64, 48))
    sub = Subscriber(broker.port, "kill/#")
    proc = child(video, broker.port, "--json", "--status-every", "0.2")
    try:
        sub.wait(lambda ms: len([m for m in ms if m[0] == "kill/events"]) >= 2, timeout=20)
        broker.stop()
        time.sleep(1.0)  # pipan runs on without it
        broker.start()
        t_back = time.monotonic()
        sub.wait(lambda ms: len([m for m in ms if m[0] == "kill/events"
                                 and m[4] > t_back]) >= 4, timeout=20)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        sub.close()
    after = [json.loads(m[1]) for m in sub.on("kill/events") if m[4] > t_back]
    ends = [json.loads(line) for line in out.splitlines()]
    # what came after the restart is the run's events in order: a run of its closed
    # segments, ending with the last one
    got_ends = [e for e in after if e["type"] == "segment_end"]
    assert got_ends and got_ends == ends[len(ends) - len(got_ends):]
    status = [json.loads(m[1]) for m in sub.on("kill/status")]  # the heartbeat, paced
    assert status and all(s["type"] == "status" and s["fps"] > 0 for s in status)
    assert max(s["people"] for s in status) == 2  # (tracks count once confirmed)
    warnings = [line for line in err.splitlines() if line.startswith("Warning: mqtt")]
    assert len(warnings) == 2, err  # the loss and the return, once each
    assert "connection lost" in warnings[0] and "connected again" in warnings[1]


def test_a_broker_down_at_start_costs_one_line_and_pipan_runs_on(fakes, tmp_path):
    video = tmp_path / "clip.avi"
    write_video(video, 60)
    port = free_port()  # nobody listens
    t0 = time.monotonic()
    r = CliRunner().invoke(cli, ["live", "--source", str(video), "--json",
                                 "--mqtt", f"mqtt://127.0.0.1:{port}/x"])
    assert r.exit_code == 0, r.output
    assert time.monotonic() - t0 < 10
    lines = r.stderr.splitlines()
    assert sum("cannot connect" in line for line in lines) == 1, r.stderr
    assert any("events dropped" in line for line in lines)  # counted, not lost silently
    assert r.stdout.strip()  # the segments still came out


def test_missing_paho_is_a_one_line_error(fakes, tmp_path, monkeypatch):
    video = tmp_path / "clip.avi"
    write_video(video, 10)
    monkeypatch.setitem(sys.modules, "paho.mqtt.client", None)
    r = CliRunner().invoke(cli, ["live", "--source", str(video), "--mqtt", "mqtt://b/x"])
    assert r.exit_code == 3 and "Traceback" not in r.output
    assert r.stderr.strip() == ("Error: --mqtt needs paho-mqtt: pip install 'pipan[mqtt]' "
                                "(or: pip install paho-mqtt)")


def test_recognize_publishes_its_segment_events(broker, fakes, tmp_path):
    video = tmp_path / "clip.avi"
    write_video(video, 90)
    sub = Subscriber(broker.port, "rec/#")
    try:
        r = CliRunner().invoke(cli, ["recognize", str(video), "--json", "--min-duration",
                                     "0.3", "--mqtt", f"mqtt://127.0.0.1:{broker.port}/rec"])
        assert r.exit_code == 0, r.output
        sub.wait(lambda ms: ("rec/availability", "offline") in [(m[0], m[1]) for m in ms])
    finally:
        sub.close()
    ends = sorted(json.loads(line)["start"] for line in r.stdout.splitlines())
    got = [json.loads(m[1]) for m in sub.on("rec/events")]
    assert sorted(e["start"] for e in got if e["type"] == "segment_end") == ends and ends
    assert len(got) == 2 * len(ends)
