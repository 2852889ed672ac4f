from __future__ import annotations

import json
import logging
import sys

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from trustsite import health
from trustsite.logging import JsonFormatter
from trustsite.middleware import DatabaseUnavailableMiddleware


def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: any database access would fail this test.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/readyz", "/readyz/"])
def test_readyz_reports_ready_when_database_and_caches_answer(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": ["database", "default_cache", "metrics_cache"],
    }


@pytest.mark.django_db
def test_readyz_names_what_failed_with_a_503(client, monkeypatch):
    def unreachable() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "_check_database", unreachable)

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == {"database": "OperationalError: connection refused"}


@pytest.mark.django_db
def test_readyz_reports_an_unreachable_shared_cache(client, settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }

    response = client.get("/readyz")

    assert response.status_code == 503
    assert list(response.json()["failed"]) == ["default_cache"]


def test_probes_refuse_writes(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/api/v1/trust/experiences", "application/json"), ("/trust-preview/x/", "text/html")],
)
def test_lost_database_connection_becomes_a_503_not_a_500(path, content_type):
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    request = RequestFactory().get(path)

    response = middleware.process_exception(request, OperationalError("server closed"))

    assert response.status_code == 503
    assert response["Content-Type"].startswith(content_type)
    assert response["Retry-After"] == "5"
    if content_type == "application/json":
        assert json.loads(response.content)["code"] == "database_unavailable"
    else:
        assert b"cannot reach its database" in response.content


def test_other_errors_are_left_to_django():
    middleware = DatabaseUnavailableMiddleware(lambda request: None)

    assert middleware.process_exception(RequestFactory().get("/"), ValueError("bug")) is None


def test_json_log_lines_carry_the_facts_and_the_exception():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord(
            "fulfillment.metrics.service",
            logging.ERROR,
            __file__,
            1,
            "metric computation failed metric_id=%s",
            ("nps_trailing_30d",),
            sys.exc_info(),
        )

    entry = json.loads(JsonFormatter().format(record))

    assert entry["message"] == "metric computation failed metric_id=nps_trailing_30d"
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "fulfillment.metrics.service"
    assert "RuntimeError: boom" in entry["exception"]
