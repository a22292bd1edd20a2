"""Where pipan's messages go in a command: warnings (a damaged video, a camera retrying)
as ``Warning: ...`` on stderr; with a log file, everything (segments, status, warnings)
appended with timestamps, for unattended runs."""
from __future__ import annotations

import logging
import os
import sys
import tempfile
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

import click

LOGGER = "pipan"


class _Echo(logging.Handler):
    """``Level: message`` on stderr; click.echo resolves stderr at emit time, so click's
    test runner captures it."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"{record.levelname.capitalize()}: {record.getMessage()}", err=True)


class _LogFile(logging.FileHandler):
    """A log file whose write errors (a full disk) end the command with a one-line
    PipanError instead of logging's printed traceback."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        from .errors import PipanError
        err = sys.exc_info()[1]
        why = getattr(err, "strerror", None) or err
        raise PipanError(f"{self.baseFilename}: cannot write the log ({why})") from None


def route_logging(log_file: Optional[str] = None) -> Callable[[], None]:
    """Route the ``pipan`` logger for one command; returns the function that undoes it.
    Raises OSError when ``log_file`` cannot be opened for appending."""
    log = logging.getLogger(LOGGER)
    handlers: list = [_Echo(logging.WARNING)]
    if log_file:
        fh = _LogFile(log_file, mode="a", encoding="utf-8")
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        fh.setLevel(logging.INFO)
        handlers.append(fh)
    old_level, old_propagate = log.level, log.propagate
    log.setLevel(logging.INFO)
    log.propagate = False
    for h in handlers:
        log.addHandler(h)

    def undo() -> None:
        for h in handlers:
            log.removeHandler(h)
            try:
                h.close()
            except OSError:  # a log file that failed to write has said so already
                pass
        log.setLevel(old_level)
        log.propagate = old_propagate

    return undo


# --- native libraries' own output ---------------------------------------------------------
# LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." from C++ straight
# to file descriptor 2 (no environment variable of ai-edge-litert silences it), and OpenCV
# prints "[ WARN:0@0.2] global cap_v4l.cpp ..." lines before pipan's own message. Both are
# hidden unless the user asks for them (``pipan --verbose`` or PIPAN_VERBOSE=1).

_verbose = False


def verbose() -> bool:
    """Whether native libraries may write to the terminal."""
    return _verbose or os.environ.get("PIPAN_VERBOSE", "") not in ("", "0")


def set_verbose(on: bool) -> None:
    """Show (True) or hide native libraries' messages for the rest of the process. Hiding
    sets OpenCV's log level (OPENCV_LOG_LEVEL, read when cv2 is imported, and
    cv2.setLogLevel if it already is); a user's own OPENCV_LOG_LEVEL wins."""
    global _verbose
    _verbose = bool(on)
    if verbose():
        return
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
    if "cv2" in sys.modules and os.environ["OPENCV_LOG_LEVEL"] == "SILENT":
        try:
            sys.modules["cv2"].setLogLevel(0)
        except AttributeError:  # pragma: no cover - an OpenCV without setLogLevel
            pass


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Redirect file descriptor 2 (what C/C++ code writes to) to a temp file for the
    block, unless verbose; what was written there is dropped (logged at debug level).
    Python's own sys.stderr is flushed first so nothing of pipan's is lost or reordered."""
    if verbose():
        yield
        return
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all (a daemon): nothing to protect
        yield
        return
    with tempfile.TemporaryFile("w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read(4096).decode("utf-8", "replace").strip()
            if text:
                logging.getLogger(LOGGER).debug("native output: %s", text)
