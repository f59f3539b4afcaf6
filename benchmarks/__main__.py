"""``python -m benchmarks [--rounds N] [name ...]``: run the benchmark modules, print one table."""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import benchmarks
from benchmarks.harness import Figure, print_table


def main() -> None:
    """Run each ``bench_*`` module (or those named) and print every figure."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("names", nargs="*", help="modules to run, e.g. thread (default: all)")
    options = parser.parse_args()
    modules = sorted(
        info.name
        for info in pkgutil.iter_modules(benchmarks.__path__)
        if info.name.startswith("bench_")
    )
    if options.names:
        modules = [name for name in modules if name.removeprefix("bench_") in options.names]
    figures: list[Figure] = []
    for name in modules:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"running {name} ...", flush=True)
        figures.extend(module.collect(options.rounds))
    print_table(figures)


if __name__ == "__main__":
    main()
