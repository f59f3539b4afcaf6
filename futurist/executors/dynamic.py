"""DynamicThreadPoolExecutor: a thread pool that grows with its load and shrinks when idle.

The load is the share of busy threads, ``(running + queued) / threads``. Each submission grows
the pool by a thread when the load reaches ``grow_threshold`` (up to ``max_workers``); a thread
idle for ``idle_timeout`` seconds retires by itself (down to ``min_workers``); ``maintain()``
applies the whole rule at once, shrinking while the load is at most ``shrink_threshold``.

Data flow::

    submit --> [queue: WorkItem | retire | None] --> worker threads --> item.run(); finished += 1
       |                                      | queue empty for idle_timeout: retire (under the
       +-- load >= grow_threshold: start one  | submit lock, above min_workers, nothing queued)
    maintain() or a lower max_workers --> one retire token per surplus thread, counted in
                   ``retiring``; the worker taking one leaves. None is shutdown's sentinel,
                   passed on by each worker as it leaves
"""

from __future__ import annotations

import itertools
import math
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from futurist.executors.base import CheckAndReject, WorkItem, validate_max_workers
from futurist.executors.thread import (
    _PICK,
    _RETIRE,
    Slot,
    ThreadPoolExecutor,
    _PoolState,
    _Token,
    default_thread_count,
    run_initializer,
)

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["DynamicThreadPoolExecutor"]

DEFAULT_IDLE_TIMEOUT = 60.0


class _Sizing:
    """The pool's size bookkeeping, shared with its workers (who never hold the executor).

    ``submitted`` is written only under the submit lock, ``finished`` only under
    ``finish_lock``, so ``submitted - finished`` (running + queued) needs no lock to read.
    Thread membership and ``retiring`` change only under the submit lock.
    """

    __slots__ = (
        "finish_lock",
        "finished",
        "idle_timeout",
        "lock",
        "min_workers",
        "retiring",
        "submitted",
        "threads",
    )

    def __init__(
        self,
        lock: Any,
        threads: set[threading.Thread],
        min_workers: int,
        idle_timeout: float,
    ) -> None:
        self.lock = lock
        self.threads = threads
        self.min_workers = min_workers
        self.idle_timeout = idle_timeout
        self.finish_lock = threading.Lock()
        self.submitted = 0
        self.finished = 0
        self.retiring = 0

    @property
    def outstanding(self) -> int:
        """Accepted items not finished yet: running plus queued."""
        return self.submitted - self.finished

    @property
    def staying(self) -> int:
        """Threads that are not about to retire."""
        return len(self.threads) - self.retiring

    def retire_idle(self, state: _PoolState) -> bool:
        """Whether a thread idle for ``idle_timeout`` leaves (it does above ``min_workers``)."""
        with self.lock:
            if self.staying <= self.min_workers or state.queue.qsize():
                return False
            self.threads.discard(threading.current_thread())
            return True

    def leave_retiring(self) -> None:
        """A worker took a retire token and leaves."""
        with self.lock:
            self.threads.discard(threading.current_thread())
            self.retiring -= 1

    def leave(self) -> None:
        """A worker leaves for another reason (its initializer failed)."""
        with self.lock:
            self.threads.discard(threading.current_thread())


def _work(state: _PoolState, sizing: _Sizing) -> None:
    """A worker's loop: run items, retire when idle too long or told to, stop at shutdown."""
    if not run_initializer(state):
        sizing.leave()
        return
    get = state.queue.get
    finish_lock = sizing.finish_lock
    idle_timeout = sizing.idle_timeout
    slot = Slot()
    state.slots.add(slot)
    try:
        while True:
            try:
                item = get(timeout=idle_timeout)
            except queue.Empty:
                if sizing.retire_idle(state):
                    return
                continue
            if item is None:
                sizing.leave()
                state.queue.put(None)
                return
            if isinstance(item, _Token):
                if item is _PICK:
                    item = state.lane.pop()  # type: ignore[union-attr]
                else:
                    sizing.leave_retiring()
                    return
            slot.item = item
            item.run()
            slot.item = item = None
            with finish_lock:
                sizing.finished += 1
    finally:
        state.slots.discard(slot)


def _check_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


class DynamicThreadPoolExecutor(ThreadPoolExecutor):
    """A thread pool whose size follows its load, between ``min_workers`` and ``max_workers``.

    It grows on submission when ``(running + queued) / threads`` reaches ``grow_threshold``;
    threads idle for ``idle_timeout`` seconds retire by themselves down to ``min_workers``, so
    nobody has to call :meth:`maintain` (which applies the rule, shrinking too, on demand).
    ``max_workers`` defaults to five threads per CPU (and always exceeds ``min_workers``).
    ``thread_name_prefix``, ``initializer`` and ``initargs`` mean what they mean in
    :class:`concurrent.futures.ThreadPoolExecutor`.
    """

    kind = "thread_dynamic"

    def __init__(
        self,
        max_workers: int | None = None,
        check_and_reject: CheckAndReject | None = None,
        min_workers: int = 1,
        grow_threshold: float = 0.8,
        shrink_threshold: float = 0.4,
        *,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        thread_name_prefix: str | None = "",
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        name: str | None = None,
        log_unread_failures: bool = True,
        propagate_context: bool = False,
    ) -> None:
        min_workers = validate_max_workers(min_workers, 1, "min_workers")
        max_workers = validate_max_workers(
            max_workers, max(default_thread_count(), min_workers + 1)
        )
        if min_workers >= max_workers:
            raise ValueError(
                f"min_workers must be less than max_workers, got min_workers={min_workers} "
                f"and max_workers={max_workers}"
            )
        grow = _check_number("grow_threshold", grow_threshold)
        if not 0 < grow <= 1:
            raise ValueError(f"grow_threshold must be within (0, 1], got {grow_threshold}")
        shrink = _check_number("shrink_threshold", shrink_threshold)
        if not 0 <= shrink < 1:
            raise ValueError(f"shrink_threshold must be within [0, 1), got {shrink_threshold}")
        if shrink >= grow:
            raise ValueError(
                "shrink_threshold must be less than grow_threshold, got "
                f"shrink_threshold={shrink_threshold} and grow_threshold={grow_threshold}"
            )
        idle = _check_number("idle_timeout", idle_timeout)
        if not 0 < idle < math.inf:
            raise ValueError(
                f"idle_timeout must be a finite number of seconds > 0, got {idle_timeout}"
            )
        super().__init__(
            max_workers,
            check_and_reject,
            thread_name_prefix=thread_name_prefix,
            initializer=initializer,
            initargs=initargs,
            name=name,
            log_unread_failures=log_unread_failures,
            propagate_context=propagate_context,
        )
        self._min_workers = min_workers
        self._grow_threshold = grow
        self._shrink_threshold = shrink
        self._sizing = _Sizing(self._submit_lock, self._threads, min_workers, idle)
        self._thread_numbers = itertools.count()

    @classmethod
    def config_options(cls) -> list[cfg.Opt]:
        """The options of this kind beyond ``max_workers`` and ``max_backlog``."""
        from oslo_config import cfg

        from futurist.executors._option_types import Interval, positive_seconds

        return [
            cfg.IntOpt(
                "min_workers",
                default=1,
                min=1,
                help="Fewest threads the dynamic pool keeps; must be less than max_workers.",
            ),
            cfg.Opt(
                "grow_threshold",
                type=Interval(0.0, 1.0, high_open=False),
                default=0.8,
                help="Share of busy threads, (running + queued) / threads, at which the pool "
                "grows by a thread; 0 < value <= 1 and above shrink_threshold.",
            ),
            cfg.Opt(
                "shrink_threshold",
                type=Interval(0.0, 1.0, low_open=False),
                default=0.4,
                help="Share of busy threads at or below which maintain() shrinks the pool; "
                "0 <= value < 1 and below grow_threshold.",
            ),
            cfg.Opt(
                "idle_timeout",
                type=positive_seconds(),
                default=DEFAULT_IDLE_TIMEOUT,
                help="Seconds a thread waits without work before it retires (above "
                "min_workers); must be > 0.",
            ),
            *super().config_options(),
        ]

    @property
    def min_workers(self) -> int:
        """The fewest threads the pool shrinks to."""
        return self._min_workers

    @property
    def grow_threshold(self) -> float:
        """The load at which the pool grows."""
        return self._grow_threshold

    @property
    def shrink_threshold(self) -> float:
        """The load at or below which :meth:`maintain` shrinks the pool."""
        return self._shrink_threshold

    @property
    def idle_timeout(self) -> float:
        """Seconds an idle thread waits before it retires."""
        return self._sizing.idle_timeout

    def get_num_idle_workers(self) -> int:
        """How many threads are not running a call now."""
        sizing = self._sizing
        running = sizing.outstanding - self._backlog()
        return max(0, sizing.staying - running)

    def maintain(self) -> None:
        """Apply the sizing rule now: grow while the load reaches ``grow_threshold``, else
        shrink while it is at most ``shrink_threshold``, within the worker bounds.

        One direction per call, so it always stops; threads told to retire leave as soon as
        they are idle.
        """
        with self._submit_lock:
            if self._shutdown_started:
                return
            sizing = self._sizing
            outstanding = sizing.outstanding
            threads = sizing.staying
            if self._should_grow(outstanding, threads):
                while self._should_grow(outstanding, threads):
                    self._start_thread()
                    threads += 1
                return
            surplus = 0
            while threads > self._min_workers and outstanding <= self._shrink_threshold * threads:
                surplus += 1
                threads -= 1
            self._retire(surplus)

    @property
    def max_workers(self) -> int:
        """The most threads this pool grows to; assign to change it while the pool runs.

        Lowering it tells surplus threads to leave once idle; raising it lets the pool grow
        as the load requires (checked at once). Queued work is kept.
        """
        return self._max_workers

    @max_workers.setter
    def max_workers(self, value: int) -> None:
        value = validate_max_workers(value, self._max_workers)
        if value <= self._min_workers:
            raise ValueError(
                f"max_workers must be greater than min_workers={self._min_workers}, got {value}"
            )
        with self._submit_lock:
            self._max_workers = value
            if self._shutdown_started or self._state.broken is not None:
                return
            self._retire(self._sizing.staying - value)
        self.maintain()

    def _retire(self, count: int) -> None:
        """Tell ``count`` threads to leave when next idle (with the submit lock held)."""
        for _ in range(count):
            self._sizing.retiring += 1
            self._state.queue.put(_RETIRE)

    def _should_grow(self, outstanding: int, threads: int) -> bool:
        if threads >= self._max_workers:
            return False
        if threads == 0:
            return outstanding > 0
        return outstanding >= self._grow_threshold * threads

    def _backlog(self) -> int:
        return max(0, self._state.queue.qsize() - self._sizing.retiring - self._sentinel_sent)

    def _dispatch(self, item: WorkItem) -> bool:
        sizing = self._sizing
        self._state.enqueue(item)
        sizing.submitted += 1
        if self._should_grow(sizing.outstanding, sizing.staying):
            try:
                self._start_thread_for(item, sizing.staying)
            except Exception:
                sizing.submitted -= 1
                raise
        return False

    def _start_thread(self) -> None:
        thread = threading.Thread(
            name=f"{self._thread_name_prefix}_{next(self._thread_numbers)}",
            target=_work,
            args=(self._state, self._sizing),
        )
        self._threads.add(thread)
        try:
            thread.start()
        except BaseException:
            self._threads.discard(thread)
            raise
