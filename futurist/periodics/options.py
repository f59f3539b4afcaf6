"""Operators retime periodic callbacks from a config file: the options and what they override.

A group (``[periodics]`` unless the service names another) names callbacks by the name
``pformat`` shows (``module.qualname``) or by their qualified name alone::

    [periodics]
    disabled = Manager.rotate_keys
    spacing = Manager.sync_state:30, Manager.report_health:5
    cron = Manager.nightly_report: 0 3 * * *
    timezone = Europe/Paris

:meth:`PeriodicWorker.from_config <futurist.periodics.PeriodicWorker.from_config>` reads it;
every error names the group, the option, the value and the file that set it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from oslo_config import cfg

from futurist.periodics.schedules import Cron, Schedule
from futurist.periodics.timing import Timing

__all__ = [
    "DEFAULT_GROUP",
    "Override",
    "check_used",
    "list_opts",
    "periodic_opts",
    "read_overrides",
]

DEFAULT_GROUP = "periodics"
"""The group periodic schedules are read from unless the service names another."""


def periodic_opts() -> list[cfg.Opt]:
    """The options of a periodics group (new objects each call, as oslo.config wants)."""
    return [
        cfg.ListOpt(
            "disabled",
            default=[],
            help="Periodic callbacks not to run, by name (module.qualname as the periodic "
            "worker's table shows it, or qualname alone).",
        ),
        cfg.DictOpt(
            "spacing",
            default={},
            help="Run these periodic callbacks every so many seconds instead of on their "
            "coded schedule: name:seconds pairs, comma separated.",
        ),
        cfg.MultiStrOpt(
            "cron",
            default=[],
            help="Run a periodic callback on a cron schedule instead of its coded one: "
            "'name: minute hour day-of-month month day-of-week' (or a macro such as "
            "@daily); repeat the option for each callback.",
        ),
        cfg.StrOpt(
            "timezone",
            help="IANA time zone the cron option's expressions are read in (default: the "
            "system's local zone).",
        ),
    ]


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """The ``oslo.config.opts`` entry point: the periodics group and its options."""
    return [(DEFAULT_GROUP, periodic_opts())]


class Override(NamedTuple):
    """What a config file says about one callback."""

    disabled: bool = False
    spacing: float | None = None
    schedule: Schedule | None = None

    def apply(self, timing: Timing) -> Timing:
        """``timing`` with this schedule (a spacing drops a calendar schedule)."""
        if self.schedule is not None:
            return dataclasses.replace(timing, schedule=self.schedule)
        if self.spacing is not None:
            return dataclasses.replace(timing, schedule=None)
        return timing


class _Reader:
    """Reads one group's options, naming where each bad value came from."""

    def __init__(self, conf: cfg.ConfigOpts, group: str) -> None:
        self._conf = conf
        self._group = group
        conf.register_opts(periodic_opts(), group=group)  # again is fine: the same options

    def value(self, option: str) -> object:
        return self._conf[self._group][option]

    def error(self, option: str, value: object, problem: str) -> ValueError:
        location = self._conf.get_location(option, self._group)
        where = f" in {location.detail}" if location is not None and location.detail else ""
        return ValueError(f"[{self._group}] {option} = {value!r}{where}: {problem}")


def read_overrides(conf: cfg.ConfigOpts, group: str = DEFAULT_GROUP) -> dict[str, Override]:
    """Register the group's options if needed and read what they override, by callback name."""
    reader = _Reader(conf, group)
    found: dict[str, Override] = {}
    spacings = reader.value("spacing")
    assert isinstance(spacings, Mapping)
    for name, text in spacings.items():
        try:
            seconds = float(text)
        except ValueError:
            seconds = float("nan")
        if not 0 < seconds < float("inf"):
            raise reader.error("spacing", f"{name}:{text}", "the spacing must be seconds > 0")
        found[name] = Override(spacing=seconds)
    zone = reader.value("timezone")
    for line in _strings(reader.value("cron")):
        name, colon, expression = line.partition(":")
        if not colon or not name.strip():
            raise reader.error("cron", line, "write it as 'name: cron expression'")
        try:
            schedule = Cron(expression.strip(), zone if isinstance(zone, str) else None)
        except (TypeError, ValueError) as exc:
            raise reader.error("cron", line, str(exc)) from None
        if name.strip() in found:
            raise reader.error("cron", line, "this callback also has a spacing; give one of them")
        found[name.strip()] = Override(schedule=schedule)
    for name in _strings(reader.value("disabled")):
        found[name] = Override(disabled=True)
    return found


def check_used(
    conf: cfg.ConfigOpts, group: str, overrides: Mapping[str, Override], names: Iterable[str]
) -> None:
    """Refuse an override naming no callback of the worker (a typo would silently do nothing)."""
    known = set(names)
    reader = _Reader(conf, group)
    for name, override in overrides.items():
        if name in known:
            continue
        option = "disabled" if override.disabled else "spacing" if override.spacing else "cron"
        raise reader.error(
            option,
            name,
            f"no periodic callback is named {name!r}; the worker has: "
            f"{', '.join(sorted(known)) or 'none'}",
        )


def _strings(value: object) -> list[str]:
    assert isinstance(value, list)
    return [str(item) for item in value]
