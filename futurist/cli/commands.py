"""The four commands: ``executors``, ``config``, ``run`` and ``compare``, each returning its exit
code; ``render`` (rich) draws what they show."""

from __future__ import annotations

import argparse
import functools
import json
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from futurist import plugins
from futurist.cli.exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from futurist.cli.flow_flags import apply_flow_flags
from futurist.cli.kinds import describe_kinds, unavailable_reason
from futurist.cli.runner import Interrupt, Outcome, run_workload
from futurist.cli.serving import serving_metrics
from futurist.cli.settings import ConfigProblem, load_config, resolve_group
from futurist.exceptions import RejectedSubmission
from futurist.executors.base import Executor
from futurist.plugins import placement
from futurist.plugins.values import InvalidOptionValue

__all__ = ["compare", "list_executors", "run", "show_config"]


def list_executors(arguments: argparse.Namespace) -> int:
    """``futurist executors``: every installed kind, whether it can run, and what it is."""
    from futurist.cli import render

    kinds = describe_kinds()
    if arguments.json:
        _print_json({"executors": [kind.as_dict() for kind in kinds]})
    else:
        console = render.console()
        console.print(render.executors_table(kinds, console))
    return EXIT_OK


def show_config(arguments: argparse.Namespace) -> int:
    """``futurist config``: the options a group resolves to, and where each value came from.

    Exits 2 (after the table) when the group's options seem written in another section, and
    with a one-line error when the kind cannot run here.
    """
    from futurist.cli import render

    conf = load_config(arguments.config_file, arguments.group)
    kind, rows = resolve_group(conf, arguments.group)
    _check_available(kind)
    problem = placement.misplaced(conf, arguments.group)
    if arguments.json:
        _print_json(
            {
                "config_file": arguments.config_file,
                "group": arguments.group,
                "executor": kind,
                "options": [row.as_dict() for row in rows],
                "problems": [] if problem is None else [problem],
            }
        )
    else:
        render.console().print(
            render.config_table(arguments.config_file, arguments.group, kind, rows)
        )
    if problem is not None:
        _notice(f"warning: {problem}")
        return EXIT_USAGE
    return EXIT_OK


def run(arguments: argparse.Namespace) -> int:
    """``futurist run``: the workload on the executor the config file selects, measured."""
    from futurist.cli import render

    group = arguments.group
    conf = load_config(arguments.config_file, group)
    apply_flow_flags(conf, group, arguments)
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
        render.console().print(render.outcome_table(outcome, title))
    return EXIT_INTERRUPTED if outcome.interrupted else EXIT_OK


def compare(arguments: argparse.Namespace) -> int:
    """``futurist compare``: the workload on several kinds, one after another, side by side."""
    from futurist.cli import render

    kinds: list[str] = arguments.kinds
    for kind in kinds:
        _check_available(kind)
    outcomes: list[Outcome] = []
    for kind in kinds:
        executor = _built(kind, functools.partial(plugins.create, kind))
        outcomes.append(_measure(executor, kind, kind, arguments, quiet=arguments.json))
        if outcomes[-1].interrupted:
            break
    if arguments.json:
        _print_json({"kinds": [outcome.as_dict() for outcome in outcomes]})
    else:
        console = render.console()
        console.print(render.compare_table(outcomes, arguments.work.spec, console))
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
    from futurist.cli import render

    console = render.console(stderr=True)
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
                f"never accept one: {exc} (raise --max-backlog or --backlog-timeout, or "
                "max_backlog or backlog_timeout in the config group)"
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


def _print_json(document: dict[str, Any]) -> None:
    print(json.dumps(document, indent=2, default=str))
