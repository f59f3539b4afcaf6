"""Whether the options meant for a group were written somewhere else.

oslo.config reads a group's options from its own section only: ``executor = process`` under
``[DEFAULT]``, or under a mistyped ``[api_poll]``, is silently ignored and the group builds the
default thread pool. When the group is in no config file while a file sets executor options in
``[DEFAULT]`` or in a section whose name is close to the group's, :func:`misplaced` says so.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping

from oslo_config import cfg

from futurist.plugins.options import COMMON_OPTION_NAMES
from futurist.plugins.values import Setting, _config_files, _dest, user_settings

__all__ = ["misplaced"]

_DEFAULT_SECTION = "DEFAULT"


def misplaced(
    conf: cfg.ConfigOpts, group: str, settings: Mapping[str, Setting] | None = None
) -> str | None:
    """Why ``group``'s options seem to be in the wrong section of ``conf``'s files, or None.

    None when the group is set anywhere (a file, the environment, the command line), when no
    file was parsed, or when no other section sets an executor option. ``settings`` are the
    group's user settings when the caller has already read them (the files are then parsed
    again only when the group is set nowhere).
    """
    if settings is None:
        settings = user_settings(conf, group)
    if settings:
        return None
    sections = {path: _sections(path) for path in _config_files(conf)}
    if not sections or any(group in found for found in sections.values()):
        return None
    for path, found in sections.items():
        near = difflib.get_close_matches(group, [name for name in found if name != group], n=1)
        for name in [*near, _DEFAULT_SECTION]:
            options = sorted(_dest(key) for key in found.get(name, {}))
            options = [option for option in options if option in COMMON_OPTION_NAMES]
            if not options:
                continue
            where = f"[{name}] of {os.path.abspath(path)} sets {', '.join(options)}"
            advice = (
                f"futurist reads them only under [{group}]"
                if name == _DEFAULT_SECTION
                else f"did you mean [{name}]?"
            )
            return f"config group [{group}] is in no config file, but {where}: {advice}"
    return None


def _sections(path: str) -> dict[str, dict[str, list[str]]]:
    """The sections of the file at ``path`` with their keys (none when it cannot be read)."""
    sections: dict[str, dict[str, list[str]]] = {}
    try:
        cfg.ConfigParser(path, sections).parse()
    except (OSError, cfg.ParseError):
        return {}
    return sections
