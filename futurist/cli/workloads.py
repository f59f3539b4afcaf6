"""The built-in workloads of ``futurist run`` and ``futurist compare``.

A workload is named by a spec -- ``noop``, ``sleep:SECONDS``, ``cpu:ITERATIONS`` or
``fail:RATE`` -- and becomes a picklable task (a partial of a module-level function) called with
each task's index, so it runs on process and Dask kinds as well as in threads.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["SPECS", "SimulatedFailure", "Workload", "WorkloadError", "parse_workload"]

SPECS = "noop, sleep:SECONDS, cpu:ITERATIONS or fail:RATE"
"""The workload specs, as the command's help and errors list them."""

_MAX_SLEEP = 3600.0
_N = TypeVar("_N", int, float)


class WorkloadError(ValueError):
    """A workload spec that names no workload or carries a bad parameter."""


class SimulatedFailure(Exception):
    """The failure a ``fail:RATE`` task raises on purpose."""


@dataclass(frozen=True)
class Workload:
    """A parsed workload: its spec as given and the task each submission runs."""

    spec: str
    task: Callable[[int], object]


def noop(index: int) -> None:
    """Do nothing: measures the executor's own cost per task."""


def sleep(seconds: float, index: int) -> None:
    """Sleep ``seconds``: stands for blocking I/O."""
    time.sleep(seconds)


def cpu(iterations: int, index: int) -> int:
    """Sum ``iterations`` squares in pure Python: CPU-bound work that holds the GIL."""
    total = 0
    for number in range(iterations):
        total += number * number
    return total


def fail(rate: float, index: int) -> int:
    """Raise :class:`SimulatedFailure` for a ``rate`` share of the indexes, evenly spread.

    Task ``index`` fails when ``floor((index + 1) * rate)`` exceeds ``floor(index * rate)``, so
    the first ``n`` tasks hold exactly ``floor(n * rate)`` failures.
    """
    if math.floor((index + 1) * rate) > math.floor(index * rate):
        raise SimulatedFailure(f"task {index} failed on purpose (fail:{rate})")
    return index


def parse_workload(spec: str) -> Workload:
    """The workload ``spec`` names; :class:`WorkloadError` says what is wrong and what exists."""
    name, colon, parameter = spec.partition(":")
    if name == "noop" and not colon:
        return Workload(spec, noop)
    if name == "sleep" and colon:
        seconds = _number(spec, parameter, "SECONDS", kind=float, low=0.0, high=_MAX_SLEEP)
        return Workload(spec, functools.partial(sleep, seconds))
    if name == "cpu" and colon:
        iterations = _number(spec, parameter, "ITERATIONS", kind=int, low=0, high=10**9)
        return Workload(spec, functools.partial(cpu, iterations))
    if name == "fail" and colon:
        rate = _number(spec, parameter, "RATE", kind=float, low=0.0, high=1.0)
        return Workload(spec, functools.partial(fail, rate))
    raise WorkloadError(f"unknown workload {spec!r}; expected {SPECS} (e.g. sleep:0.01)")


def _number(spec: str, text: str, what: str, *, kind: type[_N], low: _N, high: _N) -> _N:  # noqa: PLR0913 -- one bounded-number check for every workload field
    """``text`` as a ``kind`` between ``low`` and ``high``, or a WorkloadError naming ``what``."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or not low <= value <= high:
        noun = "an integer" if kind is int else "a number"
        raise WorkloadError(
            f"workload {spec!r}: {what} must be {noun} from {low} to {high}, got {text!r}"
        )
    return value
