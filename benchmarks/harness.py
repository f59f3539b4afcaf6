"""Shared benchmark machinery: interleaved rounds, medians, ratios and the printed table.

Each ``benchmarks/bench_*.py`` module defines ``collect(rounds: int) -> list[Figure]``;
``python -m benchmarks`` runs them all and prints one table.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Figure", "interleave", "print_table"]


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure: ours against a baseline, with the ratio we aim for."""

    name: str
    unit: str
    ours: float
    baseline: float | None = None
    baseline_name: str = ""
    target_ratio: float | None = None
    target_absolute: float | None = None

    @property
    def ratio(self) -> float | None:
        """ours / baseline, or None without a baseline."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.ours / self.baseline

    @property
    def verdict(self) -> str:
        """'ok' or 'MISSED' against the target, '' without one."""
        if self.target_ratio is not None and self.ratio is not None:
            return "ok" if self.ratio <= self.target_ratio else "MISSED"
        if self.target_absolute is not None:
            return "ok" if self.ours <= self.target_absolute else "MISSED"
        return ""


def interleave(
    ours: Callable[[], float], baseline: Callable[[], float], rounds: int
) -> tuple[float, float]:
    """Run ours and the baseline alternately ``rounds`` times; return both medians."""
    ours_runs: list[float] = []
    baseline_runs: list[float] = []
    for round_number in range(rounds):
        pair = (ours, baseline) if round_number % 2 == 0 else (baseline, ours)
        for measure in pair:
            (ours_runs if measure is ours else baseline_runs).append(measure())
    return statistics.median(ours_runs), statistics.median(baseline_runs)


def print_table(figures: list[Figure]) -> None:
    """Print every figure, its baseline, the ratio and whether the target was met."""
    header = f"{'benchmark':58} {'ours':>12} {'baseline':>12} {'ratio':>7} {'target':>8}  verdict"
    print(header)
    print("-" * len(header))
    for figure in figures:
        baseline = "" if figure.baseline is None else f"{figure.baseline:12.2f}"
        ratio = "" if figure.ratio is None else f"{figure.ratio:7.2f}"
        if figure.target_ratio is not None:
            target = f"<={figure.target_ratio:.2f}x"
        elif figure.target_absolute is not None:
            target = f"<={figure.target_absolute:g}"
        else:
            target = ""
        name = f"{figure.name} ({figure.unit})"
        if figure.baseline_name:
            name += f" vs {figure.baseline_name}"
        print(
            f"{name:58} {figure.ours:12.2f} {baseline:>12} {ratio:>7} {target:>8}  {figure.verdict}"
        )
