"""DaskExecutor: the executor contract on a Dask distributed cluster (``futurist[dask]``).

Data flow::

    submit --> [submit lock: check_and_reject(len(backlog));
                a free slot? calls[item] = _IN_TRANSIT, else backlog.append]
           --> caller's thread: pickle the call --> client.submit(_run_call, payload)
           --> [lock: calls[item] = dask future] --> the client's loop watches it
    stop:                [lock: take the item out of backlog or calls (a call being sent is
                         marked _STOP_ON_ARRIVAL)] --> cancel its Dask task --> CallStopped
    client loop thread:  wait for the call to end --> fetch the results of every call that
                         ended meanwhile in one request --> [lock: take each item out of calls]
                         --> unpickle, finish/fail the futurist future --> free the slot,
                         send the next backlog items
    shutdown:            once no call holds a slot, close the client (and owned cluster)

An item leaves ``backlog`` or ``calls`` only under the lock, so exactly one thread ends it. If
the machinery itself fails (not a call: a call's error only fails its future), the session is
broken: the backlog and every call in flight fail with ``BrokenExecutor`` (the error as its
``__cause__``), later submits raise it, and shutdown still closes the client.

At most ``max_workers`` calls are on the cluster at once; the rest wait in our backlog, which is
what ``check_and_reject`` sees and what ``shutdown(cancel_futures=True)`` cancels. Each call runs
inside ``_run_call`` on the worker, which times it there and pickles the result itself, so a
result that cannot be serialised fails only its own future, with a message saying so.
``distributed`` is imported only when an executor is built, so ``import futurist`` works without it.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import itertools
import logging
import os
import pickle
import signal
import struct
import threading
import uuid
import weakref
from collections.abc import Callable
from time import perf_counter
from traceback import format_exception
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from futurist._extras import import_extra
from futurist._naming import callable_name
from futurist._seconds import seconds
from futurist.exceptions import BrokenExecutor
from futurist.executors._flow import PriorityBacklog, priority_of, stopped_error
from futurist.executors.base import (
    CheckAndReject,
    Executor,
    WorkItem,
    validate_check_and_reject,
    validate_max_workers,
)

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["DaskExecutor"]

LOG = logging.getLogger(__name__)

_RUNTIME_ATTRIBUTE = "_futurist_runtime"
_CALLS_PER_THREAD = 64
"""Default calls in flight per cluster thread: enough that workers never wait for a refill."""


def _import_distributed() -> Any:
    """Return the ``distributed`` module, or raise ImportError naming the extra to install."""
    return import_extra("distributed", "DaskExecutor needs", "dask")


def _run_call(payload: bytes) -> bytes:
    """Run one pickled call on a Dask worker; return its runtime there and its outcome, pickled.

    One ``bytes`` object (see ``_pack_outcome``): Dask sizes, stores and sends a single bytes
    object far more cheaply than a tuple.
    A call that raises an ``Exception`` re-raises with its runtime attached, so the statistics
    of failures count the time spent on the worker too. ``KeyboardInterrupt`` and
    ``SystemExit`` would stop the worker itself, and Dask would replace an exception whose
    ``str()`` or ``repr()`` raises with that error: these come back pickled with the text of
    their traceback (frames cannot be pickled), flagged as raised.
    """
    fn, args, kwargs = pickle.loads(payload)
    started = perf_counter()
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:
        if _describable(exc):
            _attach_runtime(exc, perf_counter() - started)
            raise
        return _pack_raised(exc, perf_counter() - started)
    except BaseException as exc:
        return _pack_raised(exc, perf_counter() - started)
    runtime = perf_counter() - started
    try:
        return _pack_outcome(result, runtime, raised=False)
    except Exception as exc:
        error = TypeError(
            f"the result of {callable_name(fn)} cannot be serialised to send it back from the "
            f"Dask worker ({type(exc).__name__}: {exc}); return only picklable values"
        )
        _attach_runtime(error, runtime)
        raise error from None


_OUTCOME_HEADER = struct.Struct("<d?")
"""What precedes a pickled outcome: the call's runtime and whether it raised."""


def _pack_outcome(value: object, runtime: float, *, raised: bool) -> bytes:
    """The runtime and the raised flag, then ``value`` pickled: readable even if it is not."""
    return _OUTCOME_HEADER.pack(runtime, raised) + _dumps(value)


def _pack_raised(exc: BaseException, runtime: float) -> bytes:
    """What ``_run_call`` sends back for ``exc``: the exception and its traceback's text."""
    text = "".join(format_exception(exc))
    return _pack_outcome((exc, text), runtime, raised=True)


class _WorkerTraceback(Exception):
    """The cause of an exception that came back from a Dask worker: where it was raised there.

    Its ``str()`` is the traceback's text, as the cause the standard library's process pool
    gives (``_RemoteTraceback``).
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


def _unpack_outcome(outcome: bytes) -> tuple[float, bool, memoryview]:
    """Split what ``_pack_outcome`` made into the runtime, the flag and the pickled value."""
    runtime, raised = _OUTCOME_HEADER.unpack_from(outcome)
    return runtime, raised, memoryview(outcome)[_OUTCOME_HEADER.size :]


def _dumps(value: object) -> bytes:
    """Pickle ``value``; by value with cloudpickle where plain pickle cannot, as Dask does.

    Plain pickle is tried first (fast); cloudpickle takes over for lambdas, closures and
    anything defined in ``__main__``, which a worker process cannot import.
    """
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        data = b"__main__"
    if b"__main__" in data:
        import cloudpickle  # type: ignore[import-untyped]

        data = cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return bytes(data)


def _attach_runtime(exc: BaseException, runtime: float) -> None:
    try:
        setattr(exc, _RUNTIME_ATTRIBUTE, runtime)
    except (AttributeError, TypeError):
        LOG.debug("cannot attach the runtime to %r; it will count as 0", exc)


def _take_runtime(exc: BaseException) -> float:
    runtime = getattr(exc, _RUNTIME_ATTRIBUTE, 0.0)
    try:
        delattr(exc, _RUNTIME_ATTRIBUTE)
    except (AttributeError, TypeError):
        return 0.0
    return float(runtime)


def _describable(exc: BaseException) -> bool:
    """Whether ``str(exc)`` and ``repr(exc)`` work, as Dask's worker needs to report it."""
    try:
        str(exc)
        repr(exc)
    except Exception:
        return False
    return True


def _funcname(fn: Callable[..., Any]) -> str:
    """Dask's name for ``fn``, which task keys start with; its type's name if Dask's fails
    (Dask falls back on ``str(fn)``, which may raise)."""
    from dask.utils import funcname

    try:
        return str(funcname(fn))
    except Exception:
        return type(fn).__name__


class _Session:
    """What the executor and the client's event loop share: the client, the calls, the backlog.

    Slots: at most ``limit`` calls are held at once, by a thread sending them, by the cluster
    (``calls``: each item and its Dask future), or by the loop settling them. Every item leaves
    a shared place (``backlog``, ``calls``) under the lock, so exactly one thread ends it.
    Holds no reference to the executor, so an executor collected without ``shutdown()`` still
    lets its work finish and its cluster close.
    """

    def __init__(self, client: Any, cluster: Any, lock: threading.Lock, limit: int) -> None:
        self.client = client
        self.cluster = cluster
        self.limit = limit
        self.lock = lock
        self.idle = threading.Condition(lock)
        self.backlog: collections.deque[WorkItem] | PriorityBacklog = collections.deque()
        self.calls: dict[WorkItem, Any] = {}
        self.in_use = 0
        self.broken: BrokenExecutor | None = None
        self.refill_scheduled = False
        self.finished: list[tuple[Any, WorkItem]] = []
        """Calls whose outcome is on the cluster, for the next batch fetched (loop only)."""
        self.gathering = False
        """Whether a ``_gather_finished`` is running (loop only)."""
        self.closing = False
        self.released = threading.Event()
        # Task keys: one random prefix per session and a counter, unique on any scheduler
        # without reading the system's random source for every call.
        self.key_prefix = uuid.uuid4().hex
        self.key_numbers = itertools.count()

    def take_slot_or_queue(self, item: WorkItem) -> bool:
        """Called under the lock: True if ``item`` got a slot and is to be sent by the caller.

        Raises ``BrokenExecutor`` once the session is broken: nothing is accepted any more.
        """
        if self.broken is not None:
            raise BrokenExecutor(
                f"cannot submit {callable_name(item.fn)} to DaskExecutor: {self.broken}"
            ) from self.broken.__cause__
        if self.in_use < self.limit:
            self.in_use += 1
            self.calls[item] = _IN_TRANSIT
            return True
        self.backlog.append(item)
        return False

    def send(self, items: list[WorkItem]) -> None:
        """Send items that hold slots to the cluster (called without the lock)."""
        ended = self._send(items)
        if ended:
            self.free_slots(ended)

    def _send(self, items: list[WorkItem]) -> int:
        """Send ``items`` in one message; return how many of them ended here instead.

        An item cancelled meanwhile, or whose call cannot be pickled, ends here; if the client
        refuses the calls, they fail with its error. The others go to the scheduler together,
        which costs it one graph update, and the loop watches them from then on.
        """
        payloads: list[bytes] = []
        keys: list[str] = []
        sent: list[WorkItem] = []
        ended: list[WorkItem] = []
        for item in items:
            if not item.start():
                ended.append(item)
                continue
            try:
                payload = _dumps((item.fn, item.args, item.kwargs))
                key = f"{_funcname(item.fn)}-{self.key_prefix}-{next(self.key_numbers)}"
            except Exception as exc:
                error = TypeError(
                    f"cannot send {callable_name(item.fn)} to the Dask cluster: the function and "
                    f"its arguments cannot be serialised ({type(exc).__name__}: {exc}); pass "
                    "only picklable values"
                )
                item.fail(error, traceback=exc.__traceback__)
                ended.append(item)
                continue
            payloads.append(payload)
            keys.append(key)
            sent.append(item)
        if not sent:
            return self._hand_over([], ended)
        try:
            priorities = [priority_of(item) for item in sent]
            if len(sent) == 1 or len(set(priorities)) > 1:
                futures = [
                    self.client.submit(_run_call, payload, key=key, pure=False, priority=rank)
                    for payload, key, rank in zip(payloads, keys, priorities, strict=True)
                ]
            else:
                futures = self.client.map(
                    _run_call, payloads, key=keys, pure=False, priority=priorities[0]
                )
        except BaseException as exc:
            for item in sent:
                item.fail(exc)
            ended.extend(sent)
            count = self._hand_over([], ended)
            if not isinstance(exc, Exception):
                self.free_slots(count)
                raise
            return count
        return self._hand_over(list(zip(futures, sent, strict=True)), ended)

    def _hand_over(self, watched: list[tuple[Any, WorkItem]], ended: list[WorkItem]) -> int:
        """Put sent calls in ``calls`` and have the loop await each; return how many ended here.

        ``ended`` ended while being sent: they leave ``calls``. A broken session takes no more
        calls, and a call stopped while it was being sent is not watched: they are cancelled on
        the cluster and failed here.
        """
        kept: list[tuple[Any, WorkItem]] = []
        stopped: list[tuple[Any, WorkItem]] = []
        with self.lock:
            calls = self.calls
            for item in ended:
                calls.pop(item, None)
            broken = self.broken
            for future, item in watched:
                if broken is None and calls.get(item) is not _STOP_ON_ARRIVAL:
                    calls[item] = future
                    kept.append((future, item))
                else:
                    calls.pop(item, None)
                    stopped.append((future, item))
        self._cancel_on_cluster([future for future, _ in stopped])
        for _, item in stopped:
            if broken is not None:
                item.fail(_broken_error(broken))
            else:
                _fail(item, stopped_error(item, _CANCELLED_ON_CLUSTER))
        try:
            for future, item in kept:
                self.client.loop.add_callback(self._await, future, item)
        except BaseException as exc:
            # The calls whose watch was not registered are still in ``calls``: they fail there.
            self.break_down(exc)
        return len(ended) + len(stopped)

    async def _await(self, dask_future: Any, item: WorkItem) -> None:
        """On the client's loop: wait for one call to end, without fetching its result.

        A finished call joins the next batch ``_gather_finished`` fetches: results that come
        in while one batch is fetched are fetched together, one request for all of them
        instead of one each. A call that failed or was cancelled settles here.
        """
        try:
            await dask_future.exception()  # waits for the call to end; fetches nothing
            if dask_future.status == "finished":
                self.finished.append((dask_future, item))
                if not self.gathering:
                    self.gathering = True
                    await self._gather_finished()
                return
            await self._fetch_and_settle(dask_future, item)
        except BaseException as exc:
            self.break_down(exc)

    async def _gather_finished(self) -> None:
        """On the client's loop: fetch the results of finished calls, a batch at a time.

        If a batch cannot be fetched as a whole (a result lost with its worker and failed
        on recomputing it, say), each of its calls is fetched and settled on its own.
        """
        try:
            while self.finished:
                batch, self.finished = self.finished, []
                try:
                    outcomes = await self.client.gather(
                        [dask_future for dask_future, _ in batch], asynchronous=True
                    )
                except Exception:
                    for dask_future, item in batch:
                        await self._fetch_and_settle(dask_future, item)
                    continue
                for (dask_future, item), outcome in zip(batch, outcomes, strict=True):
                    self._conclude(item, dask_future, outcome, None, None)
        finally:
            self.gathering = False

    async def _fetch_and_settle(self, dask_future: Any, item: WorkItem) -> None:
        """On the client's loop: fetch one call's outcome, or its error, and settle it."""
        error: BaseException | None = None
        traceback: TracebackType | None = None
        try:
            [outcome] = await self.client.gather([dask_future], asynchronous=True)
        except BaseException as exc:
            outcome, error = None, exc
            if dask_future.status == "error":
                traceback = await dask_future.traceback(asynchronous=True)
        self._conclude(item, dask_future, outcome, error, traceback)

    def _conclude(
        self,
        item: WorkItem,
        dask_future: Any,
        outcome: Any,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """On the client's loop: settle ``item`` unless it ended meanwhile; free its slot."""
        with self.lock:
            if self.calls.pop(item, _GONE) is _GONE:
                return  # ended by stop() or break_down
        try:
            _settle(item, dask_future, outcome, error, traceback)
        except BaseException as exc:
            if not item.future.done():
                _fail(item, _broken_error(self._mark_broken(exc)))
                raise
            # The future has its outcome: what raised is one of its done callbacks.
            LOG.error("a done callback of %r raised", item.future, exc_info=exc)
        finally:
            self._free_slot_on_loop()

    def _free_slot_on_loop(self) -> None:
        """One call ended: free its slot; refill from the backlog once this loop turn is over.

        Outcomes gathered together settle in the same turn of the loop: the backlog items
        that take their slots then go to the scheduler in one message, not one each.
        """
        with self.lock:
            self.in_use -= 1
            refill = bool(self.backlog) and not self.refill_scheduled
            self.refill_scheduled = self.refill_scheduled or refill
            if self.in_use == 0 and not self.backlog:
                self.idle.notify_all()
        if refill:
            self.client.loop.add_callback(self._refill)

    def _refill(self) -> None:
        """On the client's loop: send backlog items to the slots freed in the last turn."""
        try:
            with self.lock:
                self.refill_scheduled = False
            self.free_slots(0)
        except BaseException as exc:
            self.break_down(exc)

    def free_slots(self, count: int) -> None:
        """Calls ended: give their slots to the next backlog items and wake waiting shutdowns."""
        while True:
            with self.lock:
                self.in_use -= count
                to_send: list[WorkItem] = []
                while self.backlog and self.in_use < self.limit:
                    self.in_use += 1
                    item = self.backlog.popleft()
                    self.calls[item] = _IN_TRANSIT
                    to_send.append(item)
                if self.in_use == 0 and not self.backlog:
                    self.idle.notify_all()
            if not to_send:
                return
            count = self._send(to_send)

    def _mark_broken(self, cause: BaseException) -> BrokenExecutor:
        """Record the first fatal error of the session's machinery; return the session's error."""
        with self.lock:
            if self.broken is None:
                LOG.error("DaskExecutor's machinery failed", exc_info=cause)
                self.broken = BrokenExecutor(
                    f"DaskExecutor is broken: its own machinery failed ({type(cause).__name__}: "
                    f"{cause}); calls that had not finished were failed, create a new executor"
                )
                self.broken.__cause__ = cause
            return self.broken

    def break_down(self, cause: BaseException) -> None:
        """A fatal error: refuse new work, fail the backlog and every call still in flight."""
        broken = self._mark_broken(cause)
        with self.lock:
            # Calls still being sent stay: their sender fails them when it sees the session broken.
            in_flight = {item: future for item, future in self.calls.items() if _on_cluster(future)}
            self.calls = {item: mark for item, mark in self.calls.items() if not _on_cluster(mark)}
            backlog = list(self.backlog)
            self.backlog.clear()
            if self.in_use == 0 and not backlog:
                self.idle.notify_all()
        self._cancel_on_cluster(list(in_flight.values()))
        for item in backlog:
            if item.start():
                _fail(item, _broken_error(broken))
        for item in in_flight:
            _fail(item, _broken_error(broken))
        if in_flight:
            self.free_slots(len(in_flight))

    def _cancel_on_cluster(self, futures: list[Any]) -> None:
        """Ask the scheduler to drop ``futures`` (from any thread, the loop's included)."""
        if not futures:
            return
        try:
            self.client.loop.add_callback(self.client.cancel, futures, asynchronous=True)
        except Exception:
            LOG.debug("cannot cancel %d Dask futures: the client's loop is gone", len(futures))

    def cancel_backlog(self) -> list[WorkItem]:
        """Cancel every item still waiting for a slot; return those cancelled."""
        with self.lock:
            items = list(self.backlog)
            self.backlog.clear()
            if self.in_use == 0:
                self.idle.notify_all()
        return [item for item in items if item.cancel()]

    def running_items(self) -> list[WorkItem]:
        """The items that hold a slot and have started."""
        with self.lock:
            items = list(self.calls)
        return [item for item in items if item.future.running()]

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until no call holds a slot or waits for one."""
        with self.idle:
            return self.idle.wait_for(lambda: self.in_use == 0 and not self.backlog, timeout)

    def stop(self, future: concurrent.futures.Future[Any]) -> bool:
        """Stop the call of ``future``; False if the session does not hold it.

        A queued call is cancelled. A call on the cluster leaves ``calls`` (so the loop ignores
        its outcome), is cancelled there and fails with ``CallStopped``; one being sent is
        cancelled if it has not started yet, else stopped as it arrives.
        """
        with self.lock:
            item = next((held for held in self.calls if held.future is future), None)
            if item is None:
                queued = self._take_from_backlog(future)
            else:
                dask_future = self.calls[item]
                if _on_cluster(dask_future):
                    del self.calls[item]
                else:
                    self.calls[item] = _STOP_ON_ARRIVAL
        if item is not None and _on_cluster(dask_future):
            self._cancel_on_cluster([dask_future])
            _fail(item, stopped_error(item, _CANCELLED_ON_CLUSTER))
            self.free_slots(1)
        elif item is not None:
            future.cancel()
        elif queued is not None:
            queued.cancel()
        else:
            return False
        return True

    def _take_from_backlog(self, future: concurrent.futures.Future[Any]) -> WorkItem | None:
        """Called under the lock: remove and return the backlog item of ``future``, if any."""
        items = list(self.backlog)
        item = next((queued for queued in items if queued.future is future), None)
        if item is not None:
            self.backlog.clear()
            for queued in items:
                if queued is not item:
                    self.backlog.append(queued)
            if self.in_use == 0 and not self.backlog:
                self.idle.notify_all()
        return item

    def stop_all(self, why: str) -> int:
        """Stop every call that holds a slot (``why`` says how); return the slots to free.

        Calls on the cluster fail with ``CallStopped`` at once; calls being sent are stopped as
        they arrive. The caller frees the returned slots when it is done with the cluster.
        """
        with self.lock:
            calls = self.calls
            on_cluster = [(item, future) for item, future in calls.items() if _on_cluster(future)]
            for item, _ in on_cluster:
                del calls[item]
            for item in calls:
                calls[item] = _STOP_ON_ARRIVAL
            in_transit = list(calls)
        for item in in_transit:
            item.future.cancel()
        self._cancel_on_cluster([future for _, future in on_cluster])
        for item, _ in on_cluster:
            _fail(item, stopped_error(item, why))
        return len(on_cluster)

    def close(self, wait: bool) -> None:
        """Release the client (and owned cluster) once every call has ended.

        The first shutdown that waits does it in its own thread; one that does not wait leaves
        it to a thread of its own. On the client's loop (a done callback) nothing waits: the
        loop must keep running for the calls to end.
        """
        waits_here = wait and not self._on_loop()
        with self.lock:
            first = not self.closing
            self.closing = True
        if first and waits_here:
            self._release_when_idle()
        elif first:
            threading.Thread(
                target=self._release_when_idle, name=f"DaskExecutor-closer-{id(self):#x}"
            ).start()
        elif waits_here:
            self.released.wait()

    def _on_loop(self) -> bool:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return False
        return running is self.client.loop.asyncio_loop

    def _release_when_idle(self) -> None:
        """Wait until no call holds a slot or waits for one; close the client and our cluster."""
        try:
            with self.idle:
                self.idle.wait_for(lambda: self.in_use == 0 and not self.backlog)
            try:
                self.client.close()
            except Exception:
                LOG.exception("closing the Dask client failed")
            if self.cluster is not None:
                try:
                    self.cluster.close()
                except Exception:
                    LOG.exception("closing the executor's Dask LocalCluster failed")
        finally:
            self.released.set()


_GONE = object()
_IN_TRANSIT = object()
"""The value in ``calls`` of an item that holds a slot and is being sent."""
_STOP_ON_ARRIVAL = object()
"""The value in ``calls`` of an item stopped while it was being sent: it is not watched."""
_RUNS_ON = (
    "a call already running on a worker thread runs on there until it returns (Dask cannot "
    "interrupt it) and its result is discarded"
)
_CANCELLED_ON_CLUSTER = f"DaskExecutor.stop() cancelled its Dask task; {_RUNS_ON}"


def _on_cluster(value: object) -> bool:
    """Whether a value in ``calls`` is a Dask future (not a mark for a call being sent)."""
    return value is not _IN_TRANSIT and value is not _STOP_ON_ARRIVAL


def _fail(item: WorkItem, error: BaseException) -> None:
    """Fail ``item``; a done callback that raises is logged, so the next item fails too."""
    try:
        item.fail(error)
    except BaseException as exc:
        LOG.error("a done callback of %r raised", item.future, exc_info=exc)


def _broken_error(broken: BrokenExecutor) -> BrokenExecutor:
    """A fresh copy of the session's error for one future, with the same cause."""
    error = BrokenExecutor(str(broken))
    error.__cause__ = broken.__cause__
    return error


def _settle(
    item: WorkItem,
    dask_future: Any,
    outcome: Any,
    error: BaseException | None,
    traceback: TracebackType | None,
) -> None:
    """Finish or fail ``item`` from what Dask reported for its call."""
    status = dask_future.status
    if status == "finished" and error is None:
        runtime, raised, payload = _unpack_outcome(outcome)
        try:
            result = pickle.loads(payload)
        except Exception as unpickling_error:
            failure = TypeError(
                f"the result of {callable_name(item.fn)} came back from the Dask worker but cannot "
                f"be deserialised here ({type(unpickling_error).__name__}: "
                f"{unpickling_error}); is the module that defines its type importable here?"
            )
            item.fail(failure, runtime, unpickling_error.__traceback__)
            return
        if raised:
            exc, text = result
            exc.__cause__ = _WorkerTraceback(text)
            item.fail(exc, runtime)
        else:
            item.finish(result, runtime)
    elif status == "error" and error is not None:
        item.fail(error, _take_runtime(error), traceback)
    elif error is not None and status != "cancelled":
        item.fail(error)
    else:
        item.fail(
            BrokenExecutor(
                f"Dask cancelled task {dask_future.key!r} before it finished ({error!r}); "
                "the client lost its scheduler or the cluster was closed"
            )
        )


class DaskExecutor(Executor):
    """Runs calls on a Dask distributed cluster, keeping the whole futurist executor contract.

    With ``scheduler_address`` it connects to a running cluster and leaves it running at
    shutdown. Without it, it starts a ``LocalCluster`` on 127.0.0.1 with ``n_workers`` workers
    of ``threads_per_worker`` threads (worker processes unless ``processes=False``) and closes
    it at shutdown. At most ``max_workers`` calls are on the cluster at once (default: 64 per
    cluster thread); the rest wait in a backlog that ``check_and_reject`` sees. The TLS files
    are needed for a cluster that requires TLS (``tls://`` addresses).
    """

    _chunked_map: ClassVar[bool] = True
    _tracks_items: ClassVar[bool] = True
    kind = "dask"
    _context_error = "its calls run on Dask workers, where the submitter's context is not"

    def __init__(
        self,
        max_workers: int | None = None,
        check_and_reject: CheckAndReject | None = None,
        *,
        scheduler_address: str | None = None,
        n_workers: int | None = None,
        threads_per_worker: int | None = None,
        processes: bool = True,
        tls_ca_file: str | None = None,
        tls_cert_file: str | None = None,
        tls_key_file: str | None = None,
        connect_timeout: float = 10.0,
        name: str | None = None,
        log_unread_failures: bool = True,
        propagate_context: bool = False,
    ) -> None:
        if max_workers is not None:
            validate_max_workers(max_workers, 1)
        _check_options(scheduler_address, n_workers, threads_per_worker, processes, connect_timeout)
        validate_check_and_reject(check_and_reject)
        self._check_propagate_context(propagate_context)
        security = _security(scheduler_address, tls_ca_file, tls_cert_file, tls_key_file)
        distributed = _import_distributed()
        cluster = None
        if scheduler_address is None:
            cluster = _start_local_cluster(
                distributed,
                n_workers or os.cpu_count() or 1,
                threads_per_worker or 1,
                processes,
                security,
            )
            address = cluster.scheduler_address
        else:
            address = scheduler_address
        try:
            client = _connect(distributed, address, security, connect_timeout)
        except BaseException:
            if cluster is not None:
                cluster.close()
            raise
        if max_workers is None:
            threads = sum(client.nthreads().values())
            max_workers = max(_CALLS_PER_THREAD * threads, _CALLS_PER_THREAD)
        super().__init__(
            check_and_reject,
            name=name,
            log_unread_failures=log_unread_failures,
            propagate_context=propagate_context,
        )
        self._max_workers = max_workers
        self._address = address
        self._owns_cluster = cluster is not None
        self._session = _Session(client, cluster, self._submit_lock, max_workers)
        # Let accepted work finish and the cluster close if this executor is simply dropped.
        weakref.finalize(self, self._session.close, False).atexit = False

    @classmethod
    def check_available(cls) -> None:
        """Raise ``ImportError`` naming the package to install if ``distributed`` is missing."""
        _import_distributed()

    @classmethod
    def config_options(cls) -> list[cfg.Opt]:
        """The oslo.config options of this kind; their names are constructor keywords."""
        from oslo_config import cfg

        from futurist.executors._option_types import positive_seconds

        return [
            cfg.StrOpt(
                "scheduler_address",
                help="Address of a running Dask scheduler (tcp://host:8786 or tls://host:8786). "
                "Unset: start a local cluster on 127.0.0.1 and close it at shutdown.",
            ),
            cfg.IntOpt(
                "n_workers",
                min=1,
                help="Worker processes of the local cluster (only without scheduler_address; "
                "default: one per CPU).",
            ),
            cfg.IntOpt(
                "threads_per_worker",
                min=1,
                help="Threads per worker of the local cluster (only without "
                "scheduler_address; default: 1).",
            ),
            cfg.BoolOpt(
                "processes",
                default=True,
                help="Whether the local cluster's workers are processes (True, as on a real "
                "cluster: calls and results are serialised) or threads of this process.",
            ),
            cfg.StrOpt("tls_ca_file", help="CA certificate (PEM) that signed the cluster's."),
            cfg.StrOpt("tls_cert_file", help="This client's certificate (PEM)."),
            cfg.StrOpt(
                "tls_key_file", help="This client's private key (PEM), if not in tls_cert_file."
            ),
            cfg.Opt(
                "connect_timeout",
                type=positive_seconds(),
                default=10.0,
                help="Seconds to wait for the scheduler to answer before giving up.",
            ),
        ]

    @property
    def max_workers(self) -> int:
        """The most calls this executor has on the cluster at once."""
        return self._max_workers

    @property
    def scheduler_address(self) -> str:
        """The address of the scheduler this executor sends its calls to."""
        return str(self._address)

    @property
    def owns_cluster(self) -> bool:
        """Whether this executor started its cluster (and closes it at shutdown)."""
        return self._owns_cluster

    @property
    def queue_size(self) -> int:
        """How many submitted calls wait for a slot on the cluster."""
        return self._backlog()

    def _backlog(self) -> int:
        return len(self._session.backlog)

    def _dispatch(self, item: WorkItem) -> bool:
        # Serialising and sending happen in _run_here, in the caller, outside the submit lock.
        return self._session.take_slot_or_queue(item)

    def _use_priorities(self) -> None:
        # The backlog starts calls highest priority first; each call also carries its priority
        # to the scheduler as the Dask task's own.
        # Called with the submit lock held, which is the session's lock.
        session = self._session
        if not isinstance(session.backlog, PriorityBacklog):
            session.backlog = PriorityBacklog(list(session.backlog))

    def _run_here(self, item: WorkItem) -> None:
        self._session.send([item])

    def _on_interpreter_exit(self) -> None:
        # The client and an owned cluster do not outlive the interpreter: accepted calls must
        # finish now, or they would be lost with them.
        self.shutdown(wait=True)

    def _stop(self, wait: bool, cancel_futures: bool) -> None:
        session = self._session
        if cancel_futures:
            session.cancel_backlog()
        session.close(wait)

    def _running_items(self) -> list[WorkItem]:
        return self._session.running_items()

    def _cancel_queued(self) -> list[WorkItem]:
        return self._session.cancel_backlog()

    def _wait_idle(self, timeout: float) -> bool:
        return self._session.wait_idle(timeout)

    def _stop_call(self, future: concurrent.futures.Future[Any]) -> bool:
        return self._session.stop(future)

    def _end_workers(self, kill: bool) -> None:
        """Shut down, stopping every call; an owned cluster's worker processes get the signal.

        On a cluster the executor does not own, the workers are shared with other clients:
        nothing is signalled there, the calls are cancelled through Dask.
        """
        method = "kill_workers()" if kill else "terminate_workers()"
        self.shutdown(wait=False, cancel_futures=True)
        session = self._session
        pids = _worker_pids(session.cluster) if self._owns_cluster else {}
        if pids:
            why = f"DaskExecutor.{method} ended the worker processes of its own cluster"
        else:
            why = f"DaskExecutor.{method} cancelled its Dask task; {_RUNS_ON}"
        stopped = session.stop_all(why)
        try:
            _end_processes(session.cluster, pids, signal.SIGKILL if kill else signal.SIGTERM)
        finally:
            session.free_slots(stopped)


def _check_options(
    scheduler_address: object,
    n_workers: object,
    threads_per_worker: object,
    processes: object,
    connect_timeout: object,
) -> None:
    """Raise a clear error for a constructor option of the wrong type or out of range."""
    if scheduler_address is not None:
        if not isinstance(scheduler_address, str) or not scheduler_address.strip():
            raise ValueError(
                "scheduler_address must be a non-empty string such as 'tcp://10.0.0.5:8786' "
                f"or None (start a local cluster), got {scheduler_address!r}"
            )
        for name, value in (
            ("n_workers", n_workers),
            ("threads_per_worker", threads_per_worker),
        ):
            if value is not None:
                raise ValueError(
                    f"{name}={value!r} applies only to the local cluster the executor starts, "
                    f"not to the existing cluster at scheduler_address={scheduler_address!r}; "
                    "set one or the other"
                )
    validate_max_workers(n_workers, 1, "n_workers")
    validate_max_workers(threads_per_worker, 1, "threads_per_worker")
    if not isinstance(processes, bool):
        raise TypeError(f"processes must be True or False, got {processes!r}")
    seconds("connect_timeout", connect_timeout)


def _security(
    scheduler_address: str | None,
    ca_file: str | None,
    cert_file: str | None,
    key_file: str | None,
) -> Any:
    """The ``distributed.security.Security`` for the TLS files, or None without them."""
    if ca_file is None and cert_file is None and key_file is None:
        return None
    if ca_file is None or cert_file is None:
        raise ValueError(
            "TLS needs both tls_ca_file and tls_cert_file (tls_key_file too unless the key is "
            f"in the certificate file), got tls_ca_file={ca_file!r}, "
            f"tls_cert_file={cert_file!r}, tls_key_file={key_file!r}"
        )
    for name, path in (
        ("tls_ca_file", ca_file),
        ("tls_cert_file", cert_file),
        ("tls_key_file", key_file),
    ):
        if path is not None and not os.path.isfile(path):
            raise ValueError(f"{name}={path!r} is not a readable file")
    if scheduler_address is not None and not scheduler_address.startswith("tls://"):
        raise ValueError(
            f"TLS files are given but scheduler_address={scheduler_address!r} is not a tls:// "
            "address; use tls://host:port for a cluster that requires TLS"
        )
    distributed = _import_distributed()
    return distributed.security.Security(
        tls_ca_file=ca_file,
        tls_client_cert=cert_file,
        tls_client_key=key_file,
        tls_scheduler_cert=cert_file,
        tls_scheduler_key=key_file,
        tls_worker_cert=cert_file,
        tls_worker_key=key_file,
        require_encryption=True,
    )


def _worker_pids(cluster: Any) -> dict[Any, int]:
    """The process id of each worker of an owned cluster that runs them as processes."""
    distributed = _import_distributed()
    return {
        name: worker.pid
        for name, worker in dict(cluster.workers).items()
        if isinstance(worker, distributed.Nanny) and worker.pid
    }


def _end_processes(cluster: Any, pids: dict[Any, int], signum: signal.Signals) -> None:
    """Send ``signum`` to the worker processes of an owned cluster, their nannies told first.

    A nanny told to close gracefully (on the cluster's loop, before it can see the exit) lets
    its worker go instead of starting a new one.
    """
    for name in pids:
        nanny = cluster.workers.get(name)
        if nanny is not None:
            cluster.loop.add_callback(nanny.close_gracefully, reason=f"futurist: {signum.name}")
    for pid in pids.values():
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            LOG.debug("worker process %d had already ended", pid)


def _start_local_cluster(
    distributed: Any, n_workers: int, threads_per_worker: int, processes: bool, security: Any
) -> Any:
    """Start the executor's own cluster on 127.0.0.1, without a dashboard (no port to fight for)."""
    return distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=processes,
        host="127.0.0.1",
        dashboard_address=None,
        # The scheduler still serves health checks over HTTP: on any free port, not 8787.
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        protocol="tls://" if security is not None else "tcp://",
        security=security,
    )


def _connect(distributed: Any, address: str, security: Any, timeout: float) -> Any:
    """Connect a client to ``address``, or raise ConnectionError saying what to check."""
    needs_certificates = str(address).startswith("tls://") and security is None
    # Dask reports a tls:// address without certificates as a TypeError about ssl_context.
    errors: tuple[type[Exception], ...] = (
        (OSError, TimeoutError, TypeError) if needs_certificates else (OSError, TimeoutError)
    )
    # Built in two steps so that a client whose connection fails can still be closed here.
    client = distributed.Client.__new__(distributed.Client)
    try:
        client.__init__(address, security=security, timeout=timeout, set_as_default=False)
    except BaseException as exc:
        _discard(client)
        if not isinstance(exc, errors):
            raise
        tls_hint = (
            " The address is tls://: pass tls_ca_file, tls_cert_file and tls_key_file signed "
            "by the cluster's CA."
            if needs_certificates
            else ""
        )
        raise ConnectionError(
            f"cannot reach the Dask scheduler at {address} within {timeout} s "
            f"({type(exc).__name__}: {exc}). Check that a scheduler is running there "
            "(`dask scheduler`), that host and port are right and reachable through any "
            f"firewall, and that TLS settings match the cluster's.{tls_hint}"
        ) from exc
    return client


def _discard(client: Any) -> None:
    """Close a client whose connection failed, now, and stop its event loop's thread.

    Dask leaves such a client half-open: its loop thread runs on for good, and its ``__del__``
    closes it whenever the garbage collector gets to it, on whatever thread that is -- a Dask
    event loop, or the interpreter's exit -- which then blocks for twice the connect timeout
    and ends in a ``TimeoutError`` nobody sees.
    """
    try:
        client.close()
    except Exception:
        LOG.debug("closing a Dask client that could not connect failed", exc_info=True)
    # Dask has no public way to stop the thread of a client that closed before it connected.
    runner = getattr(client, "_loop_runner", None)
    if runner is not None:
        runner.stop()
