"""Drop-in fidelity: where futurist 3.5 or concurrent.futures raise or say something, so do we.

Each test pins one behaviour the audit of futurist 3.5's and the standard library's public API
found different (issue 12). Deliberate differences are in docs/differences.rst instead, with
their checks in tests/test_differences_doc.py.
"""

from __future__ import annotations

import fractions
import textwrap
import threading
from collections.abc import Callable
from typing import Any

import pytest

import futurist
from futurist import rejection
from futurist.periodics import PeriodicWorker, periodic
from tests.test_reliability import run_script

WAIT = 30.0


@periodic(1.0)
def every_second() -> None:
    """A periodic callable for the worker tests."""


# Executors.


@pytest.mark.parametrize(
    "make",
    [
        futurist.ThreadPoolExecutor,
        futurist.DynamicThreadPoolExecutor,
        futurist.ProcessPoolExecutor,
        futurist.GreenThreadPoolExecutor,
        futurist.DaskExecutor,
    ],
)
@pytest.mark.parametrize("value", [0, -3])
def test_max_workers_below_one_says_what_the_standard_library_says(
    make: Callable[..., Any], value: int
) -> None:
    with pytest.raises(ValueError, match=rf"^max_workers must be greater than 0, got {value}$"):
        make(max_workers=value)


def test_submit_during_interpreter_exit_says_what_the_standard_library_says() -> None:
    output = run_script(
        textwrap.dedent(
            """
        import atexit
        import futurist

        def submit_late():
            executor = futurist.ThreadPoolExecutor(max_workers=1)
            try:
                executor.submit(print, "ran")
            except RuntimeError as exc:
                print(exc)

        atexit.register(submit_late)
        """
        )
    )
    assert output.startswith("cannot schedule new futures after interpreter shutdown: "), output


@pytest.mark.parametrize(
    "make",
    [futurist.ThreadPoolExecutor, futurist.DynamicThreadPoolExecutor, futurist.ProcessPoolExecutor],
)
def test_a_non_callable_initializer_says_what_the_standard_library_says(
    make: Callable[..., Any],
) -> None:
    with pytest.raises(TypeError, match=r"^initializer must be a callable \(or None\), got 5$"):
        make(max_workers=2, initializer=5)


@pytest.mark.parametrize("make", [futurist.ThreadPoolExecutor, futurist.DynamicThreadPoolExecutor])
def test_thread_name_prefix_none_means_the_default_as_in_the_standard_library(
    make: Callable[..., Any],
) -> None:
    names: list[str] = []
    with make(max_workers=2, thread_name_prefix=None) as executor:
        executor.submit(lambda: names.append(threading.current_thread().name)).result(WAIT)
    # None means the default, as if no prefix were given: the executor's name.
    assert names[0].startswith(f"{executor.name}_"), names


def test_a_missing_eventlet_is_also_the_runtime_error_futurist_3_5_raised() -> None:
    output = run_script(
        textwrap.dedent(
            """
        import sys
        sys.modules["eventlet"] = None  # as if it were not installed
        import futurist

        for make in (
            futurist.GreenFuture,
            futurist.GreenThreadPoolExecutor,
            lambda: futurist.SynchronousExecutor(green=True),
        ):
            try:
                make()
            except RuntimeError as exc:
                print(isinstance(exc, ImportError), "pip install eventlet" in str(exc))
        """
        )
    )
    assert output == "True True\n" * 3


def test_a_rejection_starts_with_the_words_of_futurist_3_5() -> None:
    with (
        futurist.SynchronousExecutor(check_and_reject=rejection.reject_when_reached(0)) as executor,
        pytest.raises(
            futurist.RejectedSubmission,
            match=r"^Current backlog 0 is not allowed to go beyond 0: SynchronousExecutor ",
        ),
    ):
        executor.submit(print)


# Periodics.


def test_an_on_failure_that_is_not_callable_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="on_failure must be callable or None, got 3"):
        PeriodicWorker([(every_second, (), {})], on_failure=3)  # type: ignore[arg-type]


@pytest.mark.parametrize("columns", [[], (), ["no such column"], ["Name", "Colour"], "Name"])
def test_pformat_needs_known_columns_and_at_least_one(columns: Any) -> None:
    worker = PeriodicWorker([(every_second, (), {})])
    with pytest.raises(ValueError, match="column"):
        worker.pformat(columns)


def test_a_callables_item_that_is_not_a_triple_fails_as_unpacking_it_does() -> None:
    with pytest.raises(ValueError, match=r"\(callback, args, kwargs\) triples"):
        PeriodicWorker([(every_second, ())])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"\(callback, args, kwargs\) triples"):
        PeriodicWorker([every_second])  # type: ignore[list-item]


def test_a_schedule_strategy_that_is_neither_a_name_nor_a_function_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="schedule_strategy must be a strategy name"):
        PeriodicWorker([(every_second, (), {})], schedule_strategy=5)  # type: ignore[arg-type]


def test_a_fraction_is_a_spacing() -> None:
    @periodic(fractions.Fraction(1, 2))
    def half() -> None:
        """Every half second."""

    (watcher,) = PeriodicWorker([(half, (), {})]).iter_watchers()
    assert watcher.work.callback is half


def test_the_periodic_marks_have_the_values_of_futurist_3_5() -> None:
    @periodic(1.0, enabled=False)
    def off() -> None:
        """Disabled."""

    assert off._is_periodic is False  # type: ignore[attr-defined]
    assert every_second._is_periodic is True  # type: ignore[attr-defined]


def test_a_callable_marked_by_hand_is_periodic_and_disabled_by_its_mark() -> None:
    def by_hand() -> None:
        """Marked without the decorator, as code written for futurist 3.5 may do."""

    by_hand._is_periodic = False  # type: ignore[attr-defined]
    by_hand._periodic_spacing = 1.0  # type: ignore[attr-defined]
    by_hand._periodic_run_immediately = False  # type: ignore[attr-defined]
    worker = PeriodicWorker([(by_hand, (), {})])
    assert len(worker) == 0
    assert worker.add(by_hand) is None
    by_hand._is_periodic = True  # type: ignore[attr-defined]
    assert worker.add(by_hand) is not None


def test_the_worker_names_its_strategies_and_jitter_as_futurist_3_5_did() -> None:
    assert sorted(PeriodicWorker.BUILT_IN_STRATEGIES) == [
        "aligned_last_finished",
        "aligned_last_finished_jitter",
        "last_finished",
        "last_finished_jitter",
        "last_started",
        "last_started_jitter",
    ]
    assert PeriodicWorker.DEFAULT_JITTER == 0.05
