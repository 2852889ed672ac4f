from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from fulfillment.metrics.cache import purge_tracker

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_purge_tracker() -> Iterator[None]:
    purge_tracker.reset()
    yield
    purge_tracker.reset()


@pytest.fixture
def now() -> datetime:
    return NOW
