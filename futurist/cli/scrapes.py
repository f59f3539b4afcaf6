"""One scrape of a Prometheus endpoint, read back into the figures futurist publishes there.

The text is parsed by ``prometheus_client``'s parser (the ``prometheus`` extra); only the
``futurist_executor_*`` families are kept, one :class:`Reading` per executor.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from futurist.cli.settings import ConfigProblem
from futurist.extras import import_extra

__all__ = ["GAUGES", "HISTOGRAMS", "Reading", "Scrape", "scrape"]

_PREFIX = "futurist_executor_"
GAUGES = ("queue_length", "queue_capacity", "call_active", "workers", "worker_max")
"""The gauges read, by their name after ``futurist_executor_``."""
_COUNTERS = ("call_executed", "call_failed", "call_rejected")
HISTOGRAMS = ("call_wait_time_seconds", "call_duration_seconds")
"""The histograms read, by their name after ``futurist_executor_``."""
_TIMEOUT = 10.0

Buckets = tuple[tuple[float, float], ...]
"""A histogram's buckets: (upper bound, how many values were at most that), bounds ascending,
the last one infinite."""


@dataclass
class Reading:
    """One executor's figures in one scrape; a figure the executor does not publish is absent."""

    executor: str
    kind: str
    values: dict[str, float] = field(default_factory=dict)
    histograms: dict[str, Buckets] = field(default_factory=dict)


@dataclass(frozen=True)
class Scrape:
    """Every executor's figures at one moment (``taken``: ``time.monotonic()``)."""

    taken: float
    readings: dict[tuple[str, str], Reading]


def scrape(url: str) -> Scrape:
    """The futurist figures ``url`` serves now; a :class:`ConfigProblem` saying why when it
    cannot be reached or serves none."""
    try:
        parser = import_extra("prometheus_client.parser", "futurist top needs", "prometheus")
    except ImportError as exc:
        raise ConfigProblem(str(exc)) from None
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT) as response:
            text = response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        raise ConfigProblem(f"{url} answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConfigProblem(f"cannot reach {url}: {reason}") from None
    taken = time.monotonic()
    try:
        families = [
            family
            for family in parser.text_string_to_metric_families(text)
            if family.name.startswith(_PREFIX)
        ]
    except (ValueError, TypeError, IndexError) as exc:
        raise ConfigProblem(
            f"{url} does not serve the Prometheus text format ({exc}); give the URL of a "
            "metrics endpoint, such as the one futurist run --metrics-port prints"
        ) from None
    if not families:
        raise ConfigProblem(
            f"{url} serves no futurist metrics (no {_PREFIX}* series); give the endpoint of "
            "futurist run --metrics-port, or of a service that calls "
            "futurist.metrics.instrument('prometheus')"
        )
    return Scrape(taken, _readings(families))


def _readings(families: Iterable[Any]) -> dict[tuple[str, str], Reading]:
    readings: dict[tuple[str, str], Reading] = {}
    buckets: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for family in families:
        name = family.name.removeprefix(_PREFIX)
        for sample in family.samples:
            key = (sample.labels.get("executor", ""), sample.labels.get("kind", ""))
            reading = readings.setdefault(key, Reading(*key))
            if name in GAUGES or (name in _COUNTERS and sample.name.endswith("_total")):
                reading.values[name] = float(sample.value)
            elif name in HISTOGRAMS and sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                buckets.setdefault((*key, name), []).append((bound, float(sample.value)))
    for (executor, kind, name), pairs in buckets.items():
        readings[executor, kind].histograms[name] = tuple(sorted(pairs))
    return readings
