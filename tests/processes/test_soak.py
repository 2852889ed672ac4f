"""
About a minute of mixed traffic from several clients against two servers of
two workers each: resolves, enriched reads and purges, bounded in time and in
count. Nothing may fail, nothing may be logged as an error, and the persistent
tier must be whole at the end.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from fulfillment.metrics.catalog import CATALOG
from tests.processes.harness import request

SOAK_SECONDS = 60
CLIENTS = 6
MAX_REQUESTS_PER_CLIENT = 5000
METRICS = list(CATALOG)


def _one_request(servers, rng: random.Random) -> int:
    server = rng.choice(servers)
    roll = rng.random()
    if roll < 0.6:
        chosen = rng.sample(METRICS, rng.randint(1, len(METRICS)))
        payload = {
            "slug": "checkout",
            "metrics": [
                {"metric_id": metric_id, "freshness_window_minutes": rng.choice([5, 60, 1440])}
                for metric_id in chosen
            ],
        }
        return request(server, "POST", "/api/v1/trust/experiences", payload=payload).status
    if roll < 0.97:
        return request(server, "GET", "/api/v1/trust/experiences/checkout/").status
    payload = {"metric_id": rng.choice(METRICS)} if rng.random() < 0.7 else {}
    return request(server, "POST", "/api/v1/trust/metrics/purge", payload=payload).status


def _client(servers, seed: int, deadline: float) -> Counter:
    rng = random.Random(seed)
    statuses: Counter = Counter()
    for _ in range(MAX_REQUESTS_PER_CLIENT):
        if time.monotonic() >= deadline:
            break
        statuses[_one_request(servers, rng)] += 1
    return statuses


def test_mixed_traffic_for_a_minute_leaves_no_error_and_a_whole_cache(
    start_server, process_database
):
    servers = [start_server("soak-a", workers=2), start_server("soak-b", workers=2)]
    deadline = time.monotonic() + SOAK_SECONDS

    with ThreadPoolExecutor(CLIENTS) as pool:
        counters = list(pool.map(lambda seed: _client(servers, seed, deadline), range(CLIENTS)))

    statuses = sum(counters, Counter())
    assert sum(statuses.values()) > 0
    assert set(statuses) == {200}, statuses
    for server in servers:
        log = server.log()
        assert "Traceback" not in log, log[-3000:]
        assert " ERROR " not in log and "[ERROR]" not in log, log[-3000:]

    with process_database.connect() as connection:
        rows = connection.execute(
            "SELECT metric_id, value, formatted_value, sample_size, computed_at, expires_at, "
            "metadata, now() FROM fulfillment_metric_cache"
        ).fetchall()
    for metric_id, value, formatted, samples, computed_at, expires_at, metadata, now in rows:
        definition = CATALOG[metric_id]
        assert expires_at == computed_at + timedelta(minutes=definition.persistent_ttl_minutes)
        assert expires_at > now, metric_id
        assert metadata["source"] == definition.source
        assert samples >= 0
        assert (value is None) == (formatted == ""), metric_id
