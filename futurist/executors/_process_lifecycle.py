"""The process pool's workers' lifecycle: start them, hand them calls, bury the dead and replace
them, and stop them all at the end."""

from __future__ import annotations

import logging
import multiprocessing.connection
import selectors
import time
from collections.abc import Iterable
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from futurist.exceptions import WorkerCrashed, WorkerStopped
from futurist.executors import _process_worker
from futurist.executors._flow import stopped_error
from futurist.executors._process_state import (
    KILL_AFTER,
    Worker,
    describe_call,
    describe_exit,
    frame,
)
from futurist.executors._process_transport import Transport
from futurist.executors.workers import WorkItem
from futurist.naming import callable_name

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

__all__ = ["Lifecycle"]

LOG = logging.getLogger(__name__)

_EXIT_GRACE = 5.0
"""Seconds a worker asked to exit at shutdown may take (its ``atexit`` handlers, its non-daemon
threads) before it gets SIGTERM: a thread a finished call left running must not hold the
shutdown, nor the interpreter's exit, forever."""

_FAILED_STARTS = 3
"""Workers in a row that die before taking a call (none answering one meanwhile) that break the
pool: an initializer that ends its process would otherwise have it start workers forever."""


class Lifecycle(Transport):
    """Starts, feeds, buries and replaces the worker processes."""

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

    def _grow(self) -> Worker | None:
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

    def _idle_worker(self) -> Worker | None:
        for worker in self.workers:
            if worker.item is None and not worker.retiring and worker.ending is None:
                return worker
        return None

    def _start_worker(self) -> Worker:
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
            worker = Worker(process, parent_end, self.max_tasks_per_child)
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

    def _forget(self, worker: Worker) -> None:
        """Stop watching a worker that has died or been told to exit, and let it go."""
        self._unwatch(worker)
        self._drop(worker)

    def _unwatch(self, worker: Worker) -> None:
        assert self._selector is not None
        if not worker.hung_up:
            self._selector.unregister(worker.conn)
        self._selector.unregister(worker.sentinel)

    def _drop(self, worker: Worker) -> None:
        """Take an ended worker out of the pool, once what it held is settled."""
        self.workers.discard(worker)
        if worker.signalled:
            self.doomed -= 1

    def _bury(self, worker: Worker) -> None:
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
                describe_exit(code),
            )
        if not expected and not worker.answered and (item is None or not worker.ready):
            self._failed_start(worker, code, pid)
        self._replace()

    def _failed_start(self, worker: Worker, code: int | None, pid: int | None) -> None:
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
            f"last, {worker.process.name} (pid {pid}), {describe_exit(code)} {when}"
            f"{initializer}); process pool {self.name} starts no more and cannot run work"
        )
        self._break(reason, WorkerCrashed)
        LOG.error("%s", reason)

    def _lost_error(
        self, worker: Worker, item: WorkItem, code: int | None, pid: int | None
    ) -> BaseException:
        """Why the call a worker held when it died failed: it was stopped, or it crashed."""
        process = f"worker process {worker.process.name} (pid {pid}) {describe_exit(code)}"
        replaced = "" if self.stopping else "; a new worker replaces it"
        if worker.ending is not None:
            return stopped_error(
                item, f"{worker.ending.by}: its {process}{replaced}", WorkerStopped
            )
        return WorkerCrashed(
            f"{process} while running {describe_call(item)}{worker.fault}{replaced}"
        )

    def _replace(self) -> None:
        """Start a worker at once after one died, so queued and future work need not wait."""
        if self.broken is None and not self.stopping and not self._full():
            self._grow()

    def _stop_workers(self) -> None:
        """Ask every (idle) worker to exit and join them all; kill those marked to end.

        A worker still running ``_EXIT_GRACE`` s later gets SIGTERM, and SIGKILL if it
        outlives that by ``KILL_AFTER`` s, so the wait is bounded.
        """
        stop = memoryview(frame(b""))
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
        for worker in _still_running(lingering, KILL_AFTER):
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


def _still_running(workers: Iterable[Worker], seconds: float) -> list[Worker]:
    """Wait up to ``seconds`` for every worker in ``workers`` to exit; those still running."""
    deadline = time.monotonic() + seconds
    running = {worker.sentinel: worker for worker in workers}
    while running and (left := deadline - time.monotonic()) > 0:
        ended = set(multiprocessing.connection.wait(list(running), left))
        running = {
            sentinel: worker for sentinel, worker in running.items() if sentinel not in ended
        }
    return list(running.values())
