"""The ``futurist`` command: which executor kinds are installed, what a config file selects, how
a workload runs on one kind or on several side by side, and what a running service's executors
are doing.

This package holds only the entry point; each module does one thing: ``execution`` turns a
command line into an exit code, ``arguments`` reads it, ``commands`` runs four commands and
``top`` the fifth, ``kinds``, ``settings``, ``workloads``, ``priorities``, ``runner``,
``serving``, ``scrapes`` and ``activity`` do their parts, and ``render`` is the only one that
imports rich (the ``cli`` extra). ``main`` loads
them when it runs, so process and Dask workers import the workloads without the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (default ``sys.argv[1:]``) and return its exit code.

    Exit codes: 0 success; 2 bad usage or bad configuration (one line saying what is wrong);
    1 an unexpected failure (with its traceback); 130 interrupted by Ctrl-C. Needs rich, from
    the ``futurist[cli]`` extra; without it the command says so and exits 2.
    """
    from futurist.cli.execution import execute

    return execute(argv)
