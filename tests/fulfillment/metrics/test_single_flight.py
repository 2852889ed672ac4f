"""
Single flight under real concurrency: threads with their own database
connections, and real transactions (a test wrapped in one rolled-back
transaction could not see a lock misbehave). On PostgreSQL the advisory lock
is what the threads contend for, exactly as separate processes would.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from fulfillment.metrics import catalog, locks
from fulfillment.metrics.service import MetricUnavailableError, resolve_metric
from fulfillment.models import MetricCacheEntry
from tests.fulfillment.metrics.builders import DONE, minutes, task

pytestmark = pytest.mark.django_db(transaction=True)

ON_TIME = "fulfillment_sla_on_time_pct"
CONCURRENT_REQUESTS = 8


@pytest.fixture
def counted_slow_computation(monkeypatch):
    """Make the on-time computation slow enough to overlap, and count its runs."""
    real = catalog.CATALOG[ON_TIME]
    runs = []

    def slow(*, now):
        runs.append(threading.get_ident())
        time.sleep(0.3)
        return real.compute(now=now)

    monkeypatch.setitem(catalog.CATALOG, ON_TIME, dataclasses.replace(real, compute=slow))
    return runs


def _resolve_in_thread(barrier: threading.Barrier, now):
    barrier.wait()
    try:
        return resolve_metric(ON_TIME, now=now)
    finally:
        connection.close()


def test_concurrent_cold_requests_compute_once(now, counted_slow_computation):
    task(scheduled_at=now, completed_at=now - minutes(5), status=DONE)
    barrier = threading.Barrier(CONCURRENT_REQUESTS)

    with ThreadPoolExecutor(CONCURRENT_REQUESTS) as pool:
        futures = [
            pool.submit(_resolve_in_thread, barrier, now) for _ in range(CONCURRENT_REQUESTS)
        ]
        results = [future.result() for future in futures]

    assert len(counted_slow_computation) == 1
    assert {r.computed_at for r in results} == {now}
    layers = sorted(r.provenance.cache_layer for r in results)
    assert layers.count("computed") == 1
    assert set(layers) <= {"computed", "persistent", "memory"}
    assert MetricCacheEntry.objects.count() == 1


@pytest.fixture
def slot_held_elsewhere():
    """Hold the on-time computation slot in another thread until released."""
    acquired, release = threading.Event(), threading.Event()

    def hold():
        try:
            with locks.computation_slot(ON_TIME, wait_seconds=1) as holds:
                assert holds
                acquired.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert acquired.wait(5)
    yield
    release.set()
    holder.join()


@pytest.fixture
def expired_row(now):
    # Written before the slot is taken: on SQLite the holder's transaction
    # keeps every other writer out.
    return MetricCacheEntry.objects.create(
        metric_id=ON_TIME,
        value=0.9,
        formatted_value="90%",
        sample_size=10,
        computed_at=now - minutes(3000),
        expires_at=now - minutes(1560),
        metadata_json={"source": "fulfillment", "on_time_tasks": 9},
    )


def test_waiting_too_long_serves_the_newest_row_with_its_true_state(
    now, settings, expired_row, slot_held_elsewhere
):
    settings.TRUST_METRICS_SINGLE_FLIGHT_WAIT_SECONDS = 0.2

    resolved = resolve_metric(ON_TIME, now=now)

    assert resolved.provenance.cache_layer == "persistent"
    assert resolved.verification_state == "stale"
    assert resolved.computed_at == now - minutes(3000)


def test_waiting_too_long_without_any_row_fails_clearly(now, settings, slot_held_elsewhere):
    settings.TRUST_METRICS_SINGLE_FLIGHT_WAIT_SECONDS = 0.2

    with pytest.raises(MetricUnavailableError, match="another worker is still computing it"):
        resolve_metric(ON_TIME, now=now)
