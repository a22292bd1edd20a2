"""Termination signals handled as Ctrl-C is: SIGTERM (``kill``, systemd stop) and SIGHUP
(the terminal closed) raise :class:`Terminated` in the main thread, so the same cleanup
runs (temp files removed, existing outputs left as they were) and the process exits
128 + the signal number, as it would had the signal killed it."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

TERMINATING = tuple(s for s in (getattr(signal, "SIGTERM", None),
                                getattr(signal, "SIGHUP", None)) if s is not None)


class Terminated(KeyboardInterrupt):
    """A termination signal arrived; ``signum`` says which. A KeyboardInterrupt, so code
    that cleans up after Ctrl-C cleans up after it too."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise(signum, _frame) -> None:
    raise Terminated(signum)


@contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise Terminated (main thread only; elsewhere
    signal handlers cannot be set and the block runs unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, _raise) for s in TERMINATING}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
