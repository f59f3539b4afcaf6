"""Every file the architecture page names exists, so the page cannot drift from the tree."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_named_file_exists() -> None:
    page = (ROOT / "docs" / "architecture.rst").read_text()
    named = set(re.findall(r"\b((?:futurist|tests|etc|docs|releasenotes)/[\w./]*\w)", page))
    named.add("setup.cfg")
    assert len(named) >= 20
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, f"docs/architecture.rst names files that do not exist: {missing}"
