from __future__ import annotations

import dataclasses
import logging
import random
import string
from datetime import timedelta

import pytest
from django.core.cache import caches

from fulfillment.metrics import cache, catalog, service
from fulfillment.metrics.service import (
    MetricUnavailableError,
    UnknownMetricError,
    purge_metrics,
    resolve_metric,
    resolve_metrics,
    warm_metrics,
)
from fulfillment.metrics.snapshots import MetricRequest
from fulfillment.models import MetricCacheEntry
from tests.fulfillment.metrics.builders import DONE, minutes, task

pytestmark = pytest.mark.django_db

ON_TIME = "fulfillment_sla_on_time_pct"
FORECAST = "fulfillment_delivery_sla_forecast"


@pytest.fixture
def on_time_data(now):
    task(scheduled_at=now - minutes(60), completed_at=now - minutes(90), status=DONE)
    task(scheduled_at=now - minutes(60), completed_at=now - minutes(30), status=DONE)


def _layer(metric_id, **kwargs):
    return resolve_metric(metric_id, **kwargs).provenance.cache_layer


def _memory_size() -> int:
    return len(caches["metrics"]._cache)


# Layers ----------------------------------------------------------------------


def test_layers_run_computed_memory_persistent_then_computed_after_expiry(now, on_time_data):
    first = resolve_metric(ON_TIME, now=now)
    second = resolve_metric(ON_TIME, now=now + minutes(1))
    cache.clear_memory()
    third = resolve_metric(ON_TIME, now=now + minutes(2))
    cache.clear_memory()
    after_expiry = now + minutes(1440)
    fourth = resolve_metric(ON_TIME, now=after_expiry)

    assert [m.provenance.cache_layer for m in (first, second, third, fourth)] == [
        "computed",
        "memory",
        "persistent",
        "computed",
    ]
    assert first.computed_at == second.computed_at == third.computed_at == now
    assert fourth.computed_at == after_expiry
    row = MetricCacheEntry.objects.get()
    assert row.computed_at == after_expiry
    assert row.expires_at == after_expiry + minutes(1440)


def test_expired_row_is_never_served_and_is_replaced_when_met(now, on_time_data):
    resolve_metric(ON_TIME, now=now)
    cache.clear_memory()
    expired_at = now + minutes(1440)

    resolved = resolve_metric(ON_TIME, now=expired_at)

    assert resolved.provenance.cache_layer == "computed"
    assert list(MetricCacheEntry.objects.values_list("computed_at", flat=True)) == [expired_at]


def test_persistent_hit_refills_memory(now, on_time_data):
    resolve_metric(ON_TIME, now=now)
    cache.clear_memory()

    resolve_metric(ON_TIME, now=now)

    assert cache.read_memory(ON_TIME) is not None


def test_provenance_carries_timestamps_ttl_source_and_a_note(now, on_time_data):
    resolved = resolve_metric(ON_TIME, now=now + minutes(30))

    provenance = resolved.provenance
    assert provenance.source == "fulfillment"
    assert provenance.cache_refreshed_at == now + minutes(30)
    assert provenance.cache_expires_at == now + minutes(30 + 1440)
    assert provenance.cache_ttl_minutes == 1440
    assert provenance.notes == [service.LAYER_NOTES["computed"]]
    assert provenance.unsupported_reason is None
    assert resolved.metadata["source"] == "fulfillment"


def test_persistent_ttl_is_at_least_fifteen_minutes():
    assert catalog.CATALOG[FORECAST].persistent_ttl_minutes == 60
    short = dataclasses.replace(catalog.CATALOG[FORECAST], default_freshness_minutes=5)
    assert short.persistent_ttl_minutes == 15


# Verification state ----------------------------------------------------------


def test_window_override_turns_fresh_into_stale(now, on_time_data):
    resolve_metric(ON_TIME, now=now)
    later = now + minutes(30)

    default_window = resolve_metric(ON_TIME, now=later)
    short_window = resolve_metric(ON_TIME, freshness_window_minutes=10, now=later)

    assert default_window.verification_state == "fresh"
    assert default_window.freshness_window_minutes == 1440
    assert short_window.verification_state == "stale"
    assert short_window.freshness_window_minutes == 10
    assert short_window.freshness_minutes_elapsed == 30.0


def test_state_is_fresh_exactly_at_the_window_edge(now, on_time_data):
    resolve_metric(ON_TIME, now=now)

    at_edge = resolve_metric(ON_TIME, freshness_window_minutes=10, now=now + minutes(10))

    assert at_edge.verification_state == "fresh"


def test_metric_without_data_is_missing(now):
    resolved = resolve_metric("nps_trailing_30d", now=now)

    assert resolved.verification_state == "missing"
    assert resolved.value is None
    assert resolved.formatted_value is None


def test_value_without_samples_is_missing(now):
    task(status=DONE, completed_at=now - minutes(5))

    resolved = resolve_metric("fulfillment_staffing_coverage_pct", now=now)

    assert resolved.value == 1.0
    assert resolved.verification_state == "missing"


# Unknown ids -----------------------------------------------------------------


def test_unknown_id_is_unsupported_logged_once_per_request_and_never_cached(now, caplog):
    requests = [MetricRequest("nope"), MetricRequest(ON_TIME), MetricRequest("also_nope")]

    with caplog.at_level(logging.WARNING, logger="fulfillment.metrics.service"):
        resolved = resolve_metrics(requests, now=now)

    unknown = resolved[0]
    assert unknown.verification_state == "unsupported"
    assert unknown.metadata == {"source": "unknown"}
    assert unknown.provenance.cache_layer == "none"
    assert unknown.provenance.unsupported_reason == "metric_not_registered"
    assert unknown.unsupported_guard == "metric_not_registered"
    assert [m.metric_id for m in resolved] == ["nope", ON_TIME, "also_nope"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "also_nope" in warnings[0].getMessage()
    assert "nope" in warnings[0].getMessage()
    assert list(MetricCacheEntry.objects.values_list("metric_id", flat=True)) == [ON_TIME]


def test_ten_thousand_random_unknown_ids_leave_both_tiers_the_same_size(now, on_time_data):
    resolve_metric(ON_TIME, now=now)
    memory_before, rows_before = _memory_size(), MetricCacheEntry.objects.count()
    rng = random.Random(7)
    unknown = [
        "".join(rng.choices(string.ascii_letters + string.digits + "_-.:", k=rng.randint(1, 60)))
        for _ in range(10_000)
    ]

    for start in range(0, len(unknown), 50):
        batch = [MetricRequest(metric_id) for metric_id in unknown[start : start + 50]]
        resolve_metrics(batch, now=now)

    assert _memory_size() == memory_before
    assert MetricCacheEntry.objects.count() == rows_before


# Purge -----------------------------------------------------------------------


def test_purge_one_metric_clears_it_from_both_tiers_only(now, on_time_data):
    resolve_metrics([MetricRequest(ON_TIME), MetricRequest(FORECAST)], now=now)

    purged = purge_metrics(metric_id=ON_TIME)

    assert purged == [ON_TIME]
    assert cache.read_memory(ON_TIME) is None
    assert cache.read_memory(FORECAST) is not None
    assert list(MetricCacheEntry.objects.values_list("metric_id", flat=True)) == [FORECAST]
    assert _layer(ON_TIME, now=now) == "computed"


def test_purge_all_answers_the_sorted_ids_cached_in_either_tier(now, on_time_data):
    resolve_metrics([MetricRequest(ON_TIME), MetricRequest(FORECAST)], now=now)
    cache.forget_memory([FORECAST])  # persistent only
    resolve_metric("nps_trailing_30d", now=now)
    MetricCacheEntry.objects.filter(metric_id="nps_trailing_30d").delete()  # memory only

    purged = purge_metrics()

    assert purged == sorted([ON_TIME, FORECAST, "nps_trailing_30d"])
    assert not MetricCacheEntry.objects.exists()
    assert _memory_size() == 0


def test_purge_of_an_uncached_metric_still_answers_its_id():
    assert purge_metrics(metric_id=FORECAST) == [FORECAST]
    assert purge_metrics() == []


def test_purge_refuses_an_unknown_id_naming_the_valid_ones():
    with pytest.raises(UnknownMetricError) as excinfo:
        purge_metrics(metric_id="made_up")

    message = str(excinfo.value)
    assert "made_up" in message
    assert ", ".join(catalog.registered_ids()) in message


def test_purge_logs_who_purged_what(caplog):
    with caplog.at_level(logging.INFO, logger="fulfillment.metrics.service"):
        purge_metrics(metric_id=ON_TIME, actor="tests")

    (record,) = [r for r in caplog.records if "metrics purged" in r.getMessage()]
    assert "actor=tests" in record.getMessage()
    assert ON_TIME in record.getMessage()


def test_purge_by_another_process_reaches_this_one_within_the_check_interval(
    now, on_time_data, monkeypatch
):
    """
    Another worker's purge touches only the shared database: its rows and the
    purge generation. This process must notice through the generation alone.
    """
    clock = [1000.0]
    monkeypatch.setattr(cache.purge_tracker, "clock", lambda: clock[0])
    resolve_metric(ON_TIME, now=now)
    assert _layer(ON_TIME, now=now) == "memory"

    # What purge_metrics does in the other process, as seen from this one.
    cache.delete_persistent([ON_TIME])
    cache.advance_generation(metric_id=ON_TIME, now=now)
    clock[0] += 0.5
    within_interval = _layer(ON_TIME, now=now)
    clock[0] += 0.6
    after_interval = _layer(ON_TIME, now=now)

    assert within_interval == "memory"
    assert after_interval == "computed"
    assert cache.PurgeGenerationTracker.check_interval <= 1.0


def test_another_process_purging_one_metric_leaves_the_others_in_memory(
    now, on_time_data, monkeypatch
):
    clock = [1000.0]
    monkeypatch.setattr(cache.purge_tracker, "clock", lambda: clock[0])
    resolve_metrics([MetricRequest(ON_TIME), MetricRequest(FORECAST)], now=now)

    cache.delete_persistent([FORECAST])
    cache.advance_generation(metric_id=FORECAST, now=now)
    clock[0] += 1.1
    layers = [
        m.provenance.cache_layer
        for m in resolve_metrics([MetricRequest(ON_TIME), MetricRequest(FORECAST)], now=now)
    ]

    assert layers == ["memory", "computed"]


def test_another_process_purging_everything_empties_this_memory(now, on_time_data, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(cache.purge_tracker, "clock", lambda: clock[0])
    resolve_metrics([MetricRequest(ON_TIME), MetricRequest(FORECAST)], now=now)

    cache.advance_generation(metric_id=None, now=now)
    clock[0] += 1.1
    resolve_metric("nps_trailing_30d", now=now)

    assert cache.read_memory(ON_TIME) is None
    assert cache.read_memory(FORECAST) is None


def test_generation_check_happens_at_most_once_per_interval(now, on_time_data, monkeypatch):
    clock = [50.0]
    monkeypatch.setattr(cache.purge_tracker, "clock", lambda: clock[0])
    reads = []
    real_read = cache.read_generations
    monkeypatch.setattr(cache, "read_generations", lambda: reads.append(1) or real_read())
    resolve_metric(ON_TIME, now=now)
    reads.clear()

    for _ in range(5):
        resolve_metric(ON_TIME, now=now)
    clock[0] += 1.0
    resolve_metric(ON_TIME, now=now)

    assert len(reads) == 1


# Failure ---------------------------------------------------------------------


def _failing(metric_id: str, monkeypatch) -> None:
    def explode(*, now):
        raise RuntimeError("simulated computation failure")

    broken = dataclasses.replace(catalog.CATALOG[metric_id], compute=explode)
    monkeypatch.setitem(catalog.CATALOG, metric_id, broken)


def test_failing_computation_leaves_the_previous_row_in_place(now, on_time_data, monkeypatch):
    resolve_metric(ON_TIME, now=now)
    before = MetricCacheEntry.objects.get()
    _failing(ON_TIME, monkeypatch)

    results = warm_metrics(now=now + minutes(5))

    failed = {r.metric_id: r.error for r in results if r.error}
    assert "computation failed" in failed[ON_TIME]
    after = MetricCacheEntry.objects.get(metric_id=ON_TIME)
    assert (after.computed_at, after.value, after.expires_at) == (
        before.computed_at,
        before.value,
        before.expires_at,
    )


def test_failing_computation_of_an_expired_row_raises_and_keeps_the_row(
    now, on_time_data, monkeypatch
):
    resolve_metric(ON_TIME, now=now)
    cache.clear_memory()
    _failing(ON_TIME, monkeypatch)

    with pytest.raises(MetricUnavailableError) as excinfo:
        resolve_metric(ON_TIME, now=now + timedelta(days=2))

    assert excinfo.value.metric_id == ON_TIME
    assert MetricCacheEntry.objects.get(metric_id=ON_TIME).computed_at == now
    assert cache.read_memory(ON_TIME) is None


def test_purge_during_a_computation_keeps_its_result_out_of_the_cache(now, monkeypatch):
    real = catalog.CATALOG[ON_TIME]

    def purged_meanwhile(*, now):
        cache.advance_generation(metric_id=ON_TIME, now=now)  # another worker's purge lands
        return real.compute(now=now)

    monkeypatch.setitem(
        catalog.CATALOG, ON_TIME, dataclasses.replace(real, compute=purged_meanwhile)
    )

    resolved = resolve_metric(ON_TIME, now=now)

    assert resolved.provenance.cache_layer == "computed"
    assert not MetricCacheEntry.objects.exists()
    assert cache.read_memory(ON_TIME) is None


# Warm ------------------------------------------------------------------------


def test_warm_computes_every_metric_into_both_tiers(now, on_time_data):
    results = warm_metrics(now=now)

    assert [r.metric_id for r in results] == list(catalog.CATALOG)
    assert all(r.error is None for r in results)
    assert MetricCacheEntry.objects.count() == len(catalog.CATALOG)
    assert all(cache.read_memory(metric_id) for metric_id in catalog.CATALOG)
