"""The oslo.config options of executor groups and the generated sample."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from oslo_config import cfg, generator, types

from futurist import plugins
from futurist.plugins import options

ROOT = Path(__file__).resolve().parents[2]


def _by_name(opts: list[cfg.Opt]) -> dict[str, cfg.Opt]:
    return {opt.dest: opt for opt in opts}


def test_list_opts_has_the_common_options_and_futurist_kinds_options() -> None:
    [(group, opts)] = plugins.list_opts()
    assert group == "futurist"
    found = _by_name(opts)
    assert list(found)[:3] == ["executor", "max_workers", "max_backlog"]
    assert found["executor"].default == "thread"
    assert found["max_workers"].mutable
    assert found["max_workers"].type == types.Integer(min=1)
    assert found["max_backlog"].type == types.Integer(min=0)
    assert "thread_name_prefix" in found and "green" in found
    # Third-party kinds declare their options through their own oslo.config.opts entry point.
    assert "fixture_label" not in found


def test_each_option_help_names_the_kinds_that_read_it() -> None:
    found = {opt.dest: opt.help or "" for opt in plugins.list_opts()[0][1]}
    assert found["thread_name_prefix"].endswith("Read by the thread, thread_dynamic kinds.")
    assert found["start_method"].endswith("Read by the process kind.")
    assert found["green"].endswith("Read by the synchronous kind.")
    assert "thread" in found["max_workers"].split("Read by the")[1]
    assert found["executor"].endswith("Read by every kind.")


def test_register_opts_registers_every_installed_kind_in_any_group() -> None:
    conf = cfg.ConfigOpts()
    plugins.register_opts(conf)
    plugins.register_opts(conf, group="api_pool")
    plugins.register_opts(conf, group="api_pool")
    conf(args=[], default_config_files=[])
    for group in ("futurist", "api_pool"):
        assert conf[group].executor == "thread"
        assert conf[group].max_workers is None
        assert conf[group].fixture_label == "fixture"


@pytest.mark.parametrize("bad", ["", None])
def test_register_opts_rejects_a_bad_group(bad: object) -> None:
    with pytest.raises(ValueError, match="group must be a non-empty str"):
        plugins.register_opts(cfg.ConfigOpts(), group=bad)  # type: ignore[arg-type]


def test_a_broken_kind_is_left_out_of_the_options_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    options.kind_options.cache_clear()
    with caplog.at_level(logging.WARNING, logger="futurist.plugins.options"):
        found = _by_name(list(options.kind_options(("fixture_broken", "fixture_serial"))))
    assert list(found) == ["fixture_label"]
    assert "fixture_broken" in caplog.text and "ModuleNotFoundError" in caplog.text


def test_committed_sample_equals_fresh_generator_output(tmp_path: Path) -> None:
    fresh = tmp_path / "futurist.conf.sample"
    generator.main(
        [
            "--config-file",
            str(ROOT / "etc" / "futurist-config-generator.conf"),
            "--output-file",
            str(fresh),
        ]
    )
    committed = (ROOT / "etc" / "futurist.conf.sample").read_text()
    assert committed == fresh.read_text(), "etc/futurist.conf.sample is stale: run `make sample`"
