"""Operators retime periodic callbacks from a real oslo.config file (PeriodicWorker.from_config)."""

from __future__ import annotations

from pathlib import Path

import pytest
from oslo_config import cfg

from futurist import periodics
from futurist.periodics import PeriodicWorker, options


class Manager:
    @periodics.periodic(60)
    def sync_state(self) -> None:
        """Every minute, unless the operator says otherwise."""

    @periodics.periodic(cron="0 3 * * *", timezone="UTC")
    def nightly_report(self) -> None:
        """At 03:00 UTC, unless the operator says otherwise."""

    @periodics.periodic(3600)
    def rotate_keys(self) -> None:
        """Hourly, unless disabled."""


PREFIX = f"{__name__}.Manager."


def conf_from(tmp_path: Path, text: str) -> tuple[cfg.ConfigOpts, Path]:
    path = tmp_path / "service.conf"
    path.write_text(text)
    conf = cfg.ConfigOpts()
    conf(args=[], default_config_files=[str(path)])
    return conf, path


def schedules(worker: PeriodicWorker) -> dict[str, str]:
    return {
        watcher.work.name.removeprefix(PREFIX): str(watcher.schedule)
        for watcher in worker.iter_watchers()
    }


def test_without_overrides_the_coded_schedules_hold(tmp_path: Path) -> None:
    conf, _ = conf_from(tmp_path, "[periodics]\n")
    worker = PeriodicWorker.from_config(conf, [Manager()])
    assert schedules(worker) == {
        "sync_state": "60.0",
        "nightly_report": "cron 0 3 * * * UTC",
        "rotate_keys": "3600.0",
    }


def test_the_config_file_changes_spacing_and_cron_and_disables_by_name(tmp_path: Path) -> None:
    conf, _ = conf_from(
        tmp_path,
        f"[jobs]\n"
        f"spacing = Manager.sync_state:5, {PREFIX}nightly_report:30\n"
        f"cron = Manager.rotate_keys: 15 */2 * * *\n"
        f"disabled = Manager.nonexistent_but_checked\n"
        f"timezone = Europe/Paris\n",
    )
    with pytest.raises(ValueError, match=r"no periodic callback is named"):
        PeriodicWorker.from_config(conf, [Manager()], group="jobs")
    conf, _ = conf_from(
        tmp_path,
        f"[jobs]\n"
        f"spacing = Manager.sync_state:5, {PREFIX}nightly_report:30\n"
        f"cron = Manager.rotate_keys: 15 */2 * * *\n"
        f"timezone = Europe/Paris\n",
    )
    worker = PeriodicWorker.from_config(conf, [Manager()], group="jobs")
    assert schedules(worker) == {
        "sync_state": "5.0",
        "nightly_report": "30.0",
        "rotate_keys": "cron 15 */2 * * * Europe/Paris",
    }


def test_disabled_callbacks_are_not_added_even_later(tmp_path: Path) -> None:
    conf, _ = conf_from(tmp_path, "[periodics]\ndisabled = Manager.rotate_keys\n")
    manager = Manager()
    worker = PeriodicWorker.from_config(conf, [manager])
    assert sorted(schedules(worker)) == ["nightly_report", "sync_state"]
    assert worker.add(manager.rotate_keys) is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "spacing = Manager.sync_state:soon",
            r"\[periodics\] spacing = 'Manager.sync_state:soon' in .*service.conf: "
            r"the spacing must be seconds > 0",
        ),
        (
            "spacing = Manager.sync_state:-1",
            r"\[periodics\] spacing = 'Manager.sync_state:-1' in .*service.conf",
        ),
        (
            "cron = Manager.sync_state: 61 * * * *",
            r"\[periodics\] cron = 'Manager.sync_state: 61 \* \* \* \*' in .*service.conf: "
            r"cron expression '61 \* \* \* \*' is not valid",
        ),
        (
            "cron = 0 3 * * *",
            r"\[periodics\] cron = '0 3 \* \* \*' in .*service.conf: write it as 'name: cron",
        ),
        (
            "disabled = Manager.sync_stat",
            r"\[periodics\] disabled = 'Manager.sync_stat' in .*service.conf: no periodic "
            r"callback is named 'Manager.sync_stat'",
        ),
    ],
)
def test_errors_name_group_option_value_and_file(tmp_path: Path, line: str, message: str) -> None:
    conf, _ = conf_from(tmp_path, f"[periodics]\n{line}\n")
    with pytest.raises(ValueError, match=message):
        PeriodicWorker.from_config(conf, [Manager()])


def test_a_callback_given_both_a_spacing_and_a_cron_is_refused(tmp_path: Path) -> None:
    conf, _ = conf_from(
        tmp_path,
        "[periodics]\nspacing = Manager.sync_state:5\ncron = Manager.sync_state: @hourly\n",
    )
    with pytest.raises(ValueError, match=r"also has a spacing; give one of them"):
        PeriodicWorker.from_config(conf, [Manager()])


def test_the_options_are_in_the_sample_and_its_entry_point() -> None:
    sample = (Path(__file__).parent.parent / "etc" / "futurist.conf.sample").read_text()
    section = sample.split("[periodics]", 1)[1]
    for option in ("disabled", "spacing", "cron", "timezone"):
        assert f"#{option} =" in section
    from importlib.metadata import entry_points

    (point,) = [
        ep for ep in entry_points(group="oslo.config.opts") if ep.name == "futurist.periodics"
    ]
    assert point.load()() == [("periodics", options.periodic_opts())]
