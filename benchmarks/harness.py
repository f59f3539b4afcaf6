"""Shared benchmark machinery: interleaved rounds, medians, ratios and the printed table.

Each ``benchmarks/bench_*.py`` module defines ``collect(rounds: int) -> list[Figure]``;
``python -m benchmarks`` runs them all and prints one table.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Figure", "interleave", "interleave_all", "print_table"]


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
    def label(self) -> str:
        """The figure's name, unit and baseline, as the table prints them."""
        label = f"{self.name} ({self.unit})"
        return f"{label} vs {self.baseline_name}" if self.baseline_name else label

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
    ours_median, baseline_median = interleave_all((ours, baseline), rounds)
    return ours_median, baseline_median


def interleave_all(measures: Sequence[Callable[[], float]], rounds: int) -> list[float]:
    """Run every measure once per round, in turn (in reverse order every other round), so
    that a change of load hits them all alike; return each one's median, in order."""
    runs: list[list[float]] = [[] for _ in measures]
    order = list(range(len(measures)))
    for round_number in range(rounds):
        for index in order if round_number % 2 == 0 else order[::-1]:
            runs[index].append(measures[index]())
    return [statistics.median(values) for values in runs]


def print_table(figures: list[Figure]) -> None:
    """Print every figure, its baseline, the ratio and whether the target was met."""
    names = [figure.label for figure in figures]
    width = max([58, *map(len, names)])
    columns = f"{'ours':>12} {'baseline':>12} {'ratio':>7} {'target':>8}  verdict"
    header = f"{'benchmark':{width}} {columns}"
    print(header)
    print("-" * len(header))
    for figure, name in zip(figures, names, strict=True):
        baseline = "" if figure.baseline is None else f"{figure.baseline:12.2f}"
        ratio = "" if figure.ratio is None else f"{figure.ratio:7.2f}"
        if figure.target_ratio is not None:
            target = f"<={figure.target_ratio:.2f}x"
        elif figure.target_absolute is not None:
            target = f"<={figure.target_absolute:g}"
        else:
            target = ""
        print(
            f"{name:{width}} {figure.ours:12.2f} {baseline:>12} {ratio:>7} {target:>8}  "
            f"{figure.verdict}"
        )
