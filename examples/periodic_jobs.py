"""Periodic jobs on a thread pool: a health check and a cache sweep that fails once.

Run it from anywhere: ``python examples/periodic_jobs.py``. Each job retires itself after a few
runs by raising ``NeverAgain``, so the worker returns once no job is left
(``auto_stop_when_empty``). It prints the failure it was told of, then the worker's table::

    sweep_cache failed: cache server unreachable
    +-----------------------------------+------+----------+-----------+----------------+
    | Name                              | Runs | Failures | Successes | Stop Requested |
    +-----------------------------------+------+----------+-----------+----------------+
    | __main__.Maintenance.check_health |    3 |        0 |         3 | Yes            |
    | __main__.Maintenance.sweep_cache  |    3 |        1 |         2 | Yes            |
    +-----------------------------------+------+----------+-----------+----------------+
    runs: {'check_health': 3, 'sweep_cache': 3}
"""

import threading

import futurist
from futurist import periodics


class Maintenance:
    """A service's maintenance work, collected by ``PeriodicWorker.create``."""

    def __init__(self, runs):
        self.runs = runs
        self.counts = {"check_health": 0, "sweep_cache": 0}
        self.lock = threading.Lock()

    def _count(self, job):
        with self.lock:
            self.counts[job] += 1
            return self.counts[job]

    @periodics.periodic(0.05, run_immediately=True)
    def check_health(self):
        if self._count("check_health") >= self.runs:
            raise periodics.NeverAgain("enough health checks for a demonstration")

    @periodics.periodic(0.1)
    def sweep_cache(self):
        count = self._count("sweep_cache")
        if count == 1:
            raise ConnectionError("cache server unreachable")  # counted; the schedule goes on
        if count >= self.runs:
            raise periodics.NeverAgain("enough sweeps for a demonstration")


def on_failure(callback, kind, spacing, exc_info, traceback=None):
    print(f"{callback.__name__} failed: {exc_info[1]}")


def main():
    maintenance = Maintenance(runs=3)
    with futurist.ThreadPoolExecutor(max_workers=2, thread_name_prefix="periodic") as pool:
        worker = periodics.PeriodicWorker.create(
            [maintenance],
            executor_factory=periodics.ExistingExecutor(pool),
            on_failure=on_failure,
            schedule_strategy="last_finished",
        )
        runner = threading.Thread(target=worker.start, kwargs={"auto_stop_when_empty": True})
        runner.start()
        runner.join(timeout=30)
        if runner.is_alive():
            worker.stop()
            raise RuntimeError("the jobs did not retire in time")
    print(worker.pformat(columns=["Name", "Runs", "Failures", "Successes", "Stop Requested"]))
    print(f"runs: {maintenance.counts}")


if __name__ == "__main__":
    main()
