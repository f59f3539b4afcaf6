"""ProcessPoolExecutor: a pool of worker processes that survives the death of any one of them.

Data flow::

    submit --> [pending: items not yet sent] --wake byte--> manager thread (one per pool)
                                                               |  sends a call only to an
                                                               |  idle worker, one at a time
        +------------------------------------------------------+
        |  per worker: a private duplex pipe, plus its process sentinel
        v
    worker 1 <== pickled call / pickled outcome ==> worker 1 runs item A
    worker 2 <== pickled call / pickled outcome ==> worker 2 runs item B
      ...
    manager: one selector over the wake pipe, every worker pipe, every sentinel (+ deadline)
        room      --> write more of a call a worker's pipe could not take at once (the manager
                      never blocks on a send: a big call to a worker still in its initializer
                      waits in that worker's buffer while the others go on)
        outcome   --> the worker's item finishes (result or exception, runtime from the child)
        sentinel  --> the worker died: only its item fails (WorkerCrashed), a new worker starts
                      (unless it is the third in a row to die before taking a call: then
                      the pool breaks, rather than start workers that die without end)
        deadline  --> an item ran past task_timeout (counted from when its worker said it was
                      ready): kill its worker, fail the item with TimeoutError, start a new one
        ending    --> stop()/drain()/terminate_workers()/kill_workers() marked workers to end:
                      signal each (SIGTERM, then SIGKILL if it outlives KILL_AFTER; or SIGKILL)
                      and start its replacement at once; its sentinel fails its call with
                      WorkerStopped, unless the call's outcome arrived first
        stop      --> shutting down and nothing left: ask each worker to exit, join them all
                      (SIGTERM, then SIGKILL, for one still running _EXIT_GRACE s later)

A worker holds one call at a time, so the parent always knows which call a dead worker was
running, a crash fails only that call, ``cancel()`` works on everything not yet running, and
``pending`` is exactly the backlog ``check_and_reject`` sees (a ``PriorityBacklog`` once
priorities are used). One lock guards ``pending`` and the hand-over of an item to a worker, so
at any moment an item is queued, held by a worker, or settled -- never in between: ``add`` and
``_break`` cannot lose an item to each other, and ``stop``/``drain`` from another thread find every
call they are asked about. Only the manager settles a held item, and it keeps the item on its
worker until its future is done, so a call stopped as it ends gets exactly one outcome. A call
or outcome that cannot be (un)pickled fails only that call, with :class:`~futurist.DeliveryFailed`
(a ``BrokenProcessPool``, as the standard library raises, which breaks its whole pool instead).
The manager holds the shared
``_Pool``, never the executor, so an executor collected without ``shutdown()`` still lets
its accepted work finish. POSIX only: the manager waits on pipes and process sentinels.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import selectors
import threading
import weakref
from collections.abc import Callable
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING, Any, Self, TypeVar

from futurist._seconds import optional_seconds
from futurist.executors._process_deadlines import Deadlines
from futurist.executors._process_state import Worker
from futurist.executors.base import (
    CheckAndReject,
    Executor,
    validate_initializer,
    validate_max_workers,
)
from futurist.executors.sizing import DefaultWorkers, cpu_count
from futurist.executors.workers import PriorityBacklog, WorkItem
from futurist.futures import Future

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["ProcessPoolExecutor"]

LOG = logging.getLogger(__name__)

_T = TypeVar("_T")


class _Pool(Deadlines):
    """The process pool as the executor sees it: its :class:`Workers` face and the manager."""

    runs_elsewhere = "in other processes"

    def put(self, item: WorkItem) -> bool:
        """Queue an item (caller holds the executor's submit lock) and wake the manager.

        Raises ``BrokenProcessPool`` once the pool is broken, and whatever starting the first
        worker raises; either way nothing is queued and nothing is left behind.
        """
        with self._lock:
            if self.broken is not None:
                raise self.broken_as(self.broken)
            if self.thread is None:
                self._start_manager()
            self.pending.append(item)
        if not self.wake_pending:
            self.wake_pending = True
            self.wake()
        return False

    def backlog(self) -> int:
        """Items accepted and not yet sent to a worker process."""
        return len(self.pending)

    def use_priorities(self) -> None:
        """Hand queued items to workers in priority order from now on."""
        with self._lock:
            self.pending = PriorityBacklog.of(self.pending)

    def running(self) -> list[WorkItem]:
        """The items handed to workers and not settled yet."""
        with self._lock:
            return [item for worker in list(self.workers) if (item := worker.item) is not None]

    def cancel_queued(self) -> list[WorkItem]:
        """Cancel every item not yet sent to a worker; return those it cancelled."""
        with self._lock:
            items = list(self.pending)
            self.pending.clear()
        return [item for item in items if item.cancel()]

    def in_worker(self) -> bool:
        # Calls run in other processes; done callbacks run on the manager thread, which alone
        # makes room in the backlog.
        return threading.current_thread() is self.thread

    def count(self) -> int:
        return len(self.workers)

    def close(self, wait: bool) -> None:
        self.request_stop()
        if wait:
            self.join()

    def wait_idle(self, timeout: float) -> bool:
        """After ``request_stop``: wait up to ``timeout`` s for every accepted item to end (the
        manager exits then); True if they all did."""
        thread = self.thread
        if thread is None:
            return True
        if thread is threading.current_thread():
            return self._drained()
        thread.join(timeout)
        return not thread.is_alive()

    def _start_manager(self) -> None:
        """Start the first worker and the manager thread, or undo both and raise.

        The first worker starts here, in the submitting thread: from Python 3.12 a process that
        is already exiting can no longer fork, so a program that submits and ends at once still
        gets a worker to run what it submitted.
        """
        selector = selectors.DefaultSelector()
        selector.register(self._wake_read, selectors.EVENT_READ)
        self._selector = selector
        thread = threading.Thread(name=f"{self.name}-manager", target=self.manage)
        try:
            self._start_worker()
            thread.start()
        except BaseException:
            for worker in list(self.workers):
                worker.process.kill()
                self._forget(worker)
                worker.end()
            selector.close()
            self._selector = None
            raise
        self.thread = thread

    def request_stop(self) -> None:
        """Let the manager exit once every accepted item has finished."""
        self.stopping = True
        if os.getpid() != self.owner_pid:
            return  # an inert copy in a forked process: the pipe belongs to the original
        if self.thread is None:
            self._close_wake_pipe()
        else:
            self.wake()

    def join(self) -> None:
        """Wait until the manager has finished all work and joined every worker process."""
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def manage(self) -> None:
        """The manager thread: feed workers, collect outcomes, replace the dead, then stop."""
        assert self._selector is not None
        try:
            self._serve(self._selector)
        except BaseException as exc:
            LOG.exception("the manager of process pool %s failed", self.name)
            reason = f"the manager of process pool {self.name} failed: {exc!r}"
            self._break(reason)
            self._abandon_workers(reason)
        finally:
            self._selector.close()
            self._close_wake_pipe()

    def _serve(self, selector: selectors.BaseSelector) -> None:
        while True:
            self._assign()
            if (self.stopping or self.broken is not None) and self._drained():
                self._stop_workers()
                return
            for key, events in selector.select(self._next_deadline()):
                worker: Worker | None = key.data
                if worker is None:
                    # Drain first: a wake that lands in between leaves its byte for the next
                    # round, while the reverse order could swallow it and keep wake_pending set.
                    self._drain_wake_pipe()
                    self.wake_pending = False
                elif worker not in self.workers:
                    continue  # ended earlier in this round
                elif key.fd == worker.sentinel:
                    self._bury(worker)
                else:
                    if events & selectors.EVENT_WRITE:
                        self._push(worker)
                    if events & selectors.EVENT_READ:
                        self._collect(worker)
            if self.ending:
                self._signal_ending()
            if self.escalating:
                self._escalate()
            if self.task_timeout is not None:
                self._expire()


def _validate_max_tasks_per_child(value: object) -> int | None:
    if value is None:
        return None
    return validate_max_workers(value, 1, name="max_tasks_per_child")


def _choose_context(mp_context: object, max_tasks_per_child: int | None) -> BaseContext:
    if mp_context is None:
        # As the standard library does: a pool that replaces workers must not fork them.
        return multiprocessing.get_context("spawn" if max_tasks_per_child else None)
    if not isinstance(mp_context, BaseContext):
        raise TypeError(
            "mp_context must be a multiprocessing context (multiprocessing.get_context(...)) "
            f"or None, got {type(mp_context).__name__} {mp_context!r}"
        )
    if max_tasks_per_child is not None and mp_context.get_start_method() == "fork":
        raise ValueError(
            "max_tasks_per_child is incompatible with the 'fork' multiprocessing start method; "
            "pass mp_context=multiprocessing.get_context('spawn') or 'forkserver'"
        )
    return mp_context


class ProcessPoolExecutor(Executor):
    """Runs calls in up to ``max_workers`` worker processes, gathering statistics.

    ``mp_context``, ``initializer``, ``initargs`` and ``max_tasks_per_child`` mean what they
    mean in :class:`concurrent.futures.ProcessPoolExecutor`. Unlike it, a worker that dies only
    fails the call it was running (with :class:`futurist.WorkerCrashed`) and is replaced, and a
    call or outcome that cannot be pickled or unpickled fails only that call (with
    :class:`futurist.PicklingFailed` or :class:`futurist.UnpicklingFailed`); all three are
    ``BrokenProcessPool`` errors, as the standard library raises. With ``task_timeout`` a call
    running longer than that many seconds has its worker killed and fails with
    ``TimeoutError``. Workers ignore SIGINT: the parent's shutdown decides what happens to
    running calls. Shutdown gives each worker five seconds to exit, then ends it (SIGTERM,
    then SIGKILL); three workers in a row dying before they take a call (an initializer that
    ends its process) break the pool with :class:`futurist.WorkerCrashed`.

    Queued calls start in priority order (``prioritized``). ``stop(future)`` ends the worker
    running that call (SIGTERM, then SIGKILL if it is still alive two seconds later) and starts
    a fresh one at once; the call fails with :class:`futurist.WorkerStopped`, a
    :class:`futurist.CallStopped`. ``terminate_workers()``/``kill_workers()`` shut down,
    cancel what is queued and send SIGTERM/SIGKILL to every worker, as in Python 3.14.
    """

    kind = "process"

    def __init__(  # noqa: PLR0913 -- the public constructor (the stdlib pool arguments and ours)
        self,
        max_workers: int | None = None,
        mp_context: BaseContext | None = None,
        *,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        max_tasks_per_child: int | None = None,
        check_and_reject: CheckAndReject | None = None,
        task_timeout: float | None = None,
        name: str | None = None,
        log_unread_failures: bool = True,
        propagate_context: bool = False,
    ) -> None:
        max_workers = validate_max_workers(max_workers, cpu_count())
        validate_initializer(initializer)
        max_tasks_per_child = _validate_max_tasks_per_child(max_tasks_per_child)
        task_timeout = optional_seconds("task_timeout", task_timeout)
        context = _choose_context(mp_context, max_tasks_per_child)
        self._max_workers = max_workers
        self._pool = _Pool(
            context,
            max_workers=max_workers,
            initializer=initializer,
            initargs=tuple(initargs),
            max_tasks_per_child=max_tasks_per_child,
            task_timeout=task_timeout,
        )
        try:
            super().__init__(
                self._pool,
                check_and_reject,
                name=name,
                log_unread_failures=log_unread_failures,
                propagate_context=propagate_context,
            )
        except BaseException:
            self._pool.request_stop()  # closes the wake pipe of a pool that never started
            raise
        self._pool.name = self.name
        # Let the manager finish the accepted work and exit if this executor is collected.
        weakref.finalize(self, self._pool.request_stop).atexit = False

    @classmethod
    def default_max_workers(cls, **options: Any) -> DefaultWorkers | None:
        """One process per CPU."""
        return DefaultWorkers(cpu_count(), "1 × CPUs")

    @classmethod
    def config_options(cls) -> list[cfg.Opt]:
        """The oslo.config options of the ``process`` kind, beyond the common ones."""
        from oslo_config import cfg

        from futurist.option_types import positive_seconds

        return [
            cfg.StrOpt(
                "start_method",
                choices=[
                    ("fork", "copy this process (fast; unsafe if it runs other threads)"),
                    ("spawn", "start a fresh interpreter (slow to start; always safe)"),
                    ("forkserver", "fork from a clean server process started once"),
                ],
                help="How worker processes start (multiprocessing start method); unset means "
                "the platform's default.",
            ),
            cfg.IntOpt(
                "max_tasks_per_child",
                min=1,
                help="Replace a worker process after it has run this many calls; unset means "
                "never. Not allowed with start_method=fork.",
            ),
            cfg.Opt(
                "task_timeout",
                type=positive_seconds(),
                help="Seconds a call may run before its worker process is killed (and "
                "replaced) and the call fails with TimeoutError; unset means no limit.",
            ),
        ]

    @classmethod
    def from_options(cls, **values: Any) -> Self:
        """Build the executor from option values, turning ``start_method`` into ``mp_context``."""
        start_method = values.pop("start_method", None)
        context = None if start_method is None else multiprocessing.get_context(start_method)
        return cls(mp_context=context, **values)

    @property
    def max_workers(self) -> int:
        """The most worker processes this pool runs at once."""
        return self._max_workers

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        """Schedule ``fn(*args, **kwargs)`` in a worker process, as ``Executor.submit`` does.

        Only the process that created the pool may submit: a forked copy (a worker included)
        gets ``RuntimeError`` before touching any lock the fork may have copied while held.
        """
        self._refuse_a_forked_copy()
        return super().submit(fn, *args, **kwargs)

    def _submit_prioritized(
        self, priority: int, fn: Callable[..., _T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Future[_T]:
        self._refuse_a_forked_copy()
        return super()._submit_prioritized(priority, fn, args, kwargs)

    def _refuse_a_forked_copy(self) -> None:
        self._pool.refuse_a_forked_copy()
