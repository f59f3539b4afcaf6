"""DynamicThreadPoolExecutor: a thread pool that grows with its load and shrinks when idle.

The load is the share of busy threads, ``(running + queued) / threads``. Each submission grows
the pool by a thread when the load reaches ``grow_threshold`` (up to ``max_workers``); a thread
idle for ``idle_timeout`` seconds retires by itself (down to ``min_workers``); ``maintain()``
applies the whole rule at once, shrinking while the load is at most ``shrink_threshold``.

The queue, the worker loop (with its idle timeout) and the retire tokens are the thread
pool's (:mod:`futurist.executors.thread`); this module only decides when to grow and shrink.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from futurist._seconds import seconds
from futurist.executors.base import CheckAndReject, validate_max_workers
from futurist.executors.sizing import DefaultWorkers
from futurist.executors.thread import ThreadPoolExecutor, default_thread_count, default_threads

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["DynamicThreadPoolExecutor"]

DEFAULT_IDLE_TIMEOUT = 60.0


def _check_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


def _default_max(min_workers: int) -> int:
    """The pool's ``max_workers`` when given none: five threads per CPU, above ``min_workers``."""
    return max(default_thread_count(), min_workers + 1)


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

    def __init__(  # noqa: PLR0913 -- the public constructor (futurist 3.5 and stdlib arguments)
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
        max_workers = validate_max_workers(max_workers, _default_max(min_workers))
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
        idle = seconds("idle_timeout", idle_timeout)
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
        self._idle_timeout = idle
        self._pool.retire_when_idle(after=idle, keep=min_workers)
        self._pool.grow_threshold = grow

    @classmethod
    def default_max_workers(cls, **options: Any) -> DefaultWorkers | None:
        """Five threads per CPU, or ``min_workers + 1`` if that is more."""
        min_workers = options.get("min_workers", 1)
        threads = default_threads()
        if not isinstance(min_workers, int) or threads.count == _default_max(min_workers):
            return threads
        return DefaultWorkers(_default_max(min_workers), "min_workers + 1")

    @classmethod
    def config_options(cls) -> list[cfg.Opt]:
        """The options of this kind beyond ``max_workers`` and ``max_backlog``."""
        from oslo_config import cfg

        from futurist.option_types import Interval, positive_seconds

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
        return self._idle_timeout

    def maintain(self) -> None:
        """Apply the sizing rule now: grow while the load reaches ``grow_threshold``, else
        shrink while it is at most ``shrink_threshold``, within the worker bounds.

        One direction per call, so it always stops; threads told to retire leave as soon as
        they are idle.
        """
        with self._submit_lock:
            pool = self._pool
            if self._shutdown_started or pool.grow():
                return
            outstanding = len(pool.outstanding)
            threads = pool.staying
            surplus = 0
            while threads > self._min_workers and outstanding <= self._shrink_threshold * threads:
                surplus += 1
                threads -= 1
            pool.retire(surplus)

    def _check_max_workers(self, value: int) -> None:
        if value <= self._min_workers:
            raise ValueError(
                f"max_workers must be greater than min_workers={self._min_workers}, got {value}"
            )
