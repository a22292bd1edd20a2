"""Webhooks: each event POSTed as JSON to a URL (standard library only).

A request that fails (no connection, a timeout, a 5xx or 429 answer) is retried with a
doubling backoff; after the last try the event is given up and counted. Other 4xx answers
mean the hook refuses the event: it is not retried. A hook that stays down costs one
warning, and another when it answers again.
"""
from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.parse
import urllib.request

from .. import __version__
from ..events import Event
from . import Sink

log = logging.getLogger("pipan")


def check_webhook_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host; else ValueError saying why."""
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL")
    return url


class WebhookSink(Sink):
    """POST every event to ``url``. ``timeout``: seconds per request; ``retries``: tries
    after the first; ``backoff``: seconds before the first retry, doubling after."""

    def __init__(self, url: str, timeout: float = 5.0, retries: int = 3,
                 backoff: float = 0.5):
        self.url = check_webhook_url(url)
        self.name = f"webhook {urllib.parse.urlsplit(url).netloc}"
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.delivered = 0
        self._down = False
        self._refused_logged = False

    def send(self, event: Event, halt: threading.Event) -> bool:
        body = event.to_json().encode()
        delay = self.backoff
        error = "not tried"
        for attempt in range(self.retries + 1):
            if attempt:
                if halt.wait(delay):
                    break
                delay *= 2
            error = self._post(body)
            if error is None:
                self.delivered += 1
                if self._down:
                    self._down = False
                    log.warning("%s: delivering again", self.name)
                return True
            if error.startswith("refused"):  # a 4xx answer: the hook is up, but will not
                if not self._refused_logged:  # take this event; said once
                    self._refused_logged = True
                    log.warning("%s: %s (the event is dropped)", self.name, error)
                return False
        if not self._down and not halt.is_set():
            self._down = True
            log.warning("%s: %s after %d tries; still trying each event, with backoff",
                        self.name, error, self.retries + 1)
        return False

    def _post(self, body: bytes):
        """None on a 2xx answer, else a short reason ("refused ..." for a 4xx)."""
        req = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": f"pipan/{__version__}"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                resp.read(1 << 16)
            return None
        except urllib.error.HTTPError as e:
            if 400 <= e.code < 500 and e.code not in (408, 429):
                return f"refused with HTTP {e.code}"
            return f"HTTP {e.code}"
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            return f"unreachable ({reason})"
