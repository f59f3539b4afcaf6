"""Every ``futurist`` command the docs show runs, and prints what the page says it prints.

Each ``$ futurist ...`` line of a ``.. code-block:: console`` in docs/*.rst runs in a directory
holding the page's files (``$ cat FILE`` blocks and blocks captioned with a file name) and the
checkout's ``etc/``, at the width the pages use. Shown output is compared word by word, in
order, with every number, duration and bar masked (timings differ from run to run) and the
directory shown as ``/home/ops``; ``...`` on the page stands for lines left out, and the real
output may hold more (progress lines, the rows of other installed plugins). A command shown
without output must exit 0. The Ctrl-C session is left to
tests/test_cli.py::test_ctrl_c_cancels_what_waits_and_prints_what_happened.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.test_cli import HIDE
from tests.test_docs_examples import ROOT, captioned_files, rst_code_blocks

TIMEOUT = 60
WIDTH = "118"
SHOWN_DIRECTORY = "/home/ops"
# The pages show `futurist executors` on a machine with only the cli extra installed.
HIDDEN_FOR = {"executors": ["eventlet", "distributed"]}

_CHECKED = re.compile(r"(?:[A-Z_]+=\S*\s+)*(?:futurist|cat)\s")
_NUMBER = re.compile(r"\d[\d,.]*(?:\s?(?:µs|ms|s)\b)?|[█▏▎▍▌▋▊▉]+")


@dataclass(frozen=True)
class Command:
    """One shown command: its page and line, environment, arguments and shown output."""

    where: str
    env: dict[str, str]
    args: list[str]
    output: list[str]
    files: dict[str, str]


def console_sessions(page: Path) -> Iterator[Command]:
    blocks = rst_code_blocks(page)
    files = captioned_files(blocks)
    for block in blocks:
        if block.language != "console" or "^C" in block.text:
            continue
        lines = block.text.splitlines()
        starts = [number for number, line in enumerate(lines) if line.startswith("$ ")]
        for start, end in zip(starts, [*starts[1:], len(lines)], strict=False):
            if not _CHECKED.match(lines[start][2:]):
                continue
            words = shlex.split(lines[start][2:])
            output = lines[start + 1 : end]
            if words[:1] == ["cat"]:
                files[words[1]] = "\n".join(output) + "\n"
                continue
            env = {}
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                name, _, value = words.pop(0).partition("=")
                env[name] = value
            if words[:1] == ["futurist"]:
                yield Command(
                    f"{page.relative_to(ROOT)}:{block.line + start}",
                    env,
                    words[1:],
                    output,
                    dict(files),
                )


COMMANDS = [
    command for page in sorted((ROOT / "docs").glob("*.rst")) for command in console_sessions(page)
]


def words_of(text: str) -> list[str]:
    return _NUMBER.sub("#", text).split()


def is_in_order(shown: list[str], printed: list[str]) -> bool:
    rest = iter(printed)
    return all(word in rest for word in shown if word != "...")


def test_commands_are_found() -> None:
    shown = {command.args[0] for command in COMMANDS if command.args}
    assert {"executors", "config", "run", "compare"} <= shown


@pytest.mark.parametrize("command", COMMANDS, ids=[command.where for command in COMMANDS])
def test_shown_command_prints_what_the_page_shows(command: Command) -> None:
    with tempfile.TemporaryDirectory(prefix="ops") as name:
        directory = Path(name)
        (directory / "etc").symlink_to(ROOT / "etc")
        for file, text in command.files.items():
            (directory / file).write_text(text)
        hidden = HIDDEN_FOR.get(command.args[0] if command.args else "")
        python = ["-c", HIDE.format(modules=hidden)] if hidden else ["-m", "futurist"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(command.env, COLUMNS=WIDTH)
        result = subprocess.run(
            [sys.executable, *python, *command.args],
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    printed = (result.stderr + result.stdout).replace(str(directory), SHOWN_DIRECTORY)
    if not command.output:
        assert result.returncode == 0, f"{command.where}: {printed}"
        return
    shown = words_of("\n".join(command.output))
    page = "\n".join(command.output)
    assert is_in_order(shown, words_of(printed)), (
        f"{command.where}: the page shows\n{page}\nbut it printed\n{printed}"
    )
