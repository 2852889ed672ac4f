"""The resolve contract of SPEC §7, as the API tests check it field by field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

METRIC_FIELDS = {
    "metric_id",
    "value",
    "formatted_value",
    "computed_at",
    "sample_size",
    "freshness_window_minutes",
    "verification_state",
    "metadata",
    "provenance",
    "percentile_bands",
    "freshness_minutes_elapsed",
    "unsupported_guard",
    "forecast",
    "alerts",
    "fallback_copy",
}
PROVENANCE_FIELDS = {
    "source",
    "cache_layer",
    "cache_refreshed_at",
    "cache_expires_at",
    "cache_ttl_minutes",
    "notes",
    "unsupported_reason",
}
FORECAST_SKU_FIELDS = {
    "sku",
    "backlog_tasks",
    "completed_sample_size",
    "average_minutes",
    "percentile_bands",
    "windows",
    "estimated_clear_minutes",
    "unsupported_reason",
}
WINDOW_FIELDS = {
    "start",
    "end",
    "hourly_capacity",
    "capacity_tasks",
    "backlog_at_start",
    "projected_tasks_completed",
    "backlog_after",
}


def parse_instant(text: str) -> datetime:
    instant = parse_datetime(text)
    assert instant is not None, text
    assert instant.tzinfo is not None, f"{text} carries no timezone"
    return instant


def assert_types(entry: dict[str, Any]) -> None:
    """Check every field of one resolved metric: present, and of its JSON type."""
    assert set(entry) == METRIC_FIELDS
    assert isinstance(entry["metric_id"], str)
    assert entry["value"] is None or isinstance(entry["value"], float)
    assert entry["formatted_value"] is None or isinstance(entry["formatted_value"], str)
    assert entry["computed_at"] is None or parse_instant(entry["computed_at"])
    assert isinstance(entry["sample_size"], int) and not isinstance(entry["sample_size"], bool)
    assert entry["freshness_window_minutes"] is None or isinstance(
        entry["freshness_window_minutes"], int
    )
    assert entry["verification_state"] in {"fresh", "stale", "missing", "unsupported"}
    assert isinstance(entry["metadata"], dict) and isinstance(entry["metadata"]["source"], str)
    assert entry["freshness_minutes_elapsed"] is None or isinstance(
        entry["freshness_minutes_elapsed"], float
    )
    assert entry["unsupported_guard"] in {
        None,
        "metric_not_registered",
        "all_skus_unsupported",
        "partial_sku_support",
    }
    assert isinstance(entry["alerts"], list) and all(isinstance(a, str) for a in entry["alerts"])
    assert entry["fallback_copy"] is None or isinstance(entry["fallback_copy"], str)

    provenance = entry["provenance"]
    assert set(provenance) == PROVENANCE_FIELDS
    assert isinstance(provenance["source"], str)
    assert provenance["cache_layer"] in {"memory", "persistent", "computed", "none"}
    for instant in ("cache_refreshed_at", "cache_expires_at"):
        assert provenance[instant] is None or parse_instant(provenance[instant])
    assert provenance["cache_ttl_minutes"] is None or isinstance(
        provenance["cache_ttl_minutes"], int
    )
    assert isinstance(provenance["notes"], list) and provenance["notes"]
    assert all(isinstance(note, str) for note in provenance["notes"])
    assert provenance["unsupported_reason"] in {None, "metric_not_registered"}

    bands = entry["percentile_bands"]
    assert bands is None or (set(bands) == {"p50", "p90"})
    forecast = entry["forecast"]
    if forecast is not None:
        assert set(forecast) == {"generated_at", "horizon_hours", "skus"}
        parse_instant(forecast["generated_at"])
        assert forecast["horizon_hours"] == 36
        for sku in forecast["skus"]:
            assert set(sku) == FORECAST_SKU_FIELDS
            assert all(set(window) == WINDOW_FIELDS for window in sku["windows"])
