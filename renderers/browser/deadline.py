"""A deadline for one call at a time: `expire` runs (on a watchdog thread) when the call
outlives it.

A browser makes about three guarded calls a page; a `threading.Timer` each (a new thread
started and cancelled per call) cost about 2 ms of a markdown page's CPU. Here one watchdog
thread serves every call of its owner, and leaves after a minute with nothing to watch
(the next call starts another). It does not know what it guards or how to stop it: the
owner's `expire` does that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

IDLE_EXIT_S = 60.0


class Deadline:
    """`with deadline.armed(seconds, expire): call()`; calls must not overlap."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        # the call being watched: (its monotonic deadline, what to run when it passes)
        self._job: tuple[float, Callable[[], None]] | None = None
        self._thread: threading.Thread | None = None

    @contextmanager
    def armed(self, seconds: float, expire: Callable[[], None]) -> Iterator[None]:
        with self._cond:
            if self._job is not None:
                raise RuntimeError("a Deadline watches one call at a time")
            self._job = (time.monotonic() + seconds, expire)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="ocr2synth-deadline",
                                                daemon=True)
                self._thread.start()
            else:
                self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                self._job = None  # the watchdog sees it at its next wake-up

    def _watch(self) -> None:
        while True:
            with self._cond:
                idle_since = time.monotonic()
                while True:
                    job = self._job
                    now = time.monotonic()
                    if job is None:
                        if now - idle_since >= IDLE_EXIT_S:
                            self._thread = None
                            return
                        self._cond.wait(IDLE_EXIT_S - (now - idle_since))
                        continue
                    idle_since = now
                    due, expire = job
                    if now >= due:
                        self._job = None  # fired once; the call's own exit finds it gone
                        break
                    self._cond.wait(due - now)
            expire()  # outside the lock: it may take a while (killing a process tree)
