"""The process pool's transport: pickling calls, writing them without blocking, reading and
settling outcomes, and giving up on a worker whose pipe fails."""

from __future__ import annotations

import logging
import pickle
import selectors
import socket
import time
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from futurist.exceptions import PicklingFailed, UnpicklingFailed
from futurist.executors import _process_worker
from futurist.executors._pickling import dumps
from futurist.executors._process_state import (
    ChildTraceback,
    PoolState,
    Worker,
    describe_call,
    frame,
)
from futurist.executors.workers import WorkItem
from futurist.naming import callable_name

__all__ = ["Transport"]

LOG = logging.getLogger(__name__)


class Transport(PoolState):
    """Moves calls to workers and outcomes back, over each worker's own pipe."""

    def _pickle_call(self, item: WorkItem) -> bytes | None:
        """The pickled call, or None after failing the item with a clear error."""
        try:
            call = (item.fn, item.args, item.kwargs)
            return dumps(call, main_is_shared=self.context.get_start_method() == "fork")
        except BaseException as exc:
            error = PicklingFailed(
                f"cannot send {describe_call(item)} to a worker process: the call could not "
                f"be pickled ({type(exc).__name__}: {exc})"
            )
            error.__cause__ = exc
            item.fail(error)
            return None

    def _send(self, worker: Worker, item: WorkItem, payload: bytes) -> None:
        worker.since = time.monotonic()
        if worker.budget is not None:
            worker.budget -= 1
        worker.unsent = memoryview(frame(payload))
        self._push(worker)

    def _push(self, worker: Worker) -> None:
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
    def _write(worker: Worker, data: memoryview) -> int:
        """Write to the worker's pipe without blocking; the number of bytes it took."""
        return worker.socket.send(data, socket.MSG_DONTWAIT)

    @staticmethod
    def _receive(worker: Worker) -> bytes:
        """Read one whole message from the worker's pipe (which holds at least its start)."""
        return worker.conn.recv_bytes()

    def _give_up(self, worker: Worker, action: str, exc: BaseException) -> None:
        """Kill a worker whose pipe failed; its sentinel then settles what it held."""
        LOG.debug("cannot %s worker %s of pool %s: %r", action, worker.process.name, self.name, exc)
        if not worker.fault:  # the first failure is the cause; later ones follow from the kill
            worker.fault = f", after the parent failed to {action} its pipe ({exc!r})"
            worker.process.kill()

    def _collect(self, worker: Worker) -> None:
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

    def _settle(self, worker: Worker, message: bytes) -> None:
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
                f"the outcome of {describe_call(item)} could not be unpickled in the parent "
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
            raised.__cause__ = ChildTraceback(outcome[2])
            item.fail(raised, outcome[3])
        else:
            undelivered: BaseException = outcome[1]
            cause: BaseException | None = outcome[2]
            remote = ChildTraceback(outcome[3])
            if cause is None:
                undelivered.__cause__ = remote
            else:
                cause.__cause__ = remote
                undelivered.__cause__ = cause
            item.fail(undelivered, outcome[4])

    def _initializer_failed(self, worker: Worker, text: str) -> None:
        LOG.error("initializer of process pool %s failed:\n%s", self.name, text)
        reason = (
            f"the initializer {callable_name(self.initializer, module=True)} failed in worker "
            f"process {worker.process.name}; the pool cannot run work:\n{text}"
        )
        if worker.item is not None:
            worker.item.fail(BrokenProcessPool(reason))
            worker.item = None
        self._break(reason)
