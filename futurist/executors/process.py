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
                      signal each (SIGTERM, then SIGKILL if it outlives _KILL_AFTER; or SIGKILL)
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

import collections
import concurrent.futures
import contextlib
import dataclasses
import itertools
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import reprlib
import selectors
import signal
import socket
import struct
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from futurist._naming import callable_name
from futurist._seconds import optional_seconds
from futurist.exceptions import PicklingFailed, UnpicklingFailed, WorkerCrashed, WorkerStopped
from futurist.executors import _process_worker
from futurist.executors._flow import PriorityBacklog, stopped_error
from futurist.executors.base import (
    CheckAndReject,
    Executor,
    WorkItem,
    validate_initializer,
    validate_max_workers,
)
from futurist.futures import Future

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from oslo_config import cfg

__all__ = ["ProcessPoolExecutor"]

LOG = logging.getLogger(__name__)

_T = TypeVar("_T")


_KILL_AFTER = 2.0
"""Seconds a worker told to end with SIGTERM may take before it gets SIGKILL."""

_EXIT_GRACE = 5.0
"""Seconds a worker asked to exit at shutdown may take (its ``atexit`` handlers, its non-daemon
threads) before it gets SIGTERM: a thread a finished call left running must not hold the
shutdown, nor the interpreter's exit, forever."""

_FAILED_STARTS = 3
"""Workers in a row that die before taking a call (none answering one meanwhile) that break the
pool: an initializer that ends its process would otherwise have it start workers forever."""

_call_repr = reprlib.Repr()
_call_repr.maxstring = 40
_call_repr.maxother = 40


class _ChildTraceback(Exception):
    """The traceback of an exception raised in a worker process, attached as its ``__cause__``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f"\n--- traceback in the worker process ---\n{self.text.rstrip()}\n---"


def _describe_call(item: WorkItem) -> str:
    arguments = [_call_repr.repr(argument) for argument in item.args]
    arguments += [f"{key}={_call_repr.repr(value)}" for key, value in item.kwargs.items()]
    return f"{callable_name(item.fn, module=True)}({', '.join(arguments)})"


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "ended with an unknown exit status"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "an unknown signal"
        return f"was killed by signal {name} ({-exitcode})"
    return f"exited with code {exitcode}"


@dataclasses.dataclass(frozen=True, slots=True)
class _Ending:
    """Why and how the parent ends a worker: who asked (for the stopped call's error), SIGKILL
    or SIGTERM, and whether SIGKILL follows if the worker outlives ``_KILL_AFTER``."""

    by: str
    kill: bool
    escalate: bool


_STOP = _Ending("stop() or drain() ended it", kill=False, escalate=True)
_TERMINATE = _Ending("terminate_workers() ended every worker", kill=False, escalate=False)
_KILL = _Ending("kill_workers() ended every worker", kill=True, escalate=False)


def _frame(payload: bytes) -> bytes:
    """``payload`` framed as :meth:`multiprocessing.connection.Connection.send_bytes` frames it."""
    size = len(payload)
    if size > 0x7FFFFFFF:
        return struct.pack("!iQ", -1, size) + payload
    return struct.pack("!i", size) + payload


class _Worker:
    """The parent's view of one worker process: its pipe and the one call it is running.

    The parent receives with ``conn`` (blocking reads, only once the selector reports data) and
    sends through ``socket``, a duplicate of the same descriptor written without blocking;
    ``unsent`` holds what the pipe could not take yet.
    """

    __slots__ = (
        "answered",
        "budget",
        "conn",
        "ending",
        "fault",
        "hung_up",
        "item",
        "kill_at",
        "process",
        "ready",
        "sentinel",
        "signalled",
        "since",
        "socket",
        "unsent",
        "writing",
    )

    def __init__(self, process: BaseProcess, conn: Connection, budget: int | None) -> None:
        self.process = process
        self.sentinel = process.sentinel
        self.conn = conn
        self.socket = socket.socket(fileno=os.dup(conn.fileno()))
        self.budget = budget
        self.item: WorkItem | None = None
        self.since = 0.0
        """When the call in ``item`` was sent, or when the worker became ready if later."""
        self.ready = False
        self.answered = False
        """Whether it has sent the outcome of a call: it proved it can take calls."""
        self.hung_up = False
        self.unsent = memoryview(b"")
        self.writing = False
        """Whether the selector watches the pipe for room to write ``unsent``."""
        self.fault = ""
        """Why the parent killed this worker, when it did so because its pipe failed."""
        self.ending: _Ending | None = None
        """Set (under the pool's lock) once the worker is to be ended; it gets no more calls."""
        self.signalled = False
        """Whether the manager has signalled it to end (it no longer counts as a worker)."""
        self.kill_at = 0.0
        """When it gets SIGKILL if it outlives a SIGTERM that ``ending.escalate`` follows up."""

    @property
    def retiring(self) -> bool:
        """True once it has been sent all the calls ``max_tasks_per_child`` allows."""
        return self.budget == 0

    def end(self) -> tuple[int | None, int | None]:
        """Reap the exited process, release its pipe; return its exit code and pid."""
        process = self.process
        process.join()
        self.socket.close()
        self.conn.close()
        code, pid = process.exitcode, process.pid
        process.close()
        return code, pid


class _Pool:
    """Everything the manager thread shares with the executor; never refers to the executor."""

    def __init__(
        self,
        name: str,
        context: BaseContext,
        *,
        max_workers: int,
        initializer: Callable[..., object] | None,
        initargs: tuple[Any, ...],
        max_tasks_per_child: int | None,
        task_timeout: float | None,
    ) -> None:
        self.name = name
        self.context = context
        self.max_workers = max_workers
        self.initializer = initializer
        self.initargs = initargs
        self.max_tasks_per_child = max_tasks_per_child
        self.task_timeout = task_timeout
        self.pending: collections.deque[WorkItem] | PriorityBacklog = collections.deque()
        self.workers: set[_Worker] = set()
        self.ending: list[_Worker] = []
        """Workers marked to end and not signalled yet (guarded by ``_lock``)."""
        self.doomed = 0
        """Workers signalled to end and not buried yet: they no longer count toward
        ``max_workers``, so their replacements start at once."""
        self.escalating: list[_Worker] = []
        """Signalled workers that get SIGKILL at their ``kill_at`` if still alive."""
        self.broken: str | None = None
        self.broken_as: type[BrokenProcessPool] = BrokenProcessPool
        """What ``submit`` raises, and what queued calls fail with, once the pool is broken."""
        self.failed_starts = 0
        """Workers in a row that died before taking a call (see ``_FAILED_STARTS``)."""
        self.stopping = False
        self.cannot_grow = False
        """Set when starting a worker failed while others run (an exiting interpreter)."""
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()
        """Guards ``pending``, the hand-over of an item to a worker, and ``ending``."""
        self.wake_pending = False
        self._wake_lock = threading.Lock()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._selector: selectors.BaseSelector | None = None
        self._worker_numbers = itertools.count()
        self.owner_pid = os.getpid()

    # -- called from other threads ------------------------------------------------------------

    def backlog(self) -> int:
        """Items accepted and not yet sent to a worker process."""
        return len(self.pending)

    def add(self, item: WorkItem) -> None:
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

    def wake(self) -> None:
        """Make the manager's wait return (a no-op once the manager has closed its pipe)."""
        with self._wake_lock:
            if self._wake_write >= 0:
                # A full pipe already holds wake bytes: the manager will wake anyway.
                with contextlib.suppress(BlockingIOError):
                    os.write(self._wake_write, b"\0")

    def use_priorities(self) -> None:
        """Hand queued items to workers in priority order from now on."""
        with self._lock:
            if not isinstance(self.pending, PriorityBacklog):
                self.pending = PriorityBacklog(self.pending)

    def cancel_pending(self) -> list[WorkItem]:
        """Cancel every item not yet sent to a worker; return those it cancelled."""
        with self._lock:
            items = list(self.pending)
            self.pending.clear()
        return [item for item in items if item.cancel()]

    def running(self) -> list[WorkItem]:
        """The items handed to workers and not settled yet."""
        with self._lock:
            return [item for worker in list(self.workers) if (item := worker.item) is not None]

    def stop_call(self, future: concurrent.futures.Future[Any]) -> bool:
        """Cancel the queued call of ``future``, or end the worker running it (SIGTERM, then
        SIGKILL after ``_KILL_AFTER`` s); False if this pool never held it.

        A call that ends (or is cancelled) as it is looked for needs no stopping: True.
        """
        with self._lock:
            worker = self._worker_running(future)
            queued = None if worker is not None else self._withdraw(future)
            if worker is not None and not future.done():
                self._mark(worker, _STOP)
                self.wake()
                return True
        if queued is not None:
            queued.cancel()
            return True
        return future.done()

    def end_workers(self, ending: _Ending) -> None:
        """Signal every worker to end, as ``ending`` says (the pool is shutting down)."""
        with self._lock:
            for worker in list(self.workers):
                self._mark(worker, ending)
        self.wake()

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

    def _worker_running(self, future: concurrent.futures.Future[Any]) -> _Worker | None:
        """The worker holding the call of ``future`` (caller holds ``_lock``)."""
        for worker in list(self.workers):
            item = worker.item
            if item is not None and item.future is future:
                return worker
        return None

    def _withdraw(self, future: concurrent.futures.Future[Any]) -> WorkItem | None:
        """Take the queued item of ``future`` out of ``pending`` (caller holds ``_lock``)."""
        for item in self.pending:
            if item.future is future:
                self.pending.remove(item)
                return item
        return None

    def _mark(self, worker: _Worker, ending: _Ending) -> None:
        """Mark ``worker`` to end, for the manager to signal (caller holds ``_lock``).

        A later ``kill_workers()`` overrides an earlier SIGTERM; nothing else repeats one.
        """
        if worker.ending is None or (ending.kill and not worker.ending.kill):
            worker.ending = ending
            self.ending.append(worker)

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

    # -- the manager thread ---------------------------------------------------------------------

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
                worker: _Worker | None = key.data
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

    def _drained(self) -> bool:
        return not self.pending and all(worker.item is None for worker in self.workers)

    def _full(self) -> bool:
        """Whether ``max_workers`` workers run (those being ended do not count)."""
        return len(self.workers) - self.doomed >= self.max_workers

    def _assign(self) -> None:
        """Send queued calls to idle workers, starting workers up to ``max_workers``."""
        # Another thread may empty ``pending`` at any moment (shutdown's cancel_futures): the
        # check is only a hint, and the pop that follows is what decides.
        while self.pending and self.broken is None:
            worker = self._idle_worker()
            if worker is None:
                if self._full() or self.cannot_grow:
                    return
                worker = self._grow()
                if worker is None:
                    return
            with self._lock:
                try:
                    item = self.pending.popleft()
                except IndexError:
                    return
                if not item.start():
                    continue
                worker.item = item
            payload = self._pickle_call(item)
            if payload is None:
                worker.item = None
            else:
                self._send(worker, item, payload)

    def _grow(self) -> _Worker | None:
        """Start one more worker; on failure carry on with the running ones, or break the pool."""
        try:
            return self._start_worker()
        except Exception as exc:
            if not self.workers:
                LOG.error("process pool %s cannot start a worker: %r", self.name, exc)
                self._break(f"process pool {self.name} cannot start a worker process: {exc!r}")
                return None
            # For instance an exiting interpreter (Python 3.12+) refuses to fork: the workers
            # already running finish the queued work.
            LOG.warning(
                "process pool %s cannot start another worker (%r); its %d running workers take "
                "the queued calls",
                self.name,
                exc,
                len(self.workers),
            )
            self.cannot_grow = True
            return None

    def _idle_worker(self) -> _Worker | None:
        for worker in self.workers:
            if worker.item is None and not worker.retiring and worker.ending is None:
                return worker
        return None

    def _pickle_call(self, item: WorkItem) -> bytes | None:
        """The pickled call, or None after failing the item with a clear error."""
        try:
            return pickle.dumps((item.fn, item.args, item.kwargs), pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:
            error = PicklingFailed(
                f"cannot send {_describe_call(item)} to a worker process: the call could not "
                f"be pickled ({type(exc).__name__}: {exc})"
            )
            error.__cause__ = exc
            item.fail(error)
            return None

    def _send(self, worker: _Worker, item: WorkItem, payload: bytes) -> None:
        worker.since = time.monotonic()
        if worker.budget is not None:
            worker.budget -= 1
        worker.unsent = memoryview(_frame(payload))
        self._push(worker)

    def _push(self, worker: _Worker) -> None:
        """Write what the worker's pipe takes now; watch for room while anything is left."""
        unsent = worker.unsent
        try:
            unsent = unsent[self._write(worker, unsent) :]
        except BlockingIOError:
            # The pipe is full: what is left stays in ``unsent`` until the worker reads.
            pass
        except OSError as exc:
            # The worker is dead or its pipe unusable: its sentinel settles the item.
            self._give_up(worker, "write to", exc)
            unsent = unsent[:0]
        worker.unsent = unsent
        writing = len(unsent) > 0
        if worker.hung_up or writing == worker.writing:
            return
        worker.writing = writing
        assert self._selector is not None
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if writing else 0)
        self._selector.modify(worker.conn, events, worker)

    @staticmethod
    def _write(worker: _Worker, data: memoryview) -> int:
        """Write to the worker's pipe without blocking; the number of bytes it took."""
        return worker.socket.send(data, socket.MSG_DONTWAIT)

    @staticmethod
    def _receive(worker: _Worker) -> bytes:
        """Read one whole message from the worker's pipe (which holds at least its start)."""
        return worker.conn.recv_bytes()

    def _give_up(self, worker: _Worker, action: str, exc: BaseException) -> None:
        """Kill a worker whose pipe failed; its sentinel then settles what it held."""
        LOG.debug("cannot %s worker %s of pool %s: %r", action, worker.process.name, self.name, exc)
        if not worker.fault:  # the first failure is the cause; later ones follow from the kill
            worker.fault = f", after the parent failed to {action} its pipe ({exc!r})"
            worker.process.kill()

    def _start_worker(self) -> _Worker:
        parent_end, child_end = self.context.Pipe(duplex=True)
        # Every concrete context has Process; the BaseContext stub does not declare it.
        process: BaseProcess = self.context.Process(  # type: ignore[attr-defined]
            name=f"{self.name}-worker-{next(self._worker_numbers)}",
            target=_process_worker.serve,
            args=(child_end, self.initializer, self.initargs, self.max_tasks_per_child),
        )
        try:
            process.start()
        except BaseException:
            parent_end.close()
            raise
        finally:
            child_end.close()
        try:
            worker = _Worker(process, parent_end, self.max_tasks_per_child)
        except BaseException:  # no descriptor left to duplicate, say: undo the start
            process.kill()
            process.join()
            process.close()
            parent_end.close()
            raise
        self.workers.add(worker)
        assert self._selector is not None
        self._selector.register(parent_end, selectors.EVENT_READ, worker)
        self._selector.register(worker.sentinel, selectors.EVENT_READ, worker)
        return worker

    def _forget(self, worker: _Worker) -> None:
        """Stop watching a worker that has died or been told to exit, and let it go."""
        self._unwatch(worker)
        self._drop(worker)

    def _unwatch(self, worker: _Worker) -> None:
        assert self._selector is not None
        if not worker.hung_up:
            self._selector.unregister(worker.conn)
        self._selector.unregister(worker.sentinel)

    def _drop(self, worker: _Worker) -> None:
        """Take an ended worker out of the pool, once what it held is settled."""
        self.workers.discard(worker)
        if worker.signalled:
            self.doomed -= 1

    def _collect(self, worker: _Worker) -> None:
        """Settle the outcome the worker has sent, if any."""
        try:
            message = self._receive(worker)
        except (EOFError, OSError) as exc:
            # The worker died (or its pipe failed and it is killed): stop watching its pipe;
            # its sentinel settles what it held.
            if isinstance(exc, OSError):
                self._give_up(worker, "read from", exc)
            worker.hung_up = True
            assert self._selector is not None
            self._selector.unregister(worker.conn)
            return
        self._settle(worker, message)

    def _settle(self, worker: _Worker, message: bytes) -> None:
        if not message:
            worker.ready = True
            worker.since = time.monotonic()
            return
        item = worker.item
        try:
            outcome = pickle.loads(message)
        except BaseException as exc:
            if item is None:
                # Only "initializer failed" comes unasked: a worker that cannot say it is of no
                # use. (With a call in hand, the message is taken for that call's outcome.)
                self._give_up(worker, "unpickle a message from", exc)
                return
            error = UnpicklingFailed(
                f"the outcome of {_describe_call(item)} could not be unpickled in the parent "
                f"process ({type(exc).__name__}: {exc})"
            )
            error.__cause__ = exc
            item.fail(error)
            worker.item = None
            return
        kind = outcome[0]
        if kind == _process_worker.INITIALIZER_FAILED:
            self._initializer_failed(worker, outcome[1])
            return
        assert item is not None, "a worker answered a call it was never sent"
        self._settle_item(item, outcome)
        worker.item = None
        if not worker.answered:  # its first answer: workers can start
            worker.answered = True
            self.failed_starts = 0

    @staticmethod
    def _settle_item(item: WorkItem, outcome: tuple[Any, ...]) -> None:
        """End ``item`` with the outcome its worker sent back."""
        kind = outcome[0]
        if kind == _process_worker.RETURNED:
            item.finish(outcome[1], outcome[2])
        elif kind == _process_worker.RAISED:
            raised: BaseException = outcome[1]
            raised.__cause__ = _ChildTraceback(outcome[2])
            item.fail(raised, outcome[3])
        else:
            undelivered: BaseException = outcome[1]
            cause: BaseException | None = outcome[2]
            remote = _ChildTraceback(outcome[3])
            if cause is None:
                undelivered.__cause__ = remote
            else:
                cause.__cause__ = remote
                undelivered.__cause__ = cause
            item.fail(undelivered, outcome[4])

    def _initializer_failed(self, worker: _Worker, text: str) -> None:
        LOG.error("initializer of process pool %s failed:\n%s", self.name, text)
        reason = (
            f"the initializer {callable_name(self.initializer, module=True)} failed in worker "
            f"process {worker.process.name}; the pool cannot run work:\n{text}"
        )
        if worker.item is not None:
            worker.item.fail(BrokenProcessPool(reason))
            worker.item = None
        self._break(reason)

    def _bury(self, worker: _Worker) -> None:
        """Settle what a dead worker held (its last outcome, or its running call); replace it."""
        while not worker.hung_up and worker.conn.poll():
            self._collect(worker)
        self._unwatch(worker)
        code, pid = worker.end()
        item = worker.item
        if item is not None:
            item.fail(self._lost_error(worker, item, code, pid), time.monotonic() - worker.since)
            worker.item = None
        self._drop(worker)
        expected = worker.retiring or worker.ending is not None or self.stopping
        if item is None and not expected and self.broken is None:
            LOG.warning(
                "idle worker process %s (pid %s) of pool %s %s",
                worker.process.name,
                pid,
                self.name,
                _describe_exit(code),
            )
        if not expected and not worker.answered and (item is None or not worker.ready):
            self._failed_start(worker, code, pid)
        self._replace()

    def _failed_start(self, worker: _Worker, code: int | None, pid: int | None) -> None:
        """Count a worker that died before taking a call; break the pool once the count says
        that new workers would die too."""
        self.failed_starts += 1
        if self.failed_starts < _FAILED_STARTS or self.broken is not None:
            return
        when = "before it was ready" if not worker.ready else "while idle"
        initializer = (
            ""
            if self.initializer is None
            else f", with the initializer {callable_name(self.initializer, module=True)}"
        )
        reason = (
            f"{self.failed_starts} worker processes in a row died before taking a call (the "
            f"last, {worker.process.name} (pid {pid}), {_describe_exit(code)} {when}"
            f"{initializer}); process pool {self.name} starts no more and cannot run work"
        )
        self._break(reason, WorkerCrashed)
        LOG.error("%s", reason)

    def _lost_error(
        self, worker: _Worker, item: WorkItem, code: int | None, pid: int | None
    ) -> BaseException:
        """Why the call a worker held when it died failed: it was stopped, or it crashed."""
        process = f"worker process {worker.process.name} (pid {pid}) {_describe_exit(code)}"
        replaced = "" if self.stopping else "; a new worker replaces it"
        if worker.ending is not None:
            return stopped_error(
                item, f"{worker.ending.by}: its {process}{replaced}", WorkerStopped
            )
        return WorkerCrashed(
            f"{process} while running {_describe_call(item)}{worker.fault}{replaced}"
        )

    def _signal_ending(self) -> None:
        """Signal the workers marked to end, and start their replacements at once."""
        with self._lock:
            marked, self.ending = self.ending, []
        for worker in marked:
            ending = worker.ending
            if worker not in self.workers or ending is None:
                continue  # it died meanwhile, and its sentinel settled what it held
            if not worker.signalled:
                worker.signalled = True
                self.doomed += 1
            if ending.kill:
                worker.process.kill()
            else:
                worker.process.terminate()
                if ending.escalate:
                    worker.kill_at = time.monotonic() + _KILL_AFTER
                    self.escalating.append(worker)
            self._replace()

    def _escalate(self) -> None:
        """SIGKILL every worker that outlived the SIGTERM of a ``stop()``."""
        now = time.monotonic()
        waiting = []
        for worker in self.escalating:
            if worker not in self.workers:
                continue
            if now >= worker.kill_at:
                worker.process.kill()
            else:
                waiting.append(worker)
        self.escalating = waiting

    def _expire(self) -> None:
        """Kill every worker whose call has outlived ``task_timeout``; fail that call."""
        timeout = self.task_timeout
        assert timeout is not None
        now = time.monotonic()
        for worker in list(self.workers):
            if worker.item is None or not worker.ready or now - worker.since < timeout:
                continue
            if worker.ending is not None:
                continue  # being stopped: its call fails as stopped, not also as timed out
            while worker.item is not None and not worker.hung_up and worker.conn.poll():
                self._collect(worker)  # it finished just in time
            if worker.item is None:
                continue
            item = worker.item
            worker.process.kill()
            self._unwatch(worker)
            _, pid = worker.end()
            item.fail(
                TimeoutError(
                    f"{_describe_call(item)} did not finish within task_timeout={timeout:g} s; "
                    f"its worker process {worker.process.name} (pid {pid}) was killed and "
                    "replaced"
                ),
                now - worker.since,
            )
            worker.item = None
            self._drop(worker)
            self._replace()

    def _replace(self) -> None:
        """Start a worker at once after one died, so queued and future work need not wait."""
        if self.broken is None and not self.stopping and not self._full():
            self._grow()

    def _next_deadline(self) -> float | None:
        timeout = self.task_timeout
        if timeout is None and not self.escalating:
            return None
        deadlines = [worker.kill_at for worker in self.escalating]
        if timeout is not None:
            deadlines += [
                worker.since + timeout
                for worker in self.workers
                if worker.item is not None and worker.ready and worker.ending is None
            ]
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic())

    def _break(self, reason: str, error: type[BrokenProcessPool] = BrokenProcessPool) -> None:
        """Refuse new work and fail everything not yet sent with ``error`` (a
        ``BrokenProcessPool``)."""
        stranded = []
        with self._lock:
            self.broken = reason
            self.broken_as = error
            while True:
                try:
                    stranded.append(self.pending.popleft())
                except IndexError:
                    break
        for item in stranded:
            if item.start():
                item.fail(error(reason))

    def _stop_workers(self) -> None:
        """Ask every (idle) worker to exit and join them all; kill those marked to end.

        A worker still running ``_EXIT_GRACE`` s later gets SIGTERM, and SIGKILL if it
        outlives that by ``_KILL_AFTER`` s, so the wait is bounded.
        """
        stop = memoryview(_frame(b""))
        for worker in self.workers:
            # An idle worker has read all it was sent, so the few bytes fit; if not, or the
            # pipe fails, the worker cannot be told and is killed instead.
            told = False
            try:
                told = worker.ending is None and self._write(worker, stop) == len(stop)
            except OSError as exc:
                LOG.debug("cannot tell worker %s to stop: %r", worker.process.name, exc)
            if not told:
                worker.process.kill()
        lingering = _still_running(self.workers, _EXIT_GRACE)
        for worker in lingering:
            LOG.warning(
                "worker process %s (pid %s) of pool %s did not exit within %g s of being asked "
                "to (a non-daemon thread or an atexit handler holds it); ending it",
                worker.process.name,
                worker.process.pid,
                self.name,
                _EXIT_GRACE,
            )
            worker.process.terminate()
        for worker in _still_running(lingering, _KILL_AFTER):
            worker.process.kill()
        for worker in list(self.workers):
            self._forget(worker)
            worker.end()

    def _abandon_workers(self, reason: str) -> None:
        """Last resort when the manager fails: kill every worker, fail what they held."""
        for worker in self.workers:
            worker.process.kill()
            worker.end()
            if worker.item is not None:
                worker.item.fail(BrokenProcessPool(reason))
        self.workers.clear()

    def _drain_wake_pipe(self) -> None:
        try:
            while os.read(self._wake_read, 4096):
                pass
        except BlockingIOError:
            return

    def _close_wake_pipe(self) -> None:
        with self._wake_lock:
            if self._wake_write >= 0:
                os.close(self._wake_write)
                os.close(self._wake_read)
                self._wake_write = self._wake_read = -1


def _still_running(workers: Iterable[_Worker], seconds: float) -> list[_Worker]:
    """Wait up to ``seconds`` for every worker in ``workers`` to exit; those still running."""
    deadline = time.monotonic() + seconds
    running = {worker.sentinel: worker for worker in workers}
    while running and (left := deadline - time.monotonic()) > 0:
        ended = set(multiprocessing.connection.wait(list(running), left))
        running = {
            sentinel: worker for sentinel, worker in running.items() if sentinel not in ended
        }
    return list(running.values())


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

    _chunked_map = True
    _tracks_items: ClassVar[bool] = True
    kind = "process"
    _context_error = "its calls run in other processes, where the submitter's context is not"

    def __init__(
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
        max_workers = validate_max_workers(max_workers, os.cpu_count() or 1)
        validate_initializer(initializer)
        max_tasks_per_child = _validate_max_tasks_per_child(max_tasks_per_child)
        task_timeout = optional_seconds("task_timeout", task_timeout)
        context = _choose_context(mp_context, max_tasks_per_child)
        super().__init__(
            check_and_reject,
            name=name,
            log_unread_failures=log_unread_failures,
            propagate_context=propagate_context,
        )
        self._max_workers = max_workers
        self._pool = _Pool(
            self.name,
            context,
            max_workers=max_workers,
            initializer=initializer,
            initargs=tuple(initargs),
            max_tasks_per_child=max_tasks_per_child,
            task_timeout=task_timeout,
        )
        # Let the manager finish the accepted work and exit if this executor is collected.
        weakref.finalize(self, self._pool.request_stop).atexit = False

    @classmethod
    def config_options(cls) -> list[cfg.Opt]:
        """The oslo.config options of the ``process`` kind, beyond the common ones."""
        from oslo_config import cfg

        from futurist.executors._option_types import positive_seconds

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
        if os.getpid() != self._pool.owner_pid:
            raise RuntimeError(
                f"cannot submit to {self._pool.name} from process {os.getpid()}: only the "
                "process that created the pool can (a forked process holds an inert copy)"
            )

    def _backlog(self) -> int:
        return self._pool.backlog()

    def _workers_now(self) -> int:
        return len(self._pool.workers)

    def _dispatch(self, item: WorkItem) -> bool:
        self._pool.add(item)
        return False

    def _use_priorities(self) -> None:
        self._pool.use_priorities()

    def _in_own_worker(self) -> bool:
        # Calls run in other processes; done callbacks run on the manager thread, which alone
        # makes room in the backlog.
        return threading.current_thread() is self._pool.thread

    def _running_items(self) -> list[WorkItem]:
        return self._pool.running()

    def _cancel_queued(self) -> list[WorkItem]:
        return self._pool.cancel_pending()

    def _wait_idle(self, timeout: float) -> bool:
        return self._pool.wait_idle(timeout)

    def _stop_call(self, future: concurrent.futures.Future[Any]) -> bool:
        self._refuse_a_forked_copy()
        return self._pool.stop_call(future)

    def _end_workers(self, kill: bool) -> None:
        self._refuse_a_forked_copy()
        self.shutdown(wait=False, cancel_futures=True)
        self._pool.end_workers(_KILL if kill else _TERMINATE)

    def _stop(self, wait: bool, cancel_futures: bool) -> None:
        pool = self._pool
        if cancel_futures:
            pool.cancel_pending()
        pool.request_stop()
        if wait:
            pool.join()
