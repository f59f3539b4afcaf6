"""from_config warns when a group's options are written in another section of a real file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import futurist
from futurist import plugins
from tests.plugins.helpers import load_config, write_config


def built_warnings(path: Path, group: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    with caplog.at_level(logging.WARNING, logger="futurist.plugins"):
        executor = plugins.from_config(load_config(path), group)
    executor.shutdown()
    assert isinstance(executor, futurist.ThreadPoolExecutor)
    return [r.getMessage() for r in caplog.records if "in no config file" in r.getMessage()]


def test_options_under_default_are_named_with_the_group_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(tmp_path, "[DEFAULT]\nexecutor = process\nmax_workers = 2\n")
    assert built_warnings(path, "futurist", caplog) == [
        f"config group [futurist] is in no config file, but [DEFAULT] of {path} sets "
        "executor, max_workers: futurist reads them only under [futurist]"
    ]


def test_a_near_miss_group_is_offered(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_config(tmp_path, "[api_pool]\nexecutor = synchronous\n")
    assert built_warnings(path, "api_poll", caplog) == [
        f"config group [api_poll] is in no config file, but [api_pool] of {path} sets "
        "executor: did you mean [api_pool]?"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "[futurist]\n[DEFAULT]\nexecutor = process\n",
        "[DEFAULT]\ndebug = true\n[database]\nconnection = sqlite://\n",
        "[futurist_other]\nunrelated = 1\n",
    ],
)
def test_no_warning_when_the_group_is_there_or_nothing_is_misplaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    assert built_warnings(write_config(tmp_path, text), "futurist", caplog) == []
