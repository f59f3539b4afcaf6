"""Every Python example in README.md, docs/ and examples/ runs as written and prints what it shows.

The blocks are found automatically: a fenced ```python block in README.md, a
``.. code-block:: python`` directive in any docs/*.rst page, and every examples/*.py program.
Each runs as its own script in a fresh interpreter with a timeout, in a new directory holding
the checkout's ``etc/`` and every block of the same page whose ``:caption:`` is a file name (a
config file shown on the page, say), as a reader would have them. All start at once on a few
threads, and each test waits for its own. A block that is not meant to run on its own (a config
file, a pyproject.toml, a shell session) carries its own language tag instead of ``python``.

Each example shows what it prints on standard output, in one of three ways, and the whole
output must match it, with doctest's ``...`` standing for any text (a duration, say):

- a comment at the end of each ``print(...)`` call: ``print(total)  # 6``, the comments in the
  order of the code (every print then has one);
- a ``.. code-block:: text`` with ``:class: output`` right after the example on its page;
- in a program's docstring, the literal block after a line ending in ``::`` that says what it
  prints (``It prints::``).

A python block captioned with a file name is a module that other examples import; they check it.
"""

from __future__ import annotations

import ast
import concurrent.futures
import doctest
import io
import itertools
import os
import re
import subprocess
import sys
import textwrap
import threading
import tokenize
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
    """One runnable example: where it is, its source, the files its page shows, and the output
    it shows (None if it shows none; ``module`` if it is a file other examples import)."""

    where: str
    code: str
    files: dict[str, str] = field(default_factory=dict)
    shown: str | None = None
    module: bool = False
    twice: bool = False
    """Whether it shows its output both in an output block and in print comments."""

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
        Example(
            f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 2}",
            m.group(1),
            shown=commented_output(m.group(1)),
        )
        for m in _FENCE.finditer(text)
    ]


def commented_output(code: str) -> str | None:
    """The output the comments at the end of ``code``'s ``print(...)`` calls show, in the order
    of the code; None if no print has one.

    The whole output is compared with it, so a print that runs without a comment (or more often
    than once) makes the example fail.
    """
    prints = sorted(
        node.end_lineno or node.lineno
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print"
    )
    comments = {
        token.start[0]: token.string.removeprefix("#").strip()
        for token in tokenize.generate_tokens(io.StringIO(code).readline)
        if token.type == tokenize.COMMENT
    }
    shown = [comments[end] for end in prints if end in comments]
    return "".join(f"{comment}\n" for comment in shown) if shown else None


def matches(shown: str, printed: str) -> bool:
    """Whether ``printed`` is ``shown``, where ``...`` in ``shown`` stands for any text."""
    flags = doctest.ELLIPSIS | doctest.DONT_ACCEPT_TRUE_FOR_1
    return doctest.OutputChecker().check_output(shown, printed, flags)


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
    """The page's python blocks, each with the page's files (blocks captioned with a name) and
    the output it shows: an output block right after it, or its print comments."""
    blocks = rst_code_blocks(path)
    files = captioned_files(blocks)
    examples = []
    for block, after in itertools.zip_longest(blocks, blocks[1:]):
        if block.language != "python":
            continue
        where = f"{path.relative_to(ROOT)}:{block.line}"
        if block.options.get("caption") in files:
            examples.append(Example(where, block.text, files, module=True))
        elif after is not None and after.options.get("class") == "output":
            twice = commented_output(block.text) is not None
            examples.append(Example(where, block.text, files, after.text, twice=twice))
        else:
            examples.append(Example(where, block.text, files, commented_output(block.text)))
    return examples


_PRINTS = re.compile(r"^.*\bprints\b.*::\n\n((?:    .*\n|\n)+)", re.MULTILINE)


def program(path: Path) -> Example:
    """A program of examples/, with the output its docstring's ``It prints::`` block shows."""
    code = path.read_text()
    found = _PRINTS.search((ast.get_docstring(ast.parse(code)) or "") + "\n")
    shown = textwrap.dedent(found[1]).strip("\n") + "\n" if found else None
    return Example(str(path.relative_to(ROOT)), code, shown=shown)


def all_examples() -> list[Example]:
    examples = markdown_blocks(ROOT / "README.md")
    for page in sorted((ROOT / "docs").glob("*.rst")):
        examples += rst_blocks(page)
    examples += [program(path) for path in sorted((ROOT / "examples").glob("*.py"))]
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
    if example.shown is not None:
        assert matches(example.shown, result.stdout), (
            f"{example.where} shows\n{example.shown}\nbut printed\n{result.stdout}"
        )


def test_every_example_shows_what_it_prints() -> None:
    """An example without shown output would only prove that it runs, not what it does."""
    unchecked = [e.where for e in EXAMPLES if e.shown is None and not e.module]
    assert unchecked == []
    assert [e.where for e in EXAMPLES if e.twice] == [], "output block and print comments"


@pytest.mark.parametrize(
    ("shown", "printed", "same"),
    [
        ("6\n", "6\n", True),
        ("6\n", "7\n", False),
        ("6\n", "6\n7\n", False),
        ("ran in ... s\n", "ran in 0.25 s\n", True),
        ("a\n...\nz\n", "a\nb\nc\nz\n", True),
        ("True\n", "1\n", False),
    ],
)
def test_shown_output_is_compared_whole_with_ellipses(shown: str, printed: str, same: bool) -> None:
    assert matches(shown, printed) is same


def test_print_comments_are_the_shown_output_in_order() -> None:
    code = "total = 6\nprint(total)  # 6\nprint(\n    'six',\n)  # six\nx = 1  # not output\n"
    assert commented_output(code) == "6\nsix\n"
    assert commented_output("print(1)\n") is None


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
