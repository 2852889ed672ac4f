"""The values the metrics package passes around: snapshots and resolved metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class VerificationState:
    FRESH = "fresh"
    STALE = "stale"
    MISSING = "missing"
    UNSUPPORTED = "unsupported"

    ALL = (FRESH, STALE, MISSING, UNSUPPORTED)


class CacheLayer:
    MEMORY = "memory"
    PERSISTENT = "persistent"
    COMPUTED = "computed"
    NONE = "none"


METRIC_NOT_REGISTERED = "metric_not_registered"


@dataclass(frozen=True, slots=True)
class Figure:
    """What a computation measures, before it is stamped with its metric and time."""

    value: float | None
    formatted_value: str
    sample_size: int
    metadata: dict[str, Any] = field(default_factory=dict)
    forecast: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class MetricSnapshot:
    """One computation of one metric, as both cache tiers keep it."""

    metric_id: str
    value: float | None
    formatted_value: str
    sample_size: int
    computed_at: datetime
    expires_at: datetime
    metadata: dict[str, Any]
    forecast: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class MetricRequest:
    metric_id: str
    freshness_window_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class Provenance:
    source: str
    cache_layer: str
    cache_refreshed_at: datetime | None
    cache_expires_at: datetime | None
    cache_ttl_minutes: int | None
    notes: list[str]
    unsupported_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ResolvedMetric:
    """A metric as a storefront sees it: the figure, its state and where it came from."""

    metric_id: str
    value: float | None
    formatted_value: str | None
    computed_at: datetime | None
    sample_size: int
    freshness_window_minutes: int | None
    verification_state: str
    metadata: dict[str, Any]
    provenance: Provenance
    forecast: dict[str, Any] | None
    resolved_at: datetime

    @property
    def is_supported(self) -> bool:
        return self.verification_state != VerificationState.UNSUPPORTED

    @property
    def has_figure(self) -> bool:
        """True when a storefront may show the figure: it exists and has samples."""
        return self.verification_state in (VerificationState.FRESH, VerificationState.STALE)

    @property
    def percentile_bands(self) -> dict[str, float | None] | None:
        return self.metadata.get("overall_percentile_bands")

    @property
    def alerts(self) -> list[str]:
        return list(self.metadata.get("forecast_alerts", []))

    @property
    def fallback_copy(self) -> str | None:
        return self.metadata.get("fallback_copy")

    @property
    def freshness_minutes_elapsed(self) -> float | None:
        if self.computed_at is None:
            return None
        return round((self.resolved_at - self.computed_at).total_seconds() / 60, 2)

    @property
    def unsupported_guard(self) -> str | None:
        """
        Why a storefront should hold the figure back: the metric is unknown, or
        the forecast could not be made for every SKU (or for any).
        """
        if self.provenance.unsupported_reason:
            return self.provenance.unsupported_reason
        if not self.forecast:
            return None
        reasons = [sku.get("unsupported_reason") for sku in self.forecast.get("skus", [])]
        if reasons and all(reasons):
            return "all_skus_unsupported"
        if any(reasons):
            return "partial_sku_support"
        return None
