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
import concurrent.futures
import logging
import os
import signal
import threading
import weakref
from typing import TYPE_CHECKING, Any

from futurist._seconds import seconds
from futurist.executors._dask_calls import (
    CANCELLED_ON_CLUSTER,
    IN_TRANSIT,
    RUNS_ON,
    STOP_ON_ARRIVAL,
    Calls,
    fail,
    is_on_cluster,
)
from futurist.executors._flow import stopped_error
from futurist.executors.base import (
    CheckAndReject,
    Executor,
    refuse_context_where_calls_run_elsewhere,
    validate_check_and_reject,
    validate_max_workers,
)
from futurist.executors.sizing import DefaultWorkers, cpu_count
from futurist.executors.workers import WorkItem
from futurist.extras import import_extra

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["DaskExecutor"]

LOG = logging.getLogger(__name__)

_CALLS_PER_THREAD = 64
"""Default calls in flight per cluster thread: enough that workers never wait for a refill."""


def _default_calls(threads: int) -> int:
    """``max_workers`` when given none, for a cluster of ``threads`` threads (at least one)."""
    return _CALLS_PER_THREAD * max(threads, 1)


def _local_shape(n_workers: int | None, threads_per_worker: int | None) -> tuple[int, int]:
    """The workers and threads per worker of the executor's own cluster: one worker per CPU
    and one thread each unless told."""
    return n_workers or cpu_count(), threads_per_worker or 1


def _import_distributed() -> Any:
    """Return the ``distributed`` module, or raise ImportError naming the extra to install."""
    return import_extra("distributed", "DaskExecutor needs", "dask")


class _DaskWorkers(Calls):
    """The Dask kind's worker side: the slots and backlog the executor queues into, stopping
    calls, ending an owned cluster's workers, and closing the client once idle."""

    executor_name = "DaskExecutor"
    sending = IN_TRANSIT
    runs_elsewhere = "on Dask workers"
    wait_at_exit = True
    """The client and an owned cluster do not outlive the interpreter: accepted calls must
    finish first, or they would be lost with them."""

    def hand_over(self, item: WorkItem) -> None:
        self.send([item])

    def in_worker(self) -> bool:
        # Calls run on the cluster; done callbacks run on the client's loop, which alone
        # makes room in the backlog.
        return self._on_loop()

    def end(self, kill: bool) -> None:
        """Stop every call; an owned cluster's worker processes get the signal.

        On a cluster the executor does not own, the workers are shared with other clients:
        nothing is signalled there, the calls are cancelled through Dask.
        """
        method = "kill_workers()" if kill else "terminate_workers()"
        pids = _worker_pids(self.cluster) if self.cluster is not None else {}
        if pids:
            why = f"DaskExecutor.{method} ended the worker processes of its own cluster"
        else:
            why = f"DaskExecutor.{method} cancelled its Dask task; {RUNS_ON}"
        stopped = self.stop_all(why)
        try:
            _end_processes(self.cluster, pids, signal.SIGKILL if kill else signal.SIGTERM)
        finally:
            self.free_slots(stopped)

    def stop(self, future: concurrent.futures.Future[Any]) -> bool:
        """Stop the call of ``future``; False if the session does not hold it.

        A queued call is cancelled. A call on the cluster leaves ``calls`` (so the loop ignores
        its outcome), is cancelled there and fails with ``CallStopped``; one being sent is
        cancelled if it has not started yet, else stopped as it arrives.
        """
        with self.lock:
            item = next((held for held in self.calls if held.future is future), None)
            if item is None:
                queued = self.take_from_backlog(future)
            else:
                dask_future = self.calls[item]
                if is_on_cluster(dask_future):
                    del self.calls[item]
                else:
                    self.calls[item] = STOP_ON_ARRIVAL
        if item is not None and is_on_cluster(dask_future):
            self._cancel_on_cluster([dask_future])
            fail(item, stopped_error(item, CANCELLED_ON_CLUSTER))
            self.free_slots(1)
        elif item is not None:
            future.cancel()
        elif queued is not None:
            queued.cancel()
        else:
            return False
        return True

    def stop_all(self, why: str) -> int:
        """Stop every call that holds a slot (``why`` says how); return the slots to free.

        Calls on the cluster fail with ``CallStopped`` at once; calls being sent are stopped as
        they arrive. The caller frees the returned slots when it is done with the cluster.
        """
        with self.lock:
            calls = self.calls
            on_cluster = [(item, future) for item, future in calls.items() if is_on_cluster(future)]
            for item, _ in on_cluster:
                del calls[item]
            for item in calls:
                calls[item] = STOP_ON_ARRIVAL
            in_transit = list(calls)
        for item in in_transit:
            item.future.cancel()
        self._cancel_on_cluster([future for _, future in on_cluster])
        for item, _ in on_cluster:
            fail(item, stopped_error(item, why))
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
            with self.changed:
                self.changed.wait_for(self.is_idle)
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


class DaskExecutor(Executor):
    """Runs calls on a Dask distributed cluster, keeping the whole futurist executor contract.

    With ``scheduler_address`` it connects to a running cluster and leaves it running at
    shutdown. Without it, it starts a ``LocalCluster`` on 127.0.0.1 with ``n_workers`` workers
    of ``threads_per_worker`` threads (worker processes unless ``processes=False``) and closes
    it at shutdown. At most ``max_workers`` calls are on the cluster at once (default: 64 per
    cluster thread); the rest wait in a backlog that ``check_and_reject`` sees. The TLS files
    are needed for a cluster that requires TLS (``tls://`` addresses).
    """

    kind = "dask"

    def __init__(  # noqa: PLR0913 -- the public constructor: cluster, TLS and contract options
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
        refuse_context_where_calls_run_elsewhere(self.kind, _DaskWorkers, propagate_context)
        security = _security(scheduler_address, tls_ca_file, tls_cert_file, tls_key_file)
        distributed = _import_distributed()
        cluster = None
        if scheduler_address is None:
            cluster = _start_local_cluster(
                distributed, *_local_shape(n_workers, threads_per_worker), processes, security
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
            max_workers = _default_calls(sum(client.nthreads().values()))
        self._session = _DaskWorkers(client, cluster, max_workers)
        super().__init__(
            self._session,
            check_and_reject,
            name=name,
            log_unread_failures=log_unread_failures,
            propagate_context=propagate_context,
        )
        self._max_workers = max_workers
        self._address = address
        self._owns_cluster = cluster is not None
        # Let accepted work finish and the cluster close if this executor is simply dropped.
        weakref.finalize(self, self._session.close, False).atexit = False

    @classmethod
    def check_available(cls) -> None:
        """Raise ``ImportError`` naming the package to install if ``distributed`` is missing."""
        _import_distributed()

    @classmethod
    def default_max_workers(cls, **options: Any) -> DefaultWorkers | None:
        """64 calls per cluster thread: the local cluster's threads, or a remote cluster's once
        connected."""
        if options.get("scheduler_address") is not None:
            return DefaultWorkers(
                None, f"{_CALLS_PER_THREAD} × the cluster's threads, counted once connected"
            )
        workers, threads = _local_shape(options.get("n_workers"), options.get("threads_per_worker"))
        return DefaultWorkers(
            _default_calls(workers * threads), f"{_CALLS_PER_THREAD} × {workers * threads} threads"
        )

    @classmethod
    def config_options(cls) -> list[cfg.Opt]:
        """The oslo.config options of this kind; their names are constructor keywords."""
        from oslo_config import cfg

        from futurist.option_types import positive_seconds

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
                help="Seconds to wait for the cluster (a Dask scheduler, a Ray head node) to "
                "answer before giving up.",
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
        return self._session.backlog()


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
