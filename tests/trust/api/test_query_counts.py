"""
What a warm request costs the database: the resolve of all six metrics at
most the purge-generation check, an enriched experience read nothing at all.

"Warm" means the metrics sit in this worker's memory tier, cachalot holds the
experience queries, and the purge generation was checked less than a second
ago. The tracker's clock is replaced so that "a second ago" is exact.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fulfillment.metrics import cache, catalog
from tests.trust.api.conftest import EXPERIENCES_URL, RESOLVE_URL, JsonClient, build_checkout

pytestmark = pytest.mark.django_db

ALL_METRICS = {"slug": "checkout", "metrics": [{"metric_id": m} for m in catalog.CATALOG]}


class TrackerClock:
    """A monotonic clock for the purge tracker that moves only when told."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture
def tracker_clock(monkeypatch) -> Iterator[TrackerClock]:
    clock = TrackerClock()
    monkeypatch.setattr(cache.purge_tracker, "clock", clock)
    yield clock


def queries_of(api: JsonClient, method: str, path: str, body: object = None) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(path) if method == "get" else api.post(path, body)
    assert response.status_code == 200, response.content
    return [query["sql"] for query in captured.captured_queries]


def test_a_warm_resolve_of_all_six_metrics_queries_nothing_within_the_check_interval(
    shop, api, tracker_clock
):
    # given all six metrics computed into the memory tier
    queries_of(api, "post", RESOLVE_URL, ALL_METRICS)

    # when they are resolved again half a second later
    tracker_clock.seconds += 0.5
    queries = queries_of(api, "post", RESOLVE_URL, ALL_METRICS)

    # then no query reaches the database
    assert queries == []


def test_a_warm_resolve_past_the_check_interval_reads_only_the_purge_generation(
    shop, api, tracker_clock
):
    queries_of(api, "post", RESOLVE_URL, ALL_METRICS)

    tracker_clock.seconds += 1.5
    queries = queries_of(api, "post", RESOLVE_URL, ALL_METRICS)

    assert len(queries) == 1
    assert "fulfillment_metric_purge_generation" in queries[0]


def test_a_warm_enriched_experience_read_queries_nothing(shop, api, tracker_clock):
    # given the checkout experience read once: its queries cached by
    # cachalot, its metrics in the memory tier
    build_checkout()
    cold = queries_of(api, "get", f"{EXPERIENCES_URL}checkout/")

    # when it is read again within the check interval
    tracker_clock.seconds += 0.5
    warm = queries_of(api, "get", f"{EXPERIENCES_URL}checkout/")

    # then the database is not touched at all
    assert len(cold) > 6
    assert warm == []


def test_a_warm_experience_list_queries_nothing(shop, api, tracker_clock):
    build_checkout()
    queries_of(api, "get", EXPERIENCES_URL)

    warm = queries_of(api, "get", EXPERIENCES_URL)

    assert warm == []


def test_an_edit_after_a_warm_read_costs_the_experience_queries_again(db, api, tracker_clock):
    # Not under frozen time: cachalot orders a write and a cached read by
    # their time stamps, which a frozen clock makes equal.
    experience = build_checkout()
    queries_of(api, "get", f"{EXPERIENCES_URL}checkout/")

    experience.testimonials.update(quote="Changed.")
    queries = queries_of(api, "get", f"{EXPERIENCES_URL}checkout/")

    assert any("trust_testimonial" in sql for sql in queries)
    assert not any("fulfillment_" in sql for sql in queries)
