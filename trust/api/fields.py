"""
Serializer fields for the API's strict input and its documented output.

Input fields accept only the JSON type they declare: DRF's own fields turn
`"60"` and `60.0` into 60 and `12` into `"12"`, which lets a storefront's
bug pass unseen. Output fields for the free-form JSON a metric carries pass
the value through and describe its shape in the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fulfillment.metrics import catalog


class StrictCharField(serializers.CharField):
    """A JSON string, nothing else."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# DRF refuses NUL characters in every string; the schema says so.
@extend_schema_field({"type": "string", "pattern": "^[^\\u0000]*$"})
class MetricIdField(StrictCharField):
    """Any metric id: one outside the catalog is answered as unsupported, not refused."""


@extend_schema_field({"type": "string", "enum": catalog.registered_ids()})
class CatalogMetricIdField(StrictCharField):
    """
    A catalog metric id. Checked against the catalog by the service, so that
    an unknown id is refused with the service's message naming the valid ids.
    """


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: no booleans, fractions or numeric strings."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data


NULLABLE_NUMBER = {"type": "number", "format": "double", "nullable": True}
PERCENTILE_BANDS = {
    "type": "object",
    "properties": {"p50": NULLABLE_NUMBER, "p90": NULLABLE_NUMBER},
    "required": ["p50", "p90"],
}
FORECAST_WINDOW = {
    "type": "object",
    "description": "One staffing shift of the roster, draining the SKU's backlog.",
    "properties": {
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "hourly_capacity": {"type": "number", "format": "double"},
        "capacity_tasks": {"type": "integer"},
        "backlog_at_start": {"type": "integer"},
        "projected_tasks_completed": {"type": "integer"},
        "backlog_after": {"type": "integer"},
    },
    "required": [
        "start",
        "end",
        "hourly_capacity",
        "capacity_tasks",
        "backlog_at_start",
        "projected_tasks_completed",
        "backlog_after",
    ],
}
SKU_FORECAST = {
    "type": "object",
    "properties": {
        "sku": {"type": "string"},
        "backlog_tasks": {"type": "integer"},
        "completed_sample_size": {"type": "integer"},
        "average_minutes": NULLABLE_NUMBER,
        "percentile_bands": PERCENTILE_BANDS,
        "windows": {"type": "array", "items": FORECAST_WINDOW},
        "estimated_clear_minutes": NULLABLE_NUMBER,
        "unsupported_reason": {
            "type": "string",
            "enum": ["no_staffing_capacity", "insufficient_history"],
            "nullable": True,
        },
    },
    "required": [
        "sku",
        "backlog_tasks",
        "completed_sample_size",
        "average_minutes",
        "percentile_bands",
        "windows",
        "estimated_clear_minutes",
        "unsupported_reason",
    ],
}


@extend_schema_field(
    {
        "type": "object",
        "description": (
            "What the computation observed. Always has `source` (`unknown` for an "
            "unsupported metric); the other keys depend on the metric (for example "
            "`on_time_tasks`, `overdue_task_count`, `sku_breakdown`)."
        ),
        "properties": {"source": {"type": "string"}},
        "required": ["source"],
        "additionalProperties": True,
    }
)
class MetadataField(serializers.JSONField):
    pass


@extend_schema_field(
    {
        **PERCENTILE_BANDS,
        "nullable": True,
        "description": "The delivery forecast's overall p50 and p90 minutes; null otherwise.",
    }
)
class PercentileBandsField(serializers.JSONField):
    pass


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "description": "The delivery forecast per SKU; null for every other metric.",
        "properties": {
            "generated_at": {"type": "string", "format": "date-time"},
            "horizon_hours": {"type": "integer"},
            "skus": {"type": "array", "items": SKU_FORECAST},
        },
        "required": ["generated_at", "horizon_hours", "skus"],
    }
)
class ForecastField(serializers.JSONField):
    pass
