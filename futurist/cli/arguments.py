"""The command line of ``futurist``: its five commands, their arguments and how each is read."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Sequence
from typing import NoReturn

from futurist._seconds import allowed_seconds, seconds
from futurist.cli import commands, top
from futurist.cli.priorities import MIX_SPEC, PriorityMixError, parse_priority_mix
from futurist.cli.workloads import SPECS, Workload, WorkloadError, parse_workload
from futurist.plugins.options import DEFAULT_GROUP

__all__ = ["UsageError", "build_parser", "parse"]

_DEFAULT_TASKS = 200
_DEFAULT_WORK = "sleep:0.01"
_DEFAULT_INTERVAL = 2.0


class UsageError(Exception):
    """A command line argparse rejects; the message names the subcommand and the argument."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, raised rather than printed with usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``executors``, ``config``, ``run``, ``compare`` and ``top``."""
    parser = _Parser(
        prog="futurist",
        description="List executor kinds, check a config file, run and compare workloads, "
        "watch a running service's executors.",
    )
    parser.add_argument("--version", action="version", version=f"futurist {_version()}")
    subcommands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    executors = subcommands.add_parser("executors", help="list the installed executor kinds")
    _add_json(executors)
    executors.set_defaults(command=commands.list_executors)

    config = subcommands.add_parser("config", help="show the options a config group resolves to")
    _add_config(config)
    _add_json(config)
    config.set_defaults(command=commands.show_config)

    run = subcommands.add_parser("run", help="run a workload on the executor a config file selects")
    _add_config(run)
    _add_workload(run)
    _add_flow(run)
    _add_json(run)
    run.add_argument(
        "--metrics-port",
        type=_port,
        metavar="PORT",
        help="serve the executor's Prometheus metrics on this port while the workload runs "
        "(0: a free port, shown on stderr); needs prometheus_client",
    )
    run.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="address the metrics endpoint listens on (default: 127.0.0.1)",
    )
    run.set_defaults(command=commands.run)

    compare = subcommands.add_parser(
        "compare", help="run a workload on several kinds, side by side"
    )
    compare.add_argument(
        "--kinds",
        required=True,
        type=_kinds,
        help="comma-separated executor kinds, e.g. thread,process,synchronous",
    )
    _add_workload(compare)
    _add_json(compare)
    compare.set_defaults(command=commands.compare)

    live = subcommands.add_parser(
        "top", help="watch the executors a service publishes on its Prometheus endpoint"
    )
    live.add_argument(
        "url", metavar="URL", help="the metrics endpoint, e.g. http://127.0.0.1:9100/metrics"
    )
    live.add_argument(
        "--interval",
        type=_interval,
        default=_DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"seconds between scrapes (default: {_DEFAULT_INTERVAL:g})",
    )
    live.add_argument(
        "--once", action="store_true", help="scrape twice, --interval apart, print and exit"
    )
    live.set_defaults(command=top.top)
    for subcommand in (executors, config, run, compare, live):
        subcommand.set_defaults(parser=subcommand)
    return parser


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line ``argv``; an argument no command knows is blamed on the command given,
    whose ``--help`` then lists what it takes."""
    parser = build_parser()
    arguments, unknown = parser.parse_known_args(argv)
    if unknown:
        arguments.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return arguments


def _version() -> str:
    import futurist

    return str(futurist.__version__)


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON only, no progress")


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config-file", required=True, metavar="FILE", help="oslo.config file")
    parser.add_argument(
        "--group",
        default=DEFAULT_GROUP,
        type=_group,
        help=f"config group describing the executor (default: {DEFAULT_GROUP})",
    )


def _add_workload(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tasks",
        type=_tasks,
        default=_DEFAULT_TASKS,
        metavar="N",
        help=f"tasks to run (default: {_DEFAULT_TASKS})",
    )
    parser.add_argument(
        "--work",
        type=_workload,
        default=parse_workload(_DEFAULT_WORK),
        metavar="KIND",
        help=f"the workload: {SPECS} (default: {_DEFAULT_WORK})",
    )


def _add_flow(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--priorities",
        type=_priority_mix,
        default=(),
        metavar="MIX",
        help=f"submit the tasks with this priority mix: {MIX_SPEC}",
    )
    parser.add_argument(
        "--backlog-policy",
        choices=["reject", "wait"],
        help="override the group's backlog_policy: refuse or wait once max_backlog calls queue",
    )
    parser.add_argument(
        "--max-backlog",
        type=functools.partial(_count, low=0),
        metavar="N",
        help="override the group's max_backlog (most calls waiting for a worker)",
    )
    parser.add_argument(
        "--backlog-timeout",
        type=_seconds,
        metavar="SECONDS",
        help="override the group's backlog_timeout (most seconds a submission waits for room)",
    )


def _priority_mix(text: str) -> tuple[int, ...]:
    try:
        return parse_priority_mix(text)
    except PriorityMixError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        return seconds("SECONDS", float(text), zero=True)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be {allowed_seconds(zero=True)}, got {text!r}"
        ) from None


def _interval(text: str) -> float:
    try:
        return seconds("SECONDS", float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {allowed_seconds()}, got {text!r}") from None


def _tasks(text: str) -> int:
    return _count(text, low=1)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {text!r}")
    return value


def _workload(text: str) -> Workload:
    try:
        return parse_workload(text)
    except WorkloadError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _group(text: str) -> str:
    if not text or not text.replace("_", "").replace("-", "").isalnum():
        raise argparse.ArgumentTypeError(
            f"must be a config group name (letters, digits, '_' or '-'), got {text!r}"
        )
    return text


def _kinds(text: str) -> list[str]:
    kinds = [kind.strip() for kind in text.split(",")]
    if not all(kinds):
        raise argparse.ArgumentTypeError(
            f"must be kind names separated by commas, e.g. thread,process; got {text!r}"
        )
    return list(dict.fromkeys(kinds))
