"""The process pool's state, shared by its manager thread and the executor, and its vocabulary.

The pool is one object, built in layers, one concern each (see ``process.py`` for the data
flow): this state and the wake pipe; the transport (``_process_transport.py``: pickling,
framing, pipes, outcomes); the workers' lifecycle (``_process_lifecycle.py``: start, assign,
bury, replace); deadlines and signals (``_process_deadlines.py``: ``stop``, ``task_timeout``,
SIGTERM then SIGKILL); and the :class:`~futurist.executors.workers.Workers` face the executor
uses (``process.py``). None of them refers to the executor.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import os
import reprlib
import selectors
import signal
import socket
import struct
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING, Any

from futurist.executors.workers import PriorityBacklog, StoppableWorkers, WorkItem
from futurist.naming import callable_name

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

__all__ = [
    "KILL",
    "KILL_AFTER",
    "STOP",
    "TERMINATE",
    "ChildTraceback",
    "Ending",
    "PoolState",
    "Worker",
    "describe_call",
    "describe_exit",
    "frame",
]

KILL_AFTER = 2.0
"""Seconds a worker told to end with SIGTERM may take before it gets SIGKILL."""

_call_repr = reprlib.Repr()
_call_repr.maxstring = 40
_call_repr.maxother = 40


class ChildTraceback(Exception):
    """The traceback of an exception raised in a worker process, attached as its ``__cause__``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f"\n--- traceback in the worker process ---\n{self.text.rstrip()}\n---"


def describe_call(item: WorkItem) -> str:
    arguments = [_call_repr.repr(argument) for argument in item.args]
    arguments += [f"{key}={_call_repr.repr(value)}" for key, value in item.kwargs.items()]
    return f"{callable_name(item.fn, module=True)}({', '.join(arguments)})"


def describe_exit(exitcode: int | None) -> str:
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
class Ending:
    """Why and how the parent ends a worker: who asked (for the stopped call's error), SIGKILL
    or SIGTERM, and whether SIGKILL follows if the worker outlives ``KILL_AFTER``."""

    by: str
    kill: bool
    escalate: bool


STOP = Ending("stop() or drain() ended it", kill=False, escalate=True)
TERMINATE = Ending("terminate_workers() ended every worker", kill=False, escalate=False)
KILL = Ending("kill_workers() ended every worker", kill=True, escalate=False)


def frame(payload: bytes) -> bytes:
    """``payload`` framed as :meth:`multiprocessing.connection.Connection.send_bytes` frames it."""
    size = len(payload)
    if size > 0x7FFFFFFF:
        return struct.pack("!iQ", -1, size) + payload
    return struct.pack("!i", size) + payload


class Worker:
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
        self.ending: Ending | None = None
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


class PoolState(StoppableWorkers):
    """Everything the manager thread shares with the executor; never refers to the executor."""

    def __init__(  # noqa: PLR0913 -- the pool settings ProcessPoolExecutor accepts
        self,
        context: BaseContext,
        *,
        max_workers: int,
        initializer: Callable[..., object] | None,
        initargs: tuple[Any, ...],
        max_tasks_per_child: int | None,
        task_timeout: float | None,
    ) -> None:
        super().__init__()
        self.name = ""
        """The executor's name, which names the manager thread and the worker processes."""
        self.context = context
        self.max_workers = max_workers
        self.initializer = initializer
        self.initargs = initargs
        self.max_tasks_per_child = max_tasks_per_child
        self.task_timeout = task_timeout
        self.pending: collections.deque[WorkItem] | PriorityBacklog = collections.deque()
        self.workers: set[Worker] = set()
        self.ending: list[Worker] = []
        """Workers marked to end and not signalled yet (guarded by ``_lock``)."""
        self.doomed = 0
        """Workers signalled to end and not buried yet: they no longer count toward
        ``max_workers``, so their replacements start at once."""
        self.escalating: list[Worker] = []
        """Signalled workers that get SIGKILL at their ``kill_at`` if still alive."""
        self.broken: str | None = None
        self.broken_as: type[BrokenProcessPool] = BrokenProcessPool
        """What ``submit`` raises, and what queued calls fail with, once the pool is broken."""
        self.failed_starts = 0
        """Workers in a row that died before taking a call (``_process_lifecycle`` breaks the
        pool at ``_FAILED_STARTS``)."""
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

    def refuse_a_forked_copy(self) -> None:
        """Raise ``RuntimeError`` in a forked copy of the pool's process (a worker included),
        before touching any lock the fork may have copied while held."""
        if os.getpid() != self.owner_pid:
            raise RuntimeError(
                f"cannot submit to {self.name} from process {os.getpid()}: only the "
                "process that created the pool can (a forked process holds an inert copy)"
            )

    def wake(self) -> None:
        """Make the manager's wait return (a no-op once the manager has closed its pipe)."""
        with self._wake_lock:
            if self._wake_write >= 0:
                # A full pipe already holds wake bytes: the manager will wake anyway.
                with contextlib.suppress(BlockingIOError):
                    os.write(self._wake_write, b"\0")

    def _drained(self) -> bool:
        return not self.pending and all(worker.item is None for worker in self.workers)

    def _full(self) -> bool:
        """Whether ``max_workers`` workers run (those being ended do not count)."""
        return len(self.workers) - self.doomed >= self.max_workers

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
