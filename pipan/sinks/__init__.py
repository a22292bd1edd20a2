"""Where events go, off the frame loop: each sink (MQTT, webhook, the live page) runs on its
own thread behind a bounded queue, so a slow or unreachable one never slows the frames.

The loop only appends to the queues (``Dispatcher.publish``). A sink that cannot keep up,
or whose broker or hook is down, lets its queue fill; then the oldest waiting events are
dropped (the newest matter most to whoever is told) and counted, as are events a sink
gives up on. ``close(timeout)`` delivers what it can within ``timeout`` seconds and counts
the rest as dropped.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Deque, Dict, List, Sequence

from ..events import Event

log = logging.getLogger("pipan")

#: Events a sink may have waiting before the oldest are dropped.
QUEUE_SIZE = 1000


class Sink:
    """A destination of events. ``send`` runs on the sink's own thread and may block
    (retries, a broker that is down); it should give up soon after ``halt`` is set."""

    name = "sink"

    def start(self) -> None:
        """Begin (e.g. connect in the background); must not block."""

    def send(self, event: Event, halt: threading.Event) -> bool:
        """Deliver ``event``; False when it was given up (counted as dropped)."""
        raise NotImplementedError

    def close(self, timeout: float) -> None:
        """Finish within ``timeout`` seconds (events already handed to ``send`` included)."""


class _Worker:
    """One sink's queue and thread. The loop wakes the thread only when it is idle, and
    the thread takes whatever is waiting at once: waking a thread hands it the
    interpreter lock, so a wake per event would cost the loop more than the event."""

    def __init__(self, sink: Sink, queue_size: int, halt: threading.Event):
        self.sink = sink
        self.size = int(queue_size)
        self.queue: Deque[Event] = deque()
        self.cond = threading.Condition()
        self.idle = False
        self.closing = False
        self.dropped = 0
        self._full_logged = False
        self.halt = halt
        self.thread = threading.Thread(target=self._run, name=f"pipan-{sink.name}",
                                       daemon=True)

    def put(self, events: Sequence[Event]) -> None:
        with self.cond:
            q = self.queue
            q.extend(events)
            if len(q) > self.size:
                over = len(q) - self.size
                for _ in range(over):
                    q.popleft()
                self.dropped += over
                if not self._full_logged:
                    self._full_logged = True
                    log.warning("%s: %d events waiting; dropping the oldest from now on",
                                self.sink.name, self.size)
            if self.idle:
                self.idle = False
                self.cond.notify()

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self.queue and not self.closing:
                    self.idle = True
                    self.cond.wait()
                self.idle = False
                if not self.queue or self.halt.is_set():
                    return
                batch = list(self.queue)
                self.queue.clear()
            for i, event in enumerate(batch):
                if self.halt.is_set():
                    with self.cond:
                        self.dropped += len(batch) - i
                    return
                try:
                    delivered = self.sink.send(event, self.halt)
                except Exception as e:  # a sink's bug must not end the others' delivery
                    log.warning("%s: %s", self.sink.name, e)
                    delivered = False
                if not delivered:
                    with self.cond:
                        self.dropped += 1


class Dispatcher:
    """Hands each published event to every sink's queue."""

    def __init__(self, sinks: Sequence[Sink], queue_size: int = QUEUE_SIZE):
        self.halt = threading.Event()
        self._workers: List[_Worker] = [_Worker(s, queue_size, self.halt) for s in sinks]
        self._closed = False
        for w in self._workers:
            w.sink.start()
            w.thread.start()

    def publish(self, event: Event) -> None:
        """Queue ``event`` for every sink; never blocks."""
        self.publish_all((event,))

    def publish_all(self, events: Sequence[Event]) -> None:
        """Queue ``events`` (e.g. a frame's) for every sink, in order; never blocks."""
        if events:
            for w in self._workers:
                w.put(events)

    @property
    def dropped(self) -> Dict[str, int]:
        """Events dropped so far, per sink name."""
        return {w.sink.name: w.dropped for w in self._workers}

    def close(self, timeout: float = 1.0) -> Dict[str, int]:
        """Deliver what can be delivered within ``timeout`` seconds, then close the sinks.
        Returns the events dropped per sink, undelivered ones included."""
        if self._closed:
            return self.dropped
        self._closed = True
        deadline = time.monotonic() + timeout
        drain_until = deadline - min(0.3, timeout / 3)  # keep time to close the sinks
        for w in self._workers:
            with w.cond:
                w.closing = True
                w.cond.notify()
        for w in self._workers:
            w.thread.join(max(0.0, drain_until - time.monotonic()))
        self.halt.set()  # whatever is still waiting or retrying gives up now
        for w in self._workers:
            with w.cond:
                w.dropped += len(w.queue)
                w.queue.clear()
                w.cond.notify()
        for w in self._workers:  # a sink's wait sees the halt within a tenth of a second
            w.thread.join(max(0.0, min(0.15, deadline - time.monotonic() - 0.05)))
        for w in self._workers:
            try:
                w.sink.close(max(0.05, deadline - time.monotonic()))
            except Exception as e:
                log.warning("%s: %s", w.sink.name, e)
        for w in self._workers:
            if w.dropped:
                log.warning("%s: %d events dropped", w.sink.name, w.dropped)
        return self.dropped
