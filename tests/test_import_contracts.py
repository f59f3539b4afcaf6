"""The import contracts in pyproject.toml name every module they are meant to cover."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import futurist

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def private_modules() -> set[str]:
    """Every futurist module with a private part in its name (``_naming``, ``executors._flow``)."""
    return {
        found.name
        for found in pkgutil.walk_packages(futurist.__path__, "futurist.")
        if any(part.startswith("_") and not part.startswith("__") for part in found.name.split("."))
    }


def test_the_ray_kind_may_import_no_private_module_but_its_own() -> None:
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    (contract,) = [contract for contract in contracts if contract["id"] == "ray-public"]
    assert set(contract["source_modules"]) == {
        "futurist.executors.ray",
        "futurist.executors._ray_calls",
        "futurist.executors._ray_pace",
        "futurist.executors._ray_tasks",
    }
    assert set(contract["forbidden_modules"]) == private_modules() - {
        "futurist.executors._ray_calls",
        "futurist.executors._ray_pace",
        "futurist.executors._ray_tasks",
    }
