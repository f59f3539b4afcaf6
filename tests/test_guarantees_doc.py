"""Every test the guarantees page cites exists, so the page cannot drift from the suite."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_cited_test_exists() -> None:
    page = (ROOT / "docs" / "guarantees.rst").read_text()
    citations = re.findall(r"``(tests/[\w/]+\.py)::(\w+)``", page)
    assert len(citations) >= 15
    for path, name in citations:
        tree = ast.parse((ROOT / path).read_text())
        defined = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        assert name in defined, f"docs/guarantees.rst cites {path}::{name}, which does not exist"
