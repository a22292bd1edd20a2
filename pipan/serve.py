"""The annotated stream over HTTP as MJPEG, with the standard library's http.server.

``/`` is a small page showing the stream, ``/stream.mjpg`` the multipart MJPEG stream,
``/frame.jpg`` the latest frame as one JPEG; ``routes`` adds paths (the live page's
``/events``, pipan.sinks.sse). Frames are JPEG-encoded in the HTTP threads,
only when someone is watching, so serving costs the pipeline nothing otherwise.
"""
from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, Optional, Tuple

import cv2
import numpy as np

from .errors import PipanError

log = logging.getLogger("pipan")

PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>pipan live</title>
<style>body{background:#111;color:#ddd;font-family:sans-serif;text-align:center}
img{max-width:100%}</style></head><body><h3>pipan live</h3>
<img src="/stream.mjpg" alt="annotated stream"></body></html>"""
BOUNDARY = "pipanframe"
#: Viewers served at once; more connections get "503 busy" and are closed at once, so a
#: flood of connections costs a thread each only up to this many.
MAX_CLIENTS = 8
#: Seconds a client may stay silent (no request sent) or stop reading the stream before
#: its connection is closed.
IDLE_TIMEOUT_S = 10.0
_BUSY_BODY = b"too many viewers; try later\n"
BUSY = (b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(_BUSY_BODY)) + _BUSY_BODY


class _CappedServer(ThreadingHTTPServer):
    """A threading HTTP server that serves at most ``max_clients`` connections at once
    (one thread each); the others are answered 503 and closed without a thread."""

    daemon_threads = True
    request_queue_size = 64  # a burst of connections waits to be answered, not refused

    def __init__(self, address, handler, max_clients: int):
        self._slots = threading.BoundedSemaphore(max_clients)
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            try:
                request.settimeout(1.0)
                request.sendall(BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def parse_address(text: str) -> Tuple[str, int]:
    """``PORT`` or ``HOST:PORT`` -> (host, port); the host defaults to 127.0.0.1 (this
    machine only: serving to the network must be asked for, e.g. ``0.0.0.0:8080``)."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not PORT or HOST:PORT")
    return host, int(port)


class FrameServer:
    """Serves the latest published frame. ``publish(image_bgr)`` from the pipeline thread;
    ``watching`` says whether anyone has asked for frames in the last few seconds.
    At most ``max_clients`` connections are served at once; a client silent (or not
    reading) for ``idle_timeout`` seconds is disconnected."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, quality: int = 80,
                 max_clients: int = MAX_CLIENTS, idle_timeout: float = IDLE_TIMEOUT_S,
                 page: bytes = PAGE,
                 routes: Optional[Dict[str, Callable[[BaseHTTPRequestHandler], None]]] = None):
        self.quality = int(quality)
        self.max_clients = int(max_clients)
        self.page = page
        self.routes = dict(routes or {})
        self._cond = threading.Condition()
        self._image: Optional[np.ndarray] = None
        self._seq = 0
        self._closed = False
        self._last_request = 0.0
        self._streams = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = idle_timeout  # on every read and write of the connection

            def log_message(self, fmt, *args):  # access log to debug, not stderr
                log.debug("serve: " + fmt, *args)

            def do_GET(self):
                path = self.path.split("?")[0]
                if path in ("/", "/index.html"):
                    self._send(200, "text/html; charset=utf-8", server.page)
                elif path == "/frame.jpg":
                    jpeg = server._next_jpeg(-1, timeout=10.0)[1]
                    if jpeg is None:
                        self._send(503, "text/plain", b"no frame yet\n")
                    else:
                        self._send(200, "image/jpeg", jpeg)
                elif path == "/stream.mjpg":
                    self._stream()
                elif path in server.routes:
                    server.routes[path](self)
                else:
                    self._send(404, "text/plain", b"not found\n")

            def _send(self, code: int, ctype: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def _stream(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type",
                                 f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                seq = -1
                with server._cond:
                    server._streams += 1
                try:
                    while True:
                        seq, jpeg = server._next_jpeg(seq, timeout=1.0)
                        if server._closed:
                            return
                        if jpeg is None:
                            continue
                        self.wfile.write(
                            f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                            f"Content-Length: {len(jpeg)}\r\n\r\n".encode())
                        self.wfile.write(jpeg)
                        self.wfile.write(b"\r\n")
                except OSError:  # the viewer went away or stopped reading (timeout)
                    return
                finally:
                    with server._cond:
                        server._streams -= 1

        try:
            self.httpd = _CappedServer((host, port), Handler, self.max_clients)
        except OSError as e:
            raise PipanError(f"cannot serve on {host}:{port} ({e.strerror or e})") from None
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="pipan-serve",
                                        daemon=True)
        self._thread.start()

    @property
    def address(self) -> Tuple[str, int]:
        host, port = self.httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}/"

    @property
    def watching(self) -> bool:
        return self._streams > 0 or time.monotonic() - self._last_request < 3.0

    def publish(self, image_bgr: np.ndarray) -> None:
        """Make ``image_bgr`` the latest frame (kept by reference: pass a frame you will
        not draw on again)."""
        with self._cond:
            self._image = image_bgr
            self._seq += 1
            self._cond.notify_all()

    def _next_jpeg(self, after: int, timeout: float) -> Tuple[int, Optional[bytes]]:
        """Wait for a frame newer than sequence number ``after``; (seq, JPEG) or (.., None)."""
        self._last_request = time.monotonic()
        with self._cond:
            self._cond.wait_for(lambda: self._seq > after and self._image is not None
                                or self._closed, timeout=timeout)
            if self._closed or self._image is None or self._seq <= after:
                return after, None
            seq, image = self._seq, self._image
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        return seq, (buf.tobytes() if ok else None)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
