"""Green pool: 50,000 no-op calls through GreenThreadPoolExecutor against a bare eventlet GreenPool.

Both sides submit every call, then wait for all of them; the figure is microseconds per call.
"""

from __future__ import annotations

import time
import warnings

from benchmarks.harness import Figure, interleave

__all__ = ["collect"]

TASKS = 50_000
POOL_SIZE = 1000


def _noop() -> None:
    return None


def _ours() -> float:
    from futurist import GreenThreadPoolExecutor

    started = time.perf_counter()
    executor = GreenThreadPoolExecutor(max_workers=POOL_SIZE)
    submit = executor.submit
    for _ in range(TASKS):
        submit(_noop)
    executor.shutdown(wait=True)
    return (time.perf_counter() - started) / TASKS * 1e6


def _bare_eventlet() -> float:
    import eventlet

    started = time.perf_counter()
    pool = eventlet.GreenPool(POOL_SIZE)
    spawn = pool.spawn
    for _ in range(TASKS):
        spawn(_noop)
    pool.waitall()
    return (time.perf_counter() - started) / TASKS * 1e6


def collect(rounds: int) -> list[Figure]:
    """Median µs per call for ours and for bare eventlet, interleaved over ``rounds``."""
    with warnings.catch_warnings():
        # eventlet announces its own deprecation on import; the table is what matters here.
        warnings.simplefilter("ignore")
        import eventlet  # noqa: F401  (imported once here, outside the timed runs)
    ours, baseline = interleave(_ours, _bare_eventlet, rounds)
    return [
        Figure(
            name=f"green pool, {TASKS:,} no-op tasks",
            unit="µs/task",
            ours=ours,
            baseline=baseline,
            baseline_name="eventlet GreenPool.spawn + waitall",
            target_ratio=1.1,
        )
    ]
