"""Events out of the frame loop: how fast they reach a subscriber, and what they cost the
loop. Prints figures; needs mosquitto (Debian's package) for the MQTT rows.

1. Latency from a segment closing (its frame's result handed to the events hook) to its
   receipt, on loopback: an MQTT subscriber (paho) through mosquitto, a webhook (an HTTP
   server), the live page's /events (an SSE reader). Median and 99th percentile.
2. The frame loop's cost of the sinks at 1,000 events per second: the real pipeline
   (bundled pose and action models, one interpreter thread) over the demo video, with the
   events of 1,000 closing segments per second of the loop's running (CPU) time emitted
   from the loop as the CLI does (made and handed to the sinks once per frame), broker up
   and down, against the same loop without events (alternating runs, medians). Reported:
   the hook's CPU time on the loop's thread against the loop's; the sink threads' CPU per
   event (work done beside the loop, on another core where there is one); and wall time
   per frame, which on a busy machine is noisy (its spread is printed).

    python -m benchmarks.events_latency [--events 300] [--gap 0.02] [--frames 100] [--runs 5]
"""
from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from pipan.events import EventMaker
from pipan.serve import FrameServer
from pipan.sinks import Dispatcher
from pipan.sinks.sse import PAGE, EventHub
from pipan.sinks.webhook import WebhookSink
from pipan.types import Segment

from .common import DEMO, run_benchmark


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mosquitto(folder: Path):
    exe = shutil.which("mosquitto")
    if exe is None:
        return None, None
    port = free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, port
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("mosquitto did not start")


def percentiles(ms):
    return statistics.median(ms), float(np.percentile(ms, 99))


def closing(i):
    """A segment closing: its event's ``time`` carries the index ``i``."""
    return Segment(person=1 + i % 3, start=float(i), end=i + 0.5, label="walk",
                   confidence=0.9)


def emit(maker, bus, i):
    """One segment closing now, its event to the sinks."""
    bus.publish_all(maker.segments(float(i), [closing(i)]))


def measure_latency(sink, receipts, n, gap):
    """Publish ``n`` segment_end events ``gap`` s apart through a Dispatcher to ``sink``;
    ``receipts[i]`` is filled with the receipt time of event i. Returns latencies in ms."""
    maker = EventMaker("bench")
    bus = Dispatcher([sink])
    sent = {}
    time.sleep(0.5)  # connected and idle
    for i in range(n):
        sent[i] = time.perf_counter()
        emit(maker, bus, i)
        time.sleep(gap)
    end = time.monotonic() + 5
    while len(receipts) < n and time.monotonic() < end:
        time.sleep(0.01)
    bus.close(1.0)
    return [1000 * (receipts[i] - sent[i]) for i in sorted(receipts) if i in sent]


def latency_mqtt(port, n, gap):
    import paho.mqtt.client as mqtt
    from pipan.sinks.mqtt import MqttSink, MqttTarget
    receipts = {}
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    ready = threading.Event()
    sub.on_connect = lambda c, *a: c.subscribe("bench/events", qos=1)
    sub.on_subscribe = lambda *a: ready.set()

    def on_message(c, u, m):
        receipts[int(json.loads(m.payload)["time"])] = time.perf_counter()
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.loop_start()
    ready.wait(5)
    ms = measure_latency(MqttSink(MqttTarget("127.0.0.1", port, "bench")), receipts, n, gap)
    sub.disconnect()
    sub.loop_stop()
    return ms


def latency_webhook(n, gap):
    receipts = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *a):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receipts[int(json.loads(body)["time"])] = time.perf_counter()
            self.send_response(204)
            self.end_headers()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    ms = measure_latency(WebhookSink(f"http://127.0.0.1:{httpd.server_address[1]}/"),
                         receipts, n, gap)
    httpd.shutdown()
    httpd.server_close()
    return ms


def latency_sse(n, gap):
    receipts = {}
    hub = EventHub()
    server = FrameServer("127.0.0.1", 0, page=PAGE, routes={"/events": hub.serve})

    def read():
        try:
            with urllib.request.urlopen(server.url + "events", timeout=30) as resp:
                for raw in resp:
                    if raw.startswith(b"data: "):
                        receipts[int(json.loads(raw[6:])["time"])] = time.perf_counter()
        except OSError:
            pass
    threading.Thread(target=read, daemon=True).start()
    ms = measure_latency(hub, receipts, n, gap)
    server.close()
    return ms


def loop_cost(frames, runs, port, rate=1000.0):
    """Per-frame seconds of the real pipeline loop: without sinks, and with the MQTT sink
    (broker up, broker down) at ``rate`` events a second; plus the hook's own time."""
    import cv2
    from pipan import pipeline as P
    from pipan.sinks.mqtt import MqttSink, MqttTarget
    from pipan.video import VideoFileSource
    with VideoFileSource(DEMO) as src:
        images = [f.image for _, f in zip(range(frames), src)]
        fps = src.info.fps
    cv2.setNumThreads(1)
    pose = P.load_pose("pipan", None, 1)
    action = P.load_action(None, 1, P.action_decay(fps))
    from pipan.video import ArraySource

    def run(make_bus):
        """One pass: per-frame wall, loop CPU and hook CPU seconds; the other threads'
        CPU seconds; the events and their rate per second of the loop's CPU time."""
        pipe = P.Pipeline(pose, action)
        maker = EventMaker("bench")
        bus = make_bus()
        hook, n_events, owed = 0.0, 0, 0.0
        cpu_loop0, cpu_all0 = time.thread_time(), time.process_time()
        t_start = time.perf_counter()
        c_prev = cpu_loop0
        for frame in ArraySource(iter(images), fps=fps):
            result = pipe.process(frame)
            # the events this frame calls for: ``rate`` a second of the loop's own CPU
            # time (on this shared machine its wall time is mostly waiting for a core)
            now = time.thread_time()
            owed += rate * (now - c_prev)
            c_prev = now
            # the hook, as the CLI's: this frame's events (here: the segments owed) made
            # and handed to the sinks at once
            k = int(owed) if bus is not None else 0  # the reference: no events at all
            closed = [closing(n_events + j) for j in range(k)]  # (the pipeline's, normally)
            c0 = time.thread_time()
            events = maker.segments(result.time, closed)
            if bus is not None:
                bus.publish_all(events)
            n_events += k
            owed -= k
            hook += time.thread_time() - c0
            c_prev = time.thread_time()  # the hook's time calls for no events
        wall = time.perf_counter() - t_start
        if bus is not None:
            bus.close(1.0)  # what the sinks still had to do counts too
        cpu_loop = time.thread_time() - cpu_loop0
        cpu_others = time.process_time() - cpu_all0 - cpu_loop
        pipe.finish()
        n = len(images)
        return dict(wall=wall / n, loop_cpu=cpu_loop / n, hook_cpu=hook / n,
                    others_cpu=cpu_others, events=n_events,
                    rate=n_events / max(cpu_loop - hook, 1e-9))

    down_port = free_port()
    setups = {"no sinks": lambda: None}
    if port is not None:
        setups["mqtt, broker up"] = lambda: Dispatcher(
            [MqttSink(MqttTarget("127.0.0.1", port, "bench"))])
        setups["mqtt, broker down"] = lambda: Dispatcher(
            [MqttSink(MqttTarget("127.0.0.1", down_port, "bench"))])
    setups["page (SSE hub)"] = lambda: Dispatcher([EventHub()])
    run(lambda: None)  # warm up
    results = {k: [] for k in setups}
    for _ in range(runs):
        for name, make in setups.items():  # alternating, so drifts hit all alike
            results[name].append(run(make))
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=300, help="events per latency run")
    ap.add_argument("--gap", type=float, default=0.02,
                    help="seconds between the latency runs' events (a webhook opens a "
                         "connection per event: far faster, it measures its queue)")
    ap.add_argument("--frames", type=int, default=100, help="frames per loop pass")
    ap.add_argument("--latency-only", action="store_true", help="skip the frame loop part")
    ap.add_argument("--runs", type=int, default=5, help="loop passes per setup")
    args = ap.parse_args()
    import logging
    logging.getLogger("pipan").setLevel(logging.ERROR)  # the broker-down run's warnings
    with tempfile.TemporaryDirectory() as tmp:
        broker, port = start_mosquitto(Path(tmp))
        try:
            print(f"latency from a segment closing to its receipt on loopback "
                  f"({args.events} events, {1000 * args.gap:g} ms apart):")
            rows = [("webhook", latency_webhook), ("page /events", latency_sse)]
            if port is not None:
                rows.insert(0, ("mqtt (mosquitto)", lambda n, g: latency_mqtt(port, n, g)))
            else:
                print("  mqtt: skipped (mosquitto is not installed)")
            for name, fn in rows:
                ms = fn(args.events, args.gap)
                med, p99 = percentiles(ms)
                print(f"  {name:18s} median {med:6.2f} ms  p99 {p99:6.2f} ms  "
                      f"({len(ms)}/{args.events} received)")
            if args.latency_only:
                return
            print(f"frame loop with 1,000 events/s ({args.runs} passes of {args.frames} "
                  f"demo frames, bundled models, 1 thread; medians):")
            res = loop_cost(args.frames, args.runs, port)

            def med(name, key):
                return statistics.median(r[key] for r in res[name])
            base_wall, base_cpu = med("no sinks", "wall"), med("no sinks", "loop_cpu")
            base_others = med("no sinks", "others_cpu")
            for name, rs in res.items():
                wall, cpu, hook = med(name, "wall"), med(name, "loop_cpu"), med(name, "hook_cpu")
                spread = (max(r["wall"] for r in rs) - min(r["wall"] for r in rs)) / base_wall
                line = (f"  {name:18s} wall {1000 * wall:7.2f} ms/frame "
                        f"({100 * (wall / base_wall - 1):+5.1f}%, runs spread "
                        f"{100 * spread:4.1f}%); loop thread CPU {1000 * cpu:7.2f} ms/frame "
                        f"({100 * (cpu / base_cpu - 1):+5.1f}%)")
                if name != "no sinks":
                    events = med(name, "events")
                    others = (med(name, "others_cpu") - base_others) / max(events, 1)
                    line += (f"; hook {1000 * hook:.3f} ms/frame = "
                             f"{100 * hook / cpu:.2f}% of the loop's CPU; sink threads "
                             f"{1e6 * others:.0f} us CPU per event; "
                             f"{med(name, 'rate'):.0f} events per loop CPU second")
                print(line)
        finally:
            if broker is not None:
                broker.kill()
                broker.wait()


if __name__ == "__main__":
    run_benchmark(main)
