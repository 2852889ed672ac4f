"""
The metric catalog: the one place that lists every metric a card may bind to.

Adding a metric is one entry in `CATALOG`; admin choices, validation, the API
and the cache all read from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fulfillment.metrics import computations
from fulfillment.metrics.snapshots import Figure


class MetricSource:
    """Source labels reported in a resolved metric's metadata and provenance."""

    FULFILLMENT = "fulfillment"
    SUPPORT = "support"


class BindingSource:
    """Where an operator says a bound card's figure comes from (`metric_source`)."""

    FULFILLMENT = "fulfillment"
    OPERATOR_STAFFING = "operator_staffing"
    SUPPORT_ANALYTICS = "support_analytics"

    CHOICES = [
        (FULFILLMENT, "Fulfillment"),
        (OPERATOR_STAFFING, "Operator staffing"),
        (SUPPORT_ANALYTICS, "Support analytics"),
    ]


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    metric_id: str
    label: str
    source: str
    binding_source: str
    default_freshness_minutes: int
    compute: Callable[..., Figure]

    @property
    def persistent_ttl_minutes(self) -> int:
        """How long the persistent tier keeps a snapshot: the window, at least 15 minutes."""
        return max(self.default_freshness_minutes, MIN_PERSISTENT_TTL_MINUTES)

    def run(self, *, now: datetime) -> Figure:
        """Compute the figure as of `now`, in one transaction tuned for aggregates."""
        with computations.aggregate_session():
            return self.compute(now=now)


MIN_FRESHNESS_WINDOW_MINUTES = 5
MAX_FRESHNESS_WINDOW_MINUTES = 20160  # two weeks
MIN_PERSISTENT_TTL_MINUTES = 15


CATALOG: dict[str, MetricDefinition] = {
    definition.metric_id: definition
    for definition in (
        MetricDefinition(
            metric_id="fulfillment_sla_on_time_pct",
            label="Work completed on schedule",
            source=MetricSource.FULFILLMENT,
            binding_source=BindingSource.FULFILLMENT,
            default_freshness_minutes=1440,
            compute=computations.compute_on_time,
        ),
        MetricDefinition(
            metric_id="first_response_minutes",
            label="Minutes to first response",
            source=MetricSource.SUPPORT,
            binding_source=BindingSource.SUPPORT_ANALYTICS,
            default_freshness_minutes=360,
            compute=computations.compute_first_response,
        ),
        MetricDefinition(
            metric_id="nps_trailing_30d",
            label="Net promoter score, trailing 30 days",
            source=MetricSource.FULFILLMENT,
            binding_source=BindingSource.FULFILLMENT,
            default_freshness_minutes=1440,
            compute=computations.compute_nps,
        ),
        MetricDefinition(
            metric_id="fulfillment_backlog_minutes",
            label="Overdue backlog",
            source=MetricSource.FULFILLMENT,
            binding_source=BindingSource.FULFILLMENT,
            default_freshness_minutes=120,
            compute=computations.compute_backlog,
        ),
        MetricDefinition(
            metric_id="fulfillment_staffing_coverage_pct",
            label="Staffing coverage, last 24 hours",
            source=MetricSource.FULFILLMENT,
            binding_source=BindingSource.OPERATOR_STAFFING,
            default_freshness_minutes=180,
            compute=computations.compute_staffing_coverage,
        ),
        MetricDefinition(
            metric_id="fulfillment_delivery_sla_forecast",
            label="Delivery forecast",
            source=MetricSource.FULFILLMENT,
            binding_source=BindingSource.OPERATOR_STAFFING,
            default_freshness_minutes=60,
            compute=computations.compute_delivery_forecast,
        ),
    )
}


def get_definition(metric_id: str) -> MetricDefinition | None:
    """Return the catalog entry for `metric_id`, or None when it is not registered."""
    return CATALOG.get(metric_id)


def is_registered(metric_id: str) -> bool:
    return metric_id in CATALOG


def registered_ids() -> list[str]:
    """Return every registered metric id, sorted, for messages that list the valid ids."""
    return sorted(CATALOG)


def metric_choices() -> list[tuple[str, str]]:
    """Return (id, label) pairs for model and form choices, in catalog order."""
    return [(metric_id, f"{d.label} ({metric_id})") for metric_id, d in CATALOG.items()]
