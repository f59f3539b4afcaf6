"""from_config: executors built from real config files, environment variables and bad input."""

from __future__ import annotations

import gc
import logging
import threading
from pathlib import Path

import pytest
from oslo_config import cfg

import futurist
from futurist import plugins
from futurist.executors import base
from tests.plugins.helpers import load_config, write_config


def _thread_name() -> str:
    return threading.current_thread().name


def test_default_group_builds_a_thread_pool(tmp_path: Path) -> None:
    conf = load_config(write_config(tmp_path, "[futurist]\n"))
    with plugins.from_config(conf) as executor:
        assert isinstance(executor, futurist.ThreadPoolExecutor)
        assert executor.submit(pow, 3, 2).result() == 9


def test_thread_options_come_from_the_file(tmp_path: Path) -> None:
    conf = load_config(
        write_config(
            tmp_path,
            """
            [futurist]
            executor = thread
            max_workers = 3
            thread_name_prefix = from-file
            """,
        )
    )
    with plugins.from_config(conf) as executor:
        assert isinstance(executor, futurist.ThreadPoolExecutor)
        assert executor.max_workers == 3
        assert executor.submit(_thread_name).result().startswith("from-file")


def test_several_groups_build_several_executors(tmp_path: Path) -> None:
    conf = load_config(
        write_config(
            tmp_path,
            """
            [api_pool]
            executor = thread
            max_workers = 2

            [inline]
            executor = synchronous
            """,
        )
    )
    api = plugins.from_config(conf, group="api_pool")
    inline = plugins.from_config(conf, group="inline")
    try:
        assert isinstance(api, futurist.ThreadPoolExecutor) and api.max_workers == 2
        assert isinstance(inline, futurist.SynchronousExecutor)
        assert inline.submit(_thread_name).result() == threading.current_thread().name
    finally:
        api.shutdown()
        inline.shutdown()


def test_max_backlog_becomes_reject_when_reached(tmp_path: Path) -> None:
    conf = load_config(write_config(tmp_path, "[futurist]\nmax_workers = 1\nmax_backlog = 1\n"))
    release = threading.Event()
    started = threading.Event()

    def block() -> None:
        started.set()
        release.wait()

    executor = plugins.from_config(conf)
    try:
        running = executor.submit(block)
        started.wait()
        queued = executor.submit(block)
        with pytest.raises(futurist.RejectedSubmission, match="max_backlog is 1"):
            executor.submit(block)
        release.set()
        running.result()
        queued.result()
    finally:
        release.set()
        executor.shutdown()


@pytest.mark.parametrize("policy", ["reject", "wait"])
def test_max_backlog_is_the_published_queue_capacity(tmp_path: Path, policy: str) -> None:
    conf = load_config(
        write_config(
            tmp_path,
            f"[futurist]\nexecutor = thread_dynamic\nmin_workers = 2\nmax_workers = 3\n"
            f"max_backlog = 6\nbacklog_policy = {policy}\n",
        )
    )
    with plugins.from_config(conf) as executor:
        figures = executor.metrics
    assert (figures.queue_capacity, figures.core_workers, figures.max_workers) == (6, 2, 3)


def test_environment_variable_sets_an_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_FUTURIST__MAX_WORKERS", "4")
    conf = load_config(write_config(tmp_path, "[futurist]\nmax_workers = 2\n"))
    with plugins.from_config(conf) as executor:
        assert isinstance(executor, futurist.ThreadPoolExecutor)
        assert executor.max_workers == 4


def test_third_party_kind_is_selected_by_name_with_its_own_option(tmp_path: Path) -> None:
    conf = load_config(
        write_config(
            tmp_path,
            """
            [serial]
            executor = fixture_serial
            fixture_label = labelled
            """,
        )
    )
    with plugins.from_config(conf, group="serial") as executor:
        assert type(executor).__name__ == "SerialExecutor"
        assert executor.submit(_thread_name).result() == "labelled-serial"


def test_plain_third_party_kind_is_wrapped_and_gets_max_workers(tmp_path: Path) -> None:
    conf = load_config(
        write_config(tmp_path, "[plain]\nexecutor = fixture_plain\nmax_workers = 3\n")
    )
    with plugins.from_config(conf, group="plain") as executor:
        assert isinstance(executor, futurist.executors.wrapped.WrappedExecutor)
        assert executor.inner.max_workers == 3  # type: ignore[attr-defined]
        assert executor.submit(divmod, 7, 2).result() == (3, 1)
        assert executor.statistics.executed == 1


# Bad input: each case its own test.


def test_unknown_kind_names_group_value_installed_kinds_and_hint(tmp_path: Path) -> None:
    conf = load_config(write_config(tmp_path, "[api_pool]\nexecutor = threads\n"))
    with pytest.raises(futurist.UnknownExecutorKind) as caught:
        plugins.from_config(conf, group="api_pool")
    message = str(caught.value)
    assert "[api_pool] executor = 'threads'" in message
    assert "installed: " in message and "synchronous" in message
    assert "did you mean 'thread'?" in message
    assert caught.value.group == "api_pool"


def test_broken_plugin_from_config_names_entry_point_and_real_error(tmp_path: Path) -> None:
    conf = load_config(write_config(tmp_path, "[futurist]\nexecutor = fixture_broken\n"))
    with pytest.raises(futurist.PluginLoadError) as caught:
        plugins.from_config(conf)
    assert "futurist_fixture_plugins.broken:BrokenExecutor" in str(caught.value)
    assert "futurist-fixture-plugins" in str(caught.value)
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_out_of_range_value_is_oslo_config_error_naming_group_and_option(
    tmp_path: Path,
) -> None:
    conf = load_config(write_config(tmp_path, "[api_pool]\nmax_workers = 0\n"))
    with pytest.raises(cfg.ConfigFileValueError) as caught:
        plugins.from_config(conf, group="api_pool")
    message = str(caught.value)
    assert "[api_pool]" in message and "max_workers" in message
    assert "greater than or equal to 1" in message


def test_negative_backlog_is_oslo_config_error(tmp_path: Path) -> None:
    conf = load_config(write_config(tmp_path, "[futurist]\nmax_backlog = -1\n"))
    with pytest.raises(cfg.ConfigFileValueError, match=r"\[futurist\].*max_backlog"):
        plugins.from_config(conf)


def test_wrong_type_is_oslo_config_error_naming_group_and_option(tmp_path: Path) -> None:
    conf = load_config(write_config(tmp_path, "[futurist]\nmax_workers = many\n"))
    with pytest.raises(cfg.ConfigFileValueError, match=r"\[futurist\].*max_workers"):
        plugins.from_config(conf)


def test_wrong_type_in_kind_option_is_oslo_config_error(tmp_path: Path) -> None:
    conf = load_config(
        write_config(tmp_path, "[futurist]\nexecutor = synchronous\ngreen = perhaps\n")
    )
    with pytest.raises(cfg.ConfigFileValueError, match=r"\[futurist\].*green"):
        plugins.from_config(conf)


def test_bad_environment_value_is_oslo_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_FUTURIST__MAX_WORKERS", "zero")
    conf = load_config(write_config(tmp_path, "[futurist]\n"))
    with pytest.raises(cfg.ConfigSourceValueError, match=r"\[futurist\].*max_workers"):
        plugins.from_config(conf)


def test_option_the_kind_does_not_read_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(
        tmp_path,
        """
        [futurist]
        executor = thread
        green = true
        fixture_label = unused
        """,
    )
    conf = load_config(path)
    with caplog.at_level(logging.WARNING, logger="futurist.plugins"):
        executor = plugins.from_config(conf)
    executor.shutdown()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert any(
        "[futurist] green is set" in w and "'thread' does not read it" in w for w in warnings
    )
    assert any("fixture_label" in w and str(path) in w for w in warnings)


def test_max_workers_for_a_kind_without_it_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    conf = load_config(
        write_config(tmp_path, "[futurist]\nexecutor = fixture_serial\nmax_workers = 4\n")
    )
    with caplog.at_level(logging.WARNING, logger="futurist.plugins"):
        executor = plugins.from_config(conf)
    executor.shutdown()
    assert "[futurist] max_workers is set" in caplog.text
    assert "'fixture_serial' does not read it" in caplog.text


def _live_executor_count() -> int:
    gc.collect()
    return len(base._live_executors)


def test_missing_config_file_is_oslo_config_error_and_nothing_starts(tmp_path: Path) -> None:
    before = _live_executor_count()
    conf = cfg.ConfigOpts()
    plugins.register_opts(conf)
    missing = tmp_path / "missing.conf"
    with pytest.raises(cfg.ConfigFilesNotFoundError, match=r"missing\.conf"):
        conf(args=["--config-file", str(missing)], default_config_files=[])
    assert _live_executor_count() == before


def test_unparsable_config_file_is_oslo_config_error_and_nothing_starts(
    tmp_path: Path,
) -> None:
    before = _live_executor_count()
    path = write_config(tmp_path, "[futurist\nexecutor thread\n")
    conf = cfg.ConfigOpts()
    plugins.register_opts(conf)
    with pytest.raises(cfg.ConfigFileParseError, match=str(path.name)):
        conf(args=["--config-file", str(path)], default_config_files=[])
    assert _live_executor_count() == before


def test_bad_value_starts_nothing(tmp_path: Path) -> None:
    before = _live_executor_count()
    conf = load_config(write_config(tmp_path, "[futurist]\nmax_workers = -3\n"))
    with pytest.raises(cfg.ConfigFileValueError):
        plugins.from_config(conf)
    assert _live_executor_count() == before
