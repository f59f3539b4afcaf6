"""The executor kinds the contract suite runs against: add a kind here and it gets every test."""

from __future__ import annotations

import atexit
import functools
import multiprocessing
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import forkserver, resource_tracker
from pathlib import Path
from typing import Any, Protocol

from oslo_config import cfg

import futurist
from futurist import plugins
from futurist.executors.base import Executor
from futurist.executors.delayed import DelayedExecutorMixin, GreenDelayedExecutorMixin


class EventLike(Protocol):
    """The part of an event that tasks and tests use, threading, green or multiprocessing."""

    def set(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...
    def is_set(self) -> bool: ...


class Joinable(Protocol):
    """A started thread or green thread that a test can wait for."""

    def join(self, timeout: float | None = None) -> None: ...
    def is_alive(self) -> bool: ...


class _GreenThread:
    """A green thread with the ``join``/``is_alive`` of a native one."""

    def __init__(self, target: Callable[..., object], args: tuple[Any, ...]) -> None:
        import eventlet

        self._done = _green_event()
        self._thread = eventlet.spawn(self._run, target, args)

    def _run(self, target: Callable[..., object], args: tuple[Any, ...]) -> None:
        try:
            target(*args)
        finally:
            self._done.set()

    def join(self, timeout: float | None = None) -> None:
        self._done.wait(timeout)

    def is_alive(self) -> bool:
        return not self._done.is_set()


def _green_event() -> EventLike:
    from eventlet.green import threading as green_threading

    event: EventLike = green_threading.Event()
    return event


@dataclass(frozen=True)
class Kind:
    """How to build one executor kind and what the contract tests may assume about it."""

    name: str
    make: Callable[..., Executor]
    in_caller: bool = False
    """Calls run inside ``submit`` (nothing is ever queued)."""
    crosses_processes: bool = False
    """Calls run in another process: tasks cannot reach the executor and need shared events."""
    green: bool = False
    """Calls run on eventlet green threads: tests wait and spawn greenly, from the hub's thread."""
    smallest_pool: int = 1
    """The fewest workers it can be built with (a call queues once that many are busy)."""
    largest_pool: int | None = None
    """The most workers it can run at once, whatever it is asked for (None: no such limit)."""
    priorities: bool = True
    """Queued calls start in priority order (False: the kind accepts priorities, ignores them)."""
    stops_calls: bool = False
    """``stop()``, ``terminate_workers()`` and ``drain()`` stop running calls."""
    survives_fork: bool = True
    """A process forked from one using the kind can build and use an executor of its own
    (False: it is refused with a RuntimeError, as Ray refuses a forked driver)."""
    batches_map: bool = False
    """``map(chunksize=n)`` sends calls in batches of ``n``, one future each (else one per call)."""
    shared: Callable[[], object] | None = None
    """Starts what every executor of the kind shares (once); the ``kind`` fixture calls it, so
    a test's snapshot of the process's threads and fds already holds it."""

    @property
    def threaded(self) -> bool:
        """Calls run in other native threads of this process: they may block on a test's gate."""
        return not self.in_caller and not self.crosses_processes and not self.green

    def new_event(self, manager: Any = None) -> EventLike:
        """An event for this process; with ``manager``, one a task can wait on anywhere."""
        if manager is not None and self.crosses_processes:
            shared: EventLike = manager.Event()
            return shared
        if self.green:
            return _green_event()
        return threading.Event()

    def spawn(self, target: Callable[..., object], *args: Any) -> Joinable:
        """Run ``target(*args)`` concurrently with the test, as this kind's callers would."""
        if self.green:
            return _GreenThread(target, args)
        thread = threading.Thread(target=target, args=args)
        thread.start()
        return thread


def _thread(**kwargs: Any) -> Executor:
    return futurist.ThreadPoolExecutor(**kwargs)


def _thread_dynamic(max_workers: int = 2, **kwargs: Any) -> Executor:
    # A dynamic pool needs room to grow: min_workers (1) must stay below max_workers.
    return futurist.DynamicThreadPoolExecutor(max_workers=max(2, max_workers), **kwargs)


def _green(**kwargs: Any) -> Executor:
    return futurist.GreenThreadPoolExecutor(**kwargs)


@functools.cache
def shared_dask_cluster() -> Any:
    """One two-worker Dask cluster on 127.0.0.1 for every test that only needs a cluster."""
    import distributed

    return distributed.LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=2,
        threads_per_worker=2,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    )


def _dask(**kwargs: Any) -> Executor:
    return futurist.DaskExecutor(
        scheduler_address=shared_dask_cluster().scheduler_address, **kwargs
    )


@functools.cache
def _warm_dask() -> None:
    """Start the shared cluster and run one call on it: Distributed starts process-wide threads
    (its offload pool) on a client's first use, and keeps them for good."""
    with _dask(max_workers=1) as executor:
        executor.submit(int).result(60)


@functools.cache
def shared_ray_instance() -> None:
    """One local Ray instance with two CPUs for every test of the ray kind (Ray connects a
    process to one cluster: each executor uses this connection and leaves it open).

    Ray's workers are not children of this process: each takes this process's
    multiprocessing authkey, so the tests' manager events work there as in a worker process,
    and this checkout's path, so they import the tests' functions. It gets a token of its
    own, removed at exit: Ray would otherwise write ``~/.ray/auth_token``, whose presence
    turns token authentication on for every later driver of that user.
    """
    import ray

    token = Path(tempfile.mkdtemp(prefix="futurist-ray-")) / "auth_token"
    token.write_text(secrets.token_hex(32))
    atexit.register(shutil.rmtree, token.parent, True)
    os.environ["RAY_AUTH_TOKEN_PATH"] = str(token)  # Ray turns token authentication on itself

    authkey = bytes(multiprocessing.current_process().authkey)
    root = str(Path(__file__).resolve().parent.parent.parent)

    def take_authkey() -> None:
        multiprocessing.current_process().authkey = authkey

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        runtime_env={
            "env_vars": {"PYTHONPATH": root},
            "worker_process_setup_hook": take_authkey,
        },
    )


def _ray(**kwargs: Any) -> Executor:
    return futurist.RayExecutor(**kwargs)


def _from_config_file(kind: str) -> Callable[..., Executor]:
    """A factory that selects ``kind`` by name in a real config file, as a service would.

    A test's own ``check_and_reject`` callable cannot be written in a file: with one, the kind
    is built by name through :func:`futurist.plugins.create` instead.
    """

    def make(max_workers: int | None = None, check_and_reject: Any = None) -> Executor:
        if check_and_reject is not None:
            sizing = {} if kind == "fixture_serial" else {"max_workers": max_workers or 2}
            return plugins.create(kind, check_and_reject=check_and_reject, **sizing)
        with tempfile.TemporaryDirectory() as directory:
            lines = ["[futurist]", f"executor = {kind}"]
            if max_workers is not None and kind != "fixture_serial":
                lines.append(f"max_workers = {max_workers}")
            path = Path(directory) / "service.conf"
            path.write_text("\n".join(lines) + "\n")
            conf = cfg.ConfigOpts()
            conf(args=["--config-file", str(path)], default_config_files=[])
            return plugins.from_config(conf)

    return make


def _synchronous(**kwargs: Any) -> Executor:
    kwargs.pop("max_workers", None)
    return futurist.SynchronousExecutor(**kwargs)


def _synchronous_green(**kwargs: Any) -> Executor:
    kwargs.pop("max_workers", None)
    return futurist.SynchronousExecutor(green=True, **kwargs)


class DelayedThreadPoolExecutor(DelayedExecutorMixin, futurist.ThreadPoolExecutor):
    """A thread pool that also takes ``submit_after``."""


class DelayedGreenThreadPoolExecutor(GreenDelayedExecutorMixin, futurist.GreenThreadPoolExecutor):
    """A green pool that also takes ``submit_after``."""


def _process(start_method: str) -> Callable[..., Executor]:
    def make(**kwargs: Any) -> Executor:
        context = multiprocessing.get_context(start_method)
        return futurist.ProcessPoolExecutor(mp_context=context, **kwargs)

    return make


def _start_forkserver() -> None:
    """Start the fork server and the resource tracker its workers use, both for good."""
    resource_tracker.ensure_running()
    forkserver.ensure_running()


KINDS: list[Kind] = [
    Kind("thread", _thread),
    Kind("thread_dynamic", _thread_dynamic, smallest_pool=2),
    Kind("thread_delayed", DelayedThreadPoolExecutor),
    Kind("green", _green, green=True),
    Kind("green_delayed", DelayedGreenThreadPoolExecutor, green=True),
    Kind(
        "dask",
        _dask,
        crosses_processes=True,
        stops_calls=True,
        batches_map=True,
        shared=_warm_dask,
    ),
    Kind(
        "ray",
        _ray,
        crosses_processes=True,
        stops_calls=True,
        batches_map=True,
        survives_fork=False,
        shared=shared_ray_instance,
    ),
    Kind("synchronous", _synchronous, in_caller=True, priorities=False),
    Kind("synchronous_green", _synchronous_green, in_caller=True, green=True, priorities=False),
    Kind(
        "process-fork",
        _process("fork"),
        crosses_processes=True,
        stops_calls=True,
        batches_map=True,
    ),
    Kind(
        "process-spawn",
        _process("spawn"),
        crosses_processes=True,
        stops_calls=True,
        batches_map=True,
        # The first spawned worker starts multiprocessing's resource tracker, for good.
        shared=resource_tracker.ensure_running,
    ),
    # Python 3.14's default on Linux: workers fork from a server process started once.
    Kind(
        "process-forkserver",
        _process("forkserver"),
        crosses_processes=True,
        stops_calls=True,
        batches_map=True,
        shared=_start_forkserver,
    ),
    # Third-party kinds from tests/fixtures/futurist-fixture-plugins, chosen by config file.
    Kind("fixture_serial", _from_config_file("fixture_serial"), largest_pool=1),
    Kind("fixture_plain", _from_config_file("fixture_plain"), priorities=False),
]


def shared_manager() -> Any:
    """A multiprocessing manager, for events shared with tasks in other processes."""
    return multiprocessing.get_context("spawn").Manager()
