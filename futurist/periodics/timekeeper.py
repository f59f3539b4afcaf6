"""When each entry runs next: strategies, calendar moments, jitter, misfires, back-off.

The worker's heap is on ``now_func`` (monotonic); calendar moments are on the wall clock. The
:class:`Timekeeper` keeps the offset between the two (read at every wake-up of the loop while
calendar entries exist) and turns each entry's next moment into a heap key. Everything here
is called under the worker's condition, except :meth:`Timekeeper.next_run`, which only
touches the entry that just ran.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from typing import Any

from futurist.periodics.backoff import backoff_delay
from futurist.periodics.decorator import RunAgainIn
from futurist.periodics.entries import Entry
from futurist.periodics.missed import next_due, pick
from futurist.periodics.strategies import STRATEGIES, Strategy, last_finished
from futurist.periodics.work import IMMEDIATE

__all__ = ["READ_GAP", "READ_TRIES", "WALL_TOLERANCE", "Timekeeper"]

WALL_TOLERANCE = 0.001
"""How far the wall clock may move against ``now_func`` before calendar entries are re-keyed."""

READ_GAP = 50e-6
"""Longest time between two reads of ``now_func`` around a read of the wall clock for the
offset between them to be taken at once."""

READ_TRIES = 5
"""Most reads of the clocks to find a pair read close together (the closest one is kept)."""


class Timekeeper:
    """Computes due times and heap keys for a worker's entries."""

    def __init__(
        self,
        strategy: Strategy,
        now_func: Callable[[], float],
        wall_func: Callable[[], float],
        log: logging.Logger | logging.LoggerAdapter[Any],
    ) -> None:
        self._strategy = strategy
        # A function of the caller's is checked on every use; the built-in ones are trusted.
        self._trusted = strategy in STRATEGIES.values()
        self._now = now_func
        self._wall = wall_func
        self._log = log
        self._rand: Callable[[], float] = random.random
        self._offset = 0.0
        """The wall clock less ``now_func``, when last read."""

    def read(self) -> float:
        """The wall clock now, keeping its offset from ``now_func`` up to date.

        The wall clock is read between two reads of ``now_func``, again (a few times at most)
        while the thread was paused between them, since a pause there would shift every
        calendar key by its length. The offset is taken against the later read, so a key errs
        late by the microseconds between the reads: never early, so an entry is not popped
        before its moment only to be put back.
        """
        before = self._now()
        wall = self._wall()
        after = self._now()
        if after - before > READ_GAP:
            wall, after = self._closest_read(wall, after, after - before)
        self._offset = wall - after
        return wall

    def _closest_read(self, wall: float, after: float, gap: float) -> tuple[float, float]:
        """The wall clock and the later ``now_func`` read of the closest of a few more tries."""
        for _ in range(READ_TRIES - 1):
            before = self._now()
            reading = self._wall()
            later = self._now()
            if later - before < gap:
                wall, after, gap = reading, later, later - before
            if gap <= READ_GAP:
                break
        return wall, after

    def first(self, entry: Entry, now: float, wall: float) -> float | None:
        """The key of an entry's first run at start (not run_immediately); None: never."""
        schedule = entry.timing.schedule
        if schedule is None:
            assert entry.spacing is not None
            return now + entry.spacing + self.jitter(entry)
        due = next_due(schedule, wall)
        return None if due is None else self.calendar_key(entry, due)

    def rekey(self, heap: list[tuple[float, int, Entry]]) -> bool:
        """Re-key the calendar entries of ``heap`` if the wall clock moved against ``now_func``.

        True if it did (the caller re-heapifies).
        """
        previous = self._offset
        self.read()
        offset = self._offset
        if abs(offset - previous) <= WALL_TOLERANCE:
            return False
        heap[:] = [
            (entry.due_wall - offset if entry.timing.schedule is not None else key, seq, entry)
            for key, seq, entry in heap
        ]
        return True

    def admit(self, entry: Entry, key: float, now: float) -> tuple[float | None, float | None]:
        """Whether a checked entry popped at ``now`` runs: ``(due time, None)`` if it does.

        Else ``(None, key)`` to put it back with a new key, or ``(None, None)`` when its
        schedule has no next moment. A calendar entry early by the wall clock goes back;
        missed moments are coalesced; a run later than its misfire grace is skipped.
        """
        timing = entry.timing
        schedule = timing.schedule
        if schedule is None:  # a spacing entry with a misfire grace
            late = now - key
            if timing.misfire_grace is not None and late > timing.misfire_grace:
                self.skip(entry, late)
                return None, self.spaced(entry, now, now)
            return key, None
        wall = self.read()
        if wall < entry.due_wall:
            return None, entry.due_wall - self._offset
        if entry.kind == IMMEDIATE:
            return key, None
        jitter = entry.due_wall - entry.anchor
        chosen = pick(schedule, entry.anchor, wall, timing.coalesce)
        if chosen.coalesced:
            entry.tally.count_missed(0, chosen.coalesced)
        entry.anchor = chosen.last
        late = wall - (chosen.due + jitter)
        if timing.misfire_grace is not None and late > timing.misfire_grace:
            self.skip(entry, late)
            following = next_due(schedule, chosen.last)
            return None, None if following is None else self.calendar_key(entry, following)
        return now - late, None

    def skip(self, entry: Entry, late: float) -> None:
        """Count and log a run skipped by the misfire grace."""
        entry.tally.count_missed(1, 0)
        self._log.warning(
            "Skipped a run of %s: it could not start within its misfire grace of %s s "
            "(it was %.3f s late)",
            entry.watcher.work.name,
            entry.timing.misfire_grace,
            late,
        )

    def jitter(self, entry: Entry) -> float:
        """A random delay in [0, the entry's jitter]."""
        jitter = entry.timing.jitter
        return self._rand() * jitter if jitter else 0.0

    def calendar_key(self, entry: Entry, due: float) -> float:
        """Make ``due`` (wall clock) the entry's next moment; its key on ``now_func``."""
        entry.anchor = due
        entry.due_wall = due + self.jitter(entry)
        return entry.due_wall - self._offset

    def spaced(self, entry: Entry, started: float, finished: float) -> float:
        """A spacing entry's next run by the strategy, jitter included."""
        assert entry.spacing is not None
        if self._trusted:
            next_run = self._strategy(entry.spacing, started, finished)
        else:
            next_run = self.checked_next_run(entry, started, finished)
        return next_run + self.jitter(entry)

    def next_run(
        self, entry: Entry, started: float, finished: float, failed: bool, result: object
    ) -> float | None:
        """When the entry runs next (its key); None if its schedule has no next moment.

        A failure with ``backoff_max`` backs off; a returned ``RunAgainIn`` sets the delay;
        else the spacing strategy or the calendar schedule decides.
        """
        timing = entry.timing
        if failed and timing.backoff_max is not None:
            entry.failures_in_row += 1
            delay = backoff_delay(entry.failures_in_row, timing.backoff_max, self._rand)
            return self.after(entry, finished, delay)
        if not failed:
            entry.failures_in_row = 0
        if isinstance(result, RunAgainIn):
            return self.after(entry, finished, result.seconds)
        if timing.schedule is None:
            return self.spaced(entry, started, finished)
        following = next_due(timing.schedule, entry.anchor)
        return None if following is None else self.calendar_key(entry, following)

    def after(self, entry: Entry, finished: float, delay: float) -> float:
        """``delay`` seconds after ``finished``; a calendar entry's schedule resumes from there."""
        when = finished + delay
        entry.anchor = entry.due_wall = when + self._offset
        return when

    def checked_next_run(self, entry: Entry, started: float, finished: float) -> float:
        """The caller's strategy's answer; one spacing after ``finished`` if it has none."""
        assert entry.spacing is not None
        try:
            next_run = self._strategy(entry.spacing, started, finished)
            if isinstance(next_run, bool) or not isinstance(next_run, int | float):
                raise TypeError(f"the strategy returned {next_run!r}, not a number")
            if math.isnan(next_run):
                raise ValueError("the strategy returned NaN")
        except Exception:
            self._log.exception(
                "Schedule strategy %r failed for %s; running it again after one spacing",
                self._strategy,
                entry.watcher.work.name,
            )
            return last_finished(entry.spacing, started, finished)
        return float(next_run)
