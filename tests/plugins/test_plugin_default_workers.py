"""The ``max_workers`` :func:`futurist.plugins.default_max_workers` tells for a kind is what the
kind really takes when given none."""

from __future__ import annotations

import os
from typing import Any

import pytest

import futurist
from futurist import plugins


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("thread", {}),
        ("thread_dynamic", {}),
        ("thread_dynamic", {"min_workers": 40}),
        ("process", {}),
    ],
)
def test_the_told_default_is_the_size_the_kind_takes(kind: str, options: dict[str, Any]) -> None:
    told = plugins.default_max_workers(kind, **options)
    assert told is not None
    with plugins.create(kind, **options) as executor:
        assert executor.max_workers == told.count  # type: ignore[attr-defined]


def test_the_thread_pool_default_reads_as_five_per_cpu() -> None:
    told = plugins.default_max_workers("thread")
    assert told == futurist.DefaultWorkers(5 * (os.cpu_count() or 1), "5 × CPUs")
    assert str(told) == f"{5 * (os.cpu_count() or 1)} (5 × CPUs)"


def test_a_kind_without_a_max_workers_default_tells_none() -> None:
    assert plugins.default_max_workers("synchronous") is None
    assert futurist.Executor.default_max_workers() is None
