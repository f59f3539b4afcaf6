"""Read one executor group from a config file, and say where each option's value came from."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from oslo_config import cfg

from futurist.executors.sizing import DefaultWorkers
from futurist.plugins import options
from futurist.plugins.defaults import described_default
from futurist.plugins.group import ExecutorGroup, read_group

__all__ = ["ConfigProblem", "OptionValue", "load_config", "resolve_group"]


class ConfigProblem(Exception):
    """The file or the group cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class OptionValue:
    """One option of a group: its value, where it came from, and whether the kind reads it.

    ``source`` is ``default``, ``file``, ``environment`` or ``command line``; ``detail`` names
    the file or the variable. ``default`` is what the kind takes for an unset ``max_workers``,
    as the kind tells it.
    """

    name: str
    value: Any
    source: str
    detail: str | None
    read: bool
    default: DefaultWorkers | None = None

    @property
    def effective(self) -> Any:
        """What the executor takes: the value, or the kind's default when unset."""
        return self.value if self.default is None else self.default.count

    def as_dict(self) -> dict[str, Any]:
        """The option as JSON-ready values."""
        return {
            "name": self.name,
            "value": self.value,
            "source": self.source,
            "detail": self.detail,
            "read": self.read,
            "effective": self.effective,
            "rule": None if self.default is None else self.default.rule,
        }


_SOURCES = {
    cfg.Locations.opt_default: "default",
    cfg.Locations.set_default: "default",
    cfg.Locations.set_override: "override",
    cfg.Locations.user: "file",
    cfg.Locations.command_line: "command line",
    cfg.Locations.environment: "environment",
}


_NO_SECTION = "Section must be started before assignment"
"""oslo.config's words for an option before any ``[section]``: a file that is not INI."""


def load_config(path: str, group: str) -> cfg.ConfigOpts:
    """A ConfigOpts with ``group``'s common executor options registered and ``path`` parsed.

    Environment variables (``OS_<GROUP>__<OPTION>``) apply as oslo.config defines them.
    Raises :class:`ConfigProblem` for a missing, unreadable or malformed file.
    """
    if os.path.isdir(path):
        raise ConfigProblem(f"--config-file {path}: is a directory; name a file in it")
    if not os.path.isfile(path):
        raise ConfigProblem(f"--config-file {path}: no such file")
    if not os.access(path, os.R_OK):
        raise ConfigProblem(f"--config-file {path}: not readable")
    conf = cfg.ConfigOpts()
    options.check_group(group)
    conf.register_opts(options.runtime_common_options(), group=group)
    try:
        conf(args=[], prog="futurist", default_config_files=[path], default_config_dirs=[])
    except cfg.ConfigFileParseError as exc:
        hint = (
            f"; put the options under a [{group}] section" if _NO_SECTION in (exc.msg or "") else ""
        )
        raise ConfigProblem(f"--config-file {path}: {exc.msg}{hint}") from None
    return conf


def resolve_group(conf: cfg.ConfigOpts, group: str) -> tuple[str, list[OptionValue]]:
    """The kind ``group`` selects and its options: those the kind reads, then any set in vain.

    Only the selected kind is loaded. Raises what :func:`futurist.plugins.load` raises for the
    kind (an unknown one named with its group) and
    :class:`~futurist.plugins.values.InvalidOptionValue` for a bad value.
    """
    config = read_group(conf, group)
    rows = []
    for opt in [*options.runtime_common_options(), *config.own]:
        if opt.dest not in config.reads:
            continue
        value = config.options.value(opt.dest)
        location = conf.get_location(opt.dest, group)
        set_by_user = location is not None and location.location.is_user_controlled
        source = "default" if location is None else _SOURCES[location.location]
        detail = location.detail if set_by_user and location is not None else None
        default = _default_workers(config) if opt.dest == "max_workers" and value is None else None
        rows.append(OptionValue(opt.name, value, source, detail, read=True, default=default))
    for dest, given in config.unread():
        rows.append(OptionValue(dest, given.raw, given.source, given.detail, read=False))
    return config.kind, rows


def _default_workers(config: ExecutorGroup) -> DefaultWorkers | None:
    """The ``max_workers`` the group's kind takes when given none, built from the group."""
    own = {opt.dest: config.options.value(opt.dest) for opt in config.own}
    return described_default(config.cls, own)
