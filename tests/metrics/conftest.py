"""The metrics tests' shared endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.metrics.endpoint import serving


@pytest.fixture
def url() -> Iterator[str]:
    """A real endpoint on 127.0.0.1 serving several kinds' figures, after some calls."""
    with serving() as served:
        yield served
