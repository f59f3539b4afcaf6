"""The command's tables drawn through rich's Console at a fixed width, for what a subprocess
shows only by chance: figures that trip rounding."""

from __future__ import annotations

import io

from rich.console import Console

from futurist.cli import render
from futurist.cli.runner import Outcome
from futurist.statistics import ExecutorStatistics


def outcome(kind: str, wall_time: float) -> Outcome:
    return Outcome(
        kind=kind,
        work="noop",
        tasks=20,
        submitted=20,
        statistics=ExecutorStatistics(executed=20, runtime=0.001),
        wall_time=wall_time,
        latencies=(0.001,) * 20,
        interrupted=False,
    )


def test_the_fastest_fills_its_bar_whatever_its_throughput() -> None:
    """24 * 8 * t / t is below 192 for some t: such a best throughput still fills its bar."""
    walls = (0.000108 * 1.0001**step for step in range(10_000))
    rounding = next(wall for wall in walls if int(24 * 8 * (20 / wall) / (20 / wall)) < 192)
    shown = io.StringIO()
    console = Console(file=shown, width=160)
    console.print(
        render.compare_table([outcome("slow", 0.01), outcome("fast", rounding)], "noop", console)
    )
    fast = next(line for line in shown.getvalue().splitlines() if line.strip().startswith("fast"))
    assert "█" * 24 in fast, shown.getvalue()
