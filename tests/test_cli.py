"""The ``futurist`` command, run as a subprocess against real config files and installed plugins.

The fixture distribution (tests/fixtures/futurist-fixture-plugins, installed by ``make test``)
adds the kinds fixture_serial, fixture_plain and fixture_broken; a test adds one more plugin by
writing a real ``.dist-info`` onto ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TIMEOUT = 60

HIDE = "import sys; sys.modules.update(dict.fromkeys({modules!r})); from futurist.cli import main; sys.exit(main())"  # noqa: E501
"""Runs the command with ``modules`` unimportable, as on a machine without them installed."""


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_FUTURIST")}
    env.pop("COLUMNS", None)
    env.update(extra)
    return env


def futurist(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    python: tuple[str, ...] = ("-m", "futurist"),
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *python, *args],
        cwd=cwd,
        env=env or environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def config_file(tmp_path: Path, text: str, name: str = "service.conf") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def plugin_site(tmp_path: Path, distribution: str, kinds: str, files: dict[str, str]) -> Path:
    """A directory for ``PYTHONPATH`` holding distribution ``distribution`` 1.0, with the
    ``futurist.executors`` entry points ``kinds`` (lines ``name = module:Class``) and the
    module ``files`` (path: text)."""
    site = tmp_path / "site"
    info = site / f"{distribution.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[futurist.executors]\n{kinds}")
    for name, text in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    return site


def error_lines(stderr: str) -> list[str]:
    """stderr without the warning the broken fixture plugin causes whenever options load."""
    return [line for line in stderr.splitlines() if not line.startswith("futurist: warning:")]


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_executors_json_lists_every_installed_kind(tmp_path: Path) -> None:
    kinds = {
        row["name"]: row
        for row in as_json(futurist("executors", "--json", cwd=tmp_path))["executors"]
    }
    assert {"thread", "process", "synchronous", "thread_dynamic", "green", "dask"} <= set(kinds)
    assert set(kinds["thread"]) == {
        "name", "distribution", "version", "class", "status", "ok", "description"
    }  # fmt: skip
    thread = kinds["thread"]
    assert thread["distribution"] == "futurist"
    assert thread["class"] == "futurist.executors.thread.ThreadPoolExecutor"
    assert (thread["status"], thread["ok"]) == ("ok", True)
    assert thread["description"].startswith("Runs calls on a pool")
    serial = kinds["fixture_serial"]
    assert (serial["distribution"], serial["version"]) == ("futurist-fixture-plugins", "1.0.0")
    assert serial["class"] == "futurist_fixture_plugins.serial.SerialExecutor"
    assert kinds["fixture_plain"]["ok"] is True
    broken = kinds["fixture_broken"]
    assert broken["ok"] is False
    assert broken["status"] == "missing dependency futurist_fixture_missing_dependency"
    assert broken["class"] == "futurist_fixture_plugins.broken:BrokenExecutor"


def test_installed_script_prints_the_table(tmp_path: Path) -> None:
    script = shutil.which("futurist", path=os.path.dirname(sys.executable))
    assert script is not None, "the futurist console script is not installed next to python"
    result = subprocess.run(
        [script, "executors"],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    rows = {
        line.split()[0]: number
        for number, line in enumerate(lines)
        if line.strip().startswith("fixture_")
    }
    broken, serial = rows["fixture_broken"], rows["fixture_serial"]
    assert "futurist-fixture-plugins 1.0.0" in lines[serial]
    assert "futurist_fixture_plugins.serial.SerialExecutor" in lines[serial + 1]
    assert "missing dependency" in lines[broken]
    assert "futurist.executors.thread.ThreadPoolExecutor" in result.stdout


def test_missing_optional_dependency_is_a_status_and_a_one_line_error(tmp_path: Path) -> None:
    hide_eventlet = ("-c", HIDE.format(modules=["eventlet", "distributed"]))
    listed = futurist("executors", "--json", cwd=tmp_path, python=hide_eventlet)
    kinds = {row["name"]: row for row in as_json(listed)["executors"]}
    assert kinds["green"]["status"] == "missing dependency eventlet: pip install eventlet"
    assert kinds["dask"]["status"] == "missing dependency distributed: pip install distributed"
    assert not kinds["green"]["ok"] and kinds["thread"]["ok"]
    path = config_file(tmp_path, "[futurist]\nexecutor = green\n")
    result = futurist("run", "--config-file", path, cwd=tmp_path, python=hide_eventlet)
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "futurist: executor kind 'green': missing dependency eventlet: pip install eventlet"
    ]


def test_without_rich_the_command_names_the_extra(tmp_path: Path) -> None:
    result = futurist("executors", cwd=tmp_path, python=("-c", HIDE.format(modules=["rich"])))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "futurist: the futurist command needs rich, which is not installed; "
        "install it with: pip install rich (futurist's cli extra)"
    ]


def test_config_shows_values_and_where_they_came_from(tmp_path: Path) -> None:
    path = config_file(
        tmp_path,
        "[futurist]\nexecutor = thread\nmax_workers = 3\n\n"
        "[api_pool]\nexecutor = fixture_serial\nfixture_label = api\nmin_workers = 2\n",
    )
    env = environment(OS_API_POOL__MAX_BACKLOG="7")
    document = as_json(
        futurist(
            "config", "--config-file", path, "--group", "api_pool", "--json", cwd=tmp_path, env=env
        )
    )
    assert (document["group"], document["executor"], document["config_file"]) == (
        "api_pool",
        "fixture_serial",
        path,
    )
    options = {row["name"]: row for row in document["options"]}
    assert options["executor"] == {
        "name": "executor", "value": "fixture_serial", "source": "file", "detail": path,
        "read": True, "effective": "fixture_serial", "rule": None,
    }  # fmt: skip
    assert (options["fixture_label"]["value"], options["fixture_label"]["source"]) == (
        "api",
        "file",
    )
    assert options["max_backlog"] == {
        "name": "max_backlog", "value": 7, "source": "environment",
        "detail": "OS_API_POOL__MAX_BACKLOG", "read": True, "effective": 7, "rule": None,
    }  # fmt: skip
    # Set in the file, but fixture_serial has no such option: listed as not read.
    # Only the group's own kind is loaded, so an option it does not read keeps its text.
    assert (options["min_workers"]["value"], options["min_workers"]["read"]) == ("2", False)
    # fixture_serial takes no max_workers, and nobody set it: not listed.
    assert "max_workers" not in options

    text = futurist("config", "--config-file", path, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    rows = {line.split()[0]: line for line in text.stdout.splitlines()[1:] if line.strip()}
    assert rows["max_workers"].split()[1:3] == ["3", "file"]
    assert rows["max_backlog"].split()[1:3] == ["<unset>", "default"]


def test_run_json_reports_every_figure(tmp_path: Path) -> None:
    path = config_file(tmp_path, "[futurist]\nexecutor = fixture_serial\n")
    result = futurist(
        "run", "--config-file", path, "--tasks", "10", "--work", "fail:0.5", "--json", cwd=tmp_path
    )
    assert "done" not in result.stderr, "--json shows no progress"
    document = as_json(result)
    assert document["kind"] == "fixture_serial"
    assert (document["tasks"], document["executed"], document["failures"]) == (10, 10, 5)
    assert (document["cancelled"], document["not_submitted"]) == (0, 0)
    assert document["interrupted"] is False
    assert document["runtime"] >= 0 and document["average_runtime"] >= 0
    assert document["wall_time"] > 0 and document["throughput"] > 0
    assert 0 <= document["latency_p50"] <= document["latency_p99"]


@pytest.mark.parametrize(
    ("kind", "work"),
    [("process", "cpu:1000"), ("fixture_plain", "sleep:0.001"), ("thread_dynamic", "noop")],
)
def test_run_prints_progress_and_the_table(tmp_path: Path, kind: str, work: str) -> None:
    path = config_file(tmp_path, f"[pool]\nexecutor = {kind}\nmax_workers = 2\n")
    result = futurist(
        "run",
        "--config-file",
        path,
        "--group",
        "pool",
        "--tasks",
        "30",
        "--work",
        work,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(rf"^{kind} \(\w+\): 30/30 done, [\d,.]+/s, 0 failures$", result.stderr, re.M)
    figures = dict(re.findall(r"^\s+(\w[\w ]*?)\s{2,}(\S.*?)\s*$", result.stdout, re.M))
    assert (figures["executed"], figures["failures"], figures["cancelled"]) == ("30", "0", "0")
    assert {"runtime", "average runtime", "wall time", "latency p50", "latency p99"} <= set(figures)
    assert figures["throughput"].endswith("tasks/s")


def test_sample_config_runs_a_thread_pool(tmp_path: Path) -> None:
    sample = str(Path(__file__).parent.parent / "etc" / "futurist.conf.sample")
    document = as_json(
        futurist("run", "--config-file", sample, "--tasks", "5", "--json", cwd=tmp_path)
    )
    assert (document["kind"], document["executed"], document["work"]) == ("thread", 5, "sleep:0.01")


def test_compare_shows_each_kind_side_by_side(tmp_path: Path) -> None:
    result = futurist(
        "compare", "--kinds", "thread,synchronous,fixture_serial", "--tasks", "20", "--work",
        "noop", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    kinds = {"thread", "synchronous", "fixture_serial"}
    # A kind far slower than the fastest gets a bar too short for a full block: find rows by name.
    lines = [line.split() for line in result.stdout.splitlines()]
    rows = {words[0]: words for words in lines if words and words[0] in kinds}
    assert set(rows) == kinds
    assert all(row[1:4] == ["20", "0", "0"] for row in rows.values())
    assert any("█" * 24 in line for line in result.stdout.splitlines()), result.stdout


@pytest.mark.parametrize(
    ("config", "extra", "message"),
    [
        ("executor = thred", (), r"\[futurist\] executor = 'thred' \(from file .*\) is not an "
         r"installed .*"
         r"did you mean 'thread'\?"),
        ("max_workers = zero", (), r"\[futurist\] max_workers = 'zero' \(from file .*\): invalid"),
        ("executor = thread_dynamic\nmin_workers = 9\nmax_workers = 2", (),
         r"\[futurist\] min_workers = '9' \(from file .*\), max_workers = '2' \(from file .*\): "
         "executor kind 'thread_dynamic' refuses it: min_workers"),
        ("executor = fixture_broken", (), "executor kind 'fixture_broken' .* failed to load: "
         "ModuleNotFoundError"),
        ("", ("--work", "sleep:soon"), r"futurist run: argument --work: workload 'sleep:soon': "
         "SECONDS must be a number"),
        ("", ("--work", "spin"), "unknown workload 'spin'; expected noop, sleep:SECONDS"),
        ("", ("--tasks", "-3"), "argument --tasks: must be an integer >= 1, got '-3'"),
        ("", ("--config-file", "nowhere.conf"), "--config-file nowhere.conf: no such file"),
    ],
)  # fmt: skip
def test_bad_usage_or_configuration_is_one_line_and_exit_2(
    tmp_path: Path, config: str, extra: tuple[str, ...], message: str
) -> None:
    path = config_file(tmp_path, f"[futurist]\n{config}\n")
    result = futurist("run", "--config-file", path, "--tasks", "3", *extra, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert re.search(message, lines[0]), lines[0]


def test_unknown_kind_in_compare_and_malformed_file_exit_2(tmp_path: Path) -> None:
    compare = futurist("compare", "--kinds", "thread,bogus", cwd=tmp_path)
    assert compare.returncode == 2
    assert "executor kind 'bogus' is not an installed executor kind" in compare.stderr
    assert "Traceback" not in compare.stderr
    path = config_file(tmp_path, "[futurist\nexecutor thread\n")
    malformed = futurist("config", "--config-file", path, cwd=tmp_path)
    assert malformed.returncode == 2
    assert error_lines(malformed.stderr)[0].startswith(f"futurist: --config-file {path}: ")


def test_a_plugin_missing_its_own_module_is_not_a_missing_dependency(tmp_path: Path) -> None:
    """A package whose entry point names a module it does not ship is broken, not incomplete."""
    site = plugin_site(
        tmp_path,
        "halfway-kinds",
        "halfway_plain = halfway_kinds.plain:PlainExecutor\n"
        "halfway_gone = halfway_gone.plain:PlainExecutor\n"
        "halfway_dep = halfway_kinds.needs:NeedyExecutor\n",
        {
            "halfway_kinds/__init__.py": "",
            "halfway_kinds/needs.py": "import halfway_missing_dependency\n",
        },
    )
    env = environment(PYTHONPATH=str(site))
    listed = as_json(futurist("executors", "--json", cwd=tmp_path, env=env))["executors"]
    status = {row["name"]: row["status"] for row in listed if row["name"].startswith("halfway")}
    assert status == {
        "halfway_plain": "cannot import the plugin's module halfway_kinds.plain: "
        "No module named 'halfway_kinds.plain'",
        "halfway_gone": "cannot import the plugin's module halfway_gone.plain: "
        "No module named 'halfway_gone'",
        "halfway_dep": "missing dependency halfway_missing_dependency",
    }


def test_unexpected_failure_exits_1_with_the_traceback(tmp_path: Path) -> None:
    """A third-party kind whose constructor raises: a bug to report, not a usage error."""
    site = plugin_site(
        tmp_path,
        "exploding-kind",
        "exploding = exploding_kind:ExplodingExecutor\n",
        {
            "exploding_kind.py": "from futurist import SynchronousExecutor\n\n"
            "class ExplodingExecutor(SynchronousExecutor):\n"
            "    def __init__(self, **kwargs):\n"
            "        raise RuntimeError('exploding on purpose')\n"
        },
    )
    env = environment(PYTHONPATH=str(site))
    listed = as_json(futurist("executors", "--json", cwd=tmp_path, env=env))["executors"]
    assert {"name": "exploding", "ok": True, "version": "1.0"}.items() <= next(
        row for row in listed if row["name"] == "exploding"
    ).items()
    path = config_file(tmp_path, "[futurist]\nexecutor = exploding\n")
    result = futurist("run", "--config-file", path, cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert error_lines(result.stderr)[-1] == (
        "futurist: unexpected error: RuntimeError: exploding on purpose"
    )


def test_ctrl_c_cancels_what_waits_and_prints_what_happened(tmp_path: Path) -> None:
    path = config_file(tmp_path, "[futurist]\nexecutor = thread\nmax_workers = 2\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "futurist", "run", "--config-file", path, "--tasks", "100",
         "--work", "sleep:0.1"],
        cwd=tmp_path, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        progress = re.compile(r"^thread \(ThreadPoolExecutor\): (\d+)/100 done")
        seen = []
        for line in process.stderr:
            seen.append(line)
            match = progress.match(line)
            if match and int(match.group(1)) >= 1:
                done_before = int(match.group(1))
                break
        else:
            pytest.fail(f"no progress reported: {seen}")
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "futurist: interrupted: cancelling the tasks not started" in stderr
    assert "(interrupted)" in stdout.splitlines()[0]
    figures = dict(re.findall(r"^\s+(\w[\w ]*?)\s{2,}(\S.*?)\s*$", stdout, re.M))
    executed, cancelled = int(figures["executed"]), int(figures["cancelled"])
    not_submitted = int(figures.get("not submitted", "0"))
    assert executed + cancelled + not_submitted == 100
    assert done_before <= executed < 100
    assert cancelled > 0
    assert figures["failures"] == "0"


def test_run_with_a_priority_mix_and_the_wait_policy(tmp_path: Path) -> None:
    path = config_file(tmp_path, "[futurist]\nexecutor = thread\nmax_workers = 1\n")
    document = as_json(
        futurist(
            "run",
            "--config-file",
            path,
            "--tasks",
            "40",
            "--work",
            "noop",
            "--priorities",
            "0:3,5:1",
            "--backlog-policy",
            "wait",
            "--max-backlog",
            "4",
            "--json",
            cwd=tmp_path,
        )
    )
    assert (document["executed"], document["failures"], document["cancelled"]) == (40, 0, 0)
    by_priority = document["priorities"]
    assert list(by_priority) == ["5", "0"]
    assert (by_priority["5"]["executed"], by_priority["0"]["executed"]) == (10, 30)
    for figures in by_priority.values():
        assert 0 <= figures["latency_p50"] <= figures["latency_p99"]


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (("--priorities", "5"), "'5' must be PRIORITY:WEIGHT"),
        (("--priorities", "1:1,1:2"), "priority 1 is given twice"),
        (("--max-backlog", "-1"), "must be an integer >= 0"),
        (("--backlog-timeout", "-2"), "must be a finite number of seconds >= 0"),
        (("--backlog-policy", "wait"), "--backlog-policy wait waits for room below max_backlog"),
    ],
)
def test_run_refuses_bad_flow_options(
    tmp_path: Path, arguments: tuple[str, ...], words: str
) -> None:
    path = config_file(tmp_path, "[futurist]\nexecutor = thread\n")
    result = futurist("run", "--config-file", path, "--tasks", "1", *arguments, cwd=tmp_path)
    assert result.returncode == 2
    assert words in result.stderr


def words(text: str) -> set[str]:
    return set(text.split())


def assert_fits(output: str, width: int, expected: set[str]) -> None:
    """Every line within ``width``, nothing elided, and every expected word whole."""
    assert all(len(line) <= width for line in output.splitlines()), output
    assert "…" not in output, output
    missing = expected - words(output)
    assert not missing, f"cut or missing at {width} columns: {sorted(missing)}\n{output}"


@pytest.mark.parametrize("width", [60, 80, 120])
def test_executors_fit_the_terminal_without_cutting_a_word(tmp_path: Path, width: int) -> None:
    kinds = as_json(futurist("executors", "--json", cwd=tmp_path))["executors"]
    shown = futurist("executors", cwd=tmp_path, env=environment(COLUMNS=str(width)))
    assert shown.returncode == 0, shown.stderr
    expected = set()
    for kind in kinds:
        expected |= {kind["name"], kind["class"], kind["distribution"], kind["version"]}
        expected |= words(kind["status"]) | words(kind["description"])
    assert_fits(shown.stdout, width, expected)


@pytest.mark.parametrize("width", [60, 80, 120])
def test_compare_fits_the_terminal_with_a_full_bar_for_the_fastest(
    tmp_path: Path, width: int
) -> None:
    kinds = ["thread", "synchronous", "fixture_serial"]
    result = futurist(
        "compare", "--kinds", ",".join(kinds), "--tasks", "20", "--work", "noop",
        cwd=tmp_path, env=environment(COLUMNS=str(width)),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = {*kinds, "executed", "failed", "cancelled", "wall", "run", "wait", "tasks/s"}
    assert_fits(result.stdout, width, expected)
    assert "█" * 24 in result.stdout, "the fastest fills its bar"
    assert "█" * 25 not in result.stdout, "no bar is wider than its column"
