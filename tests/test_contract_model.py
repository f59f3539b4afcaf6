"""Random sequences of executor operations checked against a model of the contract."""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import futurist
from futurist.executors.base import Executor
from tests.executors.kinds import KINDS, Kind

WAIT = 30.0


def value_or_failure(value: int, fails: bool) -> int:
    if fails:
        raise ValueError(value)
    return value


def hold(release: threading.Event) -> None:
    release.wait(WAIT)


class ContractModel(RuleBasedStateMachine):
    """Drives one executor and keeps what the contract says must be true about it."""

    kind: Kind

    def __init__(self) -> None:
        super().__init__()
        self.executor: Executor = self.kind.make(max_workers=1)
        self.alive = True
        self.futures: list[tuple[concurrent.futures.Future[Any], int, bool]] = []
        self.release: threading.Event | None = None
        self.blockers: list[concurrent.futures.Future[Any]] = []

    @rule(value=st.integers(0, 100), fails=st.booleans())
    def submit(self, value: int, fails: bool) -> None:
        if not self.alive:
            with pytest.raises(RuntimeError):
                self.executor.submit(value_or_failure, value, fails)
            return
        future = self.executor.submit(value_or_failure, value, fails)
        self.futures.append((future, value, fails))

    @precondition(lambda self: self.alive and self.release is None)
    @rule()
    def occupy_the_worker(self) -> None:
        if self.kind.in_caller or self.kind.crosses_processes:
            return
        self.release = threading.Event()
        self.blockers.append(self.executor.submit(hold, self.release))

    @precondition(lambda self: self.release is not None)
    @rule()
    def free_the_worker(self) -> None:
        assert self.release is not None
        self.release.set()
        self.release = None

    @precondition(lambda self: bool(self.futures))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        future, _, _ = data.draw(st.sampled_from(self.futures))
        was_done = future.done() and not future.cancelled()
        cancelled = future.cancel()
        assert not (cancelled and was_done)
        if cancelled:
            assert future.cancelled()

    @rule(wait=st.booleans(), cancel_futures=st.booleans())
    def shutdown(self, wait: bool, cancel_futures: bool) -> None:
        if wait and self.release is not None:
            self.free_the_worker()
        self.executor.shutdown(wait=wait, cancel_futures=cancel_futures)
        self.alive = False
        if wait:
            self.check_everything_ended()

    @precondition(lambda self: isinstance(self.executor, futurist.SynchronousExecutor))
    @rule()
    def restart(self) -> None:
        assert isinstance(self.executor, futurist.SynchronousExecutor)
        self.executor.shutdown(wait=True)
        self.check_everything_ended()
        self.executor.restart()
        self.alive = True
        self.futures.clear()
        self.blockers.clear()
        assert self.executor.statistics == futurist.ExecutorStatistics()

    @invariant()
    def alive_matches(self) -> None:
        assert self.executor.alive is self.alive

    def check_everything_ended(self) -> None:
        stats = self.executor.statistics
        cancelled = failures = 0
        for future, value, fails in self.futures:
            assert future.done()
            if future.cancelled():
                cancelled += 1
            elif fails:
                failures += 1
                assert isinstance(future.exception(), ValueError)
            else:
                assert future.result() == value
        assert all(blocker.done() for blocker in self.blockers)
        cancelled += sum(1 for blocker in self.blockers if blocker.cancelled())
        assert stats.cancelled == cancelled
        assert stats.failures == failures
        assert stats.executed + stats.cancelled == len(self.futures) + len(self.blockers)

    def teardown(self) -> None:
        if self.release is not None:
            self.release.set()
        self.executor.shutdown(wait=True)
        self.check_everything_ended()


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_random_operations_keep_the_contract(kind: Kind) -> None:
    machine: Any = type(f"ContractModel_{kind.name}", (ContractModel,), {"kind": kind})
    examples = 10 if kind.crosses_processes else 40
    machine.TestCase.settings = settings(
        max_examples=examples, stateful_step_count=25, deadline=None
    )
    machine.TestCase().runTest()
