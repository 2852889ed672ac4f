"""
The JSON the API sends, built straight from the selectors' payloads.

The output serializers in `trust.api.serializers` describe these shapes for
the OpenAPI schema; running every response through them cost more CPU than
the rest of a warm request together (nested serializers deep-copy their
fields for every object). This module does the only conversions they did:
timestamps as ISO 8601 in UTC with `Z`, and the timeline's minutes as floats.
`tests/trust/api` checks the result against the schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from trust.selectors import BOUND_SECTIONS


def timestamp(value: datetime | None) -> str | None:
    """Format like DRF's DateTimeField: ISO 8601 in UTC, `Z` for the offset."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def metric(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    if payload is None:
        return None
    provenance = payload["provenance"]
    return {
        **payload,
        "computed_at": timestamp(payload["computed_at"]),
        "provenance": {
            **provenance,
            "cache_refreshed_at": timestamp(provenance["cache_refreshed_at"]),
            "cache_expires_at": timestamp(provenance["cache_expires_at"]),
        },
    }


def _minutes(value: float | None) -> float | None:
    return None if value is None else float(value)


def experience(payload: dict[str, Any]) -> dict[str, Any]:
    wired = {**payload, "updated_at": timestamp(payload["updated_at"])}
    for section in BOUND_SECTIONS:
        entries = payload[section]
        wired[section] = [{**entry, "metric": metric(entry["metric"])} for entry in entries]
    timeline = payload["delivery_timeline"]
    if timeline is not None:
        resolved = timeline["resolved"]
        wired["delivery_timeline"] = {
            **timeline,
            "metric": metric(timeline["metric"]),
            "resolved": {
                **resolved,
                "min_minutes": _minutes(resolved["min_minutes"]),
                "average_minutes": _minutes(resolved["average_minutes"]),
                "max_minutes": _minutes(resolved["max_minutes"]),
            },
        }
    return wired
