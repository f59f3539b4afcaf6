"""Read one executor group from a config file, and say where each option's value came from."""

from __future__ import annotations

import configparser
import os
import re
from dataclasses import dataclass
from typing import Any

from oslo_config import cfg

from futurist import plugins
from futurist.exceptions import UnknownExecutorKind
from futurist.plugins import options, registry

__all__ = ["ConfigProblem", "OptionValue", "load_config", "resolve_group"]


class ConfigProblem(Exception):
    """The file or the group cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class OptionValue:
    """One option of a group: its value, where it came from, and whether the kind reads it.

    ``source`` is ``default``, ``file``, ``environment`` or ``command line``; ``detail`` names
    the file or the variable.
    """

    name: str
    value: Any
    source: str
    detail: str | None
    read: bool

    def as_dict(self) -> dict[str, Any]:
        """The option as JSON-ready values."""
        return {
            "name": self.name,
            "value": self.value,
            "source": self.source,
            "detail": self.detail,
            "read": self.read,
        }


_SOURCES = {
    cfg.Locations.opt_default: "default",
    cfg.Locations.set_default: "default",
    cfg.Locations.set_override: "override",
    cfg.Locations.user: "file",
    cfg.Locations.command_line: "command line",
    cfg.Locations.environment: "environment",
}


def load_config(path: str, group: str) -> cfg.ConfigOpts:
    """A ConfigOpts with ``group``'s executor options registered and ``path`` parsed.

    Environment variables (``OS_<GROUP>__<OPTION>``) apply as oslo.config defines them.
    Raises :class:`ConfigProblem` for a missing, unreadable or malformed file.
    """
    if not os.path.isfile(path):
        raise ConfigProblem(f"--config-file {path}: no such file")
    if not os.access(path, os.R_OK):
        raise ConfigProblem(f"--config-file {path}: not readable")
    conf = cfg.ConfigOpts()
    plugins.register_opts(conf, group)
    try:
        conf(args=[], prog="futurist", default_config_files=[path], default_config_dirs=[])
    except cfg.ConfigFileParseError as exc:
        raise ConfigProblem(f"--config-file {path}: {exc.msg}") from None
    return conf


def resolve_group(conf: cfg.ConfigOpts, group: str) -> tuple[str, list[OptionValue]]:
    """The kind ``group`` selects and its options: those the kind reads, then any set in vain.

    Raises what :func:`futurist.plugins.load` raises for the kind (an unknown one named with
    its group) and :class:`ConfigProblem` for a bad value.
    """
    kind = _value(conf, group, "executor")
    try:
        cls = plugins.load(kind)
    except UnknownExecutorKind as exc:
        raise registry.unknown_kind(kind, exc.installed, group) from None
    own = [opt.dest for opt in options.declared_options(kind, cls)]
    reads = options.options_read_by(cls, own)
    rows = []
    for opt in options.group_options():
        read = opt.dest in reads
        value, location = _located(conf, group, opt.dest)
        set_by_user = location is not None and location.location.is_user_controlled
        if read or set_by_user:
            source = "default" if location is None else _SOURCES[location.location]
            detail = None if location is None or not set_by_user else location.detail
            rows.append(OptionValue(opt.name, value, source, detail, read))
    return kind, rows


def _value(conf: cfg.ConfigOpts, group: str, dest: str) -> Any:
    """One option's value; a bad one is a ConfigProblem naming the group, option and source."""
    return _located(conf, group, dest)[0]


def _located(conf: cfg.ConfigOpts, group: str, dest: str) -> tuple[Any, cfg.LocationInfo | None]:
    """One option's value and where it came from (reading either converts the value)."""
    try:
        return conf[group][dest], conf.get_location(dest, group)
    except cfg.ConfigSourceValueError as exc:
        reason = exc.__context__ or exc
        source, detail = _where(exc)
        raw = _raw(source, detail, group, dest)
        value = "" if raw is None else f" = {raw!r}"
        where = "" if detail is None else f" ({source} {detail})"
        raise ConfigProblem(f"[{group}] {dest}{value}{where} is not valid: {reason}") from None


def _where(exc: cfg.ConfigSourceValueError) -> tuple[str, str | None]:
    """Where oslo.config found a bad value, from its message (it keeps no attribute for it)."""
    match = re.search(r"LocationInfo\(location=<Locations\.(\w+).*?detail='([^']*)'", str(exc))
    if match is None:
        return "configuration", None
    return _SOURCES[cfg.Locations[match.group(1)]], match.group(2)


def _raw(source: str, detail: str | None, group: str, dest: str) -> str | None:
    """The text a bad value was given as, to quote it in the error (None if not found)."""
    if detail is None:
        return None
    if source == "environment":
        return os.environ.get(detail)
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read(detail)
        return parser.get(group, dest)
    except (configparser.Error, OSError):
        return None
