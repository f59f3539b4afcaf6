"""From a command line to an exit code: each kind of failure has its code and its one line."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence

from oslo_config import cfg

from futurist.cli.arguments import UsageError, parse
from futurist.cli.exits import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE
from futurist.cli.settings import ConfigProblem
from futurist.cli.workloads import WorkloadError
from futurist.exceptions import ExecutorPluginError
from futurist.extras import missing

__all__ = ["execute"]

_CONFIGURATION_ERRORS = (
    ConfigProblem,
    WorkloadError,
    ExecutorPluginError,
    cfg.Error,
)
"""Errors that mean bad usage or configuration: one line, exit 2."""


def execute(argv: Sequence[str] | None) -> int:
    """Run the command ``argv`` names, turning each kind of failure into its exit code."""
    if importlib.util.find_spec("rich") is None:
        return _fail(f"futurist: {missing('the futurist command needs', 'rich', 'cli')}")
    logging.basicConfig(format="futurist: warning: %(message)s", level=logging.WARNING)
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    return _run(argv)


def _run(argv: Sequence[str] | None) -> int:
    """Parse ``argv`` and run its command; each kind of failure becomes its exit code."""
    try:
        arguments = parse(argv)
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
