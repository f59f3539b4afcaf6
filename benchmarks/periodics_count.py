"""Instructions a periodics scheduler executes, counted by valgrind: exact on a loaded machine.

Wall-clock figures move with the machine's load; the instructions a run executes do not. Each
scenario runs the worker or the floor on virtual time (a clock that moves only when the
scheduler waits, so every run is due exactly when the scheduler looks) in its own thread, as
the timed benchmark does, and ends itself after a fixed number of bursts. Run under
``valgrind --tool=callgrind``, the difference between two scenarios is what the extra runs
cost::

    python -m benchmarks.periodics_count {ours|floor} CALLBACKS SPACING BURSTS

``BURSTS`` 0 builds the scheduler and its callbacks but does not start it (the baseline the
other scenarios are counted against). The cyclic garbage collector is off: the counts are the
schedulers' own work. :func:`count` runs one scenario under callgrind and
returns its total instruction count.
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from benchmarks.periodics_floor import MinimalScheduler, nightly
from futurist import periodics

__all__ = ["available", "count"]

_TOTAL = re.compile(rb"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


class VirtualClock:
    """Seconds that pass only when a scheduler waits on :meth:`condition`'s conditions."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        """The wall clock: this clock, some time in 2026."""
        return self.now + 1.78e9

    def condition(self) -> threading.Condition:
        """A condition whose timed wait moves this clock on instead of sleeping."""
        clock = self

        class Ticking(threading.Condition):
            def wait(self, timeout: float | None = None) -> bool:
                if timeout is None:
                    return super().wait()
                clock.now += timeout
                return False

        return Ticking()


def scenario(kind: str, callbacks: int, spacing: float, bursts: int) -> None:
    """Build, then run ``callbacks`` callbacks every ``spacing`` for ``bursts`` bursts (if any)."""
    clock = VirtualClock()
    runs = [0]
    total = callbacks * bursts
    stop: list[Callable[[], None]] = []

    def make() -> Callable[[], None]:
        @periodics.periodic(spacing)
        def callback() -> None:
            runs[0] += 1
            if runs[0] == total:
                stop[0]()

        return callback

    functions = [make() for _ in range(callbacks)]
    start: Callable[[], None]
    if kind == "ours":
        worker = periodics.PeriodicWorker(
            [(function, (), {}) for function in [*functions, nightly]],
            cond_cls=clock.condition,
            now_func=clock,
            wall_func=clock.wall,
        )
        start, stop[:] = worker.start, [worker.stop]
    else:
        floor = MinimalScheduler(functions, spacing, clock=clock, cond=clock.condition())
        start, stop[:] = floor.start, [floor.stop]
    if bursts:
        thread = threading.Thread(target=start)
        thread.start()
        thread.join()


def available() -> bool:
    """Whether valgrind can be run here."""
    return shutil.which("valgrind") is not None


def count(kind: str, callbacks: int, spacing: float, bursts: int, rounds: int = 1) -> int:
    """Total instructions of ``rounds`` scenarios, run under callgrind in a fresh interpreter."""
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-m",
                "benchmarks.periodics_count",
                kind,
                str(callbacks),
                str(spacing),
                str(bursts),
                str(rounds),
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
            cwd=Path(__file__).resolve().parent.parent,
        )
        found = _TOTAL.search(out.read_bytes())
        if found is None:
            raise RuntimeError(f"callgrind wrote no instruction total in {out}")
        return int(found.group(1))


if __name__ == "__main__":
    # Without the cyclic collector: where its collections fall depends on every allocation
    # before them (a scenario's building included), which moved a count by 150,000.
    gc.disable()
    for _ in range(int(sys.argv[5])):
        scenario(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
