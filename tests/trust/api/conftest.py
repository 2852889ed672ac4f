"""Fixtures for the storefront API tests: a small shop, keys and a JSON client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from fulfillment.metrics import cache
from fulfillment.models import FulfillmentTask
from tests.factories import (
    AssurancePointFactory,
    BundleOfferFactory,
    DeliveryTimelineFactory,
    FulfillmentStaffingShiftFactory,
    FulfillmentTaskFactory,
    OrderFactory,
    OrderItemFactory,
    PerformanceSnapshotFactory,
    ProductFactory,
    SupportChannelFactory,
    TrustExperienceFactory,
)
from tests.factories import TestimonialFactory as QuoteFactory
from trust.models import TrustExperience

API_KEY = "storefront-test-key-0123456789"
RESOLVE_URL = "/api/v1/trust/experiences"
PURGE_URL = "/api/v1/trust/metrics/purge"
EXPERIENCES_URL = "/api/v1/trust/experiences/"

# Tests that compare figures run at this moment, frozen.
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)

COMPLETED = FulfillmentTask.Status.COMPLETED
PENDING = FulfillmentTask.Status.PENDING


@pytest.fixture(autouse=True)
def _fresh_purge_tracker() -> Iterator[None]:
    """Start every test with a purge tracker that has seen no generation yet."""
    cache.purge_tracker.reset()
    yield
    cache.purge_tracker.reset()


@pytest.fixture
def api_key(settings: Any) -> str:
    settings.CHECKOUT_API_KEY = API_KEY
    return API_KEY


@pytest.fixture
def no_api_key(settings: Any) -> None:
    settings.CHECKOUT_API_KEY = ""


class JsonClient:
    """Django's test client speaking JSON, with an optional X-API-Key."""

    def __init__(self, client: Client, key: str | None = None) -> None:
        self.client = client
        self.key = key

    def _headers(self, key: str | None) -> dict[str, str]:
        key = self.key if key is None else key
        return {"X-API-Key": key} if key else {}

    def get(self, path: str, *, key: str | None = None, **extra: Any) -> Any:
        return self.client.get(path, headers=self._headers(key), **extra)

    def post(self, path: str, body: Any = None, *, key: str | None = None, **extra: Any) -> Any:
        return self.client.post(
            path,
            data=body if body is not None else {},
            content_type=extra.pop("content_type", "application/json"),
            headers=self._headers(key),
            **extra,
        )


@pytest.fixture
def api(client: Client, api_key: str) -> JsonClient:
    """A client authenticated by the configured API key."""
    return JsonClient(client, key=api_key)


@pytest.fixture
def frozen() -> Iterator[time_machine.Coordinates]:
    """Freeze wall-clock time at `NOW` (the purge tracker's monotonic clock runs on)."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def add_task(*, sku: str, status: str, **fields: Any) -> FulfillmentTask:
    """Add one task for the product `sku`, its order placed 45 minutes before it started."""
    started_at = fields.get("started_at") or fields.get("scheduled_at") or NOW
    order = OrderFactory(created_at=started_at - timedelta(minutes=45))
    item = OrderItemFactory(order=order, product=ProductFactory(slug=sku))
    return FulfillmentTaskFactory(order_item=item, status=status, **fields)


@pytest.fixture
def shop(db: None, frozen: time_machine.Coordinates) -> datetime:
    """
    A shop at `NOW` where every metric has a figure: six completions in the
    last 30 hours (two late, NPS 9 on time and 6 late), two open tasks three
    and one hour overdue, and one rostered shift of one task an hour.
    """
    for hours_ago, late in (
        (30, False),
        (20, False),
        (10, True),
        (5, False),
        (2, False),
        (1, True),
    ):
        scheduled = NOW - timedelta(hours=hours_ago)
        add_task(
            sku="logo-design",
            status=COMPLETED,
            scheduled_at=scheduled,
            started_at=scheduled - timedelta(hours=2),
            completed_at=scheduled + timedelta(minutes=30 if late else -30),
            result={"nps_score": 6 if late else 9},
        )
    for hours_overdue in (3, 1):
        add_task(
            sku="logo-design", status=PENDING, scheduled_at=NOW - timedelta(hours=hours_overdue)
        )
    FulfillmentStaffingShiftFactory(
        sku="logo-design",
        starts_at=NOW - timedelta(hours=1),
        ends_at=NOW + timedelta(hours=7),
        hourly_capacity=1.0,
    )
    return NOW


def build_checkout() -> TrustExperience:
    """An experience with every section, bound and unbound cards, out of position order."""
    experience = TrustExperienceFactory(slug="checkout", name="Checkout")
    AssurancePointFactory(
        experience=experience,
        position=2,
        key="on-schedule",
        title="Work on schedule",
        metric_id="fulfillment_sla_on_time_pct",
        provenance_note="Scheduled tasks completed in time.",
    )
    AssurancePointFactory(experience=experience, position=1, key="refund", title="Refunds")
    PerformanceSnapshotFactory(
        experience=experience,
        position=1,
        key="nps",
        label="Customer score",
        fallback_value="9.0",
        metric_id="nps_trailing_30d",
        preview_state="fresh",
    )
    PerformanceSnapshotFactory(
        experience=experience, position=2, key="repeat", label="Repeat buyers", fallback_value="40%"
    )
    SupportChannelFactory(experience=experience, key="email")
    QuoteFactory(experience=experience, key="ana", author="Ana")
    BundleOfferFactory(experience=experience, key="launch", slug="launch")
    DeliveryTimelineFactory(
        experience=experience,
        metric_id="fulfillment_delivery_sla_forecast",
        metric_source="operator_staffing",
    )
    return experience
