"""README.md and docs/getting-started.rst name every extra setup.cfg declares."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def extras() -> list[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return list(config["options.extras_require"])


@pytest.mark.parametrize(
    ("page", "quoted"), [("README.md", "`{}`"), ("docs/getting-started.rst", "``{}``")]
)
def test_every_extra_is_named(page: str, quoted: str) -> None:
    text = (ROOT / page).read_text()
    assert len(extras()) >= 7
    assert [extra for extra in extras() if quoted.format(extra) not in text] == []
