"""PeriodicWorker: runs periodic callables on an executor, each on its own schedule.

The public API: building a worker (from callables, from objects, from a config group), adding
callables, starting and stopping it, and looking at its watchers. How runs are scheduled and
run is :mod:`futurist.periodics.engine`'s.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from futurist.naming import callable_name
from futurist.periodics import table
from futurist.periodics.decorator import is_enabled, is_periodic, timing_of, validate_spacing
from futurist.periodics.discovery import describe, periodic_members
from futurist.periodics.engine import Engine
from futurist.periodics.entries import Entry, ExcInfo, OnFailure
from futurist.periodics.strategies import DEFAULT_JITTER, STRATEGIES, Strategy, resolve_strategy
from futurist.periodics.table import COLUMNS
from futurist.periodics.tally import Tally
from futurist.periodics.work import PERIODIC, Watcher, Work

if TYPE_CHECKING:
    from oslo_config import cfg

    from futurist.periodics.options import Override

__all__ = ["COLUMNS", "ExcInfo", "OnFailure", "PeriodicWorker"]

LOG = logging.getLogger(__name__)


class PeriodicWorker(Engine):
    """Runs ``@periodic`` callables on an executor, each every ``spacing`` seconds.

    ``callables`` are ``(callback, args, kwargs)`` triples. ``start()`` blocks, running the
    schedule until ``stop()``; run it in a thread (or green thread). Callbacks run on the
    executor ``executor_factory()`` returns; without one, one at a time in the thread running
    ``start``, as a synchronous executor would run them. ``schedule_strategy`` names how the
    next run is computed (the strategies of :mod:`futurist.periodics`). A failing callback
    keeps its schedule; each failure goes to ``on_failure`` (or the log). ``cond_cls``,
    ``event_cls`` and ``now_func`` are how the worker waits and tells the time: eventlet's
    green ones make it run under eventlet. ``wall_func`` is the wall clock calendar schedules
    are read on (``time.time``); a test may move it as a clock jump or a suspend would.
    """

    BUILT_IN_STRATEGIES: Mapping[str, Strategy] = STRATEGIES
    """The strategies ``schedule_strategy`` may name (the original futurist's names)."""

    DEFAULT_JITTER: float = DEFAULT_JITTER
    """Largest fraction of the spacing the ``_jitter`` strategies add (the original's name)."""

    def __init__(  # noqa: PLR0917 (positional order kept from the original futurist)
        self,
        callables: Iterable[
            tuple[Callable[..., Any], Sequence[Any] | None, Mapping[str, Any] | None]
        ],
        log: logging.Logger | logging.LoggerAdapter[Any] | None = None,
        executor_factory: Callable[[], concurrent.futures.Executor] | None = None,
        cond_cls: Callable[[], Any] = threading.Condition,
        event_cls: Callable[[], Any] = threading.Event,
        schedule_strategy: str | Callable[[float, float, float], float] = "last_started",
        now_func: Callable[[], float] = time.monotonic,
        on_failure: OnFailure | None = None,
        *,
        wall_func: Callable[[], float] = time.time,
    ) -> None:
        if executor_factory is not None and not callable(executor_factory):
            raise TypeError(f"executor_factory must be callable or None, got {executor_factory!r}")
        if on_failure is not None and not callable(on_failure):
            # ValueError, as in the original futurist.
            raise ValueError(f"on_failure must be callable or None, got {on_failure!r}")
        required: tuple[tuple[str, object], ...] = (
            ("cond_cls", cond_cls),
            ("event_cls", event_cls),
            ("now_func", now_func),
            ("wall_func", wall_func),
        )
        for name, value in required:
            if not callable(value):
                raise TypeError(f"{name} must be callable, got {value!r}")
        cond: Any
        guard: Any
        if cond_cls is threading.Condition:
            # Our own lock under threading's condition: held through it, no Python code runs.
            guard = threading.RLock()
            cond = threading.Condition(guard)
        else:
            cond = guard = cond_cls()
        super().__init__(
            log if log is not None else LOG,
            cond,
            guard,
            event_cls(),
            resolve_strategy(schedule_strategy),
            now_func,
            wall_func,
            on_failure,
        )
        self._executor_factory = executor_factory
        """None: callbacks run in start()'s thread, as a synchronous executor would run them."""
        self._overrides: Mapping[str, Override] = {}
        """Schedules a config file sets, by callable name (see :meth:`from_config`)."""
        for item in callables:
            try:
                callback, args, kwargs = item
            except (TypeError, ValueError) as exc:
                # The same error type as unpacking raised, as in the original futurist.
                raise type(exc)(
                    f"callables must hold (callback, args, kwargs) triples, got {item!r}"
                ) from None
            self._add(callback, args, kwargs)

    @classmethod
    def create(  # noqa: PLR0917 (positional order kept from the original futurist)
        cls,
        objects: Iterable[object],
        exclude_hidden: bool = True,
        log: logging.Logger | logging.LoggerAdapter[Any] | None = None,
        executor_factory: Callable[[], concurrent.futures.Executor] | None = None,
        cond_cls: Callable[[], Any] = threading.Condition,
        event_cls: Callable[[], Any] = threading.Event,
        schedule_strategy: str | Callable[[float, float, float], float] = "last_started",
        now_func: Callable[[], float] = time.monotonic,
        on_failure: OnFailure | None = None,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> PeriodicWorker:
        """Build a worker running every ``@periodic`` method (or function) of ``objects``.

        Members are found without evaluating properties or other descriptors; names starting
        with ``_`` are skipped when ``exclude_hidden``. Each runs with ``args`` and ``kwargs``.
        """
        callables = [
            (member, args, kwargs)
            for obj in objects
            for member in periodic_members(obj, exclude_hidden)
        ]
        return cls(
            callables,
            log=log,
            executor_factory=executor_factory,
            cond_cls=cond_cls,
            event_cls=event_cls,
            schedule_strategy=schedule_strategy,
            now_func=now_func,
            on_failure=on_failure,
        )

    @classmethod
    def from_config(
        cls,
        conf: cfg.ConfigOpts,
        objects: Iterable[object],
        group: str | None = None,
        *,
        exclude_hidden: bool = True,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        **worker_options: Any,
    ) -> PeriodicWorker:
        """Like :meth:`create`, with the schedules the config group ``group`` sets.

        ``group`` defaults to ``periodics`` (:data:`futurist.periodics.options.DEFAULT_GROUP`).

        The group's options (:mod:`futurist.periodics.options`) disable callbacks or give them
        another spacing or cron schedule, by name; ``add()`` applies them too. A bad value, or
        a name no collected callback has, is a ``ValueError`` naming the group, the option, the
        value and the file that set it.
        """
        from futurist.periodics import options  # oslo.config: only when configured by it

        group = options.DEFAULT_GROUP if group is None else group
        overrides = options.read_overrides(conf, group)
        worker = cls([], **worker_options)
        worker._overrides = overrides
        names: list[str] = []
        for obj in objects:
            for member in periodic_members(obj, exclude_hidden):
                names += [callable_name(member, module=True), callable_name(member)]
                worker._add(member, args, kwargs)
        options.check_used(conf, group, overrides, names)
        return worker

    def add(self, cb: Callable[..., Any], *args: Any, **kwargs: Any) -> Watcher | None:
        """Add a ``@periodic`` callable, also while running; ``None`` if it is disabled."""
        return self._add(cb, args, kwargs)

    def _add(
        self, cb: object, args: Sequence[Any] | None, kwargs: Mapping[str, Any] | None
    ) -> Watcher | None:
        if not is_periodic(cb):
            raise ValueError(
                f"{describe(cb)} is not a periodic callable; decorate it with @periodic(spacing)"
            )
        assert callable(cb)
        name = callable_name(cb, module=True)
        override = self._overrides.get(name) or self._overrides.get(callable_name(cb))
        if not is_enabled(cb) or (override is not None and override.disabled):
            return None
        timing = timing_of(cb) if override is None else override.apply(timing_of(cb))
        spacing: float | None = None
        if timing.schedule is None:
            raw = getattr(cb, "_periodic_spacing", None)
            spacing = validate_spacing(raw if override is None else override.spacing or raw)
        work = Work(name, cb, tuple(args or ()), dict(kwargs or {}))
        tally = Tally(self._guard)
        next_run = functools.partial(self._next_run_of, tally)
        watcher = Watcher(work, timing.schedule or spacing or 0.0, next_run, tally=tally)
        entry = Entry(
            watcher,
            tally,
            spacing=spacing,
            run_immediately=bool(getattr(cb, "_periodic_run_immediately", False)),
            timing=timing,
        )
        self._register(entry)
        return watcher

    def start(self, allow_empty: bool = False, auto_stop_when_empty: bool = False) -> None:
        """Run the schedule until ``stop()`` (blocks; run it in a thread).

        With ``auto_stop_when_empty`` it also returns once no callable is left to run (each
        raised ``NeverAgain``). A worker stopped before it starts returns at once; ``reset()``
        makes it runnable again. Returns after the runs in flight have finished.

        A callback raising a ``BaseException`` that is not an ``Exception``
        (``KeyboardInterrupt``, ``SystemExit``) stops the worker as ``stop()`` does, and
        ``start()`` re-raises it once the runs in flight have finished.
        """
        with self._guard:
            if self._running:
                raise RuntimeError(
                    "PeriodicWorker.start() called while the worker is already running; "
                    "call stop() and wait() before starting it again"
                )
            if not self._entries and not allow_empty:
                raise RuntimeError(
                    "PeriodicWorker has no periodic callables to run; add() some or pass "
                    "allow_empty=True"
                )
            if self._stopping:
                self._log.debug("Periodic worker was stopped before it started; call reset()")
                return
            self._running = True
            self._dead.clear()
        executor: concurrent.futures.Executor | None = None
        try:
            if self._executor_factory is not None:
                candidate = self._executor_factory()
                if not callable(getattr(candidate, "submit", None)):
                    raise TypeError(
                        f"executor_factory must return an executor (with a submit method), "
                        f"got {candidate!r}"
                    )
                executor = candidate
            self._run(executor, auto_stop_when_empty)
        finally:
            exiting = self._end_run(executor, getattr(self._executor_factory, "shutdown", True))
        if exiting is not None:
            raise exiting

    def stop(self) -> None:
        """Ask the worker to stop: no new run starts; ``start()`` returns once runs finish."""
        with self._guard:
            self._stopping = True
            self._accepting = False
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the worker is not running; True unless ``timeout`` expired first."""
        self._dead.wait(timeout)
        return self._dead.is_set()

    def reset(self) -> None:
        """Make a stopped worker runnable again, with every callable and statistic reset."""
        with self._guard:
            if self._running:
                raise RuntimeError(
                    "PeriodicWorker.reset() called while the worker is running; "
                    "call stop() and wait() first"
                )
            self._stopping = False
            self._exiting = None
            for entry in self._entries:
                entry.stopped = False
                entry.kind = PERIODIC
                entry.failures_in_row = 0
                entry.tally.reset()

    def iter_watchers(self) -> Iterator[Watcher]:
        """Iterate over the watchers of every callable, in the order they were added."""
        with self._guard:
            watchers = [entry.watcher for entry in self._entries]
        return iter(watchers)

    def __len__(self) -> int:
        """How many (enabled) callables the worker has."""
        with self._guard:
            return len(self._entries)

    def pformat(self, columns: Sequence[str] = COLUMNS) -> str:
        """An aligned text table of every callable's state and statistics.

        ``columns`` names at least one of :data:`~futurist.periodics.table.ALL_COLUMNS`
        (default: futurist 3.5's :data:`~futurist.periodics.table.COLUMNS`); anything else is a
        ``ValueError``, as in the original futurist.
        """
        columns = table.check_columns(columns)
        now = self._now()
        with self._guard:
            due = {entry: when for when, _, entry in self._heap}
            offset = self._wall() - now
            states = [
                (
                    entry.watcher,
                    entry.active,
                    due[entry] - now if entry in due else None,
                    self._wall_due(entry, due[entry], offset) if entry in due else None,
                )
                for entry in self._entries
            ]
        return table.render_table(columns, [table.row(*state) for state in states])

    def _next_run_of(self, tally: Tally) -> datetime.datetime | None:
        """When the entry counting into ``tally`` runs next (its watcher's ``next_run``)."""
        with self._guard:
            found = next(
                ((key, queued) for key, _, queued in self._heap if queued.tally is tally), None
            )
            if found is None:
                return None
            key, entry = found
            when = self._wall_due(entry, key, self._wall() - self._now())
        return datetime.datetime.fromtimestamp(when).astimezone()

    @staticmethod
    def _wall_due(entry: Entry, key: float, offset: float) -> float:
        """An entry's next run on the wall clock, given its heap key and the clocks' offset."""
        return entry.due_wall if entry.timing.schedule is not None else key + offset
