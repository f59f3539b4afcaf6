"""``import futurist`` costs only the standard library: optional dependencies load where used."""

from __future__ import annotations

import subprocess
import sys


def _imported_top_level(code: str) -> set[str]:
    """Top-level names of the modules that ``python -X importtime -c code`` imported.

    Failed optional imports (``copy`` looks for Jython's ``org.python.core``) show up in the
    importtime list too, so only modules still in ``sys.modules`` at the end count.
    """
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"{code}\nimport sys\nprint(*sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(result.stdout.split())
    names = set()
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or line.endswith("| imported package"):
            continue
        module = line.rsplit("|", 1)[1].strip()
        if module in loaded:
            names.add(module.split(".")[0])
    return names


def test_import_futurist_imports_only_the_standard_library() -> None:
    baseline = _imported_top_level("pass")
    imported = _imported_top_level("import futurist") - baseline
    assert "futurist" in imported
    outside = {
        name
        for name in imported - {"futurist"}
        if name.lstrip("_") not in sys.stdlib_module_names and name not in sys.stdlib_module_names
    }
    assert not outside, f"import futurist also imports {sorted(outside)}"


def test_optional_dependencies_wait_until_used() -> None:
    # The command's workloads are imported by process and Dask workers: not its machinery.
    imported = _imported_top_level(
        "import futurist, futurist.periodics, futurist.waiters, futurist.cli.workloads"
    )
    assert not imported & {"oslo_config", "stevedore", "eventlet", "distributed", "dask", "rich"}
