"""Publish executor figures as OpenTelemetry metrics (futurist's ``otel`` extra).

The numbers are observable instruments read from :attr:`~futurist.executors.base.Executor.metrics`
at each collection; the run-time and queue-wait histograms are fed, as the executor's recorder folds
its entries, with every call that starts or finishes after the executor was instrumented. Every
observation has the attributes ``futurist.executor.name`` and ``futurist.executor.kind``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from futurist import statistics
from futurist.extras import import_extra
from futurist.metrics import BUCKETS, ExecutorMetrics
from futurist.metrics._catalog import FIGURES, HISTOGRAMS, Figure, Selection

if TYPE_CHECKING:
    from futurist.executors.base import Executor
    from futurist.statistics import StatisticsRecorder

__all__ = ["instrument"]

NAME = "futurist.executor.name"
KIND = "futurist.executor.kind"


def _otel_metrics() -> Any:
    """The ``opentelemetry.metrics`` module, or an ImportError saying what to install."""
    return import_extra(
        "opentelemetry.metrics",
        "the 'otel' metrics backend needs",
        "otel",
        package="opentelemetry-api",
    )


class _Instrumentation:
    """futurist's instruments on one meter provider, and the executors they cover."""

    def __init__(self, meter: Any) -> None:
        self.selection = Selection()
        for figure in FIGURES:
            create = (
                meter.create_observable_counter
                if figure.type == "counter"
                else meter.create_observable_up_down_counter
            )
            create(
                figure.otel,
                callbacks=[self._observer(figure)],
                unit=figure.unit,
                description=figure.description,
            )
        self.histograms = [
            meter.create_histogram(
                histogram.otel,
                unit="s",
                description=histogram.description,
                explicit_bucket_boundaries_advisory=list(BUCKETS),
            )
            for histogram in HISTOGRAMS
        ]
        statistics.global_listeners.append(self._record)

    def _observer(self, figure: Figure) -> Callable[[Any], Iterable[Any]]:
        from opentelemetry.metrics import Observation

        def observe(_options: Any) -> Iterable[Any]:
            for metrics in self.selection.snapshots():
                value = figure.read(metrics)
                if value is not None:
                    yield Observation(value, _attributes(metrics))

        return observe

    def _record(
        self, recorder: StatisticsRecorder, runs: Sequence[float], waits: Sequence[float]
    ) -> None:
        """Feed the histograms with the calls a covered executor's recorder just folded."""
        if not self.selection.covers(recorder):
            return
        attributes = {NAME: recorder.name, KIND: recorder.kind}
        duration, wait_time = self.histograms
        for seconds in runs:
            duration.record(seconds, attributes)
        for seconds in waits:
            wait_time.record(seconds, attributes)


def _attributes(metrics: ExecutorMetrics) -> dict[str, str]:
    return {NAME: metrics.name, KIND: metrics.kind}


_instrumentations: dict[int, tuple[Any, _Instrumentation]] = {}
_lock = threading.Lock()


def instrument(executor: Executor | None = None, *, meter_provider: Any = None) -> None:
    """Publish ``executor``'s figures (every executor's when None) on ``meter_provider``.

    Without ``meter_provider`` the global one is used (``opentelemetry.metrics``). Calling it
    again for an executor already covered on that provider changes nothing.
    """
    metrics = _otel_metrics()
    provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    with _lock:
        known = _instrumentations.get(id(provider))
        if known is None or known[0] is not provider:
            known = (provider, _Instrumentation(provider.get_meter("futurist")))
            _instrumentations[id(provider)] = known
    known[1].selection.add(executor)
