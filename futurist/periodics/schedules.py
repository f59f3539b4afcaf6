"""Calendar schedules: when a callback runs, as moments on the wall clock of a time zone.

A :class:`Schedule` answers one question, ``next_after(moment)``: the first moment strictly
after an aware ``datetime`` when the callback is due. :class:`Cron` answers it for a standard
five-field cron expression, parsed and evaluated by cronsim (futurist's ``cron`` extra), which
follows Debian's (Vixie) cron across daylight-saving changes.
"""

from __future__ import annotations

import abc
import datetime
import os
import zoneinfo
from pathlib import Path
from typing import Any

from futurist.extras import import_extra

__all__ = ["MACROS", "Cron", "Schedule", "local_zone", "resolve_timezone"]

MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
"""The cron macros :class:`Cron` accepts, and the expression each stands for."""

_ZONEINFO = Path("/usr/share/zoneinfo")


class Schedule(abc.ABC):
    """When a callback is due, as wall-clock moments; subclass it for schedules of your own."""

    @abc.abstractmethod
    def next_after(self, moment: datetime.datetime) -> datetime.datetime | None:
        """The first moment strictly after the aware ``moment`` when the callback is due.

        None means never again: the worker then stops running the callback.
        """

    def _next_timestamp(self, after: float) -> float | None:
        """:meth:`next_after` on timestamps (seconds since the epoch): the worker's question."""
        moment = self.next_after(datetime.datetime.fromtimestamp(after, datetime.UTC))
        return None if moment is None else moment.timestamp()


def local_zone() -> datetime.tzinfo:
    """The system's local time zone, with its daylight-saving rules when they can be found.

    ``TZ`` names it, else ``/etc/localtime`` does; without either (some containers, Windows)
    this is the fixed offset the system reports now.
    """
    name = os.environ.get("TZ", "").removeprefix(":")
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    localtime = Path("/etc/localtime")
    try:
        key = str(localtime.resolve().relative_to(_ZONEINFO))
        return zoneinfo.ZoneInfo(key)
    except (OSError, ValueError, zoneinfo.ZoneInfoNotFoundError):
        pass
    try:
        with localtime.open("rb") as data:
            return zoneinfo.ZoneInfo.from_file(data, key="localtime")
    except (OSError, ValueError):
        zone = datetime.datetime.now().astimezone().tzinfo
        assert zone is not None
        return zone


def resolve_timezone(timezone: object) -> datetime.tzinfo:
    """``timezone`` as a ``tzinfo``: an IANA name or a ``tzinfo``; None is the local zone."""
    if timezone is None:
        return local_zone()
    if isinstance(timezone, datetime.tzinfo):
        return timezone
    if not isinstance(timezone, str):
        raise TypeError(
            f"timezone must be an IANA time zone name, a tzinfo or None, got {timezone!r}"
        )
    try:
        return zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"timezone {timezone!r} is not a known IANA time zone name "
            f"(like 'Europe/Paris' or 'UTC')"
        ) from None


class Cron(Schedule):
    """A standard cron schedule: five fields or a macro (``@hourly`` ... ``@yearly``).

    ``timezone`` is an IANA name or a ``tzinfo`` (default: the system's local zone). Across
    daylight-saving changes it behaves as Vixie cron: a job at a fixed hour runs once when that
    time is skipped (at the first moment after it) or repeated; a job whose minute or hour
    field is a wildcard or a step follows the wall clock as it is.
    """

    __slots__ = ("_cronsim", "_expression", "_fields", "_last", "_timezone")

    def __init__(self, expression: str, timezone: str | datetime.tzinfo | None = None) -> None:
        if not isinstance(expression, str):
            raise TypeError(f"cron expression must be a string, got {expression!r}")
        fields = MACROS.get(expression.strip().lower(), expression).split()
        if len(fields) != 5:
            raise ValueError(
                f"cron expression {expression!r} has {len(fields)} fields; it needs exactly 5 "
                f"(minute hour day-of-month month day-of-week) or one of {', '.join(MACROS)}"
            )
        module = import_extra("cronsim", "periodics.Cron needs", "cron")
        self._cronsim: Any = module.CronSim
        self._fields = " ".join(fields)
        self._expression = expression
        self._timezone = resolve_timezone(timezone)
        self._last: tuple[float, float, datetime.datetime | None] = (0.0, 0.0, None)
        """(from, to, answer): the last answer, and the timestamps it holds for."""
        try:
            self._cronsim(self._fields, datetime.datetime(2000, 1, 1, tzinfo=self._timezone))
        except module.CronSimError as exc:
            raise ValueError(f"cron expression {expression!r} is not valid: {exc}") from None

    @property
    def expression(self) -> str:
        """The expression as given (a macro stays a macro)."""
        return self._expression

    @property
    def timezone(self) -> datetime.tzinfo:
        """The zone whose wall clock the fields are read on."""
        return self._timezone

    def next_after(self, moment: datetime.datetime) -> datetime.datetime | None:
        """The first moment strictly after the aware ``moment`` that the expression matches.

        None if it matches none in the next 50 years (``0 0 31 2 *``: February the 31st).
        The last answer is kept: it is also the answer for any moment from the one it was
        asked for until itself, as when a worker starts again or looks again before the run
        is due (evaluating an expression costs cronsim a few hundred thousand instructions).
        """
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"Cron.next_after needs an aware datetime, got {moment!r}")
        at = moment.timestamp()
        since, until, answer = self._last
        if since <= at < until:
            return answer
        local = moment.astimezone(self._timezone)
        found: datetime.datetime | None = None
        # Inside an hour the clocks repeat, cronsim (reading the local time) may first give
        # that morning's moment, already past: the answer is the first one after ``moment``.
        for candidate in self._cronsim(self._fields, local):
            if candidate.timestamp() > at:
                found = candidate
                break
        if found is not None:
            self._last = (at, found.timestamp(), found)
        return found

    def _next_timestamp(self, after: float) -> float | None:
        """The last answer again while it holds, without building a ``datetime`` to ask it."""
        since, until, _ = self._last
        if since <= after < until:
            return until
        return super()._next_timestamp(after)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Cron):
            return NotImplemented
        return (self._fields, str(self._timezone)) == (other._fields, str(other._timezone))

    def __hash__(self) -> int:
        return hash((self._fields, str(self._timezone)))

    def __str__(self) -> str:
        return f"cron {self._expression} {self._timezone}"

    def __repr__(self) -> str:
        return f"Cron({self._expression!r}, timezone={str(self._timezone)!r})"
