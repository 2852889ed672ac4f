"""POST /api/v1/trust/experiences: the resolve contract of SPEC §7, through HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from fulfillment.metrics import catalog
from fulfillment.metrics.service import MetricUnavailableError
from tests.factories import FulfillmentStaffingShiftFactory
from tests.trust.api.conftest import (
    NOW,
    PENDING,
    RESOLVE_URL,
    JsonClient,
    add_task,
)
from tests.trust.api.contract import assert_types, parse_instant

pytestmark = pytest.mark.django_db

# What the `shop` fixture measures at NOW: value, formatted value, sample
# size, and metadata the contract names.
SHOP_FIGURES = {
    "fulfillment_sla_on_time_pct": (4 / 6, "67%", 6, {"on_time_tasks": 4}),
    "first_response_minutes": (45.0, "45m", 6, {}),
    "nps_trailing_30d": (8.0, "8.0", 6, {}),
    "fulfillment_backlog_minutes": (
        240.0,
        "4.0h",
        2,
        {
            "overdue_task_count": 2,
            "outstanding_task_count": 2,
            "average_backlog_minutes": 120.0,
            "total_backlog_minutes": 240.0,
        },
    ),
    "fulfillment_staffing_coverage_pct": (
        2.5,
        "250%",
        2,
        {"lookback_hours": 24, "scheduled_tasks": 2, "completed_tasks": 5},
    ),
    "fulfillment_delivery_sla_forecast": (
        120.0,
        "2.0h",
        6,
        {
            "overall_percentile_bands": {"p50": 90.0, "p90": 150.0},
            "observed_window_days": 30,
            "forecast_alerts": ["sla_watch"],
        },
    ),
}


def resolve(api: JsonClient, *metrics: dict[str, Any], slug: str = "checkout") -> Any:
    response = api.post(RESOLVE_URL, {"slug": slug, "metrics": list(metrics)})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


@pytest.mark.parametrize("metric_id", list(catalog.CATALOG))
def test_resolve_answers_every_contract_field_for_each_metric(shop, api, metric_id):
    # given the shop at NOW, nothing cached
    definition = catalog.CATALOG[metric_id]
    value, formatted, sample_size, metadata = SHOP_FIGURES[metric_id]

    # when a storefront resolves the metric with its default window
    body = resolve(api, {"metric_id": metric_id})

    # then every field is present, typed and derived as SPEC §7 says
    assert body["slug"] == "checkout"
    [entry] = body["metrics"]
    assert_types(entry)
    assert entry["metric_id"] == metric_id
    assert entry["value"] == pytest.approx(value)
    assert entry["formatted_value"] == formatted
    assert entry["sample_size"] == sample_size
    assert parse_instant(entry["computed_at"]) == NOW
    assert entry["freshness_window_minutes"] == definition.default_freshness_minutes
    assert entry["verification_state"] == "fresh"
    assert entry["metadata"]["source"] == definition.source
    assert entry["metadata"].items() >= metadata.items()
    assert entry["freshness_minutes_elapsed"] == 0.0
    assert entry["provenance"] == {
        "source": definition.source,
        "cache_layer": "computed",
        "cache_refreshed_at": "2025-03-10T12:00:00Z",
        "cache_expires_at": (NOW + timedelta(minutes=definition.persistent_ttl_minutes))
        .isoformat()
        .replace("+00:00", "Z"),
        "cache_ttl_minutes": definition.persistent_ttl_minutes,
        "notes": ["Computed from the fulfillment tables for this request."],
        "unsupported_reason": None,
    }
    is_forecast = metric_id == "fulfillment_delivery_sla_forecast"
    assert entry["percentile_bands"] == ({"p50": 90.0, "p90": 150.0} if is_forecast else None)
    assert entry["alerts"] == (["sla_watch"] if is_forecast else [])
    assert (entry["fallback_copy"] is not None) is is_forecast
    assert (entry["forecast"] is not None) is is_forecast
    assert entry["unsupported_guard"] is None


def test_resolve_answers_forecast_skus_with_their_windows(shop, api):
    body = resolve(api, {"metric_id": "fulfillment_delivery_sla_forecast"})

    [sku] = body["metrics"][0]["forecast"]["skus"]
    assert sku == {
        "sku": "logo-design",
        "backlog_tasks": 2,
        "completed_sample_size": 6,
        "average_minutes": 110.0,
        "percentile_bands": {"p50": 90.0, "p90": 150.0},
        "windows": [
            {
                "start": "2025-03-10T11:00:00+00:00",
                "end": "2025-03-10T19:00:00+00:00",
                "hourly_capacity": 1.0,
                "capacity_tasks": 7,
                "backlog_at_start": 2,
                "projected_tasks_completed": 2,
                "backlog_after": 0,
            }
        ],
        "estimated_clear_minutes": 120.0,
        "unsupported_reason": None,
    }


def test_resolve_answers_an_unknown_id_as_unsupported(db, api, caplog):
    body = resolve(api, {"metric_id": "conversion_rate", "freshness_window_minutes": 30})

    [entry] = body["metrics"]
    assert_types(entry)
    assert entry == {
        "metric_id": "conversion_rate",
        "value": None,
        "formatted_value": None,
        "computed_at": None,
        "sample_size": 0,
        "freshness_window_minutes": 30,
        "verification_state": "unsupported",
        "metadata": {"source": "unknown"},
        "provenance": {
            "source": "unknown",
            "cache_layer": "none",
            "cache_refreshed_at": None,
            "cache_expires_at": None,
            "cache_ttl_minutes": None,
            "notes": [
                "This metric is not registered in the catalog, so nothing was computed or cached."
            ],
            "unsupported_reason": "metric_not_registered",
        },
        "percentile_bands": None,
        "freshness_minutes_elapsed": None,
        "unsupported_guard": "metric_not_registered",
        "forecast": None,
        "alerts": [],
        "fallback_copy": None,
    }
    assert "unknown_ids=['conversion_rate']" in caplog.text


def test_resolve_answers_in_request_order_with_each_requested_window(shop, api):
    requested = [
        {"metric_id": "nps_trailing_30d", "freshness_window_minutes": 5},
        {"metric_id": "not_a_metric"},
        {"metric_id": "fulfillment_sla_on_time_pct", "freshness_window_minutes": None},
        {"metric_id": "nps_trailing_30d", "freshness_window_minutes": 20160},
    ]

    body = resolve(api, *requested)

    assert [entry["metric_id"] for entry in body["metrics"]] == [
        "nps_trailing_30d",
        "not_a_metric",
        "fulfillment_sla_on_time_pct",
        "nps_trailing_30d",
    ]
    assert [entry["freshness_window_minutes"] for entry in body["metrics"]] == [
        5,
        None,
        1440,
        20160,
    ]


def test_resolve_marks_a_metric_stale_past_the_requested_window(shop, api, frozen):
    resolve(api, {"metric_id": "nps_trailing_30d"})
    frozen.shift(timedelta(minutes=10))

    body = resolve(
        api,
        {"metric_id": "nps_trailing_30d", "freshness_window_minutes": 5},
        {"metric_id": "nps_trailing_30d", "freshness_window_minutes": 15},
    )

    stale, fresh = body["metrics"]
    assert stale["verification_state"] == "stale"
    assert fresh["verification_state"] == "fresh"
    assert stale["freshness_minutes_elapsed"] == 10.0
    assert stale["provenance"]["cache_layer"] == "memory"
    assert stale["computed_at"] == "2025-03-10T12:00:00Z"


def test_resolve_marks_a_metric_missing_without_samples(db, api, frozen):
    body = resolve(api, {"metric_id": "fulfillment_sla_on_time_pct"})

    [entry] = body["metrics"]
    assert_types(entry)
    assert entry["verification_state"] == "missing"
    assert entry["value"] is None
    assert entry["sample_size"] == 0


def test_resolve_serves_the_second_request_from_memory(shop, api):
    first = resolve(api, {"metric_id": "fulfillment_backlog_minutes"})
    second = resolve(api, {"metric_id": "fulfillment_backlog_minutes"})

    assert first["metrics"][0]["provenance"]["cache_layer"] == "computed"
    assert second["metrics"][0]["provenance"]["cache_layer"] == "memory"
    assert second["metrics"][0]["provenance"]["notes"] == ["Served from this worker's memory tier."]


def test_resolve_guards_a_forecast_whose_every_sku_lacks_staffing(db, api, frozen):
    add_task(sku="poster", status=PENDING, scheduled_at=NOW - timedelta(hours=1))

    body = resolve(api, {"metric_id": "fulfillment_delivery_sla_forecast"})

    [entry] = body["metrics"]
    assert_types(entry)
    assert entry["unsupported_guard"] == "all_skus_unsupported"
    assert entry["verification_state"] == "missing"
    assert entry["alerts"] == ["forecast_unavailable", "limited_history", "no_staffing_capacity"]
    assert entry["fallback_copy"]


def test_resolve_guards_a_forecast_that_covers_some_skus_only(shop, api):
    add_task(sku="poster", status=PENDING, scheduled_at=NOW - timedelta(hours=1))
    FulfillmentStaffingShiftFactory(
        sku="poster", starts_at=NOW, ends_at=NOW + timedelta(hours=2), hourly_capacity=1.0
    )

    body = resolve(api, {"metric_id": "fulfillment_delivery_sla_forecast"})

    [entry] = body["metrics"]
    assert entry["unsupported_guard"] == "partial_sku_support"
    assert entry["alerts"] == ["sla_watch", "partial_support"]
    reasons = {sku["sku"]: sku["unsupported_reason"] for sku in entry["forecast"]["skus"]}
    assert reasons == {"logo-design": None, "poster": "insufficient_history"}


def test_resolve_accepts_an_empty_list_of_metrics(db, api):
    body = resolve(api)

    assert body == {"slug": "checkout", "metrics": []}


def test_resolve_accepts_fifty_metrics(shop, api):
    metrics = [{"metric_id": metric_id} for metric_id in catalog.CATALOG] * 8 + [
        {"metric_id": "x"}
    ] * 2

    body = resolve(api, *metrics)

    assert len(body["metrics"]) == 50


def test_resolve_echoes_a_slug_that_names_no_stored_experience(db, api):
    body = resolve(api, slug="no-such-experience_2")

    assert body["slug"] == "no-such-experience_2"


def test_resolve_answers_503_when_a_metric_is_unavailable(db, api, monkeypatch):
    def unavailable(requests: Any, **kwargs: Any) -> Any:
        raise MetricUnavailableError("nps_trailing_30d", "the database is unreachable")

    monkeypatch.setattr("trust.api.views.resolve_metrics", unavailable)

    response = api.post(RESOLVE_URL, {"slug": "checkout", "metrics": [{"metric_id": "x"}]})

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "detail": "Metric “nps_trailing_30d” is unavailable right now: "
        "the database is unreachable.",
        "code": "metric_unavailable",
        "metric_id": "nps_trailing_30d",
    }
