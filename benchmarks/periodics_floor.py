"""What the periodics benchmarks run: the floor scheduler, and a calendar schedule to hold.

:class:`MinimalScheduler` is the least a Python scheduler of callbacks at one spacing can do
(the design of the issue's ``../shared/floors/periodics_floor.py``); :func:`nightly` is a
calendar callback the measured worker holds beside its spacing callbacks, never due while
measured.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable

from futurist import periodics

__all__ = ["MinimalScheduler", "nightly"]


class MinimalScheduler:
    """The floor: one heap of (next_run, index), one condition held across the whole loop.

    The condition is released only while waiting; callbacks are called inline, under it. That
    is the least a Python scheduler of callbacks at one spacing can do (it gives up what the
    worker keeps: add, stop and pformat from other threads while a callback runs).
    """

    def __init__(
        self,
        callbacks: list[Callable[[], None]],
        spacing: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        cond: threading.Condition | None = None,
    ) -> None:
        self._callbacks = callbacks
        self._spacing = spacing
        self._clock = clock
        self._cond = threading.Condition() if cond is None else cond
        self._stopped = False

    def start(self) -> None:
        """Run until stop(): fixed rate, next run one spacing after the last start."""
        spacing, callbacks, clock = self._spacing, self._callbacks, self._clock
        now = clock()
        heap = [(now + spacing, index) for index in range(len(callbacks))]
        heapq.heapify(heap)
        with self._cond:
            while not self._stopped:
                next_run, index = heap[0]
                now = clock()
                if next_run <= now:
                    heapq.heappop(heap)
                    started = clock()
                    callbacks[index]()
                    heapq.heappush(heap, (started + spacing, index))
                else:
                    self._cond.wait(next_run - now)

    def stop(self) -> None:
        """Make start() return."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()


@periodics.periodic(cron="0 3 * * *", timezone="UTC")
def nightly() -> None:
    """A calendar schedule in the same worker: never due while measured, but watched."""
