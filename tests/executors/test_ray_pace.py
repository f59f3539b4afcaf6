"""The pace the Ray kind's collector measures, and the fetch size and window it gives."""

from __future__ import annotations

import pytest

from futurist.executors._ray_pace import FETCH, POLL, WINDOW_SECONDS, Pace


def test_the_pace_is_the_calls_ended_over_the_time_of_the_last_rounds() -> None:
    pace = Pace(128, 2048, 2)
    pace.ended(100, 0.1)
    assert pace.per_second == pytest.approx(1000.0)
    pace.ended(300, 0.1)
    assert pace.per_second == pytest.approx((100 * 0.9 + 300) / (0.1 * 0.9 + 0.1))
    for _ in range(200):
        pace.ended(10, 0.1)
    assert pace.per_second == pytest.approx(100.0)
    pace.ended(0, 0.1)
    assert 0.0 < pace.per_second < 100.0
    slower = pace.per_second
    pace.ended(0, 0.0)  # a round that took no time says nothing
    assert pace.per_second == slower


def test_the_fetch_is_about_fetch_seconds_of_calls_at_least_one_at_most_those_watched() -> None:
    pace = Pace(128, 128, 2)
    assert pace.head(128) == 1
    pace.ended(1_000, 1.0)
    assert pace.head(128) == int(1_000 * FETCH)
    assert pace.head(10) == 10
    pace.ended(0, 1_000.0)  # a long round that ended nothing: one at a time
    assert pace.head(128) == 1


def test_a_fetch_waits_twice_as_long_as_its_calls_take_at_the_pace_at_least_two_polls() -> None:
    pace = Pace(128, 128, 2)
    assert pace.fetch_timeout(1) == 2 * POLL  # no pace yet
    pace.ended(1_000, 1.0)
    assert pace.fetch_timeout(40) == pytest.approx(2 * 40 / 1_000)
    assert pace.fetch_timeout(1) == 2 * POLL


@pytest.mark.parametrize(
    ("runtime", "window"),
    [
        (None, 128),  # nothing ran yet: the kind's default
        (10.0, 128),  # long calls: never below it
        (2 * WINDOW_SECONDS / 1_000, 1_000),  # two slots run 1,000 such calls a second
        (1e-6, 2048),  # tiny calls: never above the most
        (0.0, 2048),  # too short for the clock
    ],
)
def test_the_window_holds_about_a_second_of_the_cluster_s_work_between_its_bounds(
    runtime: float | None, window: int
) -> None:
    pace = Pace(128, 2048, 2)
    if runtime is not None:
        pace.ran(10, 10 * runtime)
    assert pace.adapts
    assert pace.window() == window


def test_the_window_follows_the_runtime_of_the_last_calls() -> None:
    pace = Pace(128, 2048, 2)
    pace.ran(100, 100 * 1e-6)
    assert pace.window() == 2048
    for _ in range(100):
        pace.ran(10, 10 * 0.1)
    assert pace.window() == 128


def test_a_window_whose_bounds_are_equal_never_moves() -> None:
    pace = Pace(3, 1, 1)
    pace.ran(10_000, 0.0)
    assert (pace.adapts, pace.least, pace.most, pace.window()) == (False, 3, 3, 3)
