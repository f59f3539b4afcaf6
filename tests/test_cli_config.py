"""``futurist`` against configuration mistakes, run as a subprocess on real files."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

import futurist as library
from tests.test_cli import (
    HIDE,
    as_json,
    config_file,
    environment,
    error_lines,
    futurist,
    plugin_site,
)


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


CPUS = os.cpu_count() or 1


RAY_GROWS = "; then about 1 s of calls, at most 1024 ×"
"""How the ray kind's default window grows with the pace calls end at."""


@pytest.mark.parametrize(
    ("settings", "effective", "rule"),
    [
        ("executor = thread", 5 * CPUS, "5 × CPUs"),
        ("executor = thread_dynamic\nmin_workers = 2", max(5 * CPUS, 3), "5 × CPUs"),
        ("executor = thread_dynamic\nmin_workers = 99", 100, "min_workers + 1"),
        ("executor = process", CPUS, "1 × CPUs"),
        ("executor = green", 1000, "fixed"),
        ("executor = dask\nn_workers = 2\nthreads_per_worker = 3", 384, "64 × 6 threads"),
        ("executor = dask", 64 * CPUS, f"64 × {CPUS} threads"),
        (
            "executor = dask\nscheduler_address = tcp://127.0.0.1:8786",
            None,
            "64 × the cluster's threads, counted once connected",
        ),
        ("executor = ray", 64 * CPUS, f"64 × {CPUS} CPUs{RAY_GROWS}"),
        (
            "executor = ray\nnum_cpus_per_call = 0.5",
            128 * CPUS,
            f"64 × {CPUS} CPUs ÷ 0.5 CPUs per call{RAY_GROWS}",
        ),
        (
            "executor = ray\nray_address = 127.0.0.1:6379",
            None,
            f"64 × the cluster's CPUs, counted once connected{RAY_GROWS}",
        ),
        ("executor = fixture_plain", 2, "the constructor's default"),
    ],
)
def test_config_shows_the_max_workers_each_kind_takes_when_unset(
    tmp_path: Path, settings: str, effective: int | None, rule: str
) -> None:
    path = config_file(tmp_path, f"[futurist]\n{settings}\n")
    document = as_json(futurist("config", "--config-file", path, "--json", cwd=tmp_path))
    row = next(row for row in document["options"] if row["name"] == "max_workers")
    assert (row["value"], row["source"], row["effective"], row["rule"]) == (
        None,
        "default",
        effective,
        rule,
    )
    text = futurist("config", "--config-file", path, cwd=tmp_path, env=wide())
    assert text.returncode == 0, text.stderr
    shown = rule if effective is None else f"{effective} ({rule})"
    assert f" max_workers  {shown}  default" in squeezed(text.stdout)


def test_a_set_max_workers_is_its_own_effective_value(tmp_path: Path) -> None:
    path = config_file(tmp_path, "[futurist]\nexecutor = process\nmax_workers = 3\n")
    document = as_json(futurist("config", "--config-file", path, "--json", cwd=tmp_path))
    row = next(row for row in document["options"] if row["name"] == "max_workers")
    assert (row["value"], row["effective"], row["rule"]) == (3, 3, None)


def test_third_party_kinds_tell_their_default_or_show_the_kind_default(tmp_path: Path) -> None:
    """A kind declaring ``default_max_workers`` is shown as it tells; one that does not, and
    whose constructor has no number for it, reads as the kind's own default."""
    site = plugin_site(
        tmp_path,
        "sized-kinds",
        "sized_told = sized_kinds:ToldExecutor\nsized_silent = sized_kinds:SilentExecutor\n",
        {
            "sized_kinds.py": "import concurrent.futures\n"
            "import futurist\n\n"
            "class ToldExecutor(futurist.ThreadPoolExecutor):\n"
            "    kind = 'sized_told'\n\n"
            "    @classmethod\n"
            "    def default_max_workers(cls, **options):\n"
            "        return futurist.DefaultWorkers(7, 'seven, always')\n\n"
            "class SilentExecutor(concurrent.futures.ThreadPoolExecutor):\n"
            "    pass\n"
        },
    )
    env = wide(PYTHONPATH=str(site))
    path = config_file(
        tmp_path, "[told]\nexecutor = sized_told\n\n[silent]\nexecutor = sized_silent\n"
    )
    told = futurist("config", "--config-file", path, "--group", "told", cwd=tmp_path, env=env)
    assert told.returncode == 0, told.stderr
    assert " max_workers  7 (seven, always)  default" in squeezed(told.stdout)
    silent = futurist("config", "--config-file", path, "--group", "silent", cwd=tmp_path, env=env)
    assert silent.returncode == 0, silent.stderr
    assert " max_workers  <unset>: the kind's own default  default" in squeezed(silent.stdout)
    document = as_json(
        futurist(
            "config", "--config-file", path, "--group", "silent", "--json", cwd=tmp_path, env=env
        )
    )
    row = next(row for row in document["options"] if row["name"] == "max_workers")
    assert (row["value"], row["effective"], row["rule"]) == (None, None, None)


def wide(**extra: str) -> dict[str, str]:
    """The command's environment with a terminal wide enough that no value wraps."""
    return environment(COLUMNS="200", **extra)


def squeezed(text: str) -> str:
    """``text`` with each run of spaces cut to two, so table columns compare as words."""
    return re.sub(r"   +", "  ", text)
