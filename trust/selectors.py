"""
Reads of experiences, and the *enriched* experience: the content as saved,
with every bound card carrying its resolved metric. The API, the storefront
fragment and the preview page all render from `enrich_experience`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cachalot.api import get_last_invalidation
from cachalot.settings import cachalot_settings
from django.conf import settings
from django.db.models import QuerySet

from fulfillment.metrics import catalog
from fulfillment.metrics.service import resolve_metrics
from fulfillment.metrics.snapshots import MetricRequest, ResolvedMetric, VerificationState
from trust.models import (
    AssurancePoint,
    BundleOffer,
    DeliveryTimeline,
    MetricBinding,
    PerformanceSnapshot,
    SupportChannel,
    Testimonial,
    TrustExperience,
)

SECTIONS = {
    "assurances": ("title", "description", "evidence"),
    "performance_snapshots": ("label", "caption", "fallback_value"),
    "support_channels": ("channel", "label", "target", "availability"),
    "testimonials": ("quote", "author", "role", "segment"),
    "bundle_offers": ("slug", "title", "description", "savings"),
}
BOUND_SECTIONS = ("assurances", "performance_snapshots")
TIMELINE_FIELDS = (
    "headline",
    "narrative",
    "fallback_min_minutes",
    "fallback_average_minutes",
    "fallback_max_minutes",
    "fallback_confidence",
)


class Confidence:
    """How far a delivery timeline's figures can be trusted."""

    LIVE = "live"
    STALE = "stale"
    FALLBACK = "fallback"


def experiences_for_environment(environment: str | None = None) -> QuerySet[TrustExperience]:
    """Return the experiences this deployment serves (`TRUST_ENVIRONMENT` by default)."""
    return TrustExperience.objects.filter(environment=environment or settings.TRUST_ENVIRONMENT)


def experience_with_sections(slug: str, environment: str | None = None) -> TrustExperience:
    """
    Return the experience `slug` of this deployment with every section loaded.

    The loaded experience is kept in this process until django-cachalot
    records a write to any experience table (through any worker), so a warm
    read costs one look-up of cachalot's invalidation stamps instead of one
    cached query per section. Raises `TrustExperience.DoesNotExist` when
    there is none.
    """
    environment = environment or settings.TRUST_ENVIRONMENT
    stamp = _content_stamp()
    memo_key = (environment, slug)
    remembered = _loaded_experiences.get(memo_key)
    if remembered is not None and stamp and remembered[0] == stamp:
        return remembered[1]

    experience = (
        experiences_for_environment(environment)
        .select_related("delivery_timeline")
        .prefetch_related(*SECTIONS)
        .get(slug=slug)
    )
    # Keyed by the stamp read *before* loading: a write landing meanwhile
    # moves the stamp, so the next read loads again. Without a stamp (the
    # shared cache was emptied) nothing is remembered.
    if stamp:
        _loaded_experiences[memo_key] = (stamp, experience)
    return experience


CONTENT_MODELS = (
    TrustExperience,
    AssurancePoint,
    PerformanceSnapshot,
    SupportChannel,
    Testimonial,
    BundleOffer,
    DeliveryTimeline,
)
_loaded_experiences: dict[tuple[str, str], tuple[float, TrustExperience]] = {}


def forget_loaded_experiences() -> None:
    """Drop every experience this process keeps (tests call it between cases)."""
    _loaded_experiences.clear()


def _content_stamp() -> float:
    """The time of cachalot's latest invalidation of any experience table, 0.0 if unknown."""
    if not cachalot_settings.CACHALOT_ENABLED:
        return 0.0
    return get_last_invalidation(*CONTENT_MODELS)


def metric_payload(resolved: ResolvedMetric) -> dict[str, Any]:
    """Return every field of the resolve contract for one resolved metric."""
    provenance = resolved.provenance
    return {
        "metric_id": resolved.metric_id,
        "value": resolved.value,
        "formatted_value": resolved.formatted_value,
        "computed_at": resolved.computed_at,
        "sample_size": resolved.sample_size,
        "freshness_window_minutes": resolved.freshness_window_minutes,
        "verification_state": resolved.verification_state,
        "metadata": resolved.metadata,
        "provenance": {
            "source": provenance.source,
            "cache_layer": provenance.cache_layer,
            "cache_refreshed_at": provenance.cache_refreshed_at,
            "cache_expires_at": provenance.cache_expires_at,
            "cache_ttl_minutes": provenance.cache_ttl_minutes,
            "notes": provenance.notes,
            "unsupported_reason": provenance.unsupported_reason,
        },
        "percentile_bands": resolved.percentile_bands,
        "freshness_minutes_elapsed": resolved.freshness_minutes_elapsed,
        "unsupported_guard": resolved.unsupported_guard,
        "forecast": resolved.forecast,
        "alerts": resolved.alerts,
        "fallback_copy": resolved.fallback_copy,
    }


def enrich_experience(
    experience: TrustExperience, *, now: datetime | None = None, with_metrics: bool = True
) -> dict[str, Any]:
    """
    Return the experience as a storefront renders it: content in position
    order, each bound card with its resolved metric, performance snapshots
    with the value to show, and the delivery timeline's resolved figures.

    All bindings are resolved in one call, so a metric bound twice is read
    once. Raises `MetricUnavailableError` when a metric can be neither read
    nor computed. With `with_metrics=False` nothing is resolved: every card
    has a null `metric` and shows its fallback, for pages that must still
    render while metrics are unavailable.
    """
    timeline = _timeline_of(experience)
    cards = [card for name in BOUND_SECTIONS for card in getattr(experience, name).all()]
    resolved = (
        _resolve_bindings([*cards, *([timeline] if timeline else [])], now=now)
        if with_metrics
        else {}
    )

    payload: dict[str, Any] = {
        "slug": experience.slug,
        "name": experience.name,
        "environment": experience.environment,
        "guarantee_headline": experience.guarantee_headline,
        "guarantee_description": experience.guarantee_description,
        "updated_at": experience.updated_at,
    }
    for name, fields in SECTIONS.items():
        entries = []
        for entry in getattr(experience, name).all():
            item = {"key": entry.key, **{field: getattr(entry, field) for field in fields}}
            if name in BOUND_SECTIONS:
                item["metric"] = _bound_metric(entry, resolved)
            entries.append(item)
        payload[name] = entries
    for snapshot in payload["performance_snapshots"]:
        snapshot["value"] = _shown_value(snapshot["metric"], snapshot["fallback_value"])
    payload["delivery_timeline"] = _timeline_payload(timeline, resolved) if timeline else None
    return payload


def _timeline_of(experience: TrustExperience) -> DeliveryTimeline | None:
    try:
        return experience.delivery_timeline
    except DeliveryTimeline.DoesNotExist:
        return None


def _binding_key(card: MetricBinding) -> tuple[str, int | None]:
    return card.metric_id, card.freshness_window_minutes


def _resolve_bindings(
    cards: Iterable[MetricBinding], *, now: datetime | None
) -> dict[tuple[str, int | None], ResolvedMetric]:
    keys = list(dict.fromkeys(_binding_key(card) for card in cards if card.is_bound))
    if not keys:
        return {}
    requests = [MetricRequest(metric_id, window) for metric_id, window in keys]
    return dict(zip(keys, resolve_metrics(requests, now=now), strict=True))


def _bound_metric(
    card: MetricBinding, resolved: dict[tuple[str, int | None], ResolvedMetric]
) -> dict[str, Any] | None:
    if not card.is_bound or _binding_key(card) not in resolved:
        return None
    definition = catalog.get_definition(card.metric_id)
    source = card.metric_source or (definition.binding_source if definition else "")
    return {
        "metric_source": source,
        "preview_state": card.preview_state,
        "provenance_note": card.provenance_note,
        **metric_payload(resolved[_binding_key(card)]),
    }


def _has_figure(metric: dict[str, Any] | None) -> bool:
    return bool(metric) and metric["verification_state"] in (
        VerificationState.FRESH,
        VerificationState.STALE,
    )


def _shown_value(metric: dict[str, Any] | None, fallback: str) -> str:
    """The metric's formatted value when it has a figure, else the operator's fallback."""
    if _has_figure(metric) and metric["formatted_value"]:
        return metric["formatted_value"]
    return fallback


def _timeline_payload(
    timeline: DeliveryTimeline, resolved: dict[tuple[str, int | None], ResolvedMetric]
) -> dict[str, Any]:
    metric = _bound_metric(timeline, resolved)
    payload = {field: getattr(timeline, field) for field in TIMELINE_FIELDS}
    payload["metric"] = metric
    payload["resolved"] = resolve_timeline(timeline, metric)
    return payload


def resolve_timeline(timeline: DeliveryTimeline, metric: dict[str, Any] | None) -> dict[str, Any]:
    """Return the minimum, average and maximum minutes a shopper sees, and their confidence."""
    fallback = {
        "min_minutes": timeline.fallback_min_minutes,
        "average_minutes": timeline.fallback_average_minutes,
        "max_minutes": timeline.fallback_max_minutes,
        "confidence": Confidence.FALLBACK,
        "alerts": metric["alerts"] if metric else [],
        "fallback_copy": metric["fallback_copy"] if metric else None,
    }
    if not _has_figure(metric):
        return fallback

    bands = metric["percentile_bands"] or {}
    estimates = [
        sku["estimated_clear_minutes"]
        for sku in (metric["forecast"] or {}).get("skus", [])
        if sku.get("estimated_clear_minutes") is not None
    ]
    live_max = metric["value"] if metric["value"] is not None else bands.get("p90")
    return {
        **fallback,
        "min_minutes": min(estimates) if estimates else timeline.fallback_min_minutes,
        "average_minutes": _first_given(bands.get("p50"), timeline.fallback_average_minutes),
        "max_minutes": _first_given(live_max, timeline.fallback_max_minutes),
        "confidence": (
            Confidence.LIVE
            if metric["verification_state"] == VerificationState.FRESH
            else Confidence.STALE
        ),
    }


def _first_given(*candidates: float | None) -> float | None:
    return next((candidate for candidate in candidates if candidate is not None), None)
