"""
The promises of SPEC §6 and §11 with real processes: gunicorn servers sharing
one PostgreSQL database and one Redis, exactly as several hosts would.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

from fulfillment.metrics.catalog import CATALOG
from tests.processes.harness import (
    PREVIEW_TOKEN,
    TCPProxy,
    admin_session,
    request,
    resolve,
    submit_admin_form,
)

ALL_METRICS = list(CATALOG)
FORECAST = "fulfillment_delivery_sla_forecast"
NPS = "nps_trailing_30d"
PURGE_DEADLINE_SECONDS = 2.0


def _layers(response) -> dict[str, str]:
    assert response.status == 200, response.text
    return {m["metric_id"]: m["provenance"]["cache_layer"] for m in response.json()["metrics"]}


def _computed_at(response) -> dict[str, str]:
    return {m["metric_id"]: m["computed_at"] for m in response.json()["metrics"]}


def _computations(server, metric_id: str) -> int:
    return len(re.findall(rf"metric computed metric_id={metric_id} ", server.log()))


def test_purge_through_one_worker_reaches_the_other_within_two_seconds(start_server):
    first, second = start_server("first"), start_server("second")
    resolve(first, ALL_METRICS)
    resolve(second, ALL_METRICS)
    assert set(_layers(resolve(second, ALL_METRICS)).values()) == {"memory"}
    before = _computed_at(resolve(second, ALL_METRICS))

    purge = request(first, "POST", "/api/v1/trust/metrics/purge", payload={})
    purged_at = time.monotonic()
    assert purge.status == 200, purge.text
    assert purge.json()["purged_metric_ids"] == sorted(ALL_METRICS)

    # Until the deadline the other worker may still answer from memory; at the
    # deadline it must have dropped every pre-purge snapshot.
    time.sleep(max(0.0, PURGE_DEADLINE_SECONDS - (time.monotonic() - purged_at)))
    after = resolve(second, ALL_METRICS)

    layers = _layers(after)
    assert set(layers.values()) <= {"computed", "persistent"}, layers
    changed = _computed_at(after)
    assert all(changed[metric_id] > before[metric_id] for metric_id in ALL_METRICS)


def test_admin_edit_through_one_process_is_served_by_the_other(start_server, process_database):
    editor, reader = start_server("editor"), start_server("reader")
    detail = "/api/v1/trust/experiences/checkout/"
    original = request(reader, "GET", detail).json()["guarantee_headline"]
    with process_database.connect() as connection:
        (experience_id,) = connection.execute(
            "SELECT id FROM trust_trustexperience WHERE slug = 'checkout'"
        ).fetchone()

    opener = admin_session(editor)
    saved = submit_admin_form(
        editor,
        opener,
        f"/admin/trust/trustexperience/{experience_id}/change/",
        "trustexperience_form",
        {"guarantee_headline": "Edited through the other worker"},
    )

    assert saved.status == 200, saved.text[:2000]
    assert original != "Edited through the other worker"
    assert request(reader, "GET", detail).json()["guarantee_headline"] == (
        "Edited through the other worker"
    )


def test_concurrent_cold_requests_across_processes_compute_once(start_server):
    servers = [start_server("alpha", workers=4), start_server("beta", workers=4)]
    request(servers[0], "POST", "/api/v1/trust/metrics/purge", payload={})
    computations_before = sum(_computations(server, FORECAST) for server in servers)

    with ThreadPoolExecutor(32) as pool:
        replies = list(pool.map(lambda n: resolve(servers[n % 2], [FORECAST]), range(32)))

    assert [reply.status for reply in replies] == [200] * 32
    assert sum(_computations(server, FORECAST) for server in servers) - computations_before == 1
    assert len({_computed_at(reply)[FORECAST] for reply in replies}) == 1
    layers = [_layers(reply)[FORECAST] for reply in replies]
    assert layers.count("computed") == 1


def test_database_outage_keeps_memory_honest_and_fails_cleanly(start_server, process_database):
    proxy = TCPProxy(target_host=process_database.host, target_port=process_database.port)
    proxy.start()
    try:
        server = start_server("cut-off", database_url=process_database.url(port=proxy.port))
        warm = [metric_id for metric_id in ALL_METRICS if metric_id != NPS]
        preview_path = f"/trust-preview/checkout/?token={PREVIEW_TOKEN}"
        detail_path = "/api/v1/trust/experiences/checkout/"
        # Read the content once, so its queries sit in the shared cache, then
        # make one metric cold again.
        assert request(server, "GET", detail_path).status == 200
        assert request(server, "GET", preview_path).status == 200
        purge = request(server, "POST", "/api/v1/trust/metrics/purge", payload={"metric_id": NPS})
        assert purge.status == 200, purge.text
        before = resolve(server, warm)
        assert set(_layers(before).values()) == {"memory"}

        proxy.stop()
        time.sleep(1.1)  # past the purge-generation check interval
        memory_hits = resolve(server, warm)
        miss = resolve(server, [NPS])
        enriched = request(server, "GET", detail_path)
        preview = request(server, "GET", preview_path)
        ready = request(server, "GET", "/readyz")
        alive = request(server, "GET", "/healthz")

        assert set(_layers(memory_hits).values()) == {"memory"}
        assert [m["verification_state"] for m in memory_hits.json()["metrics"]] == [
            m["verification_state"] for m in before.json()["metrics"]
        ]
        assert miss.status == 503, miss.text
        assert miss.json()["code"] in {"metric_unavailable", "database_unavailable"}
        assert enriched.status == 503, enriched.text
        assert enriched.headers["Content-Type"].startswith("application/json")
        assert preview.status == 200, preview.text[:2000]
        assert "unavailable" in preview.text.lower()
        assert ready.status == 503
        assert "database" in ready.json()["failed"]
        assert alive.status == 200

        proxy.start()
        recovered = resolve(server, [NPS])
        assert _layers(recovered) == {NPS: "computed"}
        assert request(server, "GET", "/readyz").status == 200
        assert " 500 " not in server.log()
    finally:
        proxy.stop()
