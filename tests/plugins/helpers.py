"""Shared helpers of the plugin tests: real config files and fresh ConfigOpts."""

from __future__ import annotations

import textwrap
from pathlib import Path

from oslo_config import cfg


def write_config(directory: Path, text: str, name: str = "service.conf") -> Path:
    """Write ``text`` (dedented) as a config file in ``directory`` and return its path."""
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def load_config(path: Path) -> cfg.ConfigOpts:
    """A fresh ConfigOpts that has parsed ``path`` (and nothing else) as its config file."""
    conf = cfg.ConfigOpts()
    conf(args=["--config-file", str(path)], default_config_files=[])
    return conf
