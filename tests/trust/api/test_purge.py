"""POST /api/v1/trust/metrics/purge: the purge semantics of SPEC §6, through HTTP."""

from __future__ import annotations

import pytest

from fulfillment.metrics import catalog
from fulfillment.models import MetricCacheEntry
from tests.factories import MetricCacheEntryFactory
from tests.trust.api.conftest import PURGE_URL, RESOLVE_URL

pytestmark = pytest.mark.django_db


def cache_layer(api, metric_id: str) -> str:
    response = api.post(RESOLVE_URL, {"slug": "checkout", "metrics": [{"metric_id": metric_id}]})
    return response.json()["metrics"][0]["provenance"]["cache_layer"]


def test_purge_of_one_metric_clears_it_from_both_tiers(shop, api):
    # given two metrics cached in memory and in the persistent table
    cache_layer(api, "nps_trailing_30d")
    cache_layer(api, "fulfillment_backlog_minutes")

    # when one is purged
    response = api.post(PURGE_URL, {"metric_id": "nps_trailing_30d"})

    # then only that one is recomputed on the next read; the other stays in memory
    assert response.status_code == 200
    assert response.json() == {"purged_metric_ids": ["nps_trailing_30d"]}
    assert not MetricCacheEntry.objects.filter(metric_id="nps_trailing_30d").exists()
    assert cache_layer(api, "nps_trailing_30d") == "computed"
    assert cache_layer(api, "fulfillment_backlog_minutes") == "memory"


def test_purge_of_a_metric_that_was_not_cached_still_names_it(db, api):
    response = api.post(PURGE_URL, {"metric_id": "first_response_minutes"})

    assert response.json() == {"purged_metric_ids": ["first_response_minutes"]}


def test_purge_without_an_id_clears_everything_and_lists_what_was_cached(shop, api):
    # given one metric in both tiers and another only in the persistent table
    cache_layer(api, "nps_trailing_30d")
    MetricCacheEntryFactory(metric_id="fulfillment_sla_on_time_pct")

    response = api.post(PURGE_URL, {})

    assert response.status_code == 200
    assert response.json() == {
        "purged_metric_ids": ["fulfillment_sla_on_time_pct", "nps_trailing_30d"]
    }
    assert not MetricCacheEntry.objects.exists()
    assert cache_layer(api, "nps_trailing_30d") == "computed"


def test_purge_with_an_empty_body_counts_as_an_empty_object(db, api):
    MetricCacheEntryFactory(metric_id="fulfillment_sla_on_time_pct")

    response = api.client.generic("POST", PURGE_URL, headers={"X-API-Key": api.key})

    assert response.status_code == 200
    assert response.json() == {"purged_metric_ids": ["fulfillment_sla_on_time_pct"]}


def test_purge_with_nothing_cached_answers_an_empty_list(db, api):
    response = api.post(PURGE_URL, {})

    assert response.json() == {"purged_metric_ids": []}


def test_purge_refuses_an_unknown_id_naming_the_valid_ids(db, api):
    MetricCacheEntryFactory(metric_id="fulfillment_sla_on_time_pct")

    response = api.post(PURGE_URL, {"metric_id": "conversion_rate"})

    assert response.status_code == 400
    valid = ", ".join(sorted(catalog.CATALOG))
    message = f"“conversion_rate” is not a registered metric. Valid metric ids: {valid}."
    assert response.json() == {
        "detail": f"Invalid request: metric_id: {message}",
        "code": "unknown_metric",
        "errors": [{"field": "metric_id", "message": message, "code": "unknown_metric"}],
        "valid_metric_ids": sorted(catalog.CATALOG),
    }
    assert MetricCacheEntry.objects.exists()


def test_purge_is_logged_with_the_storefront_as_actor(db, api, caplog):
    api.post(PURGE_URL, {"metric_id": "nps_trailing_30d"})

    assert "actor=api:storefront" in caplog.text
    assert "purged_ids=['nps_trailing_30d']" in caplog.text
