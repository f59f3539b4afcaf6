"""Submit a little work to each built-in executor kind and print what its statistics say."""

from __future__ import annotations

import futurist
from futurist.executors.base import Executor


def square(number: int) -> int:
    """A small piece of work that can cross a process boundary."""
    return number * number


def main() -> None:
    """Run the same ten calls on each kind and print the results and statistics."""
    kinds: dict[str, Executor] = {
        "synchronous": futurist.SynchronousExecutor(),
        "thread": futurist.ThreadPoolExecutor(max_workers=4),
        "process": futurist.ProcessPoolExecutor(max_workers=2),
    }
    for name, executor in kinds.items():
        with executor:
            results = list(executor.map(square, range(10)))
        print(f"{name:12} {results} {executor.statistics}")


if __name__ == "__main__":
    main()
