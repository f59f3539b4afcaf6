"""AsyncExecutor.run on futurist's thread pool against ``loop.run_in_executor`` on the stdlib's.

Each measurement awaits 10,000 no-op calls, one after another, from a fresh asyncio loop, on a
4-thread pool whose threads are already started; ours and the baseline alternate.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time

from benchmarks.harness import Figure, interleave
from futurist import ThreadPoolExecutor
from futurist.aio import AsyncExecutor

CALLS = 10_000
WORKERS = 4


def _noop() -> None:
    return None


async def _awaited_runs(executor: AsyncExecutor[ThreadPoolExecutor]) -> float:
    started = time.perf_counter()
    for _ in range(CALLS):
        await executor.run(_noop)
    return time.perf_counter() - started


async def _awaited_run_in_executor(pool: concurrent.futures.ThreadPoolExecutor) -> float:
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    for _ in range(CALLS):
        await loop.run_in_executor(pool, _noop)
    return time.perf_counter() - started


def collect(rounds: int) -> list[Figure]:
    """Median microseconds per awaited call, ours against ``run_in_executor``."""
    ours = AsyncExecutor(ThreadPoolExecutor(max_workers=WORKERS))
    stdlib = concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS)
    try:
        # Warm both pools up so thread start-up is not measured.
        asyncio.run(_awaited_runs(ours))
        asyncio.run(_awaited_run_in_executor(stdlib))
        ours_seconds, baseline_seconds = interleave(
            lambda: asyncio.run(_awaited_runs(ours)),
            lambda: asyncio.run(_awaited_run_in_executor(stdlib)),
            rounds,
        )
    finally:
        ours.wrapped.shutdown(wait=True)
        stdlib.shutdown(wait=True)
    per_call = 1e6 / CALLS
    return [
        Figure(
            name=f"aio: {CALLS} awaited no-op run() calls, {WORKERS} threads",
            unit="us/call",
            ours=ours_seconds * per_call,
            baseline=baseline_seconds * per_call,
            baseline_name="loop.run_in_executor",
            target_ratio=1.1,
        )
    ]
