"""periodics.Cron: parsing, and the next moment across daylight-saving changes (real zones)."""

from __future__ import annotations

import datetime
import re
import subprocess
import sys
import zoneinfo

import pytest

from futurist import periodics
from futurist.periodics.missed import next_due

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
UTC = datetime.UTC


def moments(cron: periodics.Cron, start: datetime.datetime, count: int) -> list[str]:
    """The next ``count`` moments after ``start``, as UTC times (unambiguous)."""
    found = []
    moment = start
    for _ in range(count):
        following = cron.next_after(moment)
        assert following is not None
        assert following.timestamp() > moment.timestamp()  # strictly after, always
        found.append(following.astimezone(UTC).strftime("%m-%d %H:%M"))
        moment = following
    return found


def test_a_fixed_time_skipped_by_spring_forward_runs_once_at_the_first_moment_after() -> None:
    # Paris, 2025-03-30: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that day.
    cron = periodics.Cron("30 2 * * *", "Europe/Paris")
    start = datetime.datetime(2025, 3, 29, 12, tzinfo=PARIS)
    # 02:30 CET on the 29th... then 03:00 CEST (01:00 UTC) on the 30th, then 02:30 CEST.
    assert moments(cron, start, 3) == ["03-30 01:00", "03-31 00:30", "04-01 00:30"]


def test_a_fixed_time_repeated_by_fall_back_runs_once() -> None:
    # Paris, 2025-10-26: 03:00 CEST becomes 02:00 CET; 02:30 happens twice, runs once.
    cron = periodics.Cron("30 2 * * *", "Europe/Paris")
    start = datetime.datetime(2025, 10, 25, 12, tzinfo=PARIS)
    assert moments(cron, start, 3) == ["10-26 00:30", "10-27 01:30", "10-28 01:30"]


def test_an_hourly_wildcard_job_follows_the_wall_clock_across_both_changes() -> None:
    cron = periodics.Cron("30 * * * *", "America/New_York")
    # 2025-03-09: 02:00 EST becomes 03:00 EDT: no run in the skipped hour, none extra.
    spring = datetime.datetime(2025, 3, 9, 0, 45, tzinfo=NEW_YORK)
    assert moments(cron, spring, 3) == ["03-09 06:30", "03-09 07:30", "03-09 08:30"]
    # 2025-11-02: 02:00 EDT becomes 01:00 EST: both 01:30s run.
    fall = datetime.datetime(2025, 11, 2, 0, 45, tzinfo=NEW_YORK)
    assert moments(cron, fall, 3) == ["11-02 05:30", "11-02 06:30", "11-02 07:30"]


def test_a_fixed_time_in_new_york_across_both_changes() -> None:
    cron = periodics.Cron("15 2 * * *", NEW_YORK)
    spring = datetime.datetime(2025, 3, 8, 12, tzinfo=NEW_YORK)
    # 02:15 EST on the 8th, then 03:00 EDT (the first moment after the gap), then 02:15 EDT.
    assert moments(cron, spring, 3) == ["03-09 07:00", "03-10 06:15", "03-11 06:15"]
    # 2025-11-02: 01:15 happens twice (EDT, then EST) and runs once.
    repeated = periodics.Cron("15 1 * * *", NEW_YORK)
    fall = datetime.datetime(2025, 11, 1, 12, tzinfo=NEW_YORK)
    assert moments(repeated, fall, 2) == ["11-02 05:15", "11-03 06:15"]


def test_next_after_takes_any_aware_moment_and_answers_in_the_schedule_s_zone() -> None:
    cron = periodics.Cron("0 3 * * *", "Europe/Paris")
    answer = cron.next_after(datetime.datetime(2025, 6, 1, 12, tzinfo=UTC))
    assert answer == datetime.datetime(2025, 6, 2, 3, tzinfo=PARIS)
    assert answer is not None and answer.tzinfo is PARIS
    exactly = datetime.datetime(2025, 6, 2, 3, tzinfo=PARIS)
    assert cron.next_after(exactly) == datetime.datetime(2025, 6, 3, 3, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("macro", "expected"),
    [
        ("@hourly", "2025-06-01 13:00"),
        ("@daily", "2025-06-02 00:00"),
        ("@weekly", "2025-06-08 00:00"),
        ("@monthly", "2025-07-01 00:00"),
        ("@yearly", "2026-01-01 00:00"),
    ],
)
def test_macros(macro: str, expected: str) -> None:
    answer = periodics.Cron(macro, "UTC").next_after(datetime.datetime(2025, 6, 1, 12, tzinfo=UTC))
    assert answer is not None and answer.strftime("%Y-%m-%d %H:%M") == expected


@pytest.mark.parametrize("expression", ["* * * *", "0 * * * * *", "0 0 * * * * 2025", ""])
def test_expressions_of_another_length_are_refused(expression: str) -> None:
    with pytest.raises(ValueError, match=r"needs exactly 5"):
        periodics.Cron(expression, "UTC")


@pytest.mark.parametrize("expression", ["61 * * * *", "0 0 31 4 *", "0 0 * * XYZ"])
def test_a_bad_field_names_the_expression(expression: str) -> None:
    with pytest.raises(
        ValueError, match=rf"cron expression '{re.escape(expression)}' is not valid"
    ):
        periodics.Cron(expression, "UTC")


def test_bad_zones_and_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match=r"'Mars/Olympus' is not a known IANA time zone"):
        periodics.Cron("@daily", "Mars/Olympus")
    with pytest.raises(TypeError, match=r"timezone must be an IANA time zone name"):
        periodics.Cron("@daily", 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"needs an aware datetime"):
        periodics.Cron("@daily", "UTC").next_after(datetime.datetime(2025, 1, 1))


def test_an_expression_that_never_matches_has_no_next_moment() -> None:
    # The 1st, 21st or 41st of a month that is also its last Monday: not in 50 years.
    never = periodics.Cron("* * */20 * 1L", "UTC")
    assert never.next_after(datetime.datetime(2025, 1, 1, tzinfo=UTC)) is None


def test_the_default_zone_is_the_system_s_local_one() -> None:
    code = (
        "from futurist import periodics; import datetime;"
        "c = periodics.Cron('0 12 * * *');"
        "print(c.timezone, c.next_after(datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"TZ": "America/New_York", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split() == ["America/New_York", "2025-06-01", "12:00:00-04:00"]


def test_without_cronsim_the_error_says_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['cronsim'] = None\n"
        "from futurist import periodics\n"
        "try:\n    periodics.Cron('@daily')\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == (
        "periodics.Cron needs cronsim, which is not installed; "
        "install it with: pip install cronsim (futurist's cron extra)"
    )


def test_a_moment_before_the_last_answer_gets_it_again_without_evaluating_the_expression() -> None:
    cron = periodics.Cron("0 3 * * *", "UTC")
    asked = datetime.datetime(2025, 6, 1, 12, tzinfo=UTC)
    answer = cron.next_after(asked)
    assert answer == datetime.datetime(2025, 6, 2, 3, tzinfo=UTC)
    # Any moment from the one asked until the answer has the same answer, kept as it was.
    assert cron.next_after(asked + datetime.timedelta(hours=14, minutes=59)) is answer
    assert cron.next_after(asked.astimezone(PARIS)) is answer
    # Before the moment asked, or from the answer on, the expression is evaluated again.
    earlier = cron.next_after(asked - datetime.timedelta(days=1))
    assert earlier == datetime.datetime(2025, 6, 1, 3, tzinfo=UTC)
    assert cron.next_after(answer) == datetime.datetime(2025, 6, 3, 3, tzinfo=UTC)


def test_the_worker_s_question_on_timestamps_gets_next_after_s_answers() -> None:
    # The worker asks on timestamps; a Cron answers from its last answer while it holds.
    cron = periodics.Cron("0 3 * * *", "UTC")
    asked = datetime.datetime(2025, 6, 1, 12, tzinfo=UTC).timestamp()
    first = datetime.datetime(2025, 6, 2, 3, tzinfo=UTC).timestamp()
    second = datetime.datetime(2025, 6, 3, 3, tzinfo=UTC).timestamp()
    for after, expected in [
        (asked, first),
        (asked + 3600, first),  # held
        (first - 1e-3, first),  # held, to the last moment before it
        (first, second),  # strictly after: at the answer, the next one
        (asked - 86400, datetime.datetime(2025, 6, 1, 3, tzinfo=UTC).timestamp()),
    ]:
        assert next_due(cron, after) == expected


def test_inside_a_repeated_hour_the_answer_stays_after_the_moment_asked() -> None:
    # Paris, 2026-10-25: 02:30 happens twice and the job runs once, at the first. Asked again
    # during the second 02:00-03:00, the next run is the next day's, never one already past.
    second_pass = datetime.datetime(2026, 10, 25, 1, 3, tzinfo=UTC)  # 02:03 CET
    assert moments(periodics.Cron("30 2 * * *", "Europe/Paris"), second_pass, 2) == [
        "10-26 01:30",
        "10-27 01:30",
    ]
