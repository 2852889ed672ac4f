"""
The two tiers of the metric cache.

- memory: a local-memory Django cache alias, one per process, holding
  snapshots for `TRUST_METRICS_MEMORY_TTL_SECONDS` (never past their
  persistent expiry);
- persistent: `MetricCacheEntry` rows shared by every worker.

A purge moves the purge generation kept in the database; each process checks it
at most once a second (`PurgeGenerationTracker`) and empties its memory tier
when it has moved.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.db import DatabaseError
from django.db.models import F

from fulfillment.metrics.snapshots import MetricSnapshot
from fulfillment.models import MetricCacheEntry, MetricPurgeGeneration

logger = logging.getLogger(__name__)

KEY_VERSION = 1


def memory_key(metric_id: str) -> str:
    return f"trust-metrics:v{KEY_VERSION}:snapshot:{metric_id}"


def memory_cache() -> BaseCache:
    return caches[settings.TRUST_METRICS_MEMORY_CACHE_ALIAS]


# Memory tier ----------------------------------------------------------------


def read_memory(metric_id: str) -> MetricSnapshot | None:
    return memory_cache().get(memory_key(metric_id))


def write_memory(snapshot: MetricSnapshot, *, now: datetime) -> None:
    """Keep `snapshot` in this process's memory, never past its persistent expiry."""
    timeout = min(
        settings.TRUST_METRICS_MEMORY_TTL_SECONDS,
        (snapshot.expires_at - now).total_seconds(),
    )
    if timeout > 0:
        memory_cache().set(memory_key(snapshot.metric_id), snapshot, timeout=timeout)


def memory_ids(metric_ids: Iterable[str]) -> set[str]:
    """Return which of `metric_ids` this process's memory tier holds."""
    keys = {memory_key(metric_id): metric_id for metric_id in metric_ids}
    return {keys[key] for key in memory_cache().get_many(list(keys))}


def forget_memory(metric_ids: Iterable[str]) -> None:
    memory_cache().delete_many([memory_key(metric_id) for metric_id in metric_ids])


def clear_memory() -> None:
    memory_cache().clear()


# Persistent tier ------------------------------------------------------------


def snapshot_from_entry(entry: MetricCacheEntry) -> MetricSnapshot:
    return MetricSnapshot(
        metric_id=entry.metric_id,
        value=entry.value,
        formatted_value=entry.formatted_value,
        sample_size=entry.sample_size,
        computed_at=entry.computed_at,
        expires_at=entry.expires_at,
        metadata=entry.metadata_json,
        forecast=entry.forecast_json,
    )


def read_persistent(metric_id: str, *, now: datetime) -> MetricSnapshot | None:
    """Return the unexpired persistent snapshot of `metric_id`, if there is one."""
    entry = MetricCacheEntry.objects.filter(metric_id=metric_id, expires_at__gt=now).first()
    return snapshot_from_entry(entry) if entry else None


def read_newest_persistent(metric_id: str) -> MetricSnapshot | None:
    """Return the persistent snapshot of `metric_id` even when it has expired."""
    entry = MetricCacheEntry.objects.filter(metric_id=metric_id).first()
    return snapshot_from_entry(entry) if entry else None


def delete_expired(metric_id: str, *, now: datetime) -> int:
    deleted, _ = MetricCacheEntry.objects.filter(metric_id=metric_id, expires_at__lte=now).delete()
    return deleted


def write_persistent(snapshot: MetricSnapshot) -> None:
    """Upsert the snapshot's row whole, in one statement."""
    MetricCacheEntry.objects.bulk_create(
        [
            MetricCacheEntry(
                metric_id=snapshot.metric_id,
                value=snapshot.value,
                formatted_value=snapshot.formatted_value,
                sample_size=snapshot.sample_size,
                computed_at=snapshot.computed_at,
                expires_at=snapshot.expires_at,
                metadata_json=snapshot.metadata,
                forecast_json=snapshot.forecast,
            )
        ],
        update_conflicts=True,
        unique_fields=["metric_id"],
        update_fields=[
            "value",
            "formatted_value",
            "sample_size",
            "computed_at",
            "expires_at",
            "metadata_json",
            "forecast_json",
        ],
    )


def delete_persistent(metric_ids: Iterable[str] | None = None) -> int:
    """Delete the rows of `metric_ids`, or every row when None."""
    entries = MetricCacheEntry.objects.all()
    if metric_ids is not None:
        entries = entries.filter(metric_id__in=list(metric_ids))
    deleted, _ = entries.delete()
    return deleted


def persistent_ids() -> set[str]:
    return set(MetricCacheEntry.objects.values_list("metric_id", flat=True))


# Purge generation -----------------------------------------------------------

ALL_METRICS = MetricPurgeGeneration.ALL_METRICS
Generations = dict[str, int]


def read_generations() -> Generations:
    """Return the purge generation of every scope that has been purged (one query)."""
    return dict(MetricPurgeGeneration.objects.values_list("scope", "generation"))


def generation_token(generations: Generations, metric_id: str) -> tuple[int, int]:
    """The part of `generations` a purge of `metric_id` (or of all) would move."""
    return generations.get(ALL_METRICS, 0), generations.get(metric_id, 0)


def _take_purge_lock() -> None:
    MetricPurgeGeneration.objects.get_or_create(scope=ALL_METRICS)
    MetricPurgeGeneration.objects.select_for_update().get(scope=ALL_METRICS)


def lock_generations() -> Generations:
    """
    Take the purge lock (the `*` row, FOR UPDATE) and return the generations.

    Call inside a transaction: purges and persistent writes that hold it one
    after the other cannot interleave, so no snapshot computed before a purge
    is written after it.
    """
    _take_purge_lock()
    return read_generations()


def advance_generation(*, metric_id: str | None, now: datetime) -> None:
    """Move the purge generation of `metric_id` (or of all) forward, inside a transaction."""
    _take_purge_lock()
    scope = metric_id or ALL_METRICS
    moved = MetricPurgeGeneration.objects.filter(scope=scope).update(
        generation=F("generation") + 1, purged_at=now
    )
    if not moved:
        MetricPurgeGeneration.objects.create(scope=scope, generation=1, purged_at=now)


class PurgeGenerationTracker:
    """
    Keep this process's memory tier in step with purges made by any process.

    `sync()` reads the purge generations at most once per `check_interval`
    seconds and drops from memory whatever a purge has touched since the last
    read: one metric, or everything.
    """

    check_interval = 1.0
    clock = staticmethod(time.monotonic)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: Generations | None = None
        self._checked_at: float | None = None

    def sync(self) -> None:
        with self._lock:
            now = self.clock()
            if self._checked_at is not None and now - self._checked_at < self.check_interval:
                return
            self._checked_at = now
            try:
                generations = read_generations()
            except DatabaseError:
                # Memory hits keep answering with their true state; misses fail
                # on their own when they reach the database.
                logger.warning("purge generation unreadable; memory tier kept", exc_info=True)
                return
            if self._seen is not None and generations != self._seen:
                self._forget_purged(self._seen, generations)
            self._seen = generations

    @staticmethod
    def _forget_purged(seen: Generations, generations: Generations) -> None:
        moved = sorted(
            scope
            for scope in seen.keys() | generations.keys()
            if seen.get(scope, 0) != generations.get(scope, 0)
        )
        if ALL_METRICS in moved:
            clear_memory()
        else:
            forget_memory(moved)
        logger.info("memory tier updated after purge purged_scopes=%s", moved)

    def expire(self) -> None:
        """Make the next `sync()` read the generations, whatever the interval."""
        with self._lock:
            self._checked_at = None

    def reset(self) -> None:
        with self._lock:
            self._seen = None
            self._checked_at = None


purge_tracker = PurgeGenerationTracker()


def expiry_for(computed_at: datetime, *, ttl_minutes: int) -> datetime:
    return computed_at + timedelta(minutes=ttl_minutes)
