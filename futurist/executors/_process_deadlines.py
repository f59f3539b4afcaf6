"""The process pool's deadlines and signals: ``stop(future)``, ``terminate_workers()``,
``kill_workers()`` (SIGTERM, then SIGKILL after ``KILL_AFTER``; or SIGKILL) and
``task_timeout``."""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

from futurist.executors._process_lifecycle import Lifecycle
from futurist.executors._process_state import (
    KILL,
    KILL_AFTER,
    STOP,
    TERMINATE,
    Ending,
    Worker,
    describe_call,
)
from futurist.executors.workers import WorkItem

__all__ = ["Deadlines"]


class Deadlines(Lifecycle):
    """Ends workers when asked or when their call runs out of time."""

    def stop(self, future: concurrent.futures.Future[Any]) -> bool:
        """Cancel the queued call of ``future``, or end the worker running it (SIGTERM, then
        SIGKILL after ``KILL_AFTER`` s); False if this pool never held it.

        A call that ends (or is cancelled) as it is looked for needs no stopping: True.
        """
        self.refuse_a_forked_copy()
        with self._lock:
            worker = self._worker_running(future)
            queued = None if worker is not None else self._withdraw(future)
            if worker is not None and not future.done():
                self._mark(worker, STOP)
                self.wake()
                return True
        if queued is not None:
            queued.cancel()
            return True
        return future.done()

    def end(self, kill: bool) -> None:
        """Signal every worker to end, with SIGKILL or SIGTERM (the pool is shutting down)."""
        self.refuse_a_forked_copy()
        ending = KILL if kill else TERMINATE
        with self._lock:
            for worker in list(self.workers):
                self._mark(worker, ending)
        self.wake()

    def _worker_running(self, future: concurrent.futures.Future[Any]) -> Worker | None:
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

    def _mark(self, worker: Worker, ending: Ending) -> None:
        """Mark ``worker`` to end, for the manager to signal (caller holds ``_lock``).

        A later ``kill_workers()`` overrides an earlier SIGTERM; nothing else repeats one.
        """
        if worker.ending is None or (ending.kill and not worker.ending.kill):
            worker.ending = ending
            self.ending.append(worker)

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
                    worker.kill_at = time.monotonic() + KILL_AFTER
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
                    f"{describe_call(item)} did not finish within task_timeout={timeout:g} s; "
                    f"its worker process {worker.process.name} (pid {pid}) was killed and "
                    "replaced"
                ),
                now - worker.since,
            )
            worker.item = None
            self._drop(worker)
            self._replace()

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
