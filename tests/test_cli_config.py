"""``futurist`` against configuration mistakes, run as a subprocess on real files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import futurist as library
from tests.test_cli import HIDE, as_json, config_file, error_lines, futurist


def test_config_names_a_group_written_in_the_wrong_section_and_exits_2(tmp_path: Path) -> None:
    path = config_file(tmp_path, "[DEFAULT]\nexecutor = process\n")
    result = futurist("config", "--config-file", path, cwd=tmp_path)
    assert result.returncode == 2
    assert "executor kind 'thread'" in result.stdout
    assert error_lines(result.stderr) == []
    assert (
        f"futurist: warning: config group [futurist] is in no config file, but [DEFAULT] of "
        f"{path} sets executor: futurist reads them only under [futurist]"
    ) in result.stderr.splitlines()


def test_config_offers_the_near_miss_group_in_json_too(tmp_path: Path) -> None:
    path = config_file(tmp_path, "[api_pool]\nexecutor = synchronous\n")
    result = futurist(
        "config", "--config-file", path, "--group", "api_poll", "--json", cwd=tmp_path
    )
    assert result.returncode == 2
    problems = json.loads(result.stdout)["problems"]
    assert problems == [
        f"config group [api_poll] is in no config file, but [api_pool] of {path} sets "
        "executor: did you mean [api_pool]?"
    ]
    good = futurist("config", "--config-file", path, "--group", "api_pool", "--json", cwd=tmp_path)
    assert as_json(good)["problems"] == []


def test_run_warns_about_a_misplaced_group_and_runs(tmp_path: Path) -> None:
    path = config_file(tmp_path, "[DEFAULT]\nmax_workers = 2\n")
    result = futurist("run", "--config-file", path, "--tasks", "2", "--json", cwd=tmp_path)
    assert as_json(result)["executed"] == 2
    assert "config group [futurist] is in no config file" in result.stderr


def test_config_of_a_kind_that_cannot_run_here_says_what_to_install(tmp_path: Path) -> None:
    path = config_file(tmp_path, "[futurist]\nexecutor = dask\n")
    hidden = ("-c", HIDE.format(modules=["distributed"]))
    result = futurist("config", "--config-file", path, cwd=tmp_path, python=hidden)
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "futurist: executor kind 'dask': missing dependency distributed: pip install distributed"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("executor: thread\n", r", Section must be started before assignment: .*; put the "
         r"options under a \[futurist\] section$"),
        ("[futurist]\nexecutor = thred\n", r"^futurist: \[futurist\] executor = 'thred' \(from "
         r"file .*service.conf\) is not an installed executor kind"),
    ],
)  # fmt: skip
def test_file_mistakes_say_what_to_do(tmp_path: Path, text: str, message: str) -> None:
    result = futurist("config", "--config-file", config_file(tmp_path, text), cwd=tmp_path)
    assert result.returncode == 2
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and re.search(message, lines[0]), result.stderr


def test_a_directory_for_config_file_is_named_a_directory(tmp_path: Path) -> None:
    result = futurist("config", "--config-file", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        f"futurist: --config-file {tmp_path}: is a directory; name a file in it"
    ]


@pytest.mark.parametrize(
    ("config", "flags", "message"),
    [
        ("", ("--backlog-policy", "wait"), "futurist: --backlog-policy wait waits for room below "
         "max_backlog, but [futurist] max_backlog is not set: give --max-backlog N with N >= 1, "
         "or --backlog-policy reject to refuse calls instead"),
        ("backlog_policy = wait\n", ("--max-backlog", "0"), "futurist: [futurist] backlog_policy "
         "= wait (from file {path}) waits for room below max_backlog, but --max-backlog 0: give "
         "--max-backlog N with N >= 1, or --backlog-policy reject to refuse calls instead"),
    ],
)  # fmt: skip
def test_flow_flags_are_named_as_flags(
    tmp_path: Path, config: str, flags: tuple[str, ...], message: str
) -> None:
    path = config_file(tmp_path, f"[futurist]\n{config}")
    result = futurist("run", "--config-file", path, "--tasks", "1", *flags, cwd=tmp_path)
    assert result.returncode == 2
    assert error_lines(result.stderr) == [message.format(path=path)]


def test_version_of_the_command_and_the_library(tmp_path: Path) -> None:
    result = futurist("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == f"futurist {library.__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", library.__version__)


def test_a_subcommand_usage_error_points_at_its_own_help(tmp_path: Path) -> None:
    result = futurist("compare", "--kinds", "thread", "--bogus", cwd=tmp_path)
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "futurist compare: unrecognized arguments: --bogus (see futurist compare --help)"
    ]


def test_compare_json_has_each_kind_and_nothing_else_on_stdout(tmp_path: Path) -> None:
    result = futurist(
        "compare", "--kinds", "thread,synchronous", "--tasks", "4", "--work", "noop", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    kinds = as_json(result)["kinds"]
    assert [kind["kind"] for kind in kinds] == ["thread", "synchronous"]
    assert all(kind["executed"] == 4 and kind["throughput"] > 0 for kind in kinds)
    assert "done" not in result.stderr
