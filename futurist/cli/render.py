"""How the ``futurist`` command shows things: rich tables, and progress live or as plain lines.

The only module of the command that imports rich (the ``futurist[cli]`` extra).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from rich import box
from rich.bar import Bar
from rich.cells import cell_len
from rich.console import Console, Group, JustifyMethod, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.measure import Measurement
from rich.padding import Padding
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from futurist.cli.activity import TopRow
from futurist.cli.kinds import KindInfo
from futurist.cli.runner import Outcome
from futurist.cli.settings import OptionValue

__all__ = [
    "compare_table",
    "config_table",
    "executors_table",
    "outcome_table",
    "live_screen",
    "progress_reporter",
    "top_table",
    "top_waiting",
]

_PLAIN_INTERVAL = 0.5
_BAR_WIDTH = 24
_UNBOUNDED = 10_000
"""A width no layout reaches: measured against it, a layout's minimum is not clipped."""


def executors_table(kinds: Sequence[KindInfo], console: Console) -> RenderableType:
    """One row per installed kind (name, distribution and class, status and description), or
    one block per kind where the columns would not fit ``console`` without cutting a word."""
    rows = [
        (
            kind.name,
            escape(f"{kind.distribution or '?'} {kind.version or ''}".strip()),
            escape(kind.cls),
            "[green]ok[/]" if kind.ok else f"[red]{escape(kind.status)}[/]",
            escape(kind.description),
        )
        for kind in kinds
    ]
    origins = [f"{distribution}\n[dim]{cls}[/]" for _, distribution, cls, _, _ in rows]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    _unwrapped_column(table, "kind", [row[0] for row in rows])
    _unwrapped_column(table, "distribution / class", origins)
    table.add_column("status / description")
    for (name, _, _, status, description), origin in zip(rows, origins, strict=True):
        table.add_row(name, origin, f"{status}\n[dim]{description}[/]")
    blocks = [
        Group(
            Text(name, style="bold"),
            _indented(
                "\n".join(filter(None, (distribution, f"[dim]{cls}[/]", status, description)))
            ),
        )
        for name, distribution, cls, status, description in rows
    ]
    return _first_that_fits(console, table, Group(*blocks))


def config_table(path: str, group: str, kind: str, rows: Sequence[OptionValue]) -> Group:
    """The options group ``group`` resolves to, with their values and sources."""
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("option", "value", "source"):
        table.add_column(column, overflow="fold")
    for row in rows:
        source = row.source if row.detail is None else f"{row.source} ({row.detail})"
        if not row.read:
            source += f"; ignored: kind {kind!r} does not read it"
        value = _shown_value(row)
        table.add_row(row.name, escape(value), escape(source))
    return _titled(f"[{group}] of {path}: executor kind {kind!r}", table)


def _shown_value(row: OptionValue) -> str:
    """A value as ``config`` shows it: an unset ``max_workers`` as the kind's default and rule
    (``10 (5 × CPUs)``), or as the kind's own default when the kind does not tell it."""
    if row.value is not None:
        return str(row.value) or '""'
    if row.default is not None:
        return str(row.default)
    return "<unset>: the kind's own default" if row.name == "max_workers" else "<unset>"


def outcome_table(outcome: Outcome, title: str) -> Group:
    """The figures of one run, one per row, under ``title``."""
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("figure")
    table.add_column("value", justify="right")
    stats = outcome.statistics
    rows: list[tuple[str, str]] = [
        ("tasks", str(outcome.tasks)),
        ("executed", str(stats.executed)),
        ("failures", str(stats.failures)),
        ("cancelled", str(stats.cancelled)),
    ]
    if outcome.not_submitted:
        rows.append(("not submitted", str(outcome.not_submitted)))
    rows += [
        ("runtime", _seconds(stats.runtime)),
        ("average runtime", _seconds(outcome.average_runtime)),
        ("queue wait", _seconds(outcome.queue_wait)),
        ("average queue wait", _seconds(outcome.average_queue_wait)),
        ("wall time", _seconds(outcome.wall_time)),
        ("throughput", f"{outcome.throughput:,.1f} tasks/s"),
        ("latency p50", _seconds(outcome.latency(50))),
        ("latency p99", _seconds(outcome.latency(99))),
    ]
    for priority in sorted(outcome.priority_latencies, reverse=True):
        p50 = _seconds(outcome.latency(50, priority))
        p99 = _seconds(outcome.latency(99, priority))
        rows.append((f"priority {priority} latency p50/p99", f"{p50} / {p99}"))
    for row in rows:
        table.add_row(*row)
    return _titled(title, table)


def compare_table(outcomes: Sequence[Outcome], work: str, console: Console) -> Group:
    """The kinds side by side, with a bar for each one's throughput against the best.

    ``run`` and ``wait`` are the mean runtime and queue wait per task. Where ``console`` is too
    narrow for every column, the latencies are left out; where it is too narrow for that, each
    kind gets a block of its own, so that no figure and no header is ever cut.
    """
    best = max((outcome.throughput for outcome in outcomes), default=0.0) or 1.0
    rows = [_compare_row(outcome) for outcome in outcomes]
    # Each bar is the fraction of the best: best / best is exactly 1.0, where rich's own
    # _BAR_WIDTH * 8 * best / best may round below a full bar.
    bars = [
        Bar(size=1.0, begin=0.0, end=outcome.throughput / best, width=_BAR_WIDTH, color="cyan")
        for outcome in outcomes
    ]
    tables = [
        _compare_columns(rows, bars, headers)
        for headers in (_COMPARE_HEADERS, _COMPARE_HEADERS[:-3] + _COMPARE_HEADERS[-1:])
    ]
    blocks = [
        Group(
            Text(f"{row['kind']}  {row['tasks/s']} tasks/s", style="bold"),
            _indented(bar),
            _indented(
                "\n".join(
                    "   ".join(f"{header} {row[header]}" for header in line)
                    for line in _COMPARE_LINES
                )
            ),
        )
        for row, bar in zip(rows, bars, strict=True)
    ]
    tasks = outcomes[0].tasks if outcomes else 0
    return Group(
        Text(f"compare: {tasks} x {work}", style="bold"),
        _first_that_fits(console, *tables, Group(*blocks)),
    )


def top_table(
    url: str, rows: Sequence[TopRow], refreshes: int, problem: str | None = None
) -> Group:
    """``futurist top``'s screen: one line per executor, the longest queue first, under a
    heading naming ``url`` and the refresh; ``problem`` says why the figures are not fresh."""
    cells = [
        (
            escape(row.executor),
            escape(row.kind),
            _count(row.queued) + _bound(row.queue_capacity),
            _count(row.active),
            _count(row.workers) + _bound(row.max_workers),
            "-" if row.calls_per_second is None else f"{row.calls_per_second:,.1f}",
            *(_seconds(value, 0) for value in (*row.wait, *row.duration)),
            _count(row.failed),
        )
        for row in rows
    ]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 0))
    for number, header in enumerate(_TOP_HEADERS):
        justify: JustifyMethod = "left" if number < 2 else "right"
        _unwrapped_column(table, header, [line[number] for line in cells], justify)
    for line in cells:
        table.add_row(*line)
    heading = Text(f"futurist top: {url}, refresh {refreshes}, {len(rows)} executors", style="bold")
    lines: list[RenderableType] = [heading]
    if problem is not None:
        lines.append(Text(f"not refreshed: {problem}", style="red"))
    lines += [table, Text("sorted by queue length; Ctrl-C quits", style="dim")]
    return Group(*lines)


def top_waiting(url: str, interval: float) -> Text:
    """What ``futurist top`` shows until its second scrape."""
    return Text(f"futurist top: {url}, first figures in {interval:g} s; Ctrl-C quits")


@contextmanager
def live_screen(first: RenderableType) -> Iterator[Any]:
    """A ``show(renderable)`` callable that redraws the terminal's screen in place."""
    with Live(first, console=console(), auto_refresh=False) as live:

        def show(renderable: RenderableType) -> None:
            live.update(renderable, refresh=True)

        yield show


_TOP_HEADERS = (
    "executor", "kind", "queue", "active", "workers", "calls/s",
    "wait p50", "wait p99", "run p50", "run p99", "failed",
)  # fmt: skip
"""The columns of ``futurist top``, none wider than its header or widest figure: 80 columns
hold them where an executor's name and kind have 16 characters together."""


def _bound(limit: float | None) -> str:
    """``/limit`` after a figure that has one (``3/10``), nothing where it is unbounded."""
    return "" if limit is None else f"/{limit:.0f}"


def _count(value: float | None) -> str:
    """A count, or ``-`` for a figure the executor does not publish."""
    return "-" if value is None else f"{value:,.0f}"


_COMPARE_HEADERS = (
    "kind", "executed", "failed", "cancelled", "wall", "run", "wait", "p50", "p99", "tasks/s"
)  # fmt: skip


_COMPARE_LINES = (("executed", "failed", "cancelled"), ("wall", "run", "wait"), ("p50", "p99"))
"""The figures of one kind's block in the narrow layout, a few to a line so that none wraps."""


def _compare_row(outcome: Outcome) -> dict[str, str]:
    """One kind's figures under the compare table's headers."""
    stats = outcome.statistics
    figures = (
        outcome.kind + (" (interrupted)" if outcome.interrupted else ""),
        str(stats.executed),
        str(stats.failures),
        str(stats.cancelled),
        _seconds(outcome.wall_time, 0),
        _seconds(outcome.average_runtime, 0),
        _seconds(outcome.average_queue_wait, 0),
        _seconds(outcome.latency(50), 0),
        _seconds(outcome.latency(99), 0),
        f"{outcome.throughput:,.0f}",
    )
    return dict(zip(_COMPARE_HEADERS, figures, strict=True))


def _compare_columns(
    rows: Sequence[dict[str, str]], bars: Sequence[Bar], headers: Sequence[str]
) -> Table:
    """The compare table with ``headers``' columns and the throughput bars."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for header in headers:
        justify: JustifyMethod = "left" if header == "kind" else "right"
        _unwrapped_column(table, header, [row[header] for row in rows], justify)
    table.add_column("throughput", width=_BAR_WIDTH, no_wrap=True)
    for row, bar in zip(rows, bars, strict=True):
        table.add_row(*(row[header] for header in headers), bar)
    return table


def _unwrapped_column(
    table: Table, header: str, cells: Sequence[str], justify: JustifyMethod = "left"
) -> None:
    """A column as wide as the widest line of its cells, never wrapped nor narrowed.

    Rich narrows wrapping columns without regard to their longest word, so a table that must
    not cut one has a single wrapping column, which gets all the width the others leave.
    """
    lines = [line for text in [header, *cells] for line in Text.from_markup(text).plain.split("\n")]
    width = max(cell_len(line) for line in lines)
    table.add_column(header, justify=justify, no_wrap=True, min_width=width)


def _first_that_fits(console: Console, *layouts: RenderableType) -> RenderableType:
    """The first of ``layouts`` that fits ``console``'s width without cutting a word; else the
    last, which is the narrowest."""
    unbounded = console.options.update_width(_UNBOUNDED)
    for layout in layouts[:-1]:
        if Measurement.get(console, unbounded, layout).minimum <= console.width:
            return layout
    return layouts[-1]


def _indented(renderable: RenderableType) -> Padding:
    """``renderable`` two columns in, under the heading of its block."""
    return Padding(renderable, (0, 0, 0, 2))


def _titled(title: str, table: Table) -> Group:
    """``table`` under a heading that is not wrapped to the table's width."""
    return Group(Text(title, style="bold"), table)


@contextmanager
def progress_reporter(
    console: Console, stream: TextIO, description: str, total: int, enabled: bool
) -> Iterator[Any]:
    """A ``progress(done, failures)`` callable: a live rich bar on a terminal, else plain lines.

    Plain lines go to ``stream`` at most every half second, plus one at the start and the end;
    with ``enabled`` False nothing is shown at all (``--json``).
    """
    if not enabled:
        yield _quiet
    elif console.is_terminal:
        with _live(console, description, total) as progress:
            yield progress
    else:
        yield _Plain(stream, description, total)


def _quiet(done: int, failures: int) -> None:
    """Shows nothing: the ``--json`` output is the only output."""


@contextmanager
def _live(console: Console, description: str, total: int) -> Iterator[Any]:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[rate]}"),
        TextColumn("{task.fields[failures]} failures"),
        TimeElapsedColumn(),
    )
    started = time.perf_counter()
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=total, rate="", failures=0)

        def progress(done: int, failures: int) -> None:
            elapsed = time.perf_counter() - started
            rate = f"{done / elapsed:,.0f}/s" if elapsed > 0 else ""
            bar.update(task, completed=done, rate=rate, failures=failures)

        yield progress


class _Plain:
    """Progress as one line per half second: done/total, rate and failures."""

    def __init__(self, stream: TextIO, description: str, total: int) -> None:
        self._stream = stream
        self._description = description
        self._total = total
        self._started = self._last = time.perf_counter()
        self._shown = -1
        self._line(0, 0)

    def __call__(self, done: int, failures: int) -> None:
        now = time.perf_counter()
        finished = done == self._total and done != self._shown
        if now - self._last >= _PLAIN_INTERVAL or finished:
            self._last = now
            self._line(done, failures)

    def _line(self, done: int, failures: int) -> None:
        self._shown = done
        elapsed = time.perf_counter() - self._started
        rate = done / elapsed if elapsed > 0 else 0.0
        print(
            f"{self._description}: {done}/{self._total} done, {rate:,.1f}/s, {failures} failures",
            file=self._stream,
            flush=True,
        )


def _seconds(value: float | None, digits: int = 1) -> str:
    """Seconds in a readable unit with ``digits`` decimals; ``-`` when there is no figure."""
    if value is None:
        return "-"
    if value < 1e-3:
        return f"{value * 1e6:,.{digits}f} µs"
    if value < 1:
        return f"{value * 1e3:,.{digits}f} ms"
    return f"{value:,.{digits + 2}f} s"


_PIPE_WIDTH = 160
"""Columns of output that is not a terminal (rich would wrap it at 80)."""


def console(stderr: bool = False) -> Any:
    """A rich console; output that is not a terminal is not wrapped at rich's default 80."""
    stream = sys.stderr if stderr else sys.stdout
    wide = not stream.isatty() and "COLUMNS" not in os.environ
    return Console(stderr=stderr, width=_PIPE_WIDTH if wide else None)
