"""Every name a public module exports (its ``__all__``) is in the API reference.

The docs are built with Sphinx into a temporary directory and its ``objects.inv`` is read back.
The public modules are futurist's top-level modules and packages (the command, ``futurist.cli``,
has its own page) and every module the reference documents with ``automodule``. A name counts
as documented when an entry of the inventory with the same last name is the very same object,
so a class re-exported by a package may be documented where it is defined.
"""

from __future__ import annotations

import importlib
import pkgutil
import posixpath
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from sphinx.util.inventory import InventoryFile

import futurist

DOCS = Path(__file__).parents[1] / "docs"
TIMEOUT = 600


@pytest.fixture(scope="module")
def documented(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The inventory's Python entries of futurist, full names by their last name."""
    output = tmp_path_factory.mktemp("html")
    built = subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", str(DOCS), str(output)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    with (output / "objects.inv").open("rb") as stream:
        inventory = InventoryFile.load(stream, "", posixpath.join)
    names: dict[str, list[str]] = {}
    for role, entries in inventory.items():
        if role.startswith("py:"):
            for full in entries:
                names.setdefault(full.rpartition(".")[2], []).append(full)
    return names


def public_modules() -> Iterator[str]:
    yield "futurist"
    for found in pkgutil.iter_modules(futurist.__path__, "futurist."):
        if not found.name.rpartition(".")[2].startswith("_") and found.name != "futurist.cli":
            yield found.name
    yield from re.findall(r"^\.\. automodule:: (\S+)$", (DOCS / "api.rst").read_text(), re.M)


def resolve(full: str) -> object:
    """The object a dotted name names: the longest importable module, then attributes."""
    parts = full.split(".")
    for end in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:end]))
        except ImportError:
            continue
        for part in parts[end:]:
            found = getattr(found, part, None)
        return found
    return None


def undocumented(module: ModuleType, documented: dict[str, list[str]]) -> list[str]:
    return [
        name
        for name in module.__all__
        if not any(resolve(full) is getattr(module, name) for full in documented.get(name, []))
    ]


@pytest.mark.slow
def test_every_name_of_every_public_all_is_in_the_reference(
    documented: dict[str, list[str]],
) -> None:
    modules = sorted(set(public_modules()))
    assert {"futurist.periodics", "futurist.plugins", "futurist.metrics.prometheus"} <= set(modules)
    missing = {
        name: undocumented(module, documented)
        for name in modules
        if (module := importlib.import_module(name)) and hasattr(module, "__all__")
    }
    assert {name: names for name, names in missing.items() if names} == {}
