"""AsyncExecutor.run on futurist's thread pool against ``loop.run_in_executor`` on the stdlib's.

Each round awaits 10,000 no-op calls through each path, one call after another, from one fresh
asyncio loop, on 4-thread pools whose threads are already started. The two paths alternate in
blocks of 500 calls within the round, so a burst of load from other processes hits both alike;
the figure is the median over rounds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import statistics
import time

from benchmarks.harness import Figure
from futurist import ThreadPoolExecutor
from futurist.aio import AsyncExecutor

CALLS = 10_000
BLOCK = 500
WORKERS = 4


def _noop() -> None:
    return None


async def _one_round(
    ours: AsyncExecutor[ThreadPoolExecutor], stdlib: concurrent.futures.ThreadPoolExecutor
) -> tuple[float, float]:
    """Seconds for CALLS awaited calls through each path, alternating every BLOCK calls."""
    loop = asyncio.get_running_loop()
    ours_seconds = stdlib_seconds = 0.0
    for block in range(CALLS // BLOCK):
        for path in ("ours", "stdlib") if block % 2 == 0 else ("stdlib", "ours"):
            started = time.perf_counter()
            if path == "ours":
                for _ in range(BLOCK):
                    await ours.run(_noop)
                ours_seconds += time.perf_counter() - started
            else:
                for _ in range(BLOCK):
                    await loop.run_in_executor(stdlib, _noop)
                stdlib_seconds += time.perf_counter() - started
    return ours_seconds, stdlib_seconds


def collect(rounds: int) -> list[Figure]:
    """Median microseconds per awaited call, ours against ``run_in_executor``."""
    ours = AsyncExecutor(ThreadPoolExecutor(max_workers=WORKERS))
    stdlib = concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS)
    try:
        # A first round warms both pools up so thread start-up is not measured.
        asyncio.run(_one_round(ours, stdlib))
        measured = [asyncio.run(_one_round(ours, stdlib)) for _ in range(rounds)]
    finally:
        ours.wrapped.shutdown(wait=True)
        stdlib.shutdown(wait=True)
    per_call = 1e6 / CALLS
    return [
        Figure(
            name=f"aio: {CALLS} awaited no-op run() calls, {WORKERS} threads",
            unit="us/call",
            ours=statistics.median(pair[0] for pair in measured) * per_call,
            baseline=statistics.median(pair[1] for pair in measured) * per_call,
            baseline_name="loop.run_in_executor",
            target_ratio=1.1,
        )
    ]
