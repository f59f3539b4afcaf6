"""The Ray kind's worker side: slots, the backlog, calls sent as Ray tasks and their outcomes.

Data flow::

    submit --> [lock: a free slot? calls[item] = SENDING, else backlog.append]
           --> caller's thread: item.start(); task.remote(*args, **kwargs) --> ObjectRef
           --> [lock: calls[item] = ref; refs[ref] = item; the first one wakes the collector]
    collector thread (one per executor, while calls are on the cluster):
               ray.get(the oldest refs, as many as end in about 40 ms at the pace measured)
               or, if they are slow or one failed in Ray, ray.wait(the oldest refs in
               flight; now and then the others too) --> the refs ready now --> one
               ray.get(list) --> [lock: take each item out of calls] --> finish/fail it -->
               note the pace and the calls' runtime (an unset max_workers follows it) -->
               free the slots, send the next backlog items from this thread, in one batch
    watcher thread, while calls hold slots: every second, does the cluster's GCS accept a
               connection? refused for ``connect_timeout`` seconds --> the session breaks
    stop:      [lock: take the item out of backlog or calls (one being sent is marked
               STOP_ON_ARRIVAL)] --> ray.cancel(ref, force=True) --> CallStopped
    shutdown:  once no call holds a slot, the collector ends and the connection is released
               (an owned instance stops)

A module-level function gets a Ray remote function of its own, made once, and each call passes
only its arguments, as plain Ray code does; any other callable (a lambda, a closure, a bound
method) travels with its arguments to one generic task. An item leaves ``backlog`` or
``calls`` only under the lock, so exactly one thread ends it. A
call Ray cannot serialise fails alone; any other refusal to send, or a GCS that stops
answering, means the cluster is gone: the session breaks, the backlog and every call in flight
fail with ``BrokenExecutor``. Only Ray's public API is used: no completion callback per call.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import pickle
import re
import socket
import threading
from collections.abc import Callable
from time import monotonic, perf_counter
from typing import Any

from futurist.exceptions import (
    BrokenExecutor,
    CallStopped,
    PicklingFailed,
    RemoteTraceback,
    WorkerCrashed,
)
from futurist.executors._ray_pace import POLL, Pace
from futurist.executors._ray_tasks import all_sent_as_is, remote_by_name, run_packed, timed
from futurist.executors.slots import SlotWorkers
from futurist.executors.workers import WorkItem
from futurist.naming import callable_name

__all__ = ["RayWorkers"]

LOG = logging.getLogger(__name__)

SENDING = object()
"""The value in ``calls`` of an item that holds a slot and is being sent."""
STOP_ON_ARRIVAL = object()
"""The value in ``calls`` of an item stopped while it was being sent."""
_GONE = object()
_WINDOW = 128
"""The oldest calls in flight the collector waits on at once. Ray ends tasks about in the
order they were sent, so each call is in about one ``ray.wait``, whose cost grows with the
refs it is given: waiting on every call in flight costs as much per call as ``.remote()``."""
_CHECK_EVERY = 1.0
"""Seconds between two checks that the cluster's GCS still accepts connections, while calls
hold slots."""
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
"""The colours Ray puts in the text of a task's error."""


class RayWorkers(SlotWorkers):
    """At most ``limit`` calls on the cluster at once, the rest in a backlog.

    ``ray`` is the imported module, ``options`` the Ray options of every task; ``release`` is
    called once, when the last call has ended after :meth:`close`. Holds no reference to the
    executor, so one collected without ``shutdown()`` still lets its calls finish and its
    connection go.
    """

    executor_name = "RayExecutor"
    sending = SENDING
    runs_elsewhere = "in Ray worker processes"
    wait_at_exit = True
    """An owned Ray instance ends with the interpreter: accepted calls finish first."""

    def __init__(  # noqa: PLR0913 -- the connection, the task options and the watch on it
        self,
        ray: Any,
        options: dict[str, Any],
        limit: int,
        release: Callable[[], None],
        *,
        gcs_address: str,
        patience: float,
        pace: Pace | None = None,
    ) -> None:
        super().__init__(limit)
        self.pace = pace or Pace(limit, limit, 1)
        """How fast the cluster ends calls and how long they run; a pace that adapts sets
        ``limit`` (about a second of the cluster's work in flight)."""
        self.ray = ray
        self.options = options
        self.task = ray.remote(**options)(run_packed)
        """The generic task, for callables that travel with their arguments."""
        self.tasks: dict[Callable[..., Any], Any] = {}
        """The remote function of each module-level function called so far."""
        self.release = release
        self.gcs_address = gcs_address
        self.patience = patience
        """Seconds the GCS may refuse connections before the session breaks."""
        self.refs: dict[Any, WorkItem] = {}
        """The ObjectRef of every call on the cluster, and its item: what the collector waits
        on, oldest first. Invariant: ``calls[refs[ref]] is ref`` for every ``ref`` here."""
        self.closing = False
        self.released = threading.Event()
        self.collector: threading.Thread | None = None
        self.watcher: threading.Thread | None = None

    # -- what the executor calls ------------------------------------------------------------

    def hand_over(self, item: WorkItem) -> None:
        if self._send(item):
            self.free_slots(1)

    def in_worker(self) -> bool:
        return threading.current_thread() is self.collector

    def count(self) -> int:
        with self.lock:
            return len(self.calls)

    def close(self, wait: bool) -> None:
        """Release the connection once every call has ended: in this thread if it waits (and
        is not the collector thread, which must keep settling calls), else in a thread of its
        own."""
        waits_here = wait and not self.in_worker()
        with self.lock:
            first = not self.closing
            self.closing = True
            self.changed.notify_all()
        if first and waits_here:
            self._release_when_idle()
        elif first:
            threading.Thread(
                target=self._release_when_idle, name=f"RayExecutor-closer-{id(self):#x}"
            ).start()
        elif waits_here:
            self.released.wait()

    def stop(self, future: concurrent.futures.Future[Any]) -> bool:
        """A queued call is cancelled; one on the cluster is cancelled there (its worker
        process killed) and fails with ``CallStopped``; one being sent is stopped as it
        arrives."""
        ref: Any = None
        queued: WorkItem | None = None
        with self.lock:
            item = next((held for held in self.calls if held.future is future), None)
            if item is None:
                queued = self.take_from_backlog(future)
            else:
                ref = self.calls[item]
                if _being_sent(ref):
                    self.calls[item] = STOP_ON_ARRIVAL
                else:
                    del self.calls[item]
                    del self.refs[ref]
        if item is not None and not _being_sent(ref):
            self._stop_on_cluster(item, ref, "RayExecutor.stop() cancelled its Ray task", True)
            self.free_slots(1)
        elif item is not None:
            future.cancel()
        elif queued is not None:
            queued.cancel()
        else:
            return False
        return True

    def end(self, kill: bool) -> None:
        """Stop every call on the cluster: ``kill`` ends the worker process running it (as
        ``ray.cancel(force=True)``), else the call is interrupted with ``KeyboardInterrupt``.
        Either way its future fails with ``CallStopped`` at once."""
        method = "kill_workers()" if kill else "terminate_workers()"
        with self.lock:
            on_cluster = [(item, ref) for item, ref in self.calls.items() if not _being_sent(ref)]
            for item, ref in on_cluster:
                del self.calls[item]
                del self.refs[ref]
            for item in self.calls:
                self.calls[item] = STOP_ON_ARRIVAL
        why = f"RayExecutor.{method} cancelled its Ray task"
        for item, ref in on_cluster:
            self._stop_on_cluster(item, ref, why, kill)
        self.free_slots(len(on_cluster))

    # -- sending and settling ---------------------------------------------------------------

    def _send(self, item: WorkItem) -> bool:
        """Send one item that holds a slot; True if it ended here and its slot is to be freed
        (False too if the session broke meanwhile: breaking failed it and freed its slot)."""
        if not item.start():
            return self._forget(item)
        try:
            ref = self.submit_task(item)
        except (TypeError, pickle.PicklingError) as exc:
            error = PicklingFailed(
                f"cannot send {callable_name(item.fn)} to the Ray cluster: the function and its "
                f"arguments cannot be serialised ({type(exc).__name__}); pass only values "
                "cloudpickle can serialise"
            )
            error.__cause__ = exc
            if not self._forget(item):
                return False
            _fail(item, error)
            return True
        except Exception as exc:
            self.break_down(exc)  # which fails this item, as every one being sent
            return False
        with self.lock:
            mark = self.calls.get(item, _GONE)
            if mark is SENDING:
                self.calls[item] = ref
                self.refs[ref] = item
                if len(self.refs) == 1:
                    # The collector waits only while no call is on the cluster: wake it then
                    # alone, as a wake-up per call would cost a thread switch per call.
                    self._start_threads()
                    self.changed.notify_all()
            elif mark is STOP_ON_ARRIVAL:
                del self.calls[item]
        if mark is STOP_ON_ARRIVAL:
            why = "RayExecutor.stop() cancelled its Ray task as it was sent"
            self._stop_on_cluster(item, ref, why, True)
            return True
        if mark is _GONE:  # the session broke while it was sent
            self._cancel_quietly(ref)
        return False

    def submit_task(self, item: WorkItem) -> Any:
        """Start the Ray task of ``item``; return its ObjectRef.

        The arguments go one by one, as plain Ray code sends them, only when each is of a
        type Ray's msgpack carries unchanged: Ray turns a ``bytearray`` (one passed alone, or
        in a list or a dict) into ``bytes``. Any other goes in one tuple, which Ray pickles.
        """
        fn = item.fn
        if not (remote_by_name(fn) and all_sent_as_is(item.args, item.kwargs)):
            return self.task.remote(fn, (item.args, item.kwargs))
        task = self.tasks.get(fn)
        if task is None:
            task = self.tasks[fn] = self.ray.remote(**self.options)(timed(fn))
        return task.remote(*item.args, **item.kwargs)

    def _forget(self, item: WorkItem) -> bool:
        """Take ``item`` out of ``calls``; whether it was there (else it has been ended)."""
        with self.lock:
            return self.calls.pop(item, _GONE) is not _GONE

    def settle(self, ready: list[Any], outcomes: list[Any]) -> int:
        """On the collector thread: end the items of the ``ready`` refs from their tasks'
        ``outcomes`` (taken from ``calls`` under one lock), except those that ended
        meanwhile (stopped, or the session broke); return how many ended here."""
        with self.lock:
            refs = self.refs
            ended = [
                (refs.pop(ref), outcome)
                for ref, outcome in zip(ready, outcomes, strict=True)
                if ref in refs
            ]
            for item, _ in ended:
                del self.calls[item]
        if self.pace.adapts:
            reports = [outcome for _, outcome in ended if isinstance(outcome, tuple | list)]
            self.pace.ran(len(reports), sum(report[0] for report in reports))
        for item, outcome in ended:
            try:
                _conclude(self.ray, item, outcome)
            except BaseException as exc:
                if not item.future.done():
                    _fail(item, exc)  # what Ray reported could not be read: the call fails
                else:
                    LOG.error("a done callback of %r raised", item.future, exc_info=exc)
        return len(ended)

    def ended_in(self, count: int, seconds: float) -> None:
        """The collector settled ``count`` calls in a round of ``seconds``: note the pace,
        let an adaptive window follow the calls' runtime, and free their slots."""
        pace = self.pace
        pace.ended(count, seconds)
        if pace.adapts:
            with self.lock:
                self.limit = pace.window()
        self.free_slots(count)

    def free_slots(self, count: int) -> None:
        """``count`` calls ended: give their slots to the next backlog items and send them;
        wake a waiting shutdown."""
        to_send: list[WorkItem] = []
        while True:
            for item in to_send:
                count += self._send(item)
            with self.lock:
                self.in_use -= count
                count = 0
                to_send = []
                while self.queue and self.in_use < self.limit and self.broken is None:
                    self.in_use += 1
                    item = self.queue.popleft()
                    self.calls[item] = SENDING
                    to_send.append(item)
                self.notify_if_idle()
            if not to_send:
                return

    def _stop_on_cluster(self, item: WorkItem, ref: Any, why: str, force: bool) -> None:
        self._cancel_quietly(ref, force)
        _fail(item, CallStopped(f"{callable_name(item.fn)} was stopped while it ran: {why}"))

    def _cancel_quietly(self, ref: Any, force: bool = True) -> None:
        """Cancel the task of ``ref`` on the cluster, if the cluster still takes orders."""
        try:
            self.ray.cancel(ref, force=force)
        except Exception:
            LOG.debug("cannot cancel the Ray task %r", ref, exc_info=True)

    def break_down(self, cause: BaseException) -> None:
        """The cluster refused a call or is gone: refuse new work, fail the backlog and every
        call on the cluster or being sent."""
        with self.lock:
            first = self.broken is None
            broken = self.broken or BrokenExecutor(
                f"RayExecutor lost its Ray cluster ({type(cause).__name__}: {cause}); "
                "calls that had not finished were failed, create a new executor"
            )
            if first:
                broken.__cause__ = cause
                self.broken = broken
            held = list(self.calls.items())
            self.calls.clear()
            self.refs.clear()
            backlog = list(self.queue)
            self.queue.clear()
            # Sends blocked on a cluster that is gone must not hold up shutdown: every slot
            # is freed here, and a sender that finds its item gone frees nothing.
            self.in_use -= len(held)
            self.notify_if_idle()
        if first:
            LOG.error("RayExecutor lost its Ray cluster", exc_info=cause)
        for item in backlog:
            if item.start():
                _fail(item, _copy(broken))
        for item, _ in held:
            _fail(item, _copy(broken))

    # -- the collector and watcher threads ---------------------------------------------------

    def _start_threads(self) -> None:
        """Called under the lock: start the collector and the watcher if they are not running."""
        if self.collector is None:
            self.collector = threading.Thread(
                target=_collect,
                args=(self,),
                name=f"RayExecutor-collector-{id(self):#x}",
                daemon=True,
            )
            self.collector.start()
        if self.watcher is None:
            self.watcher = threading.Thread(
                target=_watch, args=(self,), name=f"RayExecutor-watcher-{id(self):#x}", daemon=True
            )
            self.watcher.start()

    def is_over(self) -> bool:
        """Called under the lock: whether the session has ended (closed with nothing on the
        cluster, or broken)."""
        return self.broken is not None or (self.closing and self.is_idle())

    def _release_when_idle(self) -> None:
        try:
            with self.changed:
                self.changed.wait_for(self.is_idle)
                # A thread may be stuck sending to a cluster that is gone: not waited for.
                threads = [self.collector, self.watcher] if self.broken is None else []
            for thread in threads:
                if thread is not None and thread is not threading.current_thread():
                    thread.join()
            self.release()
        except Exception:
            LOG.exception("releasing RayExecutor's connection to Ray failed")
        finally:
            self.released.set()


def _collect(session: RayWorkers) -> None:
    """Settle calls as they end, in batches, until the session closes with nothing on the
    cluster or breaks; if this loop fails, the session breaks first (nothing hangs).

    Ray ends tasks about in the order they were sent, so a round first fetches the oldest
    calls, as many as end in about ``FETCH`` seconds at the pace measured, with one
    ``ray.get`` (what plain Ray code does, without a ``ray.wait``). If they have not all
    ended after twice that, or one of them failed, the round waits with ``ray.wait`` on the
    ``_WINDOW`` oldest calls instead; while more are in flight and the oldest are slow to
    end, every ``in flight / _WINDOW`` such waits it also looks at the others (at no more cost
    per wait than the window's), so a call that ends before older ones is settled too.
    """
    try:
        waits_to_sweep = 0
        round_began = perf_counter()
        while (watched := _calls_to_watch(session)) is not None:
            oldest, was_idle = watched
            del watched
            if was_idle:
                round_began = perf_counter()
            head = oldest[: session.pace.head(len(oldest))]
            outcomes = _fetch_in_order(session, head)
            if outcomes is not None:
                del oldest
                ended = session.settle(head, outcomes)
                del head, outcomes
            else:
                del head
                ready = _ready(session, oldest)
                if len(oldest) == _WINDOW and len(ready) < _WINDOW:
                    waits_to_sweep -= 1
                    if waits_to_sweep <= 0:
                        more, looked_at = _ended_after(session, _WINDOW)
                        ready += more
                        waits_to_sweep = looked_at // _WINDOW
                del oldest
                ended = _settle_batch(session, ready) if ready else 0
                del ready
            round_ended = perf_counter()
            session.ended_in(ended, round_ended - round_began)
            round_began = round_ended
    except BaseException as exc:
        session.break_down(exc)


def _watch(session: RayWorkers) -> None:
    """While calls hold slots, check every ``_CHECK_EVERY`` seconds that the cluster's GCS
    accepts connections; once it has refused them for ``patience`` seconds, break the
    session. A thread of its own: a send to a cluster that is gone can block the collector.
    """
    refused_since: float | None = None
    while True:
        with session.changed:
            session.changed.wait_for(lambda: session.is_over() or session.in_use > 0)
            if session.changed.wait_for(session.is_over, _CHECK_EVERY):
                session.watcher = None
                return
        refused = _gcs_refuses(session)
        if refused is None:
            refused_since = None
            continue
        refused_since = refused_since or monotonic()
        if monotonic() - refused_since >= session.patience:
            error = ConnectionError(
                f"the Ray cluster's GCS at {session.gcs_address} has refused connections "
                f"for {session.patience:g} s (connect_timeout) while calls were on the "
                f"cluster ({type(refused).__name__}: {refused})"
            )
            error.__cause__ = refused
            session.break_down(error)


def _gcs_refuses(session: RayWorkers) -> OSError | None:
    """Why the cluster's GCS refuses a connection now, or None if it accepts one."""
    host, _, port = session.gcs_address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), min(_CHECK_EVERY, session.patience)).close()
    except OSError as exc:
        return exc
    return None


def _calls_to_watch(session: RayWorkers) -> tuple[list[Any], bool] | None:
    """The refs of the ``_WINDOW`` oldest calls on the cluster once there is one, and whether
    there was none at first (the time waited is no round of the pace); None once the session
    closes with no call left, or breaks (then no call is on the cluster)."""
    with session.changed:
        idle = not session.refs
        session.changed.wait_for(lambda: session.refs or session.is_over())
        if not session.refs:
            session.collector = None
            return None
        return list(itertools.islice(session.refs, _WINDOW)), idle


def _ready(session: RayWorkers, refs: list[Any]) -> list[Any]:
    """The refs among ``refs`` whose task has ended: once half of them have, or after
    ``POLL`` seconds (one ``ray.wait`` settles many calls)."""
    ready: list[Any]
    ready, _ = session.ray.wait(refs, num_returns=max(1, len(refs) // 2), timeout=POLL)
    return ready


def _ended_after(session: RayWorkers, skip: int) -> tuple[list[Any], int]:
    """The refs of the calls on the cluster past the ``skip`` oldest that have ended, and
    how many calls were looked at."""
    with session.lock:
        later = list(itertools.islice(session.refs, skip, None))
    if not later:
        return later, 0
    ready: list[Any]
    ready, _ = session.ray.wait(later, num_returns=len(later), timeout=0)
    return ready, len(later)


def _fetch_in_order(session: RayWorkers, head: list[Any]) -> list[Any] | None:
    """The outcomes of the calls of ``head`` once all have ended, if that is within twice
    the time they take at the pace measured and none of them failed in Ray; else None."""
    try:
        outcomes: list[Any] = session.ray.get(head, timeout=session.pace.fetch_timeout(len(head)))
    except Exception:
        return None
    return outcomes


def _settle_batch(session: RayWorkers, ready: list[Any]) -> int:
    """Fetch the outcomes of ``ready`` in one ``ray.get`` (one by one if one of them is an
    error) and settle their items; return how many ended here."""
    try:
        outcomes = session.ray.get(ready)
    except Exception:
        outcomes = [_outcome(session, ref) for ref in ready]
    return session.settle(ready, outcomes)


def _outcome(session: RayWorkers, ref: Any) -> Any:
    """What one task gave: its value, or the error Ray raises for it."""
    try:
        return session.ray.get(ref)
    except Exception as exc:
        return exc


def _conclude(ray: Any, item: WorkItem, outcome: Any) -> None:
    """Finish or fail ``item`` from what Ray reported for its task: the task's
    ``Report``, or the error Ray has instead (never raised here, so no
    traceback of this frame keeps the item alive)."""
    if isinstance(outcome, tuple | list):
        runtime, raised, value = outcome
        if raised:
            exc, text = value
            exc.__cause__ = RemoteTraceback(text)
            item.fail(exc, runtime)
        else:
            item.finish(value, runtime)
    elif isinstance(outcome, ray.exceptions.RayTaskError):
        cause = outcome.cause if isinstance(outcome.cause, BaseException) else outcome
        cause.__cause__ = RemoteTraceback(_ANSI.sub("", str(outcome)))
        item.fail(cause)
    elif isinstance(outcome, ray.exceptions.WorkerCrashedError | ray.exceptions.NodeDiedError):
        error = WorkerCrashed(
            f"the Ray worker process running {callable_name(item.fn)} (or its node) died "
            f"before the call finished ({outcome}); only this call failed"
        )
        error.__cause__ = outcome
        item.fail(error)
    else:
        item.fail(outcome)


def _being_sent(mark: Any) -> bool:
    """Whether a value in ``calls`` marks an item being sent (stopped meanwhile or not)."""
    return mark is SENDING or mark is STOP_ON_ARRIVAL


def _fail(item: WorkItem, error: BaseException) -> None:
    """Fail ``item``; a done callback that raises is logged, so the next item fails too."""
    try:
        item.fail(error)
    except BaseException as exc:
        LOG.error("a done callback of %r raised", item.future, exc_info=exc)


def _copy(broken: BrokenExecutor) -> BrokenExecutor:
    """A fresh copy of the session's error for one future, with the same cause."""
    error = BrokenExecutor(str(broken))
    error.__cause__ = broken.__cause__
    return error
