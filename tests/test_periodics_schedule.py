"""Exact schedules of futurist.periodics on virtual time (see ``tests.periodics_support``)."""

from __future__ import annotations

import concurrent.futures
import functools
import logging
from typing import Any

import pytest

import futurist
from futurist import periodics
from futurist.periodics import IMMEDIATE, PERIODIC, ExistingExecutor, PeriodicWorker
from tests.periodics_support import FailureLog, SimExecutor, Simulation


class Recorder:
    """A periodic callable that notes when it ran and may take time or stop the worker."""

    def __init__(
        self,
        sim: Simulation,
        spacing: float = 1.0,
        *,
        run_immediately: bool = False,
        takes: float = 0.0,
        fail: bool = False,
    ) -> None:
        self.sim = sim
        self.starts: list[float] = []
        self.takes = takes
        self.fail = fail
        self.worker: PeriodicWorker | None = None
        self.stop_after: int | None = None

        @periodics.periodic(spacing, run_immediately=run_immediately)
        def tick() -> None:
            self.starts.append(sim.now)
            sim.advance(self.takes)
            if self.stop_after is not None and len(self.starts) >= self.stop_after:
                assert self.worker is not None
                self.worker.stop()
            if self.fail:
                raise ValueError(f"failure at {sim.now}")

        self.tick = tick


def make_worker(
    sim: Simulation,
    recorders: list[Recorder],
    executor: SimExecutor | None = None,
    **kwargs: Any,
) -> PeriodicWorker:
    factory = None if executor is None else ExistingExecutor(executor)
    worker = PeriodicWorker(
        [(recorder.tick, (), {}) for recorder in recorders],
        executor_factory=factory,
        cond_cls=sim.condition,
        now_func=sim.clock,
        **kwargs,
    )
    for recorder in recorders:
        recorder.worker = worker
    return worker


def run_until(sim: Simulation, worker: PeriodicWorker, when: float) -> None:
    sim.at(when, worker.stop)
    worker.start()


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("last_started", [101.25, 102.25, 103.25, 104.25]),
        ("last_finished", [101.25, 102.5, 103.75, 105.0]),
        ("aligned_last_finished", [101.25, 102.0, 103.0, 104.0]),
    ],
)
def test_each_strategy_gives_its_exact_run_times(strategy: str, expected: list[float]) -> None:
    sim = Simulation(start=100.25)
    recorder = Recorder(sim, 1.0, takes=0.25)
    recorder.stop_after = 4
    worker = make_worker(sim, [recorder], schedule_strategy=strategy)
    worker.start()
    assert recorder.starts == expected


@pytest.mark.parametrize("strategy", ["last_started", "last_finished", "aligned_last_finished"])
def test_jitter_variants_add_at_most_five_percent_of_the_spacing(strategy: str) -> None:
    plain_sim, jitter_sim = Simulation(start=100.25), Simulation(start=100.25)
    plain, jittered = Recorder(plain_sim, 2.0, takes=0.25), Recorder(jitter_sim, 2.0, takes=0.25)
    plain.stop_after = jittered.stop_after = 2
    make_worker(plain_sim, [plain], schedule_strategy=strategy).start()
    make_worker(jitter_sim, [jittered], schedule_strategy=f"{strategy}_jitter").start()
    assert jittered.starts[0] == plain.starts[0]
    assert plain.starts[1] <= jittered.starts[1] <= plain.starts[1] + 0.05 * 2.0


def test_a_strategy_function_can_be_given_directly() -> None:
    sim = Simulation(start=100.0)
    recorder = Recorder(sim, 1.0, takes=0.25)
    recorder.stop_after = 3
    strategy = periodics.with_jitter(periodics.last_started, 0.5, rand=lambda: 0.5)
    make_worker(sim, [recorder], schedule_strategy=strategy).start()
    assert recorder.starts == [101.0, 102.25, 103.5]


def test_run_immediately_runs_at_start_then_every_spacing() -> None:
    sim = Simulation(start=100.0)
    recorder = Recorder(sim, 0.5, run_immediately=True)
    recorder.stop_after = 3
    make_worker(sim, [recorder]).start()
    assert recorder.starts == [100.0, 100.5, 101.0]


def test_fixed_rate_slower_than_its_spacing_runs_back_to_back_without_replaying() -> None:
    sim = Simulation(start=100.25)
    recorder = Recorder(sim, 1.0, takes=1.5)
    recorder.stop_after = 4
    make_worker(sim, [recorder]).start()
    assert recorder.starts == [101.25, 102.75, 104.25, 105.75]


def test_runs_due_together_wait_for_each_other_on_a_synchronous_executor() -> None:
    sim = Simulation(start=100.0)
    first, second = Recorder(sim, 1.0, takes=0.25), Recorder(sim, 1.0, takes=0.5)
    second.stop_after = 2
    worker = make_worker(sim, [first, second])
    worker.start()
    assert first.starts == [101.0, 102.0]
    assert second.starts == [101.25, 102.25]
    first_watcher, second_watcher = worker.iter_watchers()
    # only the first run of the second one waited: last_started keeps it 0.25 behind after
    assert (first_watcher.elapsed_waiting, second_watcher.elapsed_waiting) == (0.0, 0.25)
    assert (first_watcher.average_elapsed, second_watcher.average_elapsed) == (0.25, 0.5)


@pytest.mark.parametrize(("gap", "submissions"), [(0.0, 2), (2.0**-10, 6)])
def test_callbacks_due_together_share_one_submission(gap: float, submissions: int) -> None:
    sim = Simulation(start=100.0)
    executor = SimExecutor()
    recorders = [Recorder(sim, 1.0) for _ in range(3)]
    worker = make_worker(sim, [], executor)
    for index, recorder in enumerate(recorders):
        sim.at(100.0 + index * gap, functools.partial(worker.add, recorder.tick))
    sim.at(102.75, worker.stop)
    worker.start(allow_empty=True)
    assert [recorder.starts for recorder in recorders] == [
        [101.0 + index * gap, 102.0 + index * gap] for index in range(3)
    ]
    assert executor.submissions == submissions


def test_a_synchronous_executor_gets_one_submission_per_wake_up() -> None:
    sim = Simulation(start=100.0)
    executor = SimExecutor()
    recorders = [Recorder(sim, spacing) for spacing in (0.25, 0.5, 2.0)]
    worker = make_worker(sim, recorders, executor)
    run_until(sim, worker, 104.125)
    assert [len(recorder.starts) for recorder in recorders] == [16, 8, 2]
    assert executor.submissions == 16  # one per quarter second, whoever is due then


def test_a_failing_callback_keeps_its_schedule_and_every_failure_is_reported() -> None:
    sim = Simulation(start=100.0)
    recorder = Recorder(sim, 1.0, run_immediately=True, takes=0.25, fail=True)
    failures = FailureLog()
    recorder.stop_after = 3
    worker = make_worker(sim, [recorder], on_failure=failures)
    worker.start()
    assert recorder.starts == [100.0, 101.0, 102.0]
    assert [
        (report.callback, report.kind, report.spacing, report.exc_info[0], str(report.exc_info[1]))
        for report in failures.reports
    ] == [
        (recorder.tick, IMMEDIATE, 1.0, ValueError, "failure at 100.25"),
        (recorder.tick, PERIODIC, 1.0, ValueError, "failure at 101.25"),
        (recorder.tick, PERIODIC, 1.0, ValueError, "failure at 102.25"),
    ]
    assert all("ValueError: failure at" in (report.traceback or "") for report in failures.reports)
    (watcher,) = worker.iter_watchers()
    assert (watcher.runs, watcher.failures, watcher.successes) == (3, 3, 0)


@pytest.mark.parametrize(
    ("action", "error"),
    [
        ("reject", futurist.RejectedSubmission),
        ("shutdown", RuntimeError),
        ("cancel", concurrent.futures.CancelledError),
        ("break", concurrent.futures.BrokenExecutor),
        ("skip", RuntimeError),
    ],
)
def test_executor_failures_are_reported_and_retried_on_the_next_cycle(
    action: str, error: type[BaseException]
) -> None:
    sim = Simulation(start=100.0)
    executor = SimExecutor()
    executor.plan.extend([action, action])
    recorder = Recorder(sim, 1.0)
    failures = FailureLog()
    reported_at: list[float] = []
    failures.then = lambda: reported_at.append(sim.now)
    worker = make_worker(sim, [recorder], executor, on_failure=failures)
    run_until(sim, worker, 104.5)
    assert [
        (report.kind, report.exc_info[0], when)
        for report, when in zip(failures.reports, reported_at, strict=True)
    ] == [
        (PERIODIC, error, 101.0),
        (PERIODIC, error, 102.0),
    ]
    assert all(error.__name__ in (report.traceback or "") for report in failures.reports)
    assert recorder.starts == [103.0, 104.0]
    (watcher,) = worker.iter_watchers()
    assert (watcher.runs, watcher.failures, watcher.successes) == (4, 2, 2)


def test_never_again_ends_one_schedule_and_auto_stop_ends_the_worker() -> None:
    sim = Simulation(start=100.0)
    runs: list[float] = []

    @periodics.periodic(0.5)
    def twice() -> None:
        runs.append(sim.now)
        if len(runs) == 2:
            raise periodics.NeverAgain()

    worker = PeriodicWorker([(twice, None, None)], cond_cls=sim.condition, now_func=sim.clock)
    worker.start(auto_stop_when_empty=True)
    assert runs == [100.5, 101.0]
    (watcher,) = worker.iter_watchers()
    assert watcher.requested_stop
    assert (watcher.runs, watcher.successes, watcher.failures) == (2, 2, 0)


def test_add_while_running_schedules_from_the_time_it_was_added() -> None:
    sim = Simulation(start=100.0)
    failures = FailureLog()
    worker = PeriodicWorker([], cond_cls=sim.condition, now_func=sim.clock, on_failure=failures)
    later = Recorder(sim, 1.0)
    now = Recorder(sim, 1.0, run_immediately=True, fail=True)
    sim.at(100.25, lambda: worker.add(later.tick))
    sim.at(100.5, lambda: worker.add(now.tick))
    sim.at(102.75, worker.stop)
    worker.start(allow_empty=True)
    assert later.starts == [101.25, 102.25]
    assert now.starts == [100.5, 101.5, 102.5]
    assert [report.kind for report in failures.reports] == [IMMEDIATE, PERIODIC, PERIODIC]
    assert len(worker) == 2


def test_an_idle_worker_waits_once_per_deadline_without_polling() -> None:
    sim = Simulation(start=0.0)
    recorder = Recorder(sim, 1000.0)
    worker = make_worker(sim, [recorder])
    run_until(sim, worker, 5500.0)
    assert recorder.starts == [1000.0, 2000.0, 3000.0, 4000.0, 5000.0]
    assert sim.waits == 6  # one wait per run, one ended by stop()


def test_a_strategy_that_raises_is_logged_and_the_callback_runs_after_one_spacing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = Simulation(start=100.0)
    recorder = Recorder(sim, 1.0, takes=0.25)
    recorder.stop_after = 3

    def broken(spacing: float, started_at: float, finished_at: float) -> float:
        raise ZeroDivisionError("broken strategy")

    with caplog.at_level(logging.ERROR, logger="futurist.periodics"):
        make_worker(sim, [recorder], schedule_strategy=broken).start()
    assert recorder.starts == [101.0, 102.25, 103.5]
    assert "Schedule strategy" in caplog.text and "broken strategy" in caplog.text


def test_a_strategy_returning_nan_is_treated_as_broken() -> None:
    sim = Simulation(start=100.0)
    recorder = Recorder(sim, 1.0)
    recorder.stop_after = 2
    make_worker(sim, [recorder], schedule_strategy=lambda s, a, b: float("nan")).start()
    assert recorder.starts == [101.0, 102.0]


def test_stop_is_sticky_until_reset_which_clears_statistics_and_never_again() -> None:
    sim = Simulation(start=100.0)
    runs: list[float] = []

    @periodics.periodic(1.0)
    def once() -> None:
        runs.append(sim.now)
        with pytest.raises(RuntimeError, match=r"reset\(\) called while the worker is running"):
            worker.reset()
        raise periodics.NeverAgain()

    worker = PeriodicWorker([(once, (), {})], cond_cls=sim.condition, now_func=sim.clock)
    worker.start(auto_stop_when_empty=True)
    worker.stop()
    worker.start()  # stopped and not reset: returns at once
    assert runs == [101.0]
    (watcher,) = worker.iter_watchers()
    assert (watcher.runs, watcher.requested_stop) == (1, True)
    worker.reset()
    assert (watcher.runs, watcher.requested_stop) == (0, False)
    worker.start(auto_stop_when_empty=True)
    assert runs == [101.0, 102.0]
    assert watcher.runs == 1


def test_pformat_shows_the_schedule_and_statistics() -> None:
    sim = Simulation(start=100.0)
    tables: list[str] = []

    @periodics.periodic(2.0)
    def idle() -> None:
        raise AssertionError("never due")

    @periodics.periodic(0.5)
    def busy() -> None:
        sim.advance(0.25)
        tables.append(worker.pformat(["Name", "Active", "Runs in", "Runs"]))
        worker.stop()

    worker = PeriodicWorker(
        [(idle, (), {}), (busy, (), {})], cond_cls=sim.condition, now_func=sim.clock
    )
    assert worker.pformat(["Runs in"]).splitlines()[3] == "|       - |"  # before start
    worker.start()
    idle_name, busy_name = (watcher.work.name for watcher in worker.iter_watchers())
    width = len(idle_name)
    assert tables == [
        "\n".join(
            [
                f"+-{'-' * width}-+--------+---------+------+",
                f"| {'Name'.ljust(width)} | Active | Runs in | Runs |",
                f"+-{'-' * width}-+--------+---------+------+",
                f"| {idle_name.ljust(width)} | No     |  1.250s |    0 |",
                f"| {busy_name.ljust(width)} | Yes    |       - |    0 |",
                f"+-{'-' * width}-+--------+---------+------+",
            ]
        )
    ]
    full = [
        [cell.strip() for cell in line.split("|")[1:-1]] for line in worker.pformat().splitlines()
    ]
    assert full[1] == list(periodics.COLUMNS)
    assert full[3] == [idle_name, "No", "2", "-", "0", "0", "0", "No", "-", "-"]
    assert full[4] == [busy_name, "No", "0.5", "-", "1", "0", "1", "No", "0.2500", "0.0000"]


def test_runs_due_together_do_not_start_after_a_stop_by_an_earlier_one() -> None:
    sim = Simulation(start=100.0)
    first, second = Recorder(sim, 1.0), Recorder(sim, 1.0)
    first.stop_after = 1
    worker = make_worker(sim, [first, second])
    worker.start()
    assert (first.starts, second.starts) == ([101.0], [])
    assert [watcher.runs for watcher in worker.iter_watchers()] == [1, 0]


class Exiting(BaseException):
    """Like SystemExit: not an Exception."""


def test_a_base_exception_is_recorded_stops_the_worker_and_leaves_start() -> None:
    sim = Simulation(start=100.0)
    runs: list[float] = []
    failures = FailureLog()

    @periodics.periodic(1.0)
    def exits_once() -> None:
        runs.append(sim.now)
        raise Exiting("leaving")

    # Without an executor the BaseException leaves the callback's run and start() directly;
    # the run is still recorded and reported, and the worker stopped.
    worker = PeriodicWorker(
        [(exits_once, (), {})], cond_cls=sim.condition, now_func=sim.clock, on_failure=failures
    )
    with pytest.raises(Exiting, match="leaving"):
        worker.start()
    assert runs == [101.0]
    assert [type(exc) for exc in failures.exceptions] == [Exiting]
    (watcher,) = worker.iter_watchers()
    assert (watcher.runs, watcher.failures) == (1, 1)
    worker.start()  # stopped as by stop(): returns at once, without raising it again
    assert runs == [101.0]
