"""The Dask kind's traffic with the cluster: calls packed and sent, outcomes fetched and settled.

``_run_call`` runs on the Dask worker; :class:`Calls` sends calls that hold a slot, watches them
on the client's event loop, settles their outcomes and gives freed slots to the backlog (see
``dask.py`` for the data flow).
"""

from __future__ import annotations

import itertools
import logging
import pickle
import struct
import threading
import uuid
from collections.abc import Callable
from time import perf_counter
from traceback import format_exception
from types import TracebackType
from typing import Any

from futurist.exceptions import BrokenExecutor, RemoteTraceback
from futurist.executors._flow import stopped_error
from futurist.executors._pickling import dumps
from futurist.executors.slots import SlotWorkers
from futurist.executors.workers import WorkItem, priority_of
from futurist.naming import callable_name

__all__ = [
    "CANCELLED_ON_CLUSTER",
    "IN_TRANSIT",
    "RUNS_ON",
    "STOP_ON_ARRIVAL",
    "Calls",
    "broken_error",
    "fail",
    "is_on_cluster",
]

LOG = logging.getLogger(__name__)

_RUNTIME_ATTRIBUTE = "_futurist_runtime"


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
    return _OUTCOME_HEADER.pack(runtime, raised) + dumps(value)


def _pack_raised(exc: BaseException, runtime: float) -> bytes:
    """What ``_run_call`` sends back for ``exc``: the exception and its traceback's text."""
    text = "".join(format_exception(exc))
    return _pack_outcome((exc, text), runtime, raised=True)


def _unpack_outcome(outcome: bytes) -> tuple[float, bool, memoryview]:
    """Split what ``_pack_outcome`` made into the runtime, the flag and the pickled value."""
    runtime, raised = _OUTCOME_HEADER.unpack_from(outcome)
    return runtime, raised, memoryview(outcome)[_OUTCOME_HEADER.size :]


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


class Calls(SlotWorkers):
    """What the executor and the client's event loop share: the client, the calls, the backlog.

    Slots: at most ``limit`` calls are held at once, by a thread sending them, by the cluster
    (``calls``: each item and its Dask future), or by the loop settling them. Every item leaves
    a shared place (``backlog``, ``calls``) under the lock, so exactly one thread ends it.
    Holds no reference to the executor, so an executor collected without ``shutdown()`` still
    lets its work finish and its cluster close. This layer sends calls and settles outcomes;
    the executor's face (``dask.py``) queues, stops and closes.
    """

    def __init__(self, client: Any, cluster: Any, limit: int) -> None:
        super().__init__(limit)
        self.client = client
        self.cluster = cluster
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
                payload = dumps((item.fn, item.args, item.kwargs))
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
                if broken is None and calls.get(item) is not STOP_ON_ARRIVAL:
                    calls[item] = future
                    kept.append((future, item))
                else:
                    calls.pop(item, None)
                    stopped.append((future, item))
        self._cancel_on_cluster([future for future, _ in stopped])
        for _, item in stopped:
            if broken is not None:
                item.fail(broken_error(broken))
            else:
                fail(item, stopped_error(item, CANCELLED_ON_CLUSTER))
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
            if self.calls.pop(item, GONE) is GONE:
                return  # ended by stop() or break_down
        try:
            _settle(item, dask_future, outcome, error, traceback)
        except BaseException as exc:
            if not item.future.done():
                fail(item, broken_error(self._mark_broken(exc)))
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
            refill = bool(self.queue) and not self.refill_scheduled
            self.refill_scheduled = self.refill_scheduled or refill
            self.notify_if_idle()
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
                while self.queue and self.in_use < self.limit:
                    self.in_use += 1
                    item = self.queue.popleft()
                    self.calls[item] = IN_TRANSIT
                    to_send.append(item)
                self.notify_if_idle()
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
            in_flight = {
                item: future for item, future in self.calls.items() if is_on_cluster(future)
            }
            self.calls = {
                item: mark for item, mark in self.calls.items() if not is_on_cluster(mark)
            }
            backlog = list(self.queue)
            self.queue.clear()
            self.notify_if_idle()
        self._cancel_on_cluster(list(in_flight.values()))
        for item in backlog:
            if item.start():
                fail(item, broken_error(broken))
        for item in in_flight:
            fail(item, broken_error(broken))
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


GONE = object()
IN_TRANSIT = object()
"""The value in ``calls`` of an item that holds a slot and is being sent."""
STOP_ON_ARRIVAL = object()
"""The value in ``calls`` of an item stopped while it was being sent: it is not watched."""
RUNS_ON = (
    "a call already running on a worker thread runs on there until it returns (Dask cannot "
    "interrupt it) and its result is discarded"
)
CANCELLED_ON_CLUSTER = f"DaskExecutor.stop() cancelled its Dask task; {RUNS_ON}"


def is_on_cluster(value: object) -> bool:
    """Whether a value in ``calls`` is a Dask future (not a mark for a call being sent)."""
    return value is not IN_TRANSIT and value is not STOP_ON_ARRIVAL


def fail(item: WorkItem, error: BaseException) -> None:
    """Fail ``item``; a done callback that raises is logged, so the next item fails too."""
    try:
        item.fail(error)
    except BaseException as exc:
        LOG.error("a done callback of %r raised", item.future, exc_info=exc)


def broken_error(broken: BrokenExecutor) -> BrokenExecutor:
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
            exc.__cause__ = RemoteTraceback(text)
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
