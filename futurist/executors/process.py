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
        deadline  --> an item ran past task_timeout (counted from when its worker said it was
                      ready): kill its worker, fail the item with TimeoutError, start a new one
        stop      --> shutting down and nothing left: ask each worker to exit, join them all

A worker holds one call at a time, so the parent always knows which call a dead worker was
running, a crash fails only that call, ``cancel()`` works on everything not yet running, and
``pending`` is exactly the backlog ``check_and_reject`` sees. ``add`` and ``_break`` share a
lock, so an item is either refused or queued before the pool breaks and then failed by it. A call
or outcome that cannot be (un)pickled fails only that call, with :class:`~futurist.DeliveryFailed`
(a ``BrokenProcessPool``, as the standard library raises, which breaks its whole pool instead).
The manager holds the shared
``_Pool``, never the executor, so an executor collected without ``shutdown()`` still lets
its accepted work finish. POSIX only: the manager waits on pipes and process sentinels.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import multiprocessing
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
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING, Any, Self, TypeVar

from futurist._naming import callable_name
from futurist._seconds import optional_seconds
from futurist.exceptions import PicklingFailed, UnpicklingFailed, WorkerCrashed
from futurist.executors import _process_worker
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
        "budget",
        "conn",
        "fault",
        "hung_up",
        "item",
        "process",
        "ready",
        "sentinel",
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
        self.hung_up = False
        self.unsent = memoryview(b"")
        self.writing = False
        """Whether the selector watches the pipe for room to write ``unsent``."""
        self.fault = ""
        """Why the parent killed this worker, when it did so because its pipe failed."""

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
        self.pending: collections.deque[WorkItem] = collections.deque()
        self.workers: set[_Worker] = set()
        self.broken: str | None = None
        self.stopping = False
        self.cannot_grow = False
        """Set when starting a worker failed while others run (an exiting interpreter)."""
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()
        """Makes ``add``'s check-and-queue atomic with ``_break``'s mark-and-drain."""
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
                raise BrokenProcessPool(self.broken)
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

    def cancel_pending(self) -> None:
        """Cancel every item not yet sent to a worker."""
        while True:
            try:
                item = self.pending.popleft()
            except IndexError:
                return
            item.cancel()

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
            if self.task_timeout is not None:
                self._expire()

    def _drained(self) -> bool:
        return not self.pending and all(worker.item is None for worker in self.workers)

    def _assign(self) -> None:
        """Send queued calls to idle workers, starting workers up to ``max_workers``."""
        pending = self.pending
        # Another thread may empty ``pending`` at any moment (shutdown's cancel_futures): the
        # check is only a hint, and the pop that follows is what decides.
        while pending and self.broken is None:
            worker = self._idle_worker()
            if worker is None:
                if len(self.workers) >= self.max_workers or self.cannot_grow:
                    return
                worker = self._grow()
                if worker is None:
                    return
            try:
                item = pending.popleft()
            except IndexError:
                return
            if item.start():
                payload = self._pickle_call(item)
                if payload is not None:
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
            if worker.item is None and not worker.retiring:
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
        worker.item = item
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
        """Stop watching a worker that has died or been told to exit."""
        self.workers.discard(worker)
        assert self._selector is not None
        if not worker.hung_up:
            self._selector.unregister(worker.conn)
        self._selector.unregister(worker.sentinel)

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
            worker.item = None
            error = UnpicklingFailed(
                f"the outcome of {_describe_call(item)} could not be unpickled in the parent "
                f"process ({type(exc).__name__}: {exc})"
            )
            error.__cause__ = exc
            item.fail(error)
            return
        kind = outcome[0]
        if kind == _process_worker.INITIALIZER_FAILED:
            self._initializer_failed(worker, outcome[1])
            return
        assert item is not None, "a worker answered a call it was never sent"
        worker.item = None
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
        self._forget(worker)
        code, pid = worker.end()
        item = worker.item
        if item is not None:
            item.fail(
                WorkerCrashed(
                    f"worker process {worker.process.name} (pid {pid}) {_describe_exit(code)} "
                    f"while running {_describe_call(item)}{worker.fault}; a new worker "
                    "replaces it"
                ),
                time.monotonic() - worker.since,
            )
        elif not worker.retiring and not self.stopping and self.broken is None:
            LOG.warning(
                "idle worker process %s (pid %s) of pool %s %s",
                worker.process.name,
                pid,
                self.name,
                _describe_exit(code),
            )
        self._replace()

    def _expire(self) -> None:
        """Kill every worker whose call has outlived ``task_timeout``; fail that call."""
        timeout = self.task_timeout
        assert timeout is not None
        now = time.monotonic()
        for worker in list(self.workers):
            if worker.item is None or not worker.ready or now - worker.since < timeout:
                continue
            while worker.item is not None and not worker.hung_up and worker.conn.poll():
                self._collect(worker)  # it finished just in time
            if worker.item is None:
                continue
            item = worker.item
            worker.process.kill()
            self._forget(worker)
            _, pid = worker.end()
            item.fail(
                TimeoutError(
                    f"{_describe_call(item)} did not finish within task_timeout={timeout:g} s; "
                    f"its worker process {worker.process.name} (pid {pid}) was killed and "
                    "replaced"
                ),
                now - worker.since,
            )
            self._replace()

    def _replace(self) -> None:
        """Start a worker at once after one died, so queued and future work need not wait."""
        if self.broken is None and not self.stopping and len(self.workers) < self.max_workers:
            self._grow()

    def _next_deadline(self) -> float | None:
        timeout = self.task_timeout
        if timeout is None:
            return None
        starts = [
            worker.since for worker in self.workers if worker.item is not None and worker.ready
        ]
        if not starts:
            return None
        return max(0.0, min(starts) + timeout - time.monotonic())

    def _break(self, reason: str) -> None:
        """Refuse new work and fail everything not yet sent with ``BrokenProcessPool``."""
        stranded = []
        with self._lock:
            self.broken = reason
            while True:
                try:
                    stranded.append(self.pending.popleft())
                except IndexError:
                    break
        for item in stranded:
            if item.start():
                item.fail(BrokenProcessPool(reason))

    def _stop_workers(self) -> None:
        """Ask every (idle) worker to exit and join them all."""
        stop = memoryview(_frame(b""))
        for worker in self.workers:
            # An idle worker has read all it was sent, so the few bytes fit; if not, or the
            # pipe fails, the worker cannot be told and is killed instead.
            try:
                told = self._write(worker, stop) == len(stop)
            except OSError as exc:
                LOG.debug("cannot tell worker %s to stop: %r", worker.process.name, exc)
                told = False
            if not told:
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
    running calls.
    """

    _chunked_map = True
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

    def _stop(self, wait: bool, cancel_futures: bool) -> None:
        pool = self._pool
        if cancel_futures:
            pool.cancel_pending()
        pool.request_stop()
        if wait:
            pool.join()
