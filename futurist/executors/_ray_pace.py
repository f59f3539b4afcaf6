"""How fast a Ray cluster ends the executor's calls, and what the collector makes of it.

The collector measures two things over its last rounds. From the calls ended per second it
takes how many of the oldest calls to fetch in order at once (about ``FETCH`` seconds'
worth) and how long to wait for them. From how long a call runs on a Ray worker it takes,
when ``max_workers`` was left unset, how many calls to keep on the cluster: about
``WINDOW_SECONDS`` of the cluster's work, never fewer than the kind's default, never more
than ``most``.
"""

from __future__ import annotations

import math

__all__ = ["FETCH", "POLL", "WINDOW_SECONDS", "Pace"]

POLL = 0.01
"""Seconds the collector waits on the calls it knows before it looks again (for calls that
ended out of order, newly sent ones, a session that ended)."""
FETCH = 0.04
"""Seconds' worth of calls one in-order fetch takes while calls end fast: a round has a fixed
cost (about 170 µs of this process's CPU), and results then come in batches this long."""
WINDOW_SECONDS = 1.0
"""Seconds of the cluster's work an adaptive window holds: a call queued behind it waits about
that long on the cluster, where priorities and ``check_and_reject`` no longer apply."""
_KEEP = 0.9
"""Share of what was counted so far that each new count keeps: figures over about the last
few dozen rounds (or batches of calls), so one slow round moves them little."""


class Pace:
    """Calls ended per second and the mean time a call runs, over the last rounds.

    ``least`` is the window to keep until the calls' runtime says more, ``most`` the largest
    window, ``slots`` how many calls the cluster runs at once; a window whose ``most`` is
    ``least`` does not move.
    """

    def __init__(self, least: int, most: int, slots: int) -> None:
        self.least = least
        self.most = max(least, most)
        self.slots = slots
        self.per_second = 0.0
        self._ended = 0.0
        self._seconds = 0.0
        self._runs = 0.0
        self._runtime = 0.0

    @property
    def adapts(self) -> bool:
        """Whether the window follows the calls' runtime."""
        return self.most > self.least

    def ended(self, count: int, seconds: float) -> None:
        """``count`` calls ended in a round of ``seconds`` (a round that saw none counts too:
        the pace falls while calls run long)."""
        if seconds > 0.0:
            self._ended = self._ended * _KEEP + count
            self._seconds = self._seconds * _KEEP + seconds
            self.per_second = self._ended / self._seconds

    def ran(self, count: int, runtime: float) -> None:
        """``count`` calls ran on Ray workers for ``runtime`` seconds in all."""
        if count:
            self._runs = self._runs * _KEEP + count
            self._runtime = self._runtime * _KEEP + runtime

    def head(self, watched: int) -> int:
        """How many of the ``watched`` oldest calls to fetch in order: about ``FETCH``
        seconds' worth at this pace, at least one."""
        return max(1, min(watched, int(self.per_second * FETCH)))

    def fetch_timeout(self, head: int) -> float:
        """Seconds to wait for ``head`` calls to end in order before looking at the others:
        twice as long as they take at this pace, at least ``2 * POLL``."""
        if self.per_second <= 0.0:
            return 2 * POLL
        return max(2 * POLL, 2 * head / self.per_second)

    def window(self) -> int:
        """Calls to keep on the cluster: as many as its slots run in ``WINDOW_SECONDS`` at
        the calls' mean runtime, between ``least`` and ``most`` (``least`` before any call
        has run)."""
        if not self._runs:
            return self.least
        if self._runtime <= 0.0:
            return self.most
        calls = math.ceil(self.slots * WINDOW_SECONDS * self._runs / self._runtime)
        return max(self.least, min(self.most, calls))
