"""Instructions per call, counted by valgrind's callgrind: deterministic on a busy machine.

``python -m benchmarks.instructions`` replays each per-call path in one thread (no thread
switches, so the count does not depend on the load) and prints the instructions one call costs,
whole and step by step. The whole paths: futurist's thread pool (submit, the worker's loop
running the item, result), the minimal pool on futurist's Future doing the same
(:class:`benchmarks.floor.MinimalPool`), both again with 100 calls queued at a time instead of
all of them, the synchronous executor and a bare call setting a futurist Future. The steps each
time one piece of the thread pool's path alone. Each figure is the difference between two runs
of different lengths, so start-up and imports cancel out.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from queue import SimpleQueue

import futurist
from benchmarks.floor import MinimalPool
from futurist.executors import thread
from futurist.executors.workers import WorkItem
from futurist.statistics import FOLD_AT

SHORT, LONG = 2_000, 12_000


def noop() -> None:
    """The call every path runs."""


BATCH = 100
"""Calls queued at once on the batched paths. With every call queued, the garbage collector
walks thousands of live calls in each collection; a busy pool on threads keeps fewer queued."""


def _batches(calls: int, batch: int | None) -> list[int]:
    """The sizes of the batches ``calls`` are queued in (all at once when ``batch`` is None)."""
    return [calls] if batch is None else [batch] * (calls // batch)


def thread_pool(calls: int, batch: int | None = None) -> None:
    """Submit ``calls`` no-ops to a thread pool, ``batch`` at a time, run each batch in this
    thread's worker loop, read every result."""
    executor = futurist.ThreadPoolExecutor(max_workers=1)
    pool = executor._pool
    # Counted as the pool's one thread, so submit starts none: this thread serves instead.
    pool.threads.add(threading.Thread())
    pool.count_room()
    for size in _batches(calls, batch):
        futures = [executor.submit(noop) for _ in range(size)]
        pool.queue.put(None)
        thread._work(pool)
        pool.queue.get()  # the sentinel the loop passed on
        for future in futures:
            future.result()


def minimal_pool(calls: int, batch: int | None = None) -> None:
    """The same on the minimal pool (no threads of its own: this thread serves)."""
    pool = MinimalPool(0)
    for size in _batches(calls, batch):
        futures = [pool.submit(noop) for _ in range(size)]
        pool.serve_here()
        for future in futures:
            future.result()


def synchronous(calls: int) -> None:
    """Submit and read ``calls`` no-ops on a synchronous executor."""
    executor = futurist.SynchronousExecutor()
    for _ in range(calls):
        executor.submit(noop).result()


def bare_future(calls: int) -> None:
    """Call, set a new futurist Future with the result, read it: the synchronous floor."""
    for _ in range(calls):
        future: futurist.Future[None] = futurist.Future()
        noop()
        future.set_result(None)
        future.result()


def _steps() -> dict[str, Callable[[int], None]]:
    """Each piece of the thread pool's per-call path, alone."""
    executor = futurist.ThreadPoolExecutor(max_workers=1)
    recorder = executor.recorder
    lock = threading.Lock()
    done: futurist.Future[None] = futurist.Future()
    done.set_result(None)

    def submit_lock(calls: int) -> None:
        for _ in range(calls):
            lock.acquire()
            lock.release()

    def work_item(calls: int) -> None:
        for _ in range(calls):
            WorkItem(futurist.Future(), noop, (), {}, recorder)

    def future_alone(calls: int) -> None:
        for _ in range(calls):
            futurist.Future()

    def future_life(calls: int) -> None:
        for _ in range(calls):
            future: futurist.Future[None] = futurist.Future()
            future.set_running_or_notify_cancel()
            future.set_result(None)
            future.result()

    def statistics(calls: int) -> None:
        # As WorkItem.run records a call that ran without raising.
        for _ in range(calls):
            started = time.perf_counter()
            recorder.record_start(started)
            recorder.record_success(time.perf_counter() - started)
            if len(recorder.runs) > FOLD_AT:
                recorder.fold()

    def queue_put_get(calls: int) -> None:
        queue: SimpleQueue[object] = SimpleQueue()
        for _ in range(calls):
            queue.put(done)
            queue.get()

    return {
        "submit lock (acquire + release)": submit_lock,
        "Future created": future_alone,
        "WorkItem created (with its Future and clock read)": work_item,
        "Future: start, set result, read": future_life,
        "statistics: 2 clock reads, start, run, folds": statistics,
        "queue: put + get": queue_put_get,
    }


PATHS: dict[str, Callable[[int], None]] = {
    "thread pool: submit + run + result": thread_pool,
    "floor: minimal pool on futurist Future": minimal_pool,
    f"thread pool, {BATCH} queued at a time": functools.partial(thread_pool, batch=BATCH),
    f"floor, {BATCH} queued at a time": functools.partial(minimal_pool, batch=BATCH),
    "synchronous: submit + result": synchronous,
    "floor: bare call + futurist Future": bare_future,
}


def _count(name: str, calls: int) -> int:
    """Instructions of this module run as ``name`` for ``calls`` calls, under callgrind."""
    result = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "benchmarks.instructions",
            "--run",
            name,
            str(calls),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", result.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count for {name}: {result.stderr[-500:]}")
    return int(found.group(1))


def per_call(name: str) -> int:
    """Instructions one call of ``name`` costs (start-up and imports cancel out)."""
    return (_count(name, LONG) - _count(name, SHORT)) // (LONG - SHORT)


def main() -> None:
    """Print every path's and step's instructions per call (``--run`` runs one, counted)."""
    if sys.argv[1:2] == ["--run"]:
        name, calls = sys.argv[2], int(sys.argv[3])
        (PATHS.get(name) or _steps()[name])(calls)
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install valgrind")
    print(f"{'path or step':55} {'instructions/call':>18}")
    for name in [*PATHS, *_steps()]:
        print(f"{name:55} {per_call(name):18,}", flush=True)


if __name__ == "__main__":
    main()
