"""Where pipan's messages go in a command: warnings (a damaged video, a camera retrying)
as ``Warning: ...`` on stderr; with a log file, everything (segments, status, warnings)
appended with timestamps, for unattended runs."""
from __future__ import annotations

import logging
from typing import Callable, Optional

import click

LOGGER = "pipan"


class _Echo(logging.Handler):
    """``Level: message`` on stderr; click.echo resolves stderr at emit time, so click's
    test runner captures it."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"{record.levelname.capitalize()}: {record.getMessage()}", err=True)


def route_logging(log_file: Optional[str] = None) -> Callable[[], None]:
    """Route the ``pipan`` logger for one command; returns the function that undoes it.
    Raises OSError when ``log_file`` cannot be opened for appending."""
    log = logging.getLogger(LOGGER)
    handlers: list = [_Echo(logging.WARNING)]
    if log_file:
        fh = logging.FileHandler(log_file, mode="a", encoding="utf-8")
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
            h.close()
        log.setLevel(old_level)
        log.propagate = old_propagate

    return undo
