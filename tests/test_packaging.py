"""``python -m build`` makes a source archive holding what the project needs, and a wheel from
it that installs into a fresh virtual environment and works there."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_SETUP = configparser.ConfigParser()
_SETUP.read(ROOT / "setup.cfg")
VERSION = _SETUP["metadata"]["version"]
TIMEOUT = 120

SMOKE = """
import importlib.metadata, pathlib, sys, futurist
with futurist.ThreadPoolExecutor(max_workers=2) as executor:
    assert list(executor.map(pow, [2, 3], [5, 2])) == [32, 9]
assert executor.statistics.executed == 2
names = {ep.name for ep in importlib.metadata.entry_points(group="futurist.executors")}
assert {"thread", "process", "dask", "green"} <= names, names
package = pathlib.Path(futurist.__file__).parent
assert package.is_relative_to(pathlib.Path(sys.prefix)), package
assert (package / "py.typed").is_file()
assert importlib.metadata.version("futurist") == sys.argv[1]
print("ok")
"""


def run(*command: str | Path, cwd: Path) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.slow
def test_build_makes_an_sdist_and_a_wheel_that_install(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "_build", "*.egg-info", "__pycache__", ".*_cache"
        ),
    )
    dist = tmp_path / "dist"
    # The sdist first, then the wheel built from the unpacked sdist: a file the archive lacks
    # fails here. No isolation: setuptools and wheel come from the test environment (offline).
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, source, cwd=tmp_path)
    sdist = dist / f"futurist-{VERSION}.tar.gz"
    wheel = dist / f"futurist-{VERSION}-py3-none-any.whl"

    with tarfile.open(sdist) as archive:
        names = {name.partition("/")[2] for name in archive.getnames()}
    assert {
        "README.md",
        "LICENSE",
        "setup.cfg",
        "pyproject.toml",
        "futurist/py.typed",
        "etc/futurist.conf.sample",
        "etc/futurist-config-generator.conf",
        "docs/conf.py",
        "docs/_intersphinx/python.inv",
        "examples/periodic_jobs.py",
        "tests/fixtures/futurist-fixture-plugins/pyproject.toml",
    } <= names
    assert not any("__pycache__" in name or "/_build/" in name for name in names)
    with zipfile.ZipFile(wheel) as archive:
        assert "futurist/py.typed" in archive.namelist()

    venv = tmp_path / "venv"
    # A venv without its own pip (installing one costs seconds): the test environment's pip
    # installs into it. Extras are named as the README says; --no-deps keeps the install
    # offline: the dependencies come from the test environment, on the path after the venv's own.
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "--no-deps",
        f"{wheel}[dask]",
        cwd=tmp_path,
    )
    purelib = run(
        python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path
    )
    Path(purelib.strip(), "test-environment.pth").write_text(sysconfig.get_path("purelib") + "\n")
    assert run(python, "-c", SMOKE, VERSION, cwd=tmp_path).strip() == "ok"
