"""``PeriodicWorker.pformat``: the columns, one row per callable, and the box-bordered table."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from futurist.periodics.work import Watcher

__all__ = ["ALL_COLUMNS", "COLUMNS", "check_columns", "render_table", "row"]

COLUMNS = (
    "Name",
    "Active",
    "Periodicity",
    "Runs in",
    "Runs",
    "Failures",
    "Successes",
    "Stop Requested",
    "Average elapsed",
    "Average elapsed waiting",
)
"""The columns :meth:`~futurist.periodics.PeriodicWorker.pformat` shows by default (futurist
3.5's)."""

ALL_COLUMNS = (*COLUMNS, "Next run", "Skipped", "Coalesced")
"""Every column :meth:`~futurist.periodics.PeriodicWorker.pformat` can show: the default ones,
when each callable runs next (local time), and its skipped (misfired) and coalesced runs."""

_RIGHT_ALIGNED = frozenset(COLUMNS[2:7] + COLUMNS[8:] + ALL_COLUMNS[-2:])


def check_columns(columns: Sequence[str]) -> list[str]:
    """Return ``columns`` as a list, or raise ``ValueError`` (as the original futurist does).

    ``columns`` must name at least one of :data:`ALL_COLUMNS` and nothing else.
    """
    if isinstance(columns, str):
        raise ValueError(f"columns must be a sequence of column names, got {columns!r}")
    columns = list(columns)
    if not columns:
        raise ValueError(
            f"pformat needs at least one column; valid columns: {', '.join(ALL_COLUMNS)}"
        )
    unknown = [column for column in columns if column not in ALL_COLUMNS]
    if unknown:
        raise ValueError(
            f"unknown pformat columns {unknown!r}; valid columns: {', '.join(ALL_COLUMNS)}"
        )
    return columns


def row(
    watcher: Watcher, active: bool, runs_in: float | None, next_run: float | None
) -> dict[str, str]:
    """One callable's cells, by column; ``runs_in`` (seconds from now) and ``next_run`` (a wall
    clock timestamp) are None while it has no next run."""
    figures = watcher.figures()
    elapsed, waiting = "-", "-"  # the averages are undefined before the first run
    if figures.runs:
        elapsed = f"{figures.elapsed / figures.runs:.4f}"
        waiting = f"{figures.elapsed_waiting / figures.runs:.4f}"
    return {
        "Name": watcher.work.name,
        "Active": "Yes" if active else "No",
        "Periodicity": _periodicity(watcher),
        "Runs in": "-" if runs_in is None else f"{max(0.0, runs_in):.3f}s",
        "Runs": str(figures.runs),
        "Failures": str(figures.failures),
        "Successes": str(figures.successes),
        "Stop Requested": "Yes" if figures.requested_stop else "No",
        "Average elapsed": elapsed,
        "Average elapsed waiting": waiting,
        "Next run": "-" if next_run is None else _local(next_run),
        "Skipped": str(figures.skipped),
        "Coalesced": str(figures.coalesced),
    }


def _periodicity(watcher: Watcher) -> str:
    schedule = watcher.schedule
    return f"{schedule:g}" if isinstance(schedule, float) else str(schedule)


def _local(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp).astimezone().isoformat(" ", "seconds")


def render_table(columns: Sequence[str], rows: Sequence[dict[str, str]]) -> str:
    """The ``columns`` of ``rows`` as an aligned table; numbers are right-aligned."""
    cells = [[cells[column] for column in columns] for cells in rows]
    widths = [
        max([len(header)] + [len(line[i]) for line in cells]) for i, header in enumerate(columns)
    ]
    border = "+" + "+".join("-" * (width + 2) for width in widths) + "+"

    def line(values: Sequence[str], header: bool) -> str:
        parts = []
        for value, name, width in zip(values, columns, widths, strict=True):
            right = name in _RIGHT_ALIGNED and not header
            parts.append(f" {value.rjust(width) if right else value.ljust(width)} ")
        return "|" + "|".join(parts) + "|"

    out = [border, line(columns, True), border]
    out.extend(line(values, False) for values in cells)
    if rows:
        out.append(border)
    return "\n".join(out)
