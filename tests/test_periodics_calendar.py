"""Calendar schedules, jitter, misfires, coalescing, back-off and RunAgainIn on a worker.

Virtual time (``tests.periodics_support``): the worker's ``now_func`` is the simulation's
monotonic clock and its ``wall_func`` the simulation's wall clock, which a test may jump.
"""

from __future__ import annotations

import datetime
import itertools
import logging
import threading
import time
from typing import Any

import pytest

from futurist import periodics
from futurist.periodics import PeriodicWorker
from tests.periodics_support import FailureLog, Simulation

UTC = datetime.UTC
NOON = datetime.datetime(2025, 6, 1, 12, 0, 30, tzinfo=UTC).timestamp()
"""The simulations' wall clock starts at 12:00:30 UTC."""


def hhmmss(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, UTC).strftime("%H:%M:%S")


class Job:
    """A callback that notes the wall-clock time of each run and can fail or choose its next."""

    def __init__(self, sim: Simulation, **marks: Any) -> None:
        self.sim = sim
        self.walls: list[str] = []
        self.monotonic: list[float] = []
        self.results: list[object] = []
        self.failures = 0

        @periodics.periodic(**marks)
        def job() -> object:
            self.walls.append(hhmmss(sim.wall()))
            self.monotonic.append(sim.now)
            if self.failures:
                self.failures -= 1
                raise ConnectionError("down")
            return self.results.pop(0) if self.results else None

        self.job = job


def worker_for(sim: Simulation, *jobs: Job, **kwargs: Any) -> PeriodicWorker:
    return PeriodicWorker(
        [(job.job, (), {}) for job in jobs],
        cond_cls=sim.condition,
        now_func=sim.clock,
        wall_func=sim.wall,
        **kwargs,
    )


def run_for(sim: Simulation, worker: PeriodicWorker, seconds: float) -> None:
    sim.at(sim.now + seconds, worker.stop)
    worker.start()


def jump_wall(sim: Simulation, at: float, seconds: float) -> None:
    def jump() -> None:
        sim.wall_offset += seconds

    sim.at(at, jump)


def test_a_cron_callback_runs_at_each_matching_moment_of_the_wall_clock() -> None:
    sim = Simulation(wall_start=NOON)
    job = Job(sim, cron="* * * * *", timezone="UTC")
    run_for(sim, worker_for(sim, job), 200)
    assert job.walls == ["12:01:00", "12:02:00", "12:03:00"]


def test_a_calendar_run_never_starts_before_its_moment_when_the_wall_clock_goes_back() -> None:
    sim = Simulation(wall_start=NOON)
    job = Job(sim, cron="* * * * *", timezone="UTC")
    jump_wall(sim, sim.now + 20, -45)  # at 12:00:50 the clock is set back to 12:00:05
    run_for(sim, worker_for(sim, job), 150)
    assert job.walls == ["12:01:00", "12:02:00"]
    assert job.monotonic[0] == sim.now - 150 + 75  # 30 s, then the 45 s given back


def suspended(coalesce: str, grace: float | None = None) -> tuple[Job, periodics.Watcher]:
    """A minutely job whose machine sleeps 10 minutes after its first run."""
    sim = Simulation(wall_start=NOON)
    job = Job(sim, cron="* * * * *", timezone="UTC", coalesce=coalesce, misfire_grace=grace)
    worker = worker_for(sim, job)
    jump_wall(sim, sim.now + 45, 600)  # 12:01:15: the wall clock moves on 10 minutes
    run_for(sim, worker, 120)
    (watcher,) = worker.iter_watchers()
    return job, watcher


def test_runs_missed_during_a_suspend_are_coalesced_into_the_latest_at_the_next_wake_up() -> None:
    job, watcher = suspended("latest")
    # Noticed at the next wake-up (the simulation wakes the worker at the jump, 12:11:15):
    # one run for the 10 moments 12:02 ... 12:11.
    assert job.walls == ["12:01:00", "12:11:15", "12:12:00"]
    assert (watcher.runs, watcher.coalesced, watcher.skipped) == (3, 9, 0)
    assert watcher.elapsed_waiting == 15  # due at 12:11:00


def test_coalescing_into_the_earliest_runs_once_and_counts_the_wait_from_the_earliest() -> None:
    job, watcher = suspended("earliest")
    assert job.walls == ["12:01:00", "12:11:15", "12:12:00"]
    assert (watcher.coalesced, watcher.skipped) == (9, 0)
    assert watcher.elapsed_waiting == 555


def test_coalesce_all_runs_every_missed_moment_back_to_back() -> None:
    job, watcher = suspended("all")
    assert job.walls == ["12:01:00"] + ["12:11:15"] * 10 + ["12:12:00"]
    assert (watcher.coalesced, watcher.skipped) == (0, 0)


def test_runs_later_than_the_misfire_grace_are_skipped_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="futurist.periodics"):
        job, watcher = suspended("all", grace=30)
    assert job.walls == ["12:01:00", "12:11:15", "12:12:00"]
    assert (watcher.runs, watcher.skipped) == (3, 9)
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 9
    assert "Skipped a run of" in warnings[0].getMessage()
    assert "misfire grace of 30.0 s (it was 555.000 s late)" in warnings[0].getMessage()


def test_the_latest_missed_run_skipped_by_the_grace_is_not_run_either() -> None:
    job, watcher = suspended("earliest", grace=30)
    assert job.walls == ["12:01:00", "12:12:00"]
    assert (watcher.skipped, watcher.coalesced) == (1, 9)


def test_a_spacing_callback_later_than_its_grace_is_skipped_and_rescheduled() -> None:
    sim = Simulation()
    slow = Job(sim, spacing=1, misfire_grace=0.5)
    hog: list[float] = []

    @periodics.periodic(1)
    def hogger() -> None:
        hog.append(sim.now)
        sim.advance(2 if len(hog) == 1 else 0)

    worker = PeriodicWorker(
        [(hogger, (), {}), (slow.job, (), {})], cond_cls=sim.condition, now_func=sim.clock
    )
    run_for(sim, worker, 4.5)
    # Both due at 101; the hogger holds the thread until 103: the job's 101 run is skipped.
    assert slow.monotonic == [104.0]
    assert [watcher.skipped for watcher in worker.iter_watchers()] == [0, 1]


def test_jitter_delays_each_run_by_at_most_the_jitter() -> None:
    sim = Simulation(wall_start=NOON)
    spaced = Job(sim, spacing=10, jitter=2)
    calendar = Job(sim, cron="* * * * *", timezone="UTC", jitter=5)
    run_for(sim, worker_for(sim, spaced, calendar), 300)
    gaps = [b - a for a, b in zip(spaced.monotonic, spaced.monotonic[1:], strict=False)]
    assert len(gaps) > 20
    assert all(10 <= gap <= 12 for gap in gaps) and len(set(gaps)) > 1
    seconds = [int(wall[-2:]) for wall in calendar.walls]
    assert len(seconds) == 5 and all(0 <= second <= 5 for second in seconds)


def test_a_failing_callback_backs_off_exponentially_then_returns_to_its_spacing() -> None:
    sim = Simulation()
    job = Job(sim, spacing=10, backoff_max=4)
    job.failures = 5
    failures = FailureLog()
    run_for(sim, worker_for(sim, job, on_failure=failures), 60)
    starts = job.monotonic
    delays = [b - a for a, b in itertools.pairwise(starts)]
    ceilings = [1, 2, 4, 4, 4]
    assert starts[0] == 110
    for delay, ceiling in zip(delays, ceilings, strict=False):
        assert ceiling / 2 <= delay <= ceiling
    assert delays[5:7] == pytest.approx([10, 10])  # the first success restores the spacing
    assert len(failures.reports) == 5


def test_a_callback_chooses_its_next_run_by_returning_run_again_in() -> None:
    sim = Simulation()
    job = Job(sim, spacing=10)
    job.results = [periodics.RunAgainIn(3), None, periodics.RunAgainIn(0)]
    run_for(sim, worker_for(sim, job), 35)
    assert job.monotonic == [110, 113, 123, 123, 133]


def test_a_calendar_callback_returning_run_again_in_resumes_its_schedule_after() -> None:
    sim = Simulation(wall_start=NOON)
    job = Job(sim, cron="* * * * *", timezone="UTC")
    job.results = [periodics.RunAgainIn(75)]
    run_for(sim, worker_for(sim, job), 200)
    assert job.walls == ["12:01:00", "12:02:15", "12:03:00"]


class EveryQuarterHourAt(periodics.Schedule):
    """A schedule of the caller's: minutes 0, 15, 30 and 45."""

    def next_after(self, moment: datetime.datetime) -> datetime.datetime | None:
        base = moment.replace(second=0, microsecond=0, minute=moment.minute // 15 * 15)
        return base + datetime.timedelta(minutes=15)


def test_a_schedule_object_of_the_caller_s_drives_the_callback() -> None:
    sim = Simulation(wall_start=NOON)
    job = Job(sim, schedule=EveryQuarterHourAt(), run_immediately=True)
    run_for(sim, worker_for(sim, job), 1900)
    assert job.walls == ["12:00:30", "12:15:00", "12:30:00"]


class Never(periodics.Schedule):
    def next_after(self, moment: datetime.datetime) -> datetime.datetime | None:
        return None


def test_a_schedule_with_no_next_moment_ends_like_never_again() -> None:
    sim = Simulation(wall_start=NOON)
    job = Job(sim, schedule=Never())
    worker = worker_for(sim, job)
    worker.start(auto_stop_when_empty=True)
    assert job.walls == []


def test_watchers_and_pformat_show_schedule_next_run_skipped_and_coalesced() -> None:
    sim = Simulation(wall_start=NOON)
    spaced = Job(sim, spacing=30)
    calendar = Job(sim, cron="0 3 * * *", timezone="Europe/Paris")
    worker = worker_for(sim, spaced, calendar)
    sim.at(sim.now + 1, worker.stop)
    seen: dict[str, Any] = {}

    def look() -> None:
        seen["watchers"] = [
            (w.schedule, w.next_run, w.skipped, w.coalesced) for w in worker.iter_watchers()
        ]
        seen["table"] = worker.pformat(periodics.ALL_COLUMNS)

    sim.at(sim.now + 0.5, look)
    worker.start()
    (spacing, spaced_next, *_), (schedule, calendar_next, skipped, coalesced) = seen["watchers"]
    assert spacing == 30.0 and str(schedule) == "cron 0 3 * * * Europe/Paris"
    assert spaced_next == datetime.datetime.fromtimestamp(NOON + 30, UTC)
    assert calendar_next == datetime.datetime(2025, 6, 2, 1, tzinfo=UTC)
    assert (skipped, coalesced) == (0, 0)
    header, first, second = (
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in seen["table"].splitlines()[1:5:2] + seen["table"].splitlines()[4:5]
    )
    assert header[-3:] == ["Next run", "Skipped", "Coalesced"]
    assert first[2] == "30" and second[2] == "cron 0 3 * * * Europe/Paris"
    assert second[-3:] == [calendar_next.astimezone().isoformat(" ", "seconds"), "0", "0"]


def test_the_default_pformat_keeps_futurist_3_5_s_columns() -> None:
    sim = Simulation(wall_start=NOON)
    worker = worker_for(sim, Job(sim, cron="@daily", timezone="UTC"))
    assert worker.pformat().splitlines()[1].split("|")[1:-1][-1].strip() == (
        "Average elapsed waiting"
    )
    with pytest.raises(ValueError, match=r"unknown pformat columns \['Next'\]"):
        worker.pformat(["Next"])


@pytest.mark.parametrize(
    ("marks", "error", "message"),
    [
        ({"spacing": 1, "cron": "@daily"}, TypeError, "exactly one of .* got spacing and cron"),
        (
            {"cron": "@daily", "schedule": Never()},
            TypeError,
            "exactly one of .* got cron and schedule",
        ),
        ({"spacing": 1, "timezone": "UTC"}, TypeError, "timezone without cron"),
        ({"spacing": 1, "coalesce": "all"}, ValueError, "coalesce='all' needs a calendar"),
        ({"cron": "@daily", "coalesce": "first"}, ValueError, "coalesce must be one of"),
        ({"spacing": 1, "jitter": -1}, ValueError, "jitter must be a finite number"),
        ({"spacing": 1, "misfire_grace": "1"}, TypeError, "misfire_grace must be a number"),
        ({"spacing": 1, "backoff_max": 0}, ValueError, "backoff_max must be a finite number"),
        ({"schedule": "0 3 * * *"}, TypeError, "schedule must be a periodics.Schedule"),
    ],
)
def test_the_decorator_names_the_argument_it_refuses(
    marks: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        periodics.periodic(**marks)


def test_run_again_in_takes_seconds() -> None:
    with pytest.raises(ValueError, match=r"RunAgainIn seconds must be a finite number"):
        periodics.RunAgainIn(-1)


class WallClockTicks(periodics.Schedule):
    """Every whole 50 ms of the wall clock (for the real-time test)."""

    def next_after(self, moment: datetime.datetime) -> datetime.datetime | None:
        ticks = int(moment.timestamp() * 20) + 1
        return datetime.datetime.fromtimestamp(ticks / 20, UTC)


def test_a_calendar_callback_runs_on_the_real_clocks_and_never_early() -> None:
    early: list[float] = []
    runs = threading.Semaphore(0)
    schedule = WallClockTicks()

    @periodics.periodic(schedule=schedule)
    def tick() -> None:
        now = time.time()
        due = int(now * 20) / 20  # the tick this run is for: the last whole 50 ms
        if now < due:
            early.append(now)
        runs.release()

    worker = PeriodicWorker([(tick, (), {})])
    thread = threading.Thread(target=worker.start, daemon=True)
    thread.start()
    try:
        for _ in range(3):
            assert runs.acquire(timeout=10)
    finally:
        worker.stop()
        thread.join(10)
    assert not early
    (watcher,) = worker.iter_watchers()
    assert watcher.runs >= 3 and watcher.failures == 0


def test_a_wake_up_runs_what_is_due_first_and_notices_a_clock_jump_before_waiting_again() -> None:
    sim = Simulation(wall_start=NOON)
    order: list[tuple[str, str, float]] = []

    @periodics.periodic(45)
    def spaced() -> None:
        order.append(("spaced", hhmmss(sim.wall()), sim.now))

    @periodics.periodic(cron="* * * * *", timezone="UTC")
    def minutely() -> None:
        order.append(("minutely", hhmmss(sim.wall()), sim.now))

    worker = PeriodicWorker(
        [(spaced, (), {}), (minutely, (), {})],
        cond_cls=sim.condition,
        now_func=sim.clock,
        wall_func=sim.wall,
    )
    jump_wall(sim, sim.now + 45, 600)  # when spaced is due, the wall clock moves 10 minutes on
    run_for(sim, worker, 50)
    # The wake-up goes straight to the due spacing run; the jump is seen before the worker
    # waits again, and the minutely run missed during it runs at once, at the same moment.
    assert order == [
        ("minutely", "12:01:00", 130.0),
        ("spaced", "12:11:15", 145.0),
        ("minutely", "12:11:15", 145.0),
    ]
