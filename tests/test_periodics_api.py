"""futurist.periodics API: the decorator, strategies, watchers, create(), pformat, bad input."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

import futurist
from futurist import periodics
from futurist.periodics import (
    ExecutorFactory,
    ExistingExecutor,
    PeriodicWorker,
    Watcher,
    Work,
    is_periodic,
    periodic,
)
from futurist.periodics.strategies import STRATEGIES, resolve_strategy
from tests.periodics_support import Simulation


@periodic(1.0)
def module_periodic() -> str:
    return "ran"


def undecorated() -> None:
    """Not marked periodic."""


class Service:
    """Periodic methods of every kind, a property that must not be evaluated, and a decoy."""

    def __init__(self) -> None:
        self.property_reads = 0

    @periodic(1.0)
    def sync_state(self) -> str:
        return "synced"

    @periodic(2.0, run_immediately=True)
    def _hidden(self) -> None:
        """Hidden from create() unless exclude_hidden=False."""

    @periodic(3.0, enabled=False)
    def disabled(self) -> None:
        """Disabled: never collected."""

    @staticmethod
    @periodic(4.0)
    def static_job() -> str:
        return "static"

    @classmethod
    @periodic(5.0)
    def class_job(cls) -> str:
        return cls.__name__

    @property
    def expensive(self) -> int:
        raise AssertionError("create() must not evaluate properties")

    def plain(self) -> None:
        """Not periodic."""


def test_periodic_marks_without_wrapping() -> None:
    @periodic(0.5, run_immediately=True)
    def job() -> int:
        return 3

    assert job() == 3
    assert is_periodic(job)
    assert (job._periodic_spacing, job._periodic_run_immediately, job._periodic_enabled) == (  # type: ignore[attr-defined]
        0.5,
        True,
        True,
    )
    assert not is_periodic(undecorated)
    assert not is_periodic(object())
    assert is_periodic(Service().sync_state)


@pytest.mark.parametrize("spacing", [0, -1, 0.0, math.nan, math.inf])
def test_periodic_rejects_spacings_that_are_not_positive_and_finite(spacing: float) -> None:
    with pytest.raises(
        ValueError, match=rf"spacing must be a finite number of seconds > 0, got {spacing!r}"
    ):
        periodic(spacing)


@pytest.mark.parametrize("spacing", ["1", None, True, [1]])
def test_periodic_rejects_spacings_that_are_not_numbers(spacing: Any) -> None:
    with pytest.raises(TypeError, match=r"spacing must be a number of seconds"):
        periodic(spacing)


def test_a_disabled_periodic_may_have_any_spacing_and_is_skipped() -> None:
    @periodic(0, enabled=False)
    def off() -> None:
        """Disabled."""

    assert is_periodic(off)
    worker = PeriodicWorker([(off, (), {})])
    assert len(worker) == 0
    assert worker.add(off) is None
    assert len(worker) == 0


def test_periodic_refuses_non_callables() -> None:
    with pytest.raises(TypeError, match="can only decorate a callable"):
        periodic(1.0)(42)  # type: ignore[type-var]


def test_work_is_a_callable_named_tuple() -> None:
    work = Work("name", lambda a, b=0: a + b, (1,), {"b": 2})
    assert work() == 3
    assert work._fields == ("name", "callback", "args", "kwargs")
    assert work.name == "name" and work.args == (1,)


def test_watcher_is_read_only_and_averages_are_undefined_before_any_run() -> None:
    worker = PeriodicWorker([(module_periodic, (), {})])
    (watcher,) = worker.iter_watchers()
    assert isinstance(watcher, Watcher)
    assert watcher.work.callback is module_periodic
    assert watcher.work.name == f"{__name__}.module_periodic"
    assert (watcher.runs, watcher.successes, watcher.failures) == (0, 0, 0)
    assert (watcher.elapsed, watcher.elapsed_waiting) == (0.0, 0.0)
    with pytest.raises(ZeroDivisionError):
        _ = watcher.average_elapsed
    with pytest.raises(ZeroDivisionError):
        _ = watcher.average_elapsed_waiting
    assert not watcher.requested_stop
    with pytest.raises(AttributeError):
        watcher.runs = 5  # type: ignore[misc]
    assert "module_periodic" in repr(watcher) and "runs=0" in repr(watcher)


def test_create_collects_decorated_members_without_evaluating_properties() -> None:
    service = Service()
    worker = PeriodicWorker.create([service, module_periodic], args=(), kwargs={})
    names = sorted(watcher.work.name.rsplit(".", 1)[1] for watcher in worker.iter_watchers())
    assert names == ["class_job", "module_periodic", "static_job", "sync_state"]
    results = {
        watcher.work.name.rsplit(".", 1)[1]: watcher.work() for watcher in worker.iter_watchers()
    }
    assert results == {
        "class_job": "Service",
        "module_periodic": "ran",
        "static_job": "static",
        "sync_state": "synced",
    }
    with_hidden = PeriodicWorker.create([service], exclude_hidden=False)
    assert "_hidden" in {w.work.name.rsplit(".", 1)[1] for w in with_hidden.iter_watchers()}


def test_create_passes_args_and_kwargs_to_every_callable() -> None:
    class Job:
        @periodic(1.0)
        def run(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
            return args, kwargs

    worker = PeriodicWorker.create([Job()], args=(1,), kwargs={"k": 2})
    (watcher,) = worker.iter_watchers()
    assert watcher.work() == ((1,), {"k": 2})


def test_an_undecorated_callable_is_refused_by_name() -> None:
    with pytest.raises(
        ValueError, match=r"'tests\.test_periodics_api\.undecorated' is not a periodic"
    ):
        PeriodicWorker([(undecorated, (), {})])
    worker = PeriodicWorker([], schedule_strategy="last_finished")
    with pytest.raises(ValueError, match=r"undecorated' is not a periodic callable"):
        worker.add(undecorated)
    with pytest.raises(ValueError, match=r"42 \(not even callable\) is not a periodic"):
        worker.add(42)  # type: ignore[arg-type]


def test_callables_must_be_triples() -> None:
    with pytest.raises(TypeError, match=r"\(callback, args, kwargs\) triples"):
        PeriodicWorker([module_periodic])  # type: ignore[list-item]


def test_unknown_strategy_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="valid strategies: aligned_last_finished, ") as info:
        PeriodicWorker([], schedule_strategy="every_now_and_then")
    assert all(name in str(info.value) for name in STRATEGIES)
    assert "'every_now_and_then'" in str(info.value)
    with pytest.raises(ValueError, match="schedule_strategy must be a strategy name"):
        PeriodicWorker([], schedule_strategy=5)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["executor_factory", "cond_cls", "event_cls", "now_func"])
def test_hooks_must_be_callable(name: str) -> None:
    with pytest.raises(TypeError, match=rf"{name} must be callable"):
        kwargs: dict[str, Any] = {name: 3}
        PeriodicWorker([], **kwargs)


def test_start_without_callables_is_refused_unless_allowed() -> None:
    worker = PeriodicWorker([])
    with pytest.raises(RuntimeError, match=r"no periodic callables.*allow_empty=True"):
        worker.start()
    worker.start(allow_empty=True, auto_stop_when_empty=True)
    assert worker.wait(0)


def test_an_executor_factory_returning_something_else_fails_start_cleanly() -> None:
    worker = PeriodicWorker([(module_periodic, (), {})], executor_factory=lambda: "pool")  # type: ignore[arg-type, return-value]
    with pytest.raises(TypeError, match="executor_factory must return an executor"):
        worker.start()
    assert worker.wait(0)
    with pytest.raises(TypeError, match="executor must be an executor"):
        ExistingExecutor("pool")  # type: ignore[arg-type]


def test_executor_factories() -> None:
    with pytest.raises(TypeError):
        ExecutorFactory()  # type: ignore[abstract]
    pool = futurist.SynchronousExecutor()
    existing = ExistingExecutor(pool)
    assert existing() is pool and existing.executor is pool and existing.shutdown is False
    assert ExistingExecutor(pool, shutdown=True).shutdown is True
    default = periodics.SynchronousExecutorFactory()
    assert isinstance(default(), futurist.SynchronousExecutor) and default.shutdown is True


def test_wait_before_start_returns_at_once() -> None:
    assert PeriodicWorker([(module_periodic, (), {})]).wait(0)


def test_pformat_refuses_unknown_columns() -> None:
    worker = PeriodicWorker([(module_periodic, (), {})])
    with pytest.raises(
        ValueError, match=r"unknown pformat columns \['Colour'\]; valid columns: Name"
    ):
        worker.pformat(["Name", "Colour"])
    with pytest.raises(ValueError, match="sequence of column names"):
        worker.pformat("Name")


def test_built_in_strategies_arithmetic() -> None:
    assert periodics.last_started(2.0, 10.0, 10.5) == 12.0
    assert periodics.last_finished(2.0, 10.0, 10.5) == 12.5
    assert periodics.aligned_last_finished(2.0, 10.0, 10.5) == 12.0
    assert periodics.aligned_last_finished(2.0, 10.0, 12.0) == 14.0
    assert periodics.aligned_last_finished(0.25, 10.0, 10.3) == 10.5
    assert set(STRATEGIES) == {
        "last_started",
        "last_finished",
        "aligned_last_finished",
        "last_started_jitter",
        "last_finished_jitter",
        "aligned_last_finished_jitter",
    }


def test_jitter_adds_a_fraction_of_the_spacing() -> None:
    jittered = periodics.with_jitter(periodics.last_finished, 0.5, rand=lambda: 0.5)
    assert jittered(2.0, 10.0, 10.5) == 13.0
    assert jittered.__name__ == "last_finished_jitter"
    rng = random.Random(7)
    samples = [STRATEGIES["last_started_jitter"](4.0, 10.0, 11.0) for _ in range(200)]
    assert all(14.0 <= sample <= 14.2 for sample in samples)
    assert len(set(samples)) > 1
    seeded = periodics.with_jitter(periodics.last_started, rand=rng.random)
    assert 14.0 <= seeded(4.0, 10.0, 11.0) <= 14.2


@pytest.mark.parametrize(
    ("value", "error"), [(1.5, ValueError), (-0.1, ValueError), ("x", TypeError)]
)
def test_jitter_fraction_is_validated(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="max_fraction"):
        periodics.with_jitter(periodics.last_started, value)


def test_resolve_strategy_accepts_functions() -> None:
    assert resolve_strategy(periodics.last_finished) is periodics.last_finished
    assert resolve_strategy("last_started") is periodics.last_started


def test_public_names() -> None:
    assert periodics.PERIODIC == "periodic" and periodics.IMMEDIATE == "immediate"
    assert issubclass(periodics.NeverAgain, Exception)
    assert set(periodics.__all__) >= {
        "PeriodicWorker",
        "periodic",
        "is_periodic",
        "NeverAgain",
        "Work",
        "Watcher",
        "ExecutorFactory",
        "ExistingExecutor",
        "PERIODIC",
        "IMMEDIATE",
    }


def test_len_and_iter_watchers_follow_adds() -> None:
    worker = PeriodicWorker([(module_periodic, None, None)])
    watcher = worker.add(Service().sync_state)
    assert len(worker) == 2
    assert list(worker.iter_watchers())[1] is watcher


def test_watcher_figures_give_every_statistic_at_one_moment() -> None:
    sim = Simulation()
    calls: list[float] = []

    @periodics.periodic(1.0)
    def flaky() -> None:
        calls.append(sim.clock())
        sim.advance(0.25)  # each run takes a quarter of a second
        if len(calls) == 2:
            raise RuntimeError("the second run fails")
        if len(calls) == 3:
            worker.stop()

    worker = PeriodicWorker(
        [(flaky, (), {})],
        cond_cls=sim.condition,
        now_func=sim.clock,
        wall_func=sim.wall,
        on_failure=lambda *args, **kwargs: None,
    )
    (watcher,) = worker.iter_watchers()
    assert watcher.figures() == (0, 0, 0, 0.0, 0.0, False, 0, 0)
    worker.start()
    figures = watcher.figures()
    assert figures == (3, 2, 1, 0.75, 0.0, False, 0, 0)
    assert (figures.runs, figures.successes, figures.failures) == (
        watcher.runs,
        watcher.successes,
        watcher.failures,
    )
    assert figures.elapsed == watcher.elapsed and figures.skipped == watcher.skipped
    worker.reset()
    assert watcher.figures() == (0, 0, 0, 0.0, 0.0, False, 0, 0)


def test_a_watcher_built_alone_counts_nothing() -> None:
    watcher = Watcher(Work("alone", module_periodic, (), {}))
    assert watcher.figures().runs == 0 and watcher.next_run is None
