"""Signals that end a run: SIGTERM and SIGHUP are handled as Ctrl-C is (command line).

A scheduler's time limit and ``timeout`` send SIGTERM, a closed terminal sends
SIGHUP.  Inside :func:`signals_as_interrupts` each raises :class:`Terminated`, a
``KeyboardInterrupt``, so that ``train`` saves its checkpoint and says where,
and atomic writes remove their temporary files.  The exit status is 128 plus
the signal's number, as a shell reports a process the signal ended.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

ENDING_SIGNALS: tuple[str, ...] = ("SIGTERM", "SIGHUP")
"""The signals handled as Ctrl-C, by name (SIGHUP does not exist on Windows)."""


class Terminated(KeyboardInterrupt):
    """The run was ended by a signal other than Ctrl-C's SIGINT."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _signals() -> list[signal.Signals]:
    return [getattr(signal, name) for name in ENDING_SIGNALS if hasattr(signal, name)]


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Terminated` inside; the old handlers come back after.

    Only the main thread may set handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[signal.Signals, Any] = {}
    try:
        for sig in _signals():
            previous[sig] = signal.signal(sig, _raise)
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def signals_held(deliver: bool = True) -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP inside, so that a checkpoint is not cut short.

    With ``deliver`` a signal that came meanwhile is raised again on the way out
    (a periodic checkpoint, the run goes on); without it, it is dropped (the
    run is ending and saving its checkpoint already).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    previous: dict[signal.Signals, Any] = {}
    try:
        for sig in [signal.SIGINT, *_signals()]:
            previous[sig] = signal.signal(sig, lambda signum, frame: came.append(signum))
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if came and deliver:
        signal.raise_signal(came[0])


def exit_status(exc: KeyboardInterrupt) -> int:
    """128 plus the signal's number: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    return 128 + (exc.signum if isinstance(exc, Terminated) else int(signal.SIGINT))


def interrupted_by(exc: KeyboardInterrupt) -> str:
    """How the user would name what ended the run: ``interrupted`` or ``ended by SIGTERM``."""
    return (
        f"ended by {signal.Signals(exc.signum).name}"
        if isinstance(exc, Terminated)
        else ("interrupted")
    )
