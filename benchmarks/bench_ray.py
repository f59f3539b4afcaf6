"""Per-call overhead on one local Ray instance: RayExecutor against plain Ray and Ray's Pool.

The three submit the same 2,000 tiny calls to the same two-CPU instance and wait for every
result: ``RayExecutor.submit``, ``ray.remote`` with ``ray.get`` (the floor: Ray's own cost), and
``ray.util.multiprocessing.Pool.apply_async`` (what Ray ships for this). The figure is wall time
per call, Ray's share included.
"""

from __future__ import annotations

import time

from benchmarks.harness import Figure, interleave

TASKS = 2_000


def _tiny(value: int) -> int:
    return value


def collect(rounds: int) -> list[Figure]:
    """Time 2,000 tiny calls through each, alternating, on one local Ray instance."""
    try:
        import ray
        from ray.util.multiprocessing import Pool
    except ImportError:
        print("bench_ray: skipped, ray is not installed (pip install ray)")
        return []
    from futurist.executors.ray import RayExecutor

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        ours = RayExecutor()
        remote = ray.remote(max_retries=0)(_tiny)
        pool = Pool(processes=2)

        def run_ours() -> float:
            started = time.perf_counter()
            for future in [ours.submit(_tiny, n) for n in range(TASKS)]:
                future.result()
            return (time.perf_counter() - started) / TASKS * 1e6

        def run_raw() -> float:
            started = time.perf_counter()
            ray.get([remote.remote(n) for n in range(TASKS)])
            return (time.perf_counter() - started) / TASKS * 1e6

        def run_pool() -> float:
            started = time.perf_counter()
            for result in [pool.apply_async(_tiny, (n,)) for n in range(TASKS)]:
                result.get()
            return (time.perf_counter() - started) / TASKS * 1e6

        for warm in (run_ours, run_raw, run_pool):
            warm()
        ours_raw, raw = interleave(run_ours, run_raw, rounds)
        ours_pool, pooled = interleave(run_ours, run_pool, rounds)
        pool.terminate()  # type: ignore[no-untyped-call]
        ours.shutdown()
    finally:
        ray.shutdown()
    return [
        _figure("ray.remote + ray.get", ours_raw, raw, 1.05),
        _figure("ray Pool.apply_async", ours_pool, pooled, 1.0),
    ]


def _figure(baseline_name: str, ours: float, baseline: float, target: float) -> Figure:
    return Figure(
        name=f"ray: {TASKS:,} tiny calls, 2 CPUs, per call",
        unit="us",
        ours=ours,
        baseline=baseline,
        baseline_name=baseline_name,
        target_ratio=target,
    )
