"""GET /api/v1/trust/experiences/ and /<slug>/: this deployment's experiences, enriched."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests import factories
from tests.trust.api.conftest import EXPERIENCES_URL, JsonClient, build_checkout
from tests.trust.api.contract import METRIC_FIELDS, assert_types
from trust.models import AssurancePoint, Environment

pytestmark = pytest.mark.django_db

BINDING_FIELDS = {"metric_source", "preview_state", "provenance_note"}


def detail(api: JsonClient, slug: str = "checkout") -> Any:
    response = api.get(f"{EXPERIENCES_URL}{slug}/")
    assert response.status_code == 200, response.content
    return response.json()


def test_list_answers_this_environments_experiences_by_slug(db, api, settings):
    settings.TRUST_ENVIRONMENT = "production"
    factories.TrustExperienceFactory(slug="thank-you", environment=Environment.PRODUCTION)
    factories.TrustExperienceFactory(
        slug="checkout", environment=Environment.PRODUCTION, name="Checkout"
    )
    factories.TrustExperienceFactory(slug="checkout", environment=Environment.DEVELOPMENT)

    response = api.get(EXPERIENCES_URL)

    assert response.status_code == 200
    body = response.json()
    assert [entry["slug"] for entry in body] == ["checkout", "thank-you"]
    assert set(body[0]) == {
        "slug",
        "name",
        "environment",
        "guarantee_headline",
        "guarantee_description",
        "updated_at",
        "url",
    }
    assert body[0]["environment"] == "production"
    assert body[0]["name"] == "Checkout"
    assert body[0]["url"] == "http://testserver/api/v1/trust/experiences/checkout/"
    assert body[0]["updated_at"].endswith("Z")


def test_detail_is_the_enriched_experience(shop, api):
    # given the checkout experience with bound cards, over the shop's figures
    build_checkout()

    # when a storefront reads it
    body = detail(api)

    # then the content comes in position order, bound cards carry their metric
    assert set(body) == {
        "slug",
        "name",
        "environment",
        "guarantee_headline",
        "guarantee_description",
        "updated_at",
        "assurances",
        "performance_snapshots",
        "support_channels",
        "testimonials",
        "bundle_offers",
        "delivery_timeline",
    }
    assert (body["slug"], body["name"], body["environment"]) == (
        "checkout",
        "Checkout",
        "development",
    )
    unbound, bound = body["assurances"]
    assert unbound == {
        "key": "refund",
        "title": "Refunds",
        "description": "What we promise.",
        "evidence": "",
        "metric": None,
    }
    assert bound["key"] == "on-schedule"
    assert set(bound["metric"]) == METRIC_FIELDS | BINDING_FIELDS
    assert_types({field: bound["metric"][field] for field in METRIC_FIELDS})
    assert bound["metric"]["metric_id"] == "fulfillment_sla_on_time_pct"
    assert bound["metric"]["metric_source"] == "fulfillment"
    assert bound["metric"]["provenance_note"] == "Scheduled tasks completed in time."
    assert bound["metric"]["formatted_value"] == "67%"

    live, fallback = body["performance_snapshots"]
    assert (live["key"], live["value"], live["fallback_value"]) == ("nps", "8.0", "9.0")
    assert live["metric"]["preview_state"] == "fresh"
    assert (fallback["value"], fallback["metric"]) == ("40%", None)

    assert body["support_channels"] == [
        {
            "key": "email",
            "channel": "email",
            "label": "Email us",
            "target": "help@example.com",
            "availability": "",
        }
    ]
    assert body["testimonials"][0]["key"] == "ana"
    assert set(body["testimonials"][0]) == {"key", "quote", "author", "role", "segment"}
    assert set(body["bundle_offers"][0]) == {"key", "slug", "title", "description", "savings"}


def test_detail_timeline_carries_the_live_forecast(shop, api):
    build_checkout()

    timeline = detail(api)["delivery_timeline"]

    assert timeline["headline"] == "When your order will be ready"
    assert timeline["metric"]["metric_id"] == "fulfillment_delivery_sla_forecast"
    assert timeline["metric"]["metric_source"] == "operator_staffing"
    assert timeline["resolved"] == {
        "min_minutes": 120.0,
        "average_minutes": 90.0,
        "max_minutes": 120.0,
        "confidence": "live",
        "alerts": ["sla_watch"],
        "fallback_copy": "The queue needs two hours or more to clear; keep an eye on staffing.",
    }


def test_detail_falls_back_to_the_operators_figures_without_data(db, api, frozen):
    build_checkout()

    body = detail(api)

    snapshot = body["performance_snapshots"][0]
    assert snapshot["metric"]["verification_state"] == "missing"
    assert snapshot["value"] == "9.0"
    resolved = body["delivery_timeline"]["resolved"]
    assert resolved["confidence"] == "fallback"
    assert (resolved["min_minutes"], resolved["average_minutes"], resolved["max_minutes"]) == (
        60,
        120,
        240,
    )
    assert resolved["alerts"] == ["forecast_unavailable", "limited_history"]


def test_detail_marks_a_stale_timeline(shop, api, frozen):
    experience = build_checkout()
    experience.delivery_timeline.freshness_window_minutes = 5
    experience.delivery_timeline.save()
    detail(api)
    frozen.shift(timedelta(minutes=10))

    resolved = detail(api)["delivery_timeline"]["resolved"]

    assert resolved["confidence"] == "stale"


def test_detail_without_a_timeline_answers_null(db, api):
    factories.TrustExperienceFactory(slug="plain")

    body = detail(api, "plain")

    assert body["delivery_timeline"] is None
    assert body["assurances"] == []


def test_detail_shows_an_admin_edit_on_the_next_read(db, api):
    # given a read that cachalot has cached
    experience = factories.TrustExperienceFactory(slug="checkout")
    point = factories.AssurancePointFactory(experience=experience, title="Before")
    assert detail(api)["assurances"][0]["title"] == "Before"

    # when an operator edits the card
    AssurancePoint.objects.filter(pk=point.pk).update(title="After")

    # then the next read shows it
    assert detail(api)["assurances"][0]["title"] == "After"


@pytest.mark.parametrize(
    "slug",
    ["missing", "checkout-production", "a" * 101, "bad%00slug", "%E2%9C%93", "x.y"],
)
def test_detail_of_an_unknown_slug_is_a_json_404(db, api, slug):
    factories.TrustExperienceFactory(slug="checkout-production", environment=Environment.PRODUCTION)

    response = api.get(f"{EXPERIENCES_URL}{slug}/")

    assert response.status_code == 404
    assert response.json()["code"] == "experience_not_found"
