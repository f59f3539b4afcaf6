"""The registry: real entry points of installed distributions (futurist and the fixture)."""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
import textwrap

import pytest
from oslo_config import cfg

import futurist
from futurist import plugins
from futurist.executors.wrapped import WrappedExecutor


def test_names_lists_builtin_and_third_party_kinds_sorted() -> None:
    names = plugins.names()
    assert names == sorted(names)
    assert {"thread", "synchronous"} <= set(names)
    assert {"fixture_serial", "fixture_plain", "fixture_broken"} <= set(names)


def test_listing_names_imports_no_plugin() -> None:
    script = textwrap.dedent(
        """
        import sys
        import futurist.plugins
        names = futurist.plugins.names()
        assert "fixture_serial" in names, names
        loaded = sorted(m for m in sys.modules if m.startswith("futurist_fixture_plugins"))
        print(loaded)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_load_returns_the_class_the_entry_point_names() -> None:
    assert plugins.load("thread") is futurist.ThreadPoolExecutor
    assert plugins.load("synchronous") is futurist.SynchronousExecutor
    from futurist_fixture_plugins.plain import PlainExecutor
    from futurist_fixture_plugins.serial import SerialExecutor

    assert plugins.load("fixture_serial") is SerialExecutor
    assert plugins.load("fixture_plain") is PlainExecutor


def test_unknown_kind_names_value_installed_kinds_and_a_close_match() -> None:
    with pytest.raises(futurist.UnknownExecutorKind) as caught:
        plugins.load("thraed")
    message = str(caught.value)
    assert "'thraed'" in message
    assert "synchronous" in message and "fixture_serial" in message
    assert "did you mean 'thread'?" in message
    assert caught.value.kind == "thraed"
    assert caught.value.installed == plugins.names()
    assert isinstance(caught.value, LookupError)


def test_unknown_kind_without_a_close_match_gives_no_hint() -> None:
    with pytest.raises(futurist.UnknownExecutorKind) as caught:
        plugins.load("zzzz")
    assert "did you mean" not in str(caught.value)


def test_kind_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="executor kind must be a str, got int 3"):
        plugins.load(3)  # type: ignore[arg-type]


def test_broken_plugin_error_names_entry_point_distribution_and_real_error() -> None:
    with pytest.raises(futurist.PluginLoadError) as caught:
        plugins.load("fixture_broken")
    message = str(caught.value)
    assert "'fixture_broken'" in message
    assert "futurist_fixture_plugins.broken:BrokenExecutor" in message
    assert "futurist-fixture-plugins 1.0.0" in message
    assert "ModuleNotFoundError" in message
    assert "futurist_fixture_missing_dependency" in message
    assert "No driver found" not in message
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_broken_plugin_does_not_stop_names_or_other_kinds() -> None:
    with pytest.raises(futurist.PluginLoadError):
        plugins.load("fixture_broken")
    assert "fixture_broken" in plugins.names()
    with plugins.create("fixture_serial") as executor:
        assert executor.submit(pow, 2, 5).result() == 32
    # The options of the other kinds are still all there.
    conf = cfg.ConfigOpts()
    plugins.register_opts(conf)
    assert {"fixture_label", "thread_name_prefix", "green"} <= set(conf.futurist.keys())


def test_create_builds_a_futurist_kind_with_its_keywords() -> None:
    executor = plugins.create("thread", max_workers=3, thread_name_prefix="made")
    try:
        assert isinstance(executor, futurist.ThreadPoolExecutor)
        assert executor.max_workers == 3
    finally:
        executor.shutdown()


def test_create_wraps_a_plain_executor_plugin() -> None:
    rejections: list[int] = []

    def check(_executor: object, backlog: int) -> None:
        rejections.append(backlog)

    executor = plugins.create("fixture_plain", max_workers=1, check_and_reject=check)
    try:
        assert isinstance(executor, WrappedExecutor)
        assert isinstance(executor.inner, concurrent.futures.Executor)
        assert executor.inner.max_workers == 1  # type: ignore[attr-defined]
        assert executor.submit(sum, [1, 2, 3]).result() == 6
        assert rejections == [0]
        assert executor.statistics.executed == 1
    finally:
        executor.shutdown()
