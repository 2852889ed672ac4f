"""
Resolve and purge metrics: the one entry point the API, the preview pages and
the management commands use.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from fulfillment.metrics import cache, catalog
from fulfillment.metrics.catalog import MetricDefinition
from fulfillment.metrics.locks import computation_slot
from fulfillment.metrics.snapshots import (
    METRIC_NOT_REGISTERED,
    CacheLayer,
    MetricRequest,
    MetricSnapshot,
    Provenance,
    ResolvedMetric,
    VerificationState,
)

logger = logging.getLogger(__name__)

# Replaceable in tests, like DRF's throttle timer.
clock = timezone.now
sleep = time.sleep

POLL_SECONDS = 0.05

LAYER_NOTES = {
    CacheLayer.MEMORY: "Served from this worker's memory tier.",
    CacheLayer.PERSISTENT: "Served from the persistent cache table fulfillment_metric_cache.",
    CacheLayer.COMPUTED: "Computed from the fulfillment tables for this request.",
}


class MetricsError(Exception):
    """Base of the metrics package's errors."""


class UnknownMetricError(MetricsError, ValueError):
    def __init__(self, metric_id: str) -> None:
        self.metric_id = metric_id
        self.valid_ids = catalog.registered_ids()
        super().__init__(
            f"“{metric_id}” is not a registered metric. "
            f"Valid metric ids: {', '.join(self.valid_ids)}."
        )


class MetricUnavailableError(MetricsError):
    """A metric can be neither read from a tier nor computed right now."""

    def __init__(self, metric_id: str, reason: str) -> None:
        self.metric_id = metric_id
        self.reason = reason
        super().__init__(f"Metric “{metric_id}” is unavailable right now: {reason}.")


class QueryCounter:
    """Count the SELECTs a computation makes (a `connection.execute_wrapper`)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip()[:6].upper() == "SELECT":
            self.count += 1
        return execute(sql, params, many, context)


@dataclass(frozen=True, slots=True)
class WarmResult:
    metric_id: str
    snapshot: MetricSnapshot | None
    error: str | None = None


# Resolve --------------------------------------------------------------------


def resolve_metrics(
    requests: Sequence[MetricRequest], *, now: datetime | None = None
) -> list[ResolvedMetric]:
    """
    Resolve each requested metric, in request order.

    A registered metric comes from this process's memory tier, else from an
    unexpired persistent row, else it is computed once (single flight) and
    written to both tiers; its state is `missing` without a value or samples,
    `fresh` within the requested window (or the metric's default), else
    `stale`. An unknown id is answered as `unsupported`, logged once per call
    and never cached. Raises `MetricUnavailableError` when a metric can be
    neither read nor computed (for example with the database down).
    """
    now = now or clock()
    unknown = sorted({r.metric_id for r in requests if not catalog.is_registered(r.metric_id)})
    if unknown:
        logger.warning(
            "unsupported metric ids requested unknown_ids=%s count=%d", unknown, len(unknown)
        )
    if len(unknown) < len(requests):
        cache.purge_tracker.sync()

    resolved = []
    for request in requests:
        definition = catalog.get_definition(request.metric_id)
        if definition is None:
            resolved.append(_unsupported(request, now=now))
            continue
        snapshot, layer = _snapshot_for(definition, now=now)
        resolved.append(_resolved(definition, snapshot, layer, request=request, now=now))
    return resolved


def resolve_metric(
    metric_id: str, *, freshness_window_minutes: int | None = None, now: datetime | None = None
) -> ResolvedMetric:
    """Resolve one metric; see `resolve_metrics`."""
    request = MetricRequest(metric_id, freshness_window_minutes)
    return resolve_metrics([request], now=now)[0]


def verification_state(snapshot: MetricSnapshot, *, window_minutes: int, now: datetime) -> str:
    if snapshot.value is None or snapshot.sample_size == 0:
        return VerificationState.MISSING
    if now <= snapshot.computed_at + timedelta(minutes=window_minutes):
        return VerificationState.FRESH
    return VerificationState.STALE


def _snapshot_for(definition: MetricDefinition, *, now: datetime) -> tuple[MetricSnapshot, str]:
    metric_id = definition.metric_id
    snapshot = cache.read_memory(metric_id)
    if snapshot is not None:
        return snapshot, CacheLayer.MEMORY

    try:
        snapshot = cache.read_persistent(metric_id, now=now)
        if snapshot is None:
            return _compute_once(definition, now=now)
    except DatabaseError as error:
        logger.exception("metric tier unreadable metric_id=%s", metric_id)
        raise MetricUnavailableError(metric_id, "the database is unreachable") from error
    cache.write_memory(snapshot, now=now)
    logger.info(
        "metric memory miss metric_id=%s layer=persistent age_seconds=%d",
        metric_id,
        (now - snapshot.computed_at).total_seconds(),
    )
    return snapshot, CacheLayer.PERSISTENT


def _compute_once(definition: MetricDefinition, *, now: datetime) -> tuple[MetricSnapshot, str]:
    """
    Compute a missed metric in one process only.

    Computing the same metric in every worker at once would put N times the
    aggregate load on the database exactly when it is cold; the others wait
    for the winner's row instead, and after the wait are served the newest
    row there is, labelled with its true state.
    """
    metric_id = definition.metric_id
    deadline = time.monotonic() + settings.TRUST_METRICS_SINGLE_FLIGHT_WAIT_SECONDS
    while True:
        with computation_slot(metric_id, wait_seconds=POLL_SECONDS) as holds_slot:
            if holds_slot:
                snapshot = cache.read_persistent(metric_id, now=now)
                if snapshot is not None:
                    cache.write_memory(snapshot, now=now)
                    return snapshot, CacheLayer.PERSISTENT
                return _compute_and_store(definition, now=now), CacheLayer.COMPUTED

        snapshot = cache.read_persistent(metric_id, now=now)
        if snapshot is not None:
            cache.write_memory(snapshot, now=now)
            return snapshot, CacheLayer.PERSISTENT
        if time.monotonic() >= deadline:
            newest = cache.read_newest_persistent(metric_id)
            if newest is not None:
                logger.warning(
                    "single flight wait ran out; serving newest row metric_id=%s computed_at=%s",
                    metric_id,
                    newest.computed_at.isoformat(),
                )
                return newest, CacheLayer.PERSISTENT
            raise MetricUnavailableError(metric_id, "another worker is still computing it")
        sleep(POLL_SECONDS)


def _compute_and_store(definition: MetricDefinition, *, now: datetime) -> MetricSnapshot:
    """Compute `definition` and store it; call inside the computation slot's transaction."""
    metric_id = definition.metric_id
    token = cache.generation_token(cache.read_generations(), metric_id)
    expired = cache.delete_expired(metric_id, now=now)

    started = time.perf_counter()
    queries = QueryCounter()
    try:
        with connection.execute_wrapper(queries):
            figure = definition.run(now=now)
    except Exception as error:
        logger.exception("metric computation failed metric_id=%s", metric_id)
        raise MetricUnavailableError(metric_id, "its computation failed") from error
    duration_ms = (time.perf_counter() - started) * 1000

    snapshot = MetricSnapshot(
        metric_id=metric_id,
        value=figure.value,
        formatted_value=figure.formatted_value,
        sample_size=figure.sample_size,
        computed_at=now,
        expires_at=now + timedelta(minutes=definition.persistent_ttl_minutes),
        metadata={"source": definition.source, **figure.metadata},
        forecast=figure.forecast,
    )
    # A purge that landed while we computed may have been for a backfill our
    # queries only half saw: answer this request, but cache nothing.
    stored = cache.generation_token(cache.lock_generations(), metric_id) == token
    if stored:
        cache.write_persistent(snapshot)
        cache.write_memory(snapshot, now=now)
    logger.info(
        "metric computed metric_id=%s duration_ms=%.1f queries=%d value=%s sample_size=%d "
        "layer=computed stored=%s expired_rows_deleted=%d",
        metric_id,
        duration_ms,
        queries.count,
        snapshot.value,
        snapshot.sample_size,
        stored,
        expired,
    )
    return snapshot


def _resolved(
    definition: MetricDefinition,
    snapshot: MetricSnapshot,
    layer: str,
    *,
    request: MetricRequest,
    now: datetime,
) -> ResolvedMetric:
    window = request.freshness_window_minutes or definition.default_freshness_minutes
    return ResolvedMetric(
        metric_id=definition.metric_id,
        value=snapshot.value,
        formatted_value=snapshot.formatted_value or None,
        computed_at=snapshot.computed_at,
        sample_size=snapshot.sample_size,
        freshness_window_minutes=window,
        verification_state=verification_state(snapshot, window_minutes=window, now=now),
        metadata=snapshot.metadata,
        provenance=Provenance(
            source=definition.source,
            cache_layer=layer,
            cache_refreshed_at=snapshot.computed_at,
            cache_expires_at=snapshot.expires_at,
            cache_ttl_minutes=definition.persistent_ttl_minutes,
            notes=[LAYER_NOTES[layer]],
        ),
        forecast=snapshot.forecast,
        resolved_at=now,
    )


def _unsupported(request: MetricRequest, *, now: datetime) -> ResolvedMetric:
    return ResolvedMetric(
        metric_id=request.metric_id,
        value=None,
        formatted_value=None,
        computed_at=None,
        sample_size=0,
        freshness_window_minutes=request.freshness_window_minutes,
        verification_state=VerificationState.UNSUPPORTED,
        metadata={"source": "unknown"},
        provenance=Provenance(
            source="unknown",
            cache_layer=CacheLayer.NONE,
            cache_refreshed_at=None,
            cache_expires_at=None,
            cache_ttl_minutes=None,
            notes=[
                "This metric is not registered in the catalog, so nothing was computed or cached."
            ],
            unsupported_reason=METRIC_NOT_REGISTERED,
        ),
        forecast=None,
        resolved_at=now,
    )


# Purge and warm -------------------------------------------------------------


def purge_metrics(*, metric_id: str | None = None, actor: str = "system") -> list[str]:
    """
    Clear one metric (or all) from both tiers, in every worker within 2 s.

    Returns `[metric_id]`, or without one the sorted ids that were cached in
    either tier. Raises `UnknownMetricError` for an id outside the catalog.
    """
    if metric_id is not None and not catalog.is_registered(metric_id):
        raise UnknownMetricError(metric_id)
    now = clock()
    if metric_id is not None:
        purged = [metric_id]
        with transaction.atomic():
            cache.advance_generation(metric_id=metric_id, now=now)
            rows = cache.delete_persistent([metric_id])
        cache.forget_memory(purged)
    else:
        in_memory = cache.memory_ids(catalog.CATALOG)
        with transaction.atomic():
            cache.advance_generation(metric_id=None, now=now)
            purged = sorted(cache.persistent_ids() | in_memory)
            rows = cache.delete_persistent()
        cache.clear_memory()
    cache.purge_tracker.expire()
    logger.info(
        "metrics purged purged_ids=%s persistent_rows_deleted=%d actor=%s scope=%s",
        purged,
        rows,
        actor,
        metric_id or "all",
    )
    return purged


def warm_metrics(*, now: datetime | None = None) -> list[WarmResult]:
    """Compute every catalog metric afresh and store it in both tiers."""
    now = now or clock()
    cache.purge_tracker.sync()
    results = []
    for definition in catalog.CATALOG.values():
        try:
            results.append(WarmResult(definition.metric_id, _refresh(definition, now=now)))
        except MetricsError as error:
            results.append(WarmResult(definition.metric_id, None, str(error)))
    return results


def _refresh(definition: MetricDefinition, *, now: datetime) -> MetricSnapshot:
    wait = settings.TRUST_METRICS_SINGLE_FLIGHT_WAIT_SECONDS
    deadline = time.monotonic() + wait
    while True:
        try:
            with computation_slot(definition.metric_id, wait_seconds=POLL_SECONDS) as holds:
                if holds:
                    return _compute_and_store(definition, now=now)
        except DatabaseError as error:
            logger.exception("metric refresh failed metric_id=%s", definition.metric_id)
            raise MetricUnavailableError(definition.metric_id, "the database failed") from error
        if time.monotonic() >= deadline:
            raise MetricUnavailableError(
                definition.metric_id, "another worker held it for the whole wait"
            )
        sleep(POLL_SECONDS)
