"""One way to read an executor group's values, and one message for any value that is wrong.

Every bad value -- one oslo.config cannot convert, one out of an option's bounds, one a kind's
constructor refuses, a new size a reload asks for -- becomes the same sentence::

    [group] option = value (from file F | env VAR | command line): what is allowed

raised as :class:`InvalidOptionValue`, a subclass of oslo.config's ``ConfigFileValueError``, so
code that catches oslo.config's errors (or ``ValueError``) keeps working. Where a value came
from is also what tells which options a user set: ``user_settings()`` lists them, known or not.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from oslo_config import cfg

__all__ = ["InvalidOptionValue", "Reading", "Setting", "read", "read_options", "user_settings"]


class InvalidOptionValue(cfg.ConfigFileValueError):
    """A value in an executor group is not allowed; the message names group, option and source.

    ``group`` and ``options`` (the option names involved) say what to fix.
    """

    def __init__(self, message: str, group: str, options: tuple[str, ...]) -> None:
        super().__init__(message)
        self.group = group
        self.options = options


@dataclass(frozen=True)
class Setting:
    """An option's text as a user gave it, and where.

    ``source`` is ``file``, ``environment`` or ``command line``; ``detail`` names the file or
    the variable (None for the command line).
    """

    raw: str
    source: str
    detail: str | None = None

    @property
    def origin(self) -> str:
        """Where, in words: ``file F``, ``env VAR`` or ``command line``."""
        if self.source == "file":
            return f"file {self.detail}"
        if self.source == "environment":
            return f"env {self.detail}"
        return self.source


@dataclass(frozen=True)
class Reading:
    """Options of one group, read in one pass: each one's value, or why it is wrong, and what
    the user set where (``settings``, every option set in the group, known or not).

    A wrong value raises only when it is used (:meth:`value`), so an option the kind does not
    read cannot fail a build, as when options were read one by one.
    """

    group: str
    settings: Mapping[str, Setting]
    found: Mapping[str, Any]
    wrong: Mapping[str, str]
    """Why each option whose value oslo.config refused is wrong, by dest."""

    def value(self, dest: str) -> Any:
        """The value of option ``dest``; a wrong one raises :class:`InvalidOptionValue`."""
        if dest in self.wrong:
            raise self.invalid([dest], self.wrong[dest])
        return self.found[dest]

    def invalid(self, dests: Iterable[str], allowed: str) -> InvalidOptionValue:
        """The error for options ``dests`` whose values are wrong, saying what is ``allowed``."""
        dests = tuple(dests)
        described = ", ".join(self._describe(dest) for dest in dests)
        return InvalidOptionValue(f"[{self.group}] {described}: {allowed}", self.group, dests)

    def _describe(self, dest: str) -> str:
        """``option = value (from where)`` for one option, as best the sources tell."""
        given = self.settings.get(dest)
        if given is not None:
            return f"{dest} = {given.raw!r} (from {given.origin})"
        if dest in self.found:
            return f"{dest} = {self.found[dest]!r} (default)"
        return dest


def read_options(
    conf: cfg.ConfigOpts, group: str, dests: Iterable[str], settings: Mapping[str, Setting]
) -> Reading:
    """Read options ``dests`` of ``group`` at once; ``settings`` is what
    :func:`user_settings` found for the group."""
    found: dict[str, Any] = {}
    wrong: dict[str, str] = {}
    section = conf[group]
    for dest in dests:
        try:
            found[dest] = section[dest]
        except cfg.ConfigSourceValueError as exc:
            wrong[dest] = str(exc.__context__ if exc.__context__ is not None else exc)
    return Reading(group, settings, found, wrong)


def read(conf: cfg.ConfigOpts, group: str, dest: str) -> Any:
    """The value of option ``dest`` of ``group``; a bad one raises :class:`InvalidOptionValue`."""
    return read_options(conf, group, [dest], user_settings(conf, group)).value(dest)


def user_settings(conf: cfg.ConfigOpts, group: str) -> dict[str, Setting]:
    """Every option a user set in ``group``, registered or not, by dest; the winning source each.

    Sources in oslo.config's order of precedence: the command line (``--group-option``), then
    environment variables (``OS_GROUP__OPTION``), then the config files and directories, the
    last file winning.
    """
    found: dict[str, Setting] = {}
    for path in _config_files(conf):
        sections: dict[str, dict[str, list[str]]] = {}
        try:
            cfg.ConfigParser(path, sections).parse()
        except (OSError, cfg.ParseError):
            continue
        for key, values in sections.get(group, {}).items():
            found[_dest(key)] = Setting(values[-1], "file", os.path.abspath(path))
    prefix = f"OS_{group.upper()}__"
    for variable, raw in os.environ.items():
        if variable.startswith(prefix) and len(variable) > len(prefix):
            found[variable[len(prefix) :].lower()] = Setting(raw, "environment", variable)
    for dest in list(found) + _command_line_dests(conf, group):
        location = _location(conf, group, dest)
        if location is not None and location.location is cfg.Locations.command_line:
            found[dest] = Setting(str(conf[group][dest]), "command line")
    return found


def _config_files(conf: cfg.ConfigOpts) -> list[str]:
    """The files ``conf`` parsed, in the order it parsed them (a directory's files sorted)."""
    files = list(getattr(conf, "config_file", None) or [])
    for directory in getattr(conf, "config_dir", None) or []:
        if os.path.isdir(directory):
            files.extend(
                os.path.join(directory, name)
                for name in sorted(os.listdir(directory))
                if name.endswith(".conf")
            )
    return files


def _command_line_dests(conf: cfg.ConfigOpts, group: str) -> list[str]:
    """The registered options of ``group`` (only those can come from the command line)."""
    try:
        return list(conf[group].keys())
    except cfg.NoSuchOptError:
        return []


def _location(conf: cfg.ConfigOpts, group: str, dest: str) -> cfg.LocationInfo | None:
    try:
        location: cfg.LocationInfo | None = conf.get_location(dest, group)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError, cfg.ConfigSourceValueError):
        return None
    return location


def _dest(key: str) -> str:
    return key.replace("-", "_")
