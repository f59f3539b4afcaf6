"""The ``futurist`` command: which executor kinds are installed, what a config file selects, and
how a workload runs on one kind or on several side by side.

Exit codes: 0 success; 2 bad usage or bad configuration (one line saying what is wrong); 1 an
unexpected failure (with its traceback); 130 interrupted by Ctrl-C. Needs rich, from the
``futurist[cli]`` extra; without it the command says so and exits 2.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any, NoReturn

from oslo_config import cfg

from futurist import plugins
from futurist._cli.kinds import describe_kinds, unavailable_reason
from futurist._cli.priorities import MIX_SPEC, PriorityMixError, parse_priority_mix
from futurist._cli.runner import Interrupt, Outcome, run_workload
from futurist._cli.serving import serving_metrics
from futurist._cli.settings import ConfigProblem, load_config, resolve_group
from futurist._cli.workloads import SPECS, Workload, WorkloadError, parse_workload
from futurist._extras import missing
from futurist.exceptions import ExecutorPluginError, RejectedSubmission
from futurist.executors.base import Executor
from futurist.plugins.options import DEFAULT_GROUP
from futurist.plugins.values import InvalidOptionValue

__all__ = ["EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_PIPE_WIDTH = 160
_DEFAULT_TASKS = 200
_DEFAULT_WORK = "sleep:0.01"

_CONFIGURATION_ERRORS = (
    ConfigProblem,
    WorkloadError,
    ExecutorPluginError,
    cfg.Error,
)
"""Errors that mean bad usage or configuration: one line, exit 2."""


class UsageError(Exception):
    """A command line argparse rejects; the message names the subcommand and the argument."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, raised rather than printed with usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (default ``sys.argv[1:]``) and return its exit code."""
    try:
        import rich  # noqa: F401
    except ImportError:
        print(f"futurist: {missing('the futurist command needs', 'rich', 'cli')}", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(format="futurist: warning: %(message)s", level=logging.WARNING)
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    return _execute(argv)


def _execute(argv: Sequence[str] | None) -> int:
    """Parse ``argv`` and run its command, turning each kind of failure into its exit code."""
    try:
        arguments = build_parser().parse_args(argv)
        command: Callable[[argparse.Namespace], int] = arguments.command
        return command(arguments)
    except UsageError as exc:
        return _fail(str(exc))
    except _CONFIGURATION_ERRORS as exc:
        return _fail(f"futurist: {exc}")
    except KeyboardInterrupt:
        print("futurist: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``futurist executors | head``): stop quietly, and keep Python
        # from failing again as it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as exc:
        traceback.print_exc()
        print(f"futurist: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``executors``, ``config``, ``run`` and ``compare``."""
    parser = _Parser(
        prog="futurist",
        description="List executor kinds, check a config file, run and compare workloads.",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    executors = commands.add_parser("executors", help="list the installed executor kinds")
    _add_json(executors)
    executors.set_defaults(command=_executors)

    config = commands.add_parser("config", help="show the options a config group resolves to")
    _add_config(config)
    _add_json(config)
    config.set_defaults(command=_config)

    run = commands.add_parser("run", help="run a workload on the executor a config file selects")
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
    run.set_defaults(command=_run)

    compare = commands.add_parser("compare", help="run a workload on several kinds, side by side")
    compare.add_argument(
        "--kinds",
        required=True,
        type=_kinds,
        help="comma-separated executor kinds, e.g. thread,process,synchronous",
    )
    _add_workload(compare)
    compare.set_defaults(command=_compare)
    return parser


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
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, got {text!r}")
    return value


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


def _executors(arguments: argparse.Namespace) -> int:
    from futurist._cli import render

    kinds = describe_kinds()
    if arguments.json:
        _print_json({"executors": [kind.as_dict() for kind in kinds]})
    else:
        _console().print(render.executors_table(kinds))
    return EXIT_OK


def _config(arguments: argparse.Namespace) -> int:
    from futurist._cli import render

    conf = load_config(arguments.config_file, arguments.group)
    kind, rows = resolve_group(conf, arguments.group)
    if arguments.json:
        _print_json(
            {
                "config_file": arguments.config_file,
                "group": arguments.group,
                "executor": kind,
                "options": [row.as_dict() for row in rows],
            }
        )
    else:
        _console().print(render.config_table(arguments.config_file, arguments.group, kind, rows))
    return EXIT_OK


def _run(arguments: argparse.Namespace) -> int:
    from futurist._cli import render

    group = arguments.group
    conf = load_config(arguments.config_file, group)
    for option in ("backlog_policy", "max_backlog", "backlog_timeout"):
        value = getattr(arguments, option)
        if value is not None:
            conf.set_override(option, value, group)
    kind, _ = resolve_group(conf, group)
    _check_available(kind)
    executor = _built(kind, lambda: plugins.from_config(conf, group))
    description = f"{kind} ({type(executor).__name__})"
    with serving_metrics(executor, arguments.metrics_port, arguments.metrics_host, _notice):
        outcome = _measure(executor, kind, description, arguments, quiet=arguments.json)
    if arguments.json:
        _print_json({"group": group, "config_file": arguments.config_file, **outcome.as_dict()})
    else:
        title = f"{description}, [{group}] of {arguments.config_file}: {outcome.tasks} x "
        title += outcome.work + (" (interrupted)" if outcome.interrupted else "")
        _console().print(render.outcome_table(outcome, title))
    return EXIT_INTERRUPTED if outcome.interrupted else EXIT_OK


def _compare(arguments: argparse.Namespace) -> int:
    from futurist._cli import render

    kinds: list[str] = arguments.kinds
    for kind in kinds:
        _check_available(kind)
    outcomes: list[Outcome] = []
    for kind in kinds:
        executor = _built(kind, functools.partial(plugins.create, kind))
        outcomes.append(_measure(executor, kind, kind, arguments, quiet=False))
        if outcomes[-1].interrupted:
            break
    console = _console()
    console.print(render.compare_table(outcomes, arguments.work.spec, console.width))
    return EXIT_INTERRUPTED if outcomes[-1].interrupted else EXIT_OK


def _check_available(kind: str) -> None:
    """Load ``kind`` and check its dependencies, so a missing one is a one-line error."""
    cls = plugins.load(kind)
    check = getattr(cls, "check_available", None)
    if check is not None:
        try:
            check()
        except ImportError as exc:
            raise ConfigProblem(f"executor kind {kind!r}: {unavailable_reason(exc)}") from None


def _built(kind: str, build: Callable[[], Executor]) -> Executor:
    """The executor ``build`` makes; a value it rejects is a configuration problem."""
    try:
        return build()
    except InvalidOptionValue:
        raise
    except ValueError as exc:
        raise ConfigProblem(f"cannot build executor kind {kind!r}: {exc}") from None


def _measure(
    executor: Executor, kind: str, description: str, arguments: argparse.Namespace, quiet: bool
) -> Outcome:
    """Run the workload on ``executor`` with progress on stderr; Ctrl-C interrupts it."""
    from futurist._cli import render

    console = _console(stderr=True)
    with (
        _sigint() as interrupt,
        render.progress_reporter(
            console, sys.stderr, description, arguments.tasks, enabled=not quiet
        ) as progress,
    ):
        try:
            return run_workload(
                executor,
                kind,
                arguments.work,
                arguments.tasks,
                interrupt=interrupt,
                progress=progress,
                notice=_notice,
                priorities=getattr(arguments, "priorities", ()),
            )
        except RejectedSubmission as exc:
            raise ConfigProblem(
                f"executor kind {kind!r} rejected a task while none was pending, so it can "
                f"never accept one: {exc} (check max_backlog and backlog_timeout)"
            ) from None


def _notice(line: str) -> None:
    print(f"futurist: {line}", file=sys.stderr, flush=True)


@contextmanager
def _sigint() -> Iterator[Interrupt]:
    """While running, the first Ctrl-C asks the run to stop; a second one stops waiting."""
    interrupt = Interrupt()

    def handle(signum: int, frame: FrameType | None) -> None:
        interrupt.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield interrupt
    finally:
        signal.signal(signal.SIGINT, previous)


def _console(stderr: bool = False) -> Any:
    """A rich console; output that is not a terminal is not wrapped at rich's default 80."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    wide = not stream.isatty() and "COLUMNS" not in os.environ
    return Console(stderr=stderr, width=_PIPE_WIDTH if wide else None)


def _print_json(document: dict[str, Any]) -> None:
    print(json.dumps(document, indent=2, default=str))
