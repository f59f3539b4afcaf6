"""Configuration errors and warnings: one message shape, and only the named kind is loaded."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from oslo_config import cfg

import futurist
from futurist import plugins
from futurist.plugins.values import InvalidOptionValue
from tests.plugins.helpers import load_config, write_config

_BUILD_AND_REPORT = """
import json, logging, sys
from oslo_config import cfg
from futurist import plugins

records = []
handler = logging.Handler()
handler.emit = records.append
logging.getLogger().addHandler(handler)
logging.getLogger().setLevel(logging.DEBUG)
conf = cfg.ConfigOpts()
conf(args=["--config-file", sys.argv[1]], default_config_files=[])
with plugins.from_config(conf) as executor:
    assert executor.submit(pow, 2, 3).result() == 8
print(json.dumps({
    "modules": sorted(sys.modules),
    "log": [r.getMessage() for r in records if r.name.startswith("futurist")],
}))
"""


def test_building_one_kind_imports_no_other_plugin_and_logs_nothing(tmp_path: Path) -> None:
    # fixture_broken is installed beside the kind asked for; it must not even be imported.
    path = write_config(tmp_path, "[futurist]\nexecutor = fixture_serial\nfixture_label = x\n")
    result = subprocess.run(
        [sys.executable, "-c", _BUILD_AND_REPORT, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    report = json.loads(result.stdout)
    modules = set(report["modules"])
    assert "futurist_fixture_plugins.serial" in modules
    others = {"futurist_fixture_plugins.broken", "futurist_fixture_plugins.plain"}
    others |= {"eventlet", "distributed", "dask"}
    assert not modules & others
    assert report["log"] == []


def test_register_opts_then_from_config_share_the_same_options(tmp_path: Path) -> None:
    conf = load_config(write_config(tmp_path, "[pool]\nexecutor = thread_dynamic\n"))
    plugins.register_opts(conf, "pool")
    with plugins.from_config(conf, "pool") as executor:
        assert isinstance(executor, futurist.DynamicThreadPoolExecutor)
    plugins.register_opts(conf, "pool")


def test_a_misspelt_option_warns_with_the_closest_name(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(tmp_path, "[api]\nexecutor = thread\nmax_worker = 3\n")
    conf = load_config(path)
    with caplog.at_level(logging.WARNING, logger="futurist.plugins"):
        plugins.from_config(conf, "api").shutdown()
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning == (
        f"[api] max_worker is set (from file {path}) but executor kind 'thread' does not read "
        "it; it is ignored; did you mean 'max_workers'?"
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[api]\nexecutor = thread\nmax_worker = 3\n", None),
        ("[api]\nexecutor = thread\nmax_worker = 3\nbacklog_policy = wait\n", InvalidOptionValue),
    ],
    ids=["built", "refused"],
)
def test_from_config_reads_the_files_once_whatever_it_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, error: type[Exception] | None
) -> None:
    # The warning, and an error naming two options with their values and file, come from one
    # reading of the group, not from parsing the files again for each.
    conf = load_config(write_config(tmp_path, text))
    parses: list[str] = []
    parse = cfg.ConfigParser.parse

    def counted(parser: cfg.ConfigParser) -> None:
        parses.append(parser.filename)
        parse(parser)

    monkeypatch.setattr(cfg.ConfigParser, "parse", counted)
    if error is None:
        plugins.from_config(conf, "api").shutdown()
    else:
        with pytest.raises(error, match=r"backlog_policy = 'wait' \(from file .*\), max_backlog"):
            plugins.from_config(conf, "api")
    assert len(parses) == 1


def test_a_value_the_constructor_refuses_names_group_options_values_and_file(
    tmp_path: Path,
) -> None:
    path = write_config(
        tmp_path, "[pool]\nexecutor = thread_dynamic\nmin_workers = 9\nmax_workers = 2\n"
    )
    with pytest.raises(InvalidOptionValue) as caught:
        plugins.from_config(load_config(path), "pool")
    assert isinstance(caught.value, cfg.ConfigFileValueError)
    assert str(caught.value).startswith(
        f"[pool] min_workers = '9' (from file {path}), max_workers = '2' (from file {path}): "
        "executor kind 'thread_dynamic' refuses it: min_workers must be less than max_workers"
    )
    assert (caught.value.group, caught.value.options) == ("pool", ("min_workers", "max_workers"))
    assert isinstance(caught.value.__cause__, ValueError)


def test_waiting_below_a_zero_backlog_names_group_options_values_and_file(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path, "[pool]\nmax_backlog = 0\nbacklog_policy = wait\n")
    with pytest.raises(InvalidOptionValue) as caught:
        plugins.from_config(load_config(path), "pool")
    assert str(caught.value) == (
        f"[pool] backlog_policy = 'wait' (from file {path}), max_backlog = '0' (from file "
        f"{path}): backlog_policy = wait needs max_backlog >= 1 (the backlog to wait below); "
        "set max_backlog >= 1 or backlog_policy = reject"
    )
    assert (caught.value.group, caught.value.options) == ("pool", ("backlog_policy", "max_backlog"))


def test_a_bad_environment_value_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_FUTURIST__MAX_WORKERS", "lots")
    conf = load_config(write_config(tmp_path, "[futurist]\n"))
    with pytest.raises(cfg.ConfigSourceValueError) as caught:
        plugins.from_config(conf)
    assert str(caught.value) == (
        "[futurist] max_workers = 'lots' (from env OS_FUTURIST__MAX_WORKERS): "
        "invalid literal for int() with base 10: 'lots'"
    )


@pytest.mark.parametrize(
    ("kind", "option", "allowed"),
    [
        ("thread_dynamic", "grow_threshold = 0", "(0, 1]"),
        ("thread_dynamic", "shrink_threshold = 1", "[0, 1)"),
        ("thread_dynamic", "idle_timeout = 0", "(0, inf)"),
        ("thread_dynamic", "idle_timeout = inf", "(0, inf)"),
        ("process", "task_timeout = 0", "(0, inf)"),
        ("process", "task_timeout = inf", "(0, inf)"),
        ("dask", "connect_timeout = 0", "(0, inf)"),
        ("dask", "connect_timeout = nan", "(0, inf)"),
    ],
)
def test_config_bounds_are_the_constructors_bounds(
    tmp_path: Path, kind: str, option: str, allowed: str
) -> None:
    path = write_config(tmp_path, f"[futurist]\nexecutor = {kind}\n{option}\n")
    name, value = (part.strip() for part in option.split("="))
    with pytest.raises(InvalidOptionValue) as caught:
        plugins.from_config(load_config(path))
    assert str(caught.value) == (
        f"[futurist] {name} = '{value}' (from file {path}): should be a finite number in "
        f"{allowed}, got '{value}'"
    )


def test_a_task_timeout_the_constructor_takes_is_taken_from_config(tmp_path: Path) -> None:
    # Below the 0.001 s the option used to declare as its least value.
    path = write_config(tmp_path, "[futurist]\nexecutor = process\ntask_timeout = 0.0005\n")
    with plugins.from_config(load_config(path)) as executor:
        assert executor.kind == "process"


def test_a_connect_timeout_the_constructor_takes_is_taken_from_config(tmp_path: Path) -> None:
    # Below the 0.1 s the option used to declare as its least value: the constructor gets it
    # and tries that long to reach a scheduler nobody runs.
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    path = write_config(
        tmp_path,
        "[futurist]\nexecutor = dask\nscheduler_address = tcp://127.0.0.1:9\n"
        "connect_timeout = 0.05\n",
    )
    with pytest.raises(ConnectionError, match=r"tcp://127\.0\.0\.1:9 within 0\.05 s"):
        plugins.from_config(load_config(path))


def test_a_reload_with_a_bad_size_logs_the_same_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(tmp_path, "[futurist]\nmax_workers = 2\n")
    conf = load_config(path)
    with plugins.from_config(conf) as executor:
        path.write_text(textwrap.dedent("[futurist]\nmax_workers = none\n"))
        with caplog.at_level(logging.ERROR, logger="futurist.plugins"):
            conf.mutate_config_files()
        assert executor.max_workers == 2  # type: ignore[attr-defined]
    assert f"[futurist] max_workers = 'none' (from file {path}): invalid literal" in caplog.text


def _distribution(site: Path, name: str, kind: str, target: str) -> None:
    """A real installed distribution (metadata on ``sys.path``) declaring executor ``kind``."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[futurist.executors]\n{kind} = {target}\n")


def test_a_kind_two_distributions_declare_names_both(tmp_path: Path) -> None:
    _distribution(tmp_path, "twin_a", "twin", "futurist.executors.thread:ThreadPoolExecutor")
    _distribution(tmp_path, "twin_b", "twin", "futurist.executors.synchronous:SynchronousExecutor")
    code = """
import json
from futurist import plugins
from futurist.exceptions import PluginLoadError
try:
    plugins.load("twin")
except PluginLoadError as exc:
    print(json.dumps(str(exc)))
"""
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert json.loads(run.stdout) == (
        "executor kind 'twin' is declared by 2 distributions: twin_a 1.0 (twin = "
        "futurist.executors.thread:ThreadPoolExecutor) and twin_b 1.0 (twin = "
        "futurist.executors.synchronous:SynchronousExecutor); uninstall all but one of them, "
        "or give the kinds different names"
    )
    listing = subprocess.run(
        [str(Path(sys.executable).parent / "futurist"), "executors", "--json"],
        check=False,  # a kind that cannot load makes the listing exit 1
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    rows = {row["name"]: row for row in json.loads(listing.stdout)["executors"]}
    assert not rows["twin"]["ok"]
    assert "declared by 2 distributions" in rows["twin"]["status"]
