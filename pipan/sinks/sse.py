"""The live page's events: a Server-Sent Events hub (``/events``) and the page that draws
each person's timeline from it beside the annotated stream.

The hub keeps the latest events, so a page opened (or reconnected, with the standard
``Last-Event-ID``) late still draws what happened before it; then it streams new events as
they come, with a comment line every ``keepalive`` seconds so dead viewers are noticed.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Deque, Tuple

from ..events import Event
from . import Sink

#: Events kept for pages that open late.
HISTORY = 500


class EventHub(Sink):
    """A sink whose events the live page reads from ``/events`` (``serve`` is the route)."""

    name = "page"

    def __init__(self, history: int = HISTORY, keepalive: float = 15.0):
        self._events: Deque[Tuple[int, bytes]] = deque(maxlen=history)
        self._seq = 0
        self._cond = threading.Condition()
        self._closed = False
        self.keepalive = float(keepalive)
        self.viewers = 0

    def send(self, event: Event, halt: threading.Event) -> bool:
        with self._cond:
            self._seq += 1
            self._events.append(
                (self._seq, f"id: {self._seq}\ndata: {event.to_json()}\n\n".encode()))
            self._cond.notify_all()
        return True

    def close(self, timeout: float) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _after(self, seq: int):
        return [m for s, m in self._events if s > seq]

    def serve(self, handler) -> None:
        """Stream events to one viewer (an http.server request handler) until it goes
        away or the hub closes."""
        try:
            last = int(handler.headers.get("Last-Event-ID") or 0)
        except ValueError:
            last = 0
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
        handler.send_header("Cache-Control", "no-store")
        handler.end_headers()
        with self._cond:
            self.viewers += 1
            if last > self._seq:  # a page from an earlier run of pipan: start afresh
                last = 0
        try:
            handler.wfile.write(b"retry: 2000\n\n")
            handler.wfile.flush()
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._closed or self._seq > last,
                                        timeout=self.keepalive)
                    if self._closed:
                        return
                    batch = self._after(last)
                    last = self._seq
                handler.wfile.write(b"".join(batch) or b": keepalive\n\n")
                handler.wfile.flush()
        except OSError:  # the viewer went away or stopped reading (the server's timeout)
            return
        finally:
            with self._cond:
                self.viewers -= 1


PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>pipan live</title>
<style>
body{background:#111;color:#ddd;font-family:sans-serif;margin:0 auto;max-width:980px;padding:8px}
h3{margin:4px 0}#stream{max-width:100%;display:block;margin:0 auto}
#status{color:#9a9;font-size:13px;margin:4px 0}
#timeline{position:relative;margin-top:8px}
.row{display:flex;align-items:center;height:26px;border-top:1px solid #333}
.pid{width:90px;flex:none;font-size:13px}
.track{position:relative;flex:1;height:22px;background:#1b1b1b;overflow:hidden}
.bar{position:absolute;top:1px;height:20px;border-radius:3px;font-size:12px;line-height:20px;
 color:#111;white-space:nowrap;overflow:hidden;padding-left:3px;box-sizing:border-box}
.bar.open{border-right:3px solid #fff}.bar.alert{outline:2px solid #f33}
.axis{display:flex;justify-content:space-between;margin-left:90px;font-size:11px;color:#888}
#log{font-size:12px;color:#aaa;margin-top:8px;max-height:160px;overflow:auto}
#log .alert{color:#f66}
</style></head><body>
<h3>pipan live</h3>
<img id="stream" src="/stream.mjpg" alt="annotated stream">
<div id="status">waiting for events</div>
<div id="timeline"></div>
<div class="axis"><span id="t0"></span><span>seconds from the start</span><span id="t1"></span></div>
<div id="log"></div>
<script>
"use strict";
var WINDOW = 60, people = {}, clock = null, colors = {};
function color(label) {
  if (!colors[label]) {
    var h = 0;
    for (var i = 0; i < label.length; i++) h = (h * 31 + label.charCodeAt(i)) % 360;
    colors[label] = "hsl(" + h + ",65%,60%)";
  }
  return colors[label];
}
function now() {
  return clock ? clock.t + (performance.now() - clock.at) / 1000 : 0;
}
function note(ev) {
  var line = document.createElement("div");
  if (ev.alert) line.className = "alert";
  line.textContent = ev.time.toFixed(1) + " s  person " + ev.person + " " +
      (ev.type == "segment_start" ? "started " : "ended ") + ev.label +
      (ev.alert ? "  (alert)" : "");
  var log = document.getElementById("log");
  log.insertBefore(line, log.firstChild);
  while (log.childNodes.length > 50) log.removeChild(log.lastChild);
}
function onEvent(ev) {
  if (!clock || ev.time >= clock.t) clock = {t: ev.time, at: performance.now()};
  if (ev.type == "status") {
    document.getElementById("status").textContent = ev.fps.toFixed(1) + " FPS, " +
        ev.people + " people, up " + Math.round(ev.uptime) + " s" +
        (ev.dropped ? ", " + ev.dropped + " events dropped" : "");
    return;
  }
  var p = people[ev.person] = people[ev.person] || [];
  var seg = null;
  for (var i = p.length - 1; i >= 0; i--)
    if (p[i].start == ev.start && p[i].label == ev.label) { seg = p[i]; break; }
  if (!seg) { seg = {label: ev.label, start: ev.start, end: null}; p.push(seg); }
  if (ev.type == "segment_end") seg.end = ev.end;
  seg.alert = ev.alert;
  while (p.length > 100) p.shift();
  note(ev);
  draw();
}
function draw() {
  // the last minute; the first seconds spread over the width until a minute has passed
  var tn = now(), span = Math.min(WINDOW, Math.max(tn, 10)), t1 = Math.max(tn, span),
      t0 = t1 - span, box = document.getElementById("timeline");
  document.getElementById("t0").textContent = t0.toFixed(0);
  document.getElementById("t1").textContent = t1.toFixed(0);
  var ids = Object.keys(people).map(Number).sort(function (a, b) { return a - b; });
  box.textContent = "";
  ids.forEach(function (id) {
    var row = document.createElement("div"), name = document.createElement("div"),
        track = document.createElement("div");
    row.className = "row"; row.setAttribute("data-person", id);
    name.className = "pid"; name.textContent = "person " + id;
    track.className = "track";
    people[id].forEach(function (s) {
      var end = s.end === null ? Math.max(tn, s.start) : s.end;
      if (end < t0) return;
      var bar = document.createElement("div"), a = Math.max(s.start, t0);
      bar.className = "bar" + (s.end === null ? " open" : "") + (s.alert ? " alert" : "");
      bar.setAttribute("data-label", s.label);
      bar.style.left = (100 * (a - t0) / span) + "%";
      bar.style.width = Math.max(0.3, 100 * (end - a) / span) + "%";
      bar.style.background = color(s.label);
      bar.title = s.label + " " + s.start.toFixed(1) + "-" +
          (s.end === null ? "now" : s.end.toFixed(1)) + " s";
      bar.textContent = s.label;
      track.appendChild(bar);
    });
    row.appendChild(name); row.appendChild(track); box.appendChild(row);
  });
}
var source = new EventSource("/events");
source.onmessage = function (m) { onEvent(JSON.parse(m.data)); };
source.onopen = function () {
  document.getElementById("status").textContent = "connected; waiting for events";
};
source.onerror = function () {
  document.getElementById("status").textContent = "event stream lost; reconnecting";
};
setInterval(draw, 500);
</script></body></html>"""
