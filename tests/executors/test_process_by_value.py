"""The process kind sends what plain pickle cannot (lambdas, closures, ``__main__``) by value."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

import futurist

WAIT = 30.0
"""Upper bound for any wait here; reaching it means a bug, not a slow machine."""


@pytest.fixture(params=["fork", "spawn", "forkserver"])
def executor(request: pytest.FixtureRequest) -> Any:
    context = multiprocessing.get_context(request.param)
    with futurist.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        yield pool


def apply(fn: Callable[[int], int], value: int) -> int:
    return fn(value)


def adder(step: int) -> Callable[[int], int]:
    return lambda value: value + step


def test_lambdas_and_closures_run_as_calls_arguments_and_results(executor: Any) -> None:
    step = 3

    def closure(value: int) -> int:
        return value * step

    assert executor.submit(lambda: 42).result(WAIT) == 42
    assert executor.submit(closure, 5).result(WAIT) == 15
    assert executor.submit(apply, lambda value: value - 1, 5).result(WAIT) == 4
    assert executor.submit(adder, 10).result(WAIT)(1) == 11
    assert list(executor.map(lambda value: value * value, range(4))) == [0, 1, 4, 9]
    assert executor.statistics.executed == 8


SCRIPT = """
import multiprocessing
import futurist

def square(value):
    return value * value

if __name__ == "__main__":
    for method in ("spawn", "forkserver"):
        context = multiprocessing.get_context(method)
        with futurist.ProcessPoolExecutor(max_workers=1, mp_context=context) as executor:
            print(method, executor.submit(square, 7).result(30))
"""


def test_a_function_of_a_main_module_that_workers_cannot_import_runs() -> None:
    # python -c: spawned and forkserver workers have no file to import __main__ from.
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["spawn", "49", "forkserver", "49"]


def test_without_cloudpickle_a_lambda_fails_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "cloudpickle", None)
    context = multiprocessing.get_context("fork")
    with futurist.ProcessPoolExecutor(max_workers=1, mp_context=context) as executor:
        error = executor.submit(lambda: 1).exception(WAIT)
        assert executor.submit(apply, abs, -2).result(WAIT) == 2
    assert isinstance(error, futurist.PicklingFailed)
    assert "plain pickle cannot send it" in str(error)
    assert "install it with: pip install cloudpickle (futurist's process extra)" in str(error)
