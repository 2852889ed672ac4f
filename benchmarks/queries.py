"""
Database queries per request, cold and warm, counted in this process with
Django's test client and `CaptureQueriesContext` on a database holding the
demo shop. Counts do not depend on the machine, so they are exact.

- cold: both metric tiers and cachalot's cache empty, the purge tracker new;
- warm: the same request again within the purge tracker's one-second check
  interval (its clock is held still, so "within" is exact);
- warm, past the interval: the same again after the interval has passed,
  when the purge-generation check is due.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from fulfillment.metrics import cache
from fulfillment.metrics.catalog import CATALOG
from fulfillment.models import MetricCacheEntry

API_KEY = "benchmark-api-key"
RESOLVE_URL = "/api/v1/trust/experiences"
DETAIL_URL = "/api/v1/trust/experiences/checkout/"
LIST_URL = "/api/v1/trust/experiences/"
PURGE_URL = "/api/v1/trust/metrics/purge"
HEALTH_URL = "/healthz"
RESOLVE_SIX = {"slug": "checkout", "metrics": [{"metric_id": m} for m in CATALOG]}
PURGE_GENERATION_TABLE = "fulfillment_metric_purge_generation"


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    body: Any = None


ENDPOINTS = (
    Endpoint("POST resolve (six metrics)", "post", RESOLVE_URL, RESOLVE_SIX),
    Endpoint("GET enriched experience", "get", DETAIL_URL),
    Endpoint("GET experience list", "get", LIST_URL),
    Endpoint("POST purge (all)", "post", PURGE_URL, {}),
    Endpoint("GET /healthz", "get", HEALTH_URL),
)


@dataclass
class QueryCount:
    endpoint: str
    cold: int
    warm: int
    warm_past_interval: int
    warm_past_interval_sql: list[str] = field(default_factory=list)

    @property
    def warm_queries_are_only_the_purge_check(self) -> bool:
        return self.warm == 0 and all(
            PURGE_GENERATION_TABLE in sql for sql in self.warm_past_interval_sql
        )


class _HeldClock:
    """A monotonic clock for the purge tracker that moves only when told."""

    def __init__(self) -> None:
        self.seconds = 1_000_000.0

    def __call__(self) -> float:
        return self.seconds


@contextmanager
def _held_tracker_clock() -> Iterator[_HeldClock]:
    clock = _HeldClock()
    tracker = cache.purge_tracker
    tracker.clock = clock
    try:
        yield clock
    finally:
        del tracker.clock  # back to the class's clock


def _empty_every_cache() -> None:
    MetricCacheEntry.objects.all().delete()
    for alias in ("default", "metrics"):
        caches[alias].clear()
    cache.purge_tracker.reset()


def _captured(call: Callable[[], Any]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    if response.status_code != 200:
        raise RuntimeError(f"expected 200, got {response.status_code}: {response.content[:500]!r}")
    return [query["sql"] for query in captured.captured_queries]


def count_queries() -> list[QueryCount]:
    """Count each endpoint's queries cold, warm and warm past the check interval."""
    client = Client(headers={"X-API-Key": API_KEY})

    def send(endpoint: Endpoint) -> Callable[[], Any]:
        if endpoint.method == "get":
            return lambda: client.get(endpoint.path)
        return lambda: client.post(endpoint.path, endpoint.body, content_type="application/json")

    counts = []
    with override_settings(CHECKOUT_API_KEY=API_KEY), _held_tracker_clock() as clock:
        for endpoint in ENDPOINTS:
            _empty_every_cache()
            if endpoint.path == PURGE_URL:
                # A purge is cold when nothing is cached; warm, it has metrics to drop.
                cold = _captured(send(endpoint))
                _captured(send(ENDPOINTS[0]))
            else:
                cold = _captured(send(endpoint))
            clock.seconds += 0.5
            warm = _captured(send(endpoint))
            if endpoint.path == PURGE_URL:
                _captured(send(ENDPOINTS[0]))
            clock.seconds += 1.5
            past = _captured(send(endpoint))
            counts.append(
                QueryCount(
                    endpoint=endpoint.name,
                    cold=len(cold),
                    warm=len(warm),
                    warm_past_interval=len(past),
                    warm_past_interval_sql=past,
                )
            )
    _empty_every_cache()
    return counts
