"""An executor group read once: the kind it names, and every option's value and origin.

:func:`read_group` is the one pass over ``conf`` that building an executor makes::

    read_group(conf, group)  register the common options, read ``executor``, load that kind
                             alone, register its options, read every option the build may use
      --> ExecutorGroup      the kind, its class and options, what it reads, the Reading
      --> from_config        unread-option warnings, the backlog policy, the build, the resizer:
                             all from this value, none reads ``conf`` again

``futurist show-config`` reads a group the same way.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from dataclasses import dataclass

from oslo_config import cfg

from futurist.exceptions import UnknownExecutorKind
from futurist.plugins import options, registry, values
from futurist.plugins.options import OBSERVING_OPTIONS

__all__ = ["ExecutorGroup", "read_group"]

_BACKLOG_OPTIONS = ("max_backlog", "backlog_policy", "backlog_timeout")


@dataclass(frozen=True)
class ExecutorGroup:
    """What one config group says: its ``kind`` (the plugin name) and ``cls``, the kind's
    ``own`` options, the options the kind ``reads`` (by dest), and ``options``, the values
    and origins of the common and the kind's options."""

    group: str
    kind: str
    cls: type[concurrent.futures.Executor]
    own: tuple[cfg.Opt, ...]
    reads: frozenset[str]
    options: values.Reading

    def unread(self) -> Iterator[tuple[str, values.Setting]]:
        """Each option a user set in the group that the kind does not read, by name."""
        for dest, given in sorted(self.options.settings.items()):
            if dest not in self.reads:
                yield dest, given


def read_group(conf: cfg.ConfigOpts, group: str) -> ExecutorGroup:
    """Read ``group`` of ``conf`` once, registering the common options and those of its kind.

    Only the kind the group names is loaded. Raises ``ValueError`` for a bad group name,
    :class:`~futurist.plugins.values.InvalidOptionValue` for a bad ``executor`` value, and
    what :func:`futurist.plugins.load` raises for the kind (an unknown one named with its
    group). A bad value of any other option raises when it is used.
    """
    options.check_group(group)
    conf.register_opts(options.runtime_common_options(), group=group)
    settings = values.user_settings(conf, group)
    kind = values.read_options(conf, group, ["executor"], settings).value("executor")
    try:
        own = options.register_kind_opts(conf, group, kind)
    except UnknownExecutorKind as exc:
        given = settings.get("executor")
        origin = None if given is None else given.origin
        raise registry.unknown_kind(kind, exc.installed, group, origin) from None
    cls = registry.load(kind)
    dests = [opt.dest for opt in own]
    common = ["executor", "max_workers", *_BACKLOG_OPTIONS, *OBSERVING_OPTIONS]
    reading = values.read_options(conf, group, [*dests, *common], settings)
    reads = frozenset(options.options_read_by(cls, dests))
    return ExecutorGroup(group, kind, cls, tuple(own), reads, reading)
