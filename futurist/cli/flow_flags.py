"""``run``'s flow flags (``--backlog-policy``, ``--max-backlog``, ``--backlog-timeout``) over a
config group, checked in the words a person typed: a mistake names the flag and the flag to
change, not the library call a program would make."""

from __future__ import annotations

import argparse

from oslo_config import cfg

from futurist.cli.settings import ConfigProblem
from futurist.plugins import values

__all__ = ["FLOW_FLAGS", "apply_flow_flags"]

FLOW_FLAGS = {
    "backlog_policy": "--backlog-policy",
    "max_backlog": "--max-backlog",
    "backlog_timeout": "--backlog-timeout",
}
"""Each flow option and the flag of ``run`` that overrides it."""


def apply_flow_flags(conf: cfg.ConfigOpts, group: str, arguments: argparse.Namespace) -> None:
    """Override ``group``'s flow options with the flags given, then check the result.

    Raises :class:`ConfigProblem` when waiting for room is asked for with no room to wait for:
    no ``max_backlog``, or ``max_backlog = 0``.
    """
    given = {dest for dest in FLOW_FLAGS if getattr(arguments, dest) is not None}
    for dest in given:
        conf.set_override(dest, getattr(arguments, dest), group)
    if not given or values.read(conf, group, "backlog_policy") != "wait":
        return
    max_backlog = values.read(conf, group, "max_backlog")
    if max_backlog is None or max_backlog < 1:
        policy = _described(conf, group, "backlog_policy", given)
        limit = _described(conf, group, "max_backlog", given)
        raise ConfigProblem(
            f"{policy} waits for room below max_backlog, but {limit}: give --max-backlog N "
            "with N >= 1, or --backlog-policy reject to refuse calls instead"
        )


def _described(conf: cfg.ConfigOpts, group: str, dest: str, given: set[str]) -> str:
    """Option ``dest`` as the flag that set it, or as ``[group] dest = value (from where)``."""
    value = values.read(conf, group, dest)
    if dest in given:
        return f"{FLOW_FLAGS[dest]} {value}"
    setting = values.user_settings(conf, group).get(dest)
    if setting is None and value is None:
        return f"[{group}] {dest} is not set"
    origin = "default" if setting is None else f"from {setting.origin}"
    return f"[{group}] {dest} = {value} ({origin})"
