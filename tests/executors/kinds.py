"""The executor kinds the contract suite runs against: add a kind here and it gets every test."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import futurist
from futurist.executors.base import Executor


class EventLike(Protocol):
    """The part of an event that tasks and tests use, threading or multiprocessing."""

    def set(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class Kind:
    """How to build one executor kind and what the contract tests may assume about it."""

    name: str
    make: Callable[..., Executor]
    in_caller: bool = False
    """Calls run inside ``submit`` (nothing is ever queued)."""
    crosses_processes: bool = False
    """Calls run in another process: tasks cannot reach the executor and need shared events."""
    marks: tuple[Any, ...] = field(default=())

    def new_event(self, manager: Any) -> EventLike:
        """An event a task can wait on wherever it runs."""
        if self.crosses_processes:
            event: EventLike = manager.Event()
            return event
        return threading.Event()


def _thread(**kwargs: Any) -> Executor:
    return futurist.ThreadPoolExecutor(**kwargs)


def _synchronous(**kwargs: Any) -> Executor:
    kwargs.pop("max_workers", None)
    return futurist.SynchronousExecutor(**kwargs)


def _process(start_method: str) -> Callable[..., Executor]:
    def make(**kwargs: Any) -> Executor:
        context = multiprocessing.get_context(start_method)
        return futurist.ProcessPoolExecutor(mp_context=context, **kwargs)

    return make


KINDS: list[Kind] = [
    Kind("thread", _thread),
    Kind("synchronous", _synchronous, in_caller=True),
    Kind("process-fork", _process("fork"), crosses_processes=True),
    Kind("process-spawn", _process("spawn"), crosses_processes=True),
]


def kind_ids() -> list[str]:
    """Test ids, one per kind."""
    return [kind.name for kind in KINDS]


def shared_manager() -> Any:
    """A multiprocessing manager, for events shared with tasks in other processes."""
    return multiprocessing.get_context("spawn").Manager()
