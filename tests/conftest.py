"""Fixtures shared by the suite: one executor kind per test, and a cross-process manager."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.executors.kinds import KINDS, Kind, shared_manager


@pytest.fixture(params=KINDS, ids=lambda kind: kind.name)
def kind(request: pytest.FixtureRequest) -> Kind:
    """Each executor kind in turn, with the marks that kind needs."""
    chosen: Kind = request.param
    for mark in chosen.marks:
        request.applymarker(mark)
    return chosen


@pytest.fixture(scope="session")
def manager() -> Iterator[Any]:
    """A multiprocessing manager, for events shared with tasks in other processes."""
    with shared_manager() as started:
        yield started
