"""RayExecutor: the executor contract on a Ray cluster (``futurist[ray]``).

Written on futurist's public kind interface alone (``Executor``, ``StoppableWorkers``,
``WorkItem``, ``PriorityBacklog``): ``_ray_calls.py`` is its worker side and holds the data
flow. This module connects to Ray and builds the executor.

A process holds one Ray connection. An executor uses the one the process has, if any, and
never ends it; otherwise it opens one (``ray_address`` empty: a local Ray instance it owns;
else a driver connected to that cluster), shared with the executors built while it is open
and closed by the last of them to shut down. ``ray`` is imported only when an executor is
built, so ``import futurist`` works without it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from futurist.executors._ray_calls import RayWorkers
from futurist.executors._ray_pace import Pace
from futurist.executors.base import (
    CheckAndReject,
    Executor,
    refuse_context_where_calls_run_elsewhere,
    validate_check_and_reject,
    validate_max_workers,
)
from futurist.executors.sizing import DefaultWorkers, cpu_count
from futurist.extras import import_extra
from futurist.naming import safe_repr

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["RayExecutor"]

LOG = logging.getLogger(__name__)

_CALLS_PER_SLOT = 64
"""Default calls in flight per call the cluster can run at once: workers never wait for us."""
_MOST_CALLS_PER_SLOT = 1024
"""The most calls in flight per call the cluster can run at once when ``max_workers`` is
unset and the calls are so short that a second's worth of them exceeds the default."""


def _slots(cpus: float, num_cpus_per_call: float) -> int:
    """How many calls asking ``num_cpus_per_call`` CPUs each ``cpus`` CPUs run at once."""
    return max(1, int(cpus / num_cpus_per_call))


def _import_ray() -> Any:
    """Return the ``ray`` module, or raise ImportError naming the extra to install."""
    return import_extra("ray", "RayExecutor needs", "ray")


class RayExecutor(Executor):
    """Runs calls as Ray tasks, keeping the whole futurist executor contract.

    Without ``ray_address`` it uses this process's Ray connection, or starts a local Ray
    instance it owns and stops at shutdown. With one (``auto``, ``host:port``) it connects to
    that cluster and leaves it running. At most ``max_workers`` calls
    are on the cluster at once; the rest wait in a backlog that ``check_and_reject`` and
    priorities see. Unset, it is 64 per call the cluster can run at once until calls have
    run, then as many as the cluster runs in about a second at the calls' mean runtime (at
    most 1,024 per call it runs at once), so a burst of short calls goes out as plain Ray
    code sends it. Each
    call asks Ray for ``num_cpus_per_call`` CPUs and is retried ``max_retries`` times if its
    worker dies.
    ``auth_token_file`` names the file holding the token of a cluster that requires token
    authentication. ``connect_timeout`` bounds the wait for the cluster to answer, and how
    long its GCS may refuse connections while calls run before every accepted call fails with
    ``BrokenExecutor``.
    """

    kind = "ray"

    def __init__(  # noqa: PLR0913 -- the public constructor: cluster, resources and contract
        self,
        max_workers: int | None = None,
        check_and_reject: CheckAndReject | None = None,
        *,
        ray_address: str | None = None,
        num_cpus_per_call: float = 1.0,
        max_retries: int = 0,
        connect_timeout: float = 10.0,
        auth_token_file: str | None = None,
        name: str | None = None,
        log_unread_failures: bool = True,
        propagate_context: bool = False,
    ) -> None:
        if max_workers is not None:
            validate_max_workers(max_workers, 1)
        validate_check_and_reject(check_and_reject)
        address = _check_options(
            ray_address, num_cpus_per_call, max_retries, connect_timeout, auth_token_file
        )
        refuse_context_where_calls_run_elsewhere(self.kind, RayWorkers, propagate_context)
        if auth_token_file is not None:
            _use_token_file(auth_token_file)
        ray = _import_ray()
        release, owned = _connect(ray, address, float(connect_timeout))
        try:
            pace = None
            if max_workers is None:
                cpus = float(ray.cluster_resources().get("CPU", 1.0))
                slots = _slots(cpus, num_cpus_per_call)
                max_workers = _CALLS_PER_SLOT * slots
                pace = Pace(max_workers, _MOST_CALLS_PER_SLOT * slots, slots)
            options = {"num_cpus": num_cpus_per_call, "max_retries": max_retries}
            # The address the driver reached the cluster at; Ray's own may be an inner one.
            given = "://" not in address and address.rpartition(":")[2].isdigit()
            gcs_address = address if given else str(ray.get_runtime_context().gcs_address)
            self._session = RayWorkers(
                ray,
                options,
                max_workers,
                release,
                gcs_address=gcs_address,
                patience=float(connect_timeout),
                pace=pace,
            )
        except BaseException:
            release()
            raise
        super().__init__(
            self._session,
            check_and_reject,
            name=name,
            log_unread_failures=log_unread_failures,
            propagate_context=propagate_context,
        )
        self._address = address or gcs_address
        self._owns_instance = owned
        # Let accepted work finish and the connection go if this executor is simply dropped.
        weakref.finalize(self, self._session.close, False).atexit = False

    @classmethod
    def default_max_workers(cls, **options: Any) -> DefaultWorkers | None:
        """64 calls per call the cluster can run at once (this machine's CPUs for an owned
        local instance, a remote cluster's once connected) to start with, then about a
        second of the cluster's work at the calls' runtime, up to 1,024 per call it can run
        at once."""
        per_call = options.get("num_cpus_per_call") or 1.0
        share = "" if per_call == 1 else f" ÷ {per_call:g} CPUs per call"
        grows = f"; then about 1 s of calls, at most {_MOST_CALLS_PER_SLOT} ×"
        if options.get("ray_address"):
            return DefaultWorkers(
                None,
                f"{_CALLS_PER_SLOT} × the cluster's CPUs{share}, counted once connected{grows}",
            )
        cpus = cpu_count()
        return DefaultWorkers(
            _CALLS_PER_SLOT * _slots(cpus, per_call),
            f"{_CALLS_PER_SLOT} × {cpus} CPUs{share}{grows}",
        )

    @classmethod
    def check_available(cls) -> None:
        """Raise ``ImportError`` naming the package to install if ``ray`` is missing."""
        _import_ray()

    @classmethod
    def config_options(cls) -> list[cfg.Opt]:
        """The oslo.config options of this kind; their names are constructor keywords."""
        from oslo_config import cfg

        from futurist.option_types import Interval, positive_seconds

        return [
            cfg.StrOpt(
                "ray_address",
                help="Address of a running Ray cluster (auto or host:6379); "
                "the executor connects to it and never stops it. Unset: use this process's "
                "Ray connection, or start a local Ray instance and stop it at shutdown.",
            ),
            cfg.Opt(
                "num_cpus_per_call",
                type=Interval(0.0),
                default=1.0,
                help="CPUs Ray reserves for each call (fractions let calls share a CPU).",
            ),
            cfg.IntOpt(
                "max_retries",
                min=0,
                default=0,
                help="Times Ray reruns a call whose worker process died (0: a call runs at "
                "most once).",
            ),
            cfg.Opt(
                "connect_timeout",
                type=positive_seconds(),
                default=10.0,
                help="Seconds to wait for the cluster (a Dask scheduler, a Ray head node) to "
                "answer before giving up.",
            ),
            cfg.StrOpt(
                "auth_token_file",
                help="File holding the token of a cluster that requires token authentication "
                "(`ray get-auth-token`); the token is never logged.",
            ),
        ]

    @property
    def max_workers(self) -> int:
        """The most calls this executor has on the cluster at once: the ``max_workers`` given,
        else, now, about a second of the cluster's work at the calls' mean runtime (64 to 1,024
        per call the cluster can run at once)."""
        return self._session.limit

    @property
    def ray_address(self) -> str:
        """The address of the Ray cluster this executor sends its calls to."""
        return self._address

    @property
    def owns_instance(self) -> bool:
        """Whether this executor started its local Ray instance (stopped once the last
        executor on it shuts down); never for a cluster at ``ray_address``."""
        return self._owns_instance

    @property
    def queue_size(self) -> int:
        """How many submitted calls wait for a slot on the cluster."""
        return self._session.backlog()


def _check_options(
    ray_address: object,
    num_cpus_per_call: object,
    max_retries: object,
    connect_timeout: object,
    auth_token_file: object,
) -> str:
    """Raise a clear error for an option of the wrong type or out of range; return the
    address ('' for none)."""
    if ray_address is not None and not isinstance(ray_address, str):
        raise TypeError(
            "ray_address must be a string such as '10.0.0.5:6379' or None, got "
            f"{type(ray_address).__name__} {safe_repr(ray_address)}"
        )
    for name, value in (
        ("num_cpus_per_call", num_cpus_per_call),
        ("connect_timeout", connect_timeout),
    ):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(
                f"{name} must be a number of {_UNITS[name]}, got "
                f"{type(value).__name__} {safe_repr(value)}"
            )
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be greater than 0 and finite, got {value!r}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int):
        raise TypeError(
            f"max_retries must be an integer, got {type(max_retries).__name__} "
            f"{safe_repr(max_retries)}"
        )
    if max_retries < 0:
        raise ValueError(f"max_retries must be 0 or more, got {max_retries}")
    if auth_token_file is not None:
        if not isinstance(auth_token_file, str | os.PathLike):
            raise TypeError(
                "auth_token_file must be a path (str or os.PathLike) or None, got "
                f"{type(auth_token_file).__name__} {safe_repr(auth_token_file)}"
            )
        path = os.fspath(auth_token_file)
        if not (os.path.isfile(path) and os.access(path, os.R_OK) and os.path.getsize(path)):
            raise ValueError(
                f"auth_token_file={path!r} is not a readable, non-empty file; it must hold the "
                "cluster's token (`ray get-auth-token` on the head node prints it)"
            )
    return (ray_address or "").strip()


_UNITS = {"num_cpus_per_call": "CPUs", "connect_timeout": "seconds"}

_connection_lock = threading.Lock()
_users = 0
"""Executors using the Ray connection this module opened (0: it opened none)."""
_started_local = False
"""Whether that connection started a local Ray instance (which ends with it)."""


_forked_from_a_driver = False
"""Whether this process was forked from one connected to Ray, whose connection it cannot use."""


def _note_fork() -> None:
    global _forked_from_a_driver, _users
    ray = sys.modules.get("ray")
    _forked_from_a_driver = _forked_from_a_driver or bool(ray and ray.is_initialized())
    _users = 0


os.register_at_fork(after_in_child=_note_fork)


def _use_token_file(path: str) -> None:
    """Have Ray send the token in ``path`` (it reads these variables as it is imported)."""
    if "ray" in sys.modules and os.environ.get("RAY_AUTH_MODE") != "token":
        raise ValueError(
            f"auth_token_file={path!r} needs token authentication on in this process, but ray "
            "was imported before with it off: build the executor before importing ray, or set "
            "RAY_AUTH_MODE=token in the environment"
        )
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN_PATH"] = os.path.abspath(path)


def _connect(ray: Any, address: str, timeout: float) -> tuple[Callable[[], None], bool]:
    """Make sure this process is connected to Ray; return how to let go of the connection
    and whether an executor started the Ray instance."""
    global _users, _started_local
    if _forked_from_a_driver:
        raise RuntimeError(
            "RayExecutor cannot run in a process forked from one connected to Ray: Ray "
            "does not support fork, and the child cannot reach the parent's connection. "
            "Build the executor in the parent, or start the child with the 'spawn' method."
        )
    with _connection_lock:
        if ray.is_initialized():
            current = str(ray.get_runtime_context().gcs_address)
            if address and address not in {"auto", current}:
                raise ValueError(
                    f"ray_address={address!r}, but this process is already connected to the "
                    f"Ray cluster at {current}; a process connects to one Ray cluster at a time"
                )
            if _users:
                _users += 1
                return _release_connection, _started_local
            return _keep_connection, False
        if address:
            _probe(address, timeout)
        try:
            if address:
                with _driver_outlives_its_cluster():
                    ray.init(address=address, configure_logging=False)
            else:
                ray.init(address="local", include_dashboard=False, configure_logging=False)
        except ConnectionError as exc:
            raise ConnectionError(_refused(address, exc)) from exc
        _users, _started_local = 1, not address
        return _release_connection, _started_local


_RECONNECT_TIMEOUT = "RAY_gcs_rpc_server_reconnect_timeout_s"
_A_DAY = 24 * 3600
"""Longer and Ray counts it over in milliseconds: 32 bits hold a day, not a year."""


@contextlib.contextmanager
def _driver_outlives_its_cluster() -> Iterator[None]:
    """While Ray connects this process as a driver: unless the environment sets it, raise
    Ray's ``gcs_rpc_server_reconnect_timeout_s`` (60 s), after which Ray ends a driver that
    cannot reach the cluster. The executor then notices the loss itself (``connect_timeout``)
    and fails its calls with ``BrokenExecutor`` instead of the process ending. Ray reads the
    variable as it connects; it is removed afterwards, so no process started later inherits it.
    """
    if _RECONNECT_TIMEOUT in os.environ:
        yield
        return
    os.environ[_RECONNECT_TIMEOUT] = str(_A_DAY)
    try:
        yield
    finally:
        os.environ.pop(_RECONNECT_TIMEOUT, None)


def _keep_connection() -> None:
    """The connection belongs to the application: nothing to let go."""


def _release_connection() -> None:
    """One executor less on the connection this module opened; the last one closes it."""
    global _users
    with _connection_lock:
        _users -= 1
        if _users == 0:
            _import_ray().shutdown()


def _probe(address: str, timeout: float) -> None:
    """Raise ConnectionError unless something accepts connections at ``address`` (host:port)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" or a form Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout).close()
    except OSError as exc:
        raise ConnectionError(
            f"cannot reach the Ray cluster at {address} within {timeout} s "
            f"({type(exc).__name__}: {exc}). Check that it runs there (`ray status`), and "
            "that host and port are right and reachable through any firewall."
        ) from exc


def _refused(address: str, exc: ConnectionError) -> str:
    """Why ``ray.init`` could not connect, and what to check."""
    if not address:
        return f"could not start a local Ray instance ({exc})"
    token_file = os.environ.get("RAY_AUTH_TOKEN_PATH")
    if token_file is None:
        hint = (
            "If the cluster requires token authentication (RAY_AUTH_MODE=token; Ray 2.61 "
            "turns it on for every cluster), it refused this driver: set auth_token_file to "
            "a file holding its token."
        )
    else:
        hint = (
            f"If the cluster requires token authentication, it refused the token in "
            f"{token_file}: check that the file holds this cluster's token."
        )
    return f"cannot connect to the Ray cluster at {address} ({exc}). {hint}"
