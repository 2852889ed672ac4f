"""
The OpenAPI schema, the offline docs, and property-based runs: schemathesis
generating requests from /api/schema/, and hypothesis posting arbitrary JSON.
Both are bounded and derandomized so that CI sees the same examples each run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from fulfillment.metrics import catalog
from tests.factories import AssurancePointFactory, TrustExperienceFactory
from tests.trust.api.conftest import API_KEY, PURGE_URL, RESOLVE_URL
from tests.trust.api.contract import METRIC_FIELDS, assert_types

PROPERTY_SETTINGS = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@contextmanager
def connections_kept() -> Iterator[None]:
    """
    Keep the test's database connection across WSGI requests.

    Django's handler closes connections that sit inside a transaction at the
    start and end of every request; the test client avoids that, and so must
    schemathesis' WSGI transport, or the test's transaction would be lost.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def openapi() -> schemathesis.BaseSchema:
    with connections_kept():
        return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def deployment(db: None, settings: Any) -> Iterator[None]:
    """A deployment with an API key and one bound experience to read."""
    settings.CHECKOUT_API_KEY = API_KEY
    experience = TrustExperienceFactory(slug="checkout")
    AssurancePointFactory(experience=experience, metric_id="fulfillment_sla_on_time_pct")
    with connections_kept():
        yield


# Schema and docs -------------------------------------------------------------


def test_schema_is_served_as_openapi_json_and_yaml(client: Client):
    as_json = client.get("/api/schema/", headers={"Accept": "application/json"})
    as_yaml = client.get("/api/schema/")

    assert as_json.status_code == as_yaml.status_code == 200
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    schema = as_json.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/v1/trust/experiences/",
        "/api/v1/trust/experiences/{slug}/",
        "/api/v1/trust/metrics/purge/",
    }
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The deployment's CHECKOUT_API_KEY.",
    }


def test_schema_describes_every_resolve_field(client: Client):
    components = client.get("/api/schema/", headers={"Accept": "application/json"}).json()[
        "components"
    ]["schemas"]

    resolved = components["ResolvedMetric"]
    assert set(resolved["required"]) == set(resolved["properties"]) == METRIC_FIELDS
    window = components["MetricRequest"]["properties"]["freshness_window_minutes"]
    assert (window["minimum"], window["maximum"], window["nullable"]) == (5, 20160, True)
    assert components["ResolveRequest"]["properties"]["metrics"]["maxItems"] == 50
    assert components["ResolveRequest"]["additionalProperties"] is False
    assert components["MetricIdEnum"]["enum"] == catalog.registered_ids()


@pytest.mark.parametrize(
    ("path", "asset"),
    [
        ("/api/docs/", "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"),
        ("/api/redoc/", "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"),
    ],
)
def test_docs_load_their_assets_from_this_server(client: Client, path: str, asset: str):
    response = client.get(path)

    page = response.content.decode()
    assert response.status_code == 200
    assert f"/static/{asset}" in page
    assert finders.find(asset), f"{asset} is not among the static files"
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs"):
        assert cdn not in page


# Property-based runs ----------------------------------------------------------

OPERATIONS = [
    ("/api/v1/trust/experiences/", "POST", GenerationMode.POSITIVE),
    ("/api/v1/trust/experiences/", "POST", GenerationMode.NEGATIVE),
    ("/api/v1/trust/experiences/", "GET", GenerationMode.POSITIVE),
    ("/api/v1/trust/experiences/{slug}/", "GET", GenerationMode.POSITIVE),
    ("/api/v1/trust/metrics/purge/", "POST", GenerationMode.POSITIVE),
    ("/api/v1/trust/metrics/purge/", "POST", GenerationMode.NEGATIVE),
]


@pytest.mark.parametrize(("path", "method", "mode"), OPERATIONS)
def test_generated_requests_get_answers_that_match_the_schema(
    openapi: schemathesis.BaseSchema, deployment: None, path: str, method: str, mode: Any
):
    """
    Schemathesis' checks: no 5xx, documented status codes, content types and
    bodies that match the schema, valid data accepted, invalid data refused,
    and a request without the key refused.
    """
    operation = openapi[path][method]

    @PROPERTY_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def call_and_validate(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"X-API-Key": API_KEY})

    call_and_validate()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from([*catalog.CATALOG, "checkout", 5, 20160, 20161]),
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(
            st.sampled_from(["slug", "metrics", "metric_id", "freshness_window_minutes"])
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(path=st.sampled_from([RESOLVE_URL, PURGE_URL]), body=json_values)
def test_arbitrary_json_is_answered_200_or_400_in_json(
    client: Client, api_key: str, path: str, body: Any
):
    response = client.post(
        path, data=json.dumps(body), content_type="application/json", headers={"X-API-Key": api_key}
    )

    assert response.status_code in {200, 400}, response.content
    answer = response.json()
    if response.status_code == 400:
        assert isinstance(answer["detail"], str) and isinstance(answer["code"], str)
        assert answer["errors"] and all(isinstance(e["field"], str) for e in answer["errors"])
    elif path == RESOLVE_URL:
        assert answer["slug"] == body["slug"]
        for entry in answer["metrics"]:
            assert_types(entry)
    else:
        assert isinstance(answer["purged_metric_ids"], list)
