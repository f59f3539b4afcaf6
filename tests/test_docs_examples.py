"""Every Python example in README.md, docs/ and examples/ runs as written.

The blocks are found automatically: a fenced ```python block in README.md, a
``.. code-block:: python`` directive in any docs/*.rst page, and every examples/*.py program.
Each runs as its own script in a fresh interpreter with a timeout, in a new directory holding
the checkout's ``etc/`` and every block of the same page whose ``:caption:`` is a file name (a
config file shown on the page, say), as a reader would have them. All start at once on a few
threads, and each test waits for its own. A block that is not meant to run on its own (a config
file, a pyproject.toml, a shell session) carries its own language tag instead of ``python``.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import subprocess
import sys
import textwrap
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from futurist import periodics

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 90
PARALLEL = 4

_FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
_DIRECTIVE = re.compile(r"^(?P<indent>[ ]*)\.\. code-block:: (?P<language>\S+)\n", re.MULTILINE)
_OPTION = re.compile(r"^:(?P<name>[\w-]+):\s*(?P<value>.*)$")


@dataclass(frozen=True)
class Example:
    """One runnable example: where it is, its source, and the files its page shows."""

    where: str
    code: str
    files: dict[str, str] = field(default_factory=dict)

    @property
    def package(self) -> bool:
        """Whether the page shows a package (a ``pyproject.toml``) its examples use."""
        return "pyproject.toml" in self.files


@dataclass(frozen=True)
class Block:
    """One ``code-block`` of a page: its language, options, first line and text."""

    language: str
    options: dict[str, str]
    line: int
    text: str


def markdown_blocks(path: Path) -> list[Example]:
    text = path.read_text()
    return [
        Example(f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 2}", m.group(1))
        for m in _FENCE.finditer(text)
    ]


def rst_code_blocks(path: Path) -> list[Block]:
    """Every code-block of a page; its body is the lines indented deeper than the directive."""
    text = path.read_text()
    lines = text.splitlines()
    blocks = []
    for match in _DIRECTIVE.finditer(text):
        first = text.count("\n", 0, match.end())
        indent = len(match.group("indent"))
        body: list[str] = []
        for line in lines[first:]:
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                break
            body.append(line)
        content = textwrap.dedent("\n".join(body)).strip("\n").splitlines()
        options = {}
        while content and (option := _OPTION.match(content[0])):
            options[option["name"]] = option["value"]
            content.pop(0)
        code = textwrap.dedent("\n".join(content)).strip("\n") + "\n"
        blocks.append(Block(match["language"], options, first + 1, code))
    return blocks


def captioned_files(blocks: list[Block]) -> dict[str, str]:
    """The blocks a page shows as files (captioned with a file name), by that name."""
    return {
        block.options["caption"]: block.text
        for block in blocks
        if re.fullmatch(r"[\w.-]+\.\w+", block.options.get("caption", ""))
    }


def rst_blocks(path: Path) -> list[Example]:
    """The page's python blocks, each with the page's files (blocks captioned with a name)."""
    blocks = rst_code_blocks(path)
    files = captioned_files(blocks)
    return [
        Example(f"{path.relative_to(ROOT)}:{block.line}", block.text, files)
        for block in blocks
        if block.language == "python"
    ]


def all_examples() -> list[Example]:
    examples = markdown_blocks(ROOT / "README.md")
    for page in sorted((ROOT / "docs").glob("*.rst")):
        examples += rst_blocks(page)
    for program in sorted((ROOT / "examples").glob("*.py")):
        examples.append(Example(str(program.relative_to(ROOT)), program.read_text()))
    return examples


EXAMPLES = all_examples()


def run(example: Example, directory: Path, packages: Packages) -> subprocess.CompletedProcess[str]:
    """Run ``example`` as a script file (so spawned processes can import it) in ``directory``."""
    directory.mkdir()
    (directory / "etc").symlink_to(ROOT / "etc")
    for name, text in example.files.items():
        (directory / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    if example.package:
        env["PYTHONPATH"] = str(packages.site(example.files))
    script = directory / "example.py"
    script.write_text(example.code)
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


class Packages:
    """The packages pages show, each installed once as a reader would (``pip install .``)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._lock = threading.Lock()
        self._sites: dict[frozenset[tuple[str, str]], Path] = {}

    def site(self, files: dict[str, str]) -> Path:
        """Where the package made of ``files`` is installed; its dependencies are the test
        environment's own, and examples find it, entry points included, on ``PYTHONPATH``."""
        key = frozenset(files.items())
        with self._lock:
            if key not in self._sites:
                source = self._directory / str(len(self._sites))
                source.mkdir(parents=True)
                for name, text in files.items():
                    (source / name).write_text(text)
                pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
                subprocess.run(
                    [*pip, "--no-build-isolation", "--target", str(source / "site"), str(source)],
                    cwd=source,
                    capture_output=True,
                    text=True,
                    timeout=TIMEOUT,
                    check=True,
                )
                self._sites[key] = source / "site"
            return self._sites[key]


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, concurrent.futures.Future[subprocess.CompletedProcess[str]]]:
    """Start every selected example at once; each test then waits for its own."""
    selected = {
        item.callspec.id
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.originalname == "test_example_runs"
        and hasattr(item, "callspec")
    }
    directory = tmp_path_factory.mktemp("examples")
    packages = Packages(tmp_path_factory.mktemp("packages"))
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=PARALLEL)
    request.addfinalizer(pool.shutdown)
    return {
        example.where: pool.submit(run, example, directory / str(number), packages)
        for number, example in enumerate(EXAMPLES)
        if example.where in selected
    }


def test_examples_are_found() -> None:
    """The collection itself works: README, every guide page with code, and the programs."""
    sources = {example.where.partition(":")[0] for example in EXAMPLES}
    assert {"README.md", "docs/getting-started.rst", "docs/asyncio.rst"} <= sources
    assert {"examples/periodic_jobs.py", "examples/dask_local_cluster.py"} <= sources


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.where for example in EXAMPLES])
def test_example_runs(
    example: Example,
    outcomes: dict[str, concurrent.futures.Future[subprocess.CompletedProcess[str]]],
) -> None:
    result = outcomes[example.where].result()
    assert result.returncode == 0, (
        f"{example.where} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
    )


def test_plugin_page_shows_the_fixture_package_s_pyproject() -> None:
    """docs/plugins.rst shows the fixture's pyproject.toml, less its deliberately broken kind."""
    shown = next(
        block
        for block in rst_code_blocks(ROOT / "docs" / "plugins.rst")
        if block.options.get("caption") == "pyproject.toml"
    )
    fixture = ROOT / "tests" / "fixtures" / "futurist-fixture-plugins" / "pyproject.toml"
    real = tomllib.loads(fixture.read_text())
    del real["project"]["entry-points"]["futurist.executors"]["fixture_broken"]
    assert tomllib.loads(shown.text) == real


def test_periodics_page_shows_the_columns_pformat_prints() -> None:
    shown = next(
        block.text.splitlines()
        for block in rst_code_blocks(ROOT / "docs" / "periodics.rst")
        if "| Name" in block.text
    )

    @periodics.periodic(60)
    def sync_state() -> None:
        """A job that never runs here: only the table's shape matters."""

    printed = periodics.PeriodicWorker([(sync_state, (), {})]).pformat().splitlines()

    def cells(line: str) -> list[str]:
        return [cell.strip() for cell in line.strip("|").split("|")]

    assert cells(shown[1]) == cells(printed[1]) == list(periodics.COLUMNS)
    assert [len(line) for line in shown[:3]] == [len(shown[0])] * 3
    assert re.fullmatch(r"[+-]+", shown[0]) and shown[0] == shown[2] == shown[-1]
    assert len(shown) == len(printed) + 1  # one more job on the page
