"""
Bad input never reaches a 500: every refusal is JSON with `detail` and `code`,
and a 400 names each field at fault.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.factories import TrustExperienceFactory
from tests.trust.api.conftest import EXPERIENCES_URL, PURGE_URL, RESOLVE_URL, JsonClient

pytestmark = pytest.mark.django_db


def metrics(*items: Any) -> bytes:
    return json.dumps({"slug": "checkout", "metrics": list(items)}).encode()


def window(value: Any) -> bytes:
    return metrics({"metric_id": "nps_trailing_30d", "freshness_window_minutes": value})


def assert_error_body(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["code"] == code
    return body


def top_level_code(field_code: str) -> str:
    return "parse_error" if field_code == "parse_error" else "invalid"


# body, field at fault, error code
RESOLVE_400 = [
    pytest.param(b'{"slug": "checkout", ', "body", "parse_error", id="malformed-json"),
    pytest.param(b"", "slug", "required", id="empty-body"),
    pytest.param(b'{"slug": "a", "metrics": [NaN]}', "body", "parse_error", id="nan-literal"),
    pytest.param(b"[" * 10_000, "body", "parse_error", id="nesting-past-recursion-limit"),
    pytest.param(b'{"slug": "\xff"}', "body", "parse_error", id="invalid-utf8"),
    pytest.param(b"[]", "body", "invalid", id="body-is-a-list"),
    pytest.param(b'"checkout"', "body", "invalid", id="body-is-a-string"),
    pytest.param(b"null", "body", "null", id="body-is-null"),
    pytest.param(b'{"metrics": []}', "slug", "required", id="slug-missing"),
    pytest.param(b'{"slug": 12, "metrics": []}', "slug", "invalid", id="slug-not-a-string"),
    pytest.param(b'{"slug": null, "metrics": []}', "slug", "null", id="slug-null"),
    pytest.param(b'{"slug": "", "metrics": []}', "slug", "blank", id="slug-empty"),
    pytest.param(b'{"slug": "check out", "metrics": []}', "slug", "invalid", id="slug-pattern"),
    pytest.param(
        json.dumps({"slug": "a" * 101, "metrics": []}).encode(),
        "slug",
        "max_length",
        id="slug-too-long",
    ),
    pytest.param(b'{"slug": "checkout"}', "metrics", "required", id="metrics-missing"),
    pytest.param(b'{"slug": "checkout", "metrics": null}', "metrics", "null", id="metrics-null"),
    pytest.param(
        b'{"slug": "checkout", "metrics": "nps"}', "metrics", "not_a_list", id="metrics-string"
    ),
    pytest.param(
        b'{"slug": "checkout", "metrics": {}}', "metrics", "not_a_list", id="metrics-object"
    ),
    pytest.param(
        metrics(*[{"metric_id": "nps_trailing_30d"}] * 51),
        "metrics",
        "max_length",
        id="fifty-one-metrics",
    ),
    pytest.param(metrics(7), "metrics[0]", "invalid", id="metric-not-an-object"),
    pytest.param(metrics({}), "metrics[0].metric_id", "required", id="metric-id-missing"),
    pytest.param(metrics({"metric_id": ""}), "metrics[0].metric_id", "blank", id="metric-id-empty"),
    pytest.param(
        metrics({"metric_id": "m" * 101}),
        "metrics[0].metric_id",
        "max_length",
        id="metric-id-too-long",
    ),
    pytest.param(
        metrics({"metric_id": 5}), "metrics[0].metric_id", "invalid", id="metric-id-number"
    ),
    pytest.param(metrics({"metric_id": None}), "metrics[0].metric_id", "null", id="metric-id-null"),
    pytest.param(
        metrics({"metric_id": ["nps"]}), "metrics[0].metric_id", "invalid", id="metric-id-list"
    ),
    pytest.param(
        metrics({"metric_id": "a\x00b"}),
        "metrics[0].metric_id",
        "null_characters_not_allowed",
        id="metric-id-nul",
    ),
    pytest.param(
        window(4), "metrics[0].freshness_window_minutes", "min_value", id="window-below-5"
    ),
    pytest.param(window(0), "metrics[0].freshness_window_minutes", "min_value", id="window-zero"),
    pytest.param(
        window(-60), "metrics[0].freshness_window_minutes", "min_value", id="window-negative"
    ),
    pytest.param(
        window(20161),
        "metrics[0].freshness_window_minutes",
        "max_value",
        id="window-above-20160",
    ),
    pytest.param(
        window(10**30), "metrics[0].freshness_window_minutes", "max_value", id="window-huge"
    ),
    pytest.param(
        window("60"), "metrics[0].freshness_window_minutes", "invalid", id="window-string"
    ),
    pytest.param(
        window(60.5), "metrics[0].freshness_window_minutes", "invalid", id="window-fraction"
    ),
    pytest.param(window(60.0), "metrics[0].freshness_window_minutes", "invalid", id="window-float"),
    pytest.param(
        window(True), "metrics[0].freshness_window_minutes", "invalid", id="window-boolean"
    ),
    pytest.param(window([60]), "metrics[0].freshness_window_minutes", "invalid", id="window-list"),
    pytest.param(
        b'{"slug": "checkout", "metrics": [], "environment": "production"}',
        "environment",
        "unknown_field",
        id="unknown-top-level-field",
    ),
    pytest.param(
        metrics({"metric_id": "nps_trailing_30d", "freshness_window": 60}),
        "metrics[0].freshness_window",
        "unknown_field",
        id="misspelt-window-field",
    ),
]


@pytest.mark.parametrize(("body", "field", "code"), RESOLVE_400)
def test_resolve_refuses_bad_input_naming_the_field(api, body, field, code):
    response = api.post(RESOLVE_URL, body)

    body = assert_error_body(response, 400, top_level_code(code))
    assert {"field": field, "code": code} in [
        {"field": error["field"], "code": error["code"]} for error in body["errors"]
    ]
    assert all(isinstance(error["message"], str) for error in body["errors"])


def test_resolve_lists_every_problem_at_once(api):
    body = metrics(
        {"metric_id": "nps_trailing_30d"},
        {"metric_id": "", "freshness_window_minutes": 3},
        {"metric_id": "nps_trailing_30d", "freshness_window_minutes": "soon"},
    )

    response = api.post(RESOLVE_URL, body)

    window_message = (
        "Send a whole number of minutes from 5 to 20160, or null for the metric's default window."
    )
    assert assert_error_body(response, 400, "invalid") == {
        "detail": (
            "Invalid request: metrics[1].metric_id: "
            "Send the metric id as a non-empty string of at most 100 characters."
        ),
        "code": "invalid",
        "errors": [
            {
                "field": "metrics[1].metric_id",
                "message": "Send the metric id as a non-empty string of at most 100 characters.",
                "code": "blank",
            },
            {
                "field": "metrics[1].freshness_window_minutes",
                "message": window_message,
                "code": "min_value",
            },
            {
                "field": "metrics[2].freshness_window_minutes",
                "message": window_message,
                "code": "invalid",
            },
        ],
    }


PURGE_400 = [
    pytest.param(b"{", "body", "parse_error", id="malformed-json"),
    pytest.param(b"[]", "body", "invalid", id="body-is-a-list"),
    pytest.param(b'{"metric_id": ""}', "metric_id", "blank", id="metric-id-empty"),
    pytest.param(b'{"metric_id": null}', "metric_id", "null", id="metric-id-null"),
    pytest.param(b'{"metric_id": 3}', "metric_id", "invalid", id="metric-id-number"),
    pytest.param(
        json.dumps({"metric_id": "m" * 101}).encode(),
        "metric_id",
        "max_length",
        id="metric-id-too-long",
    ),
    pytest.param(b'{"metric_ids": []}', "metric_ids", "unknown_field", id="unknown-field"),
]


@pytest.mark.parametrize(("body", "field", "code"), PURGE_400)
def test_purge_refuses_bad_input_naming_the_field(api, body, field, code):
    response = api.post(PURGE_URL, body)

    body = assert_error_body(response, 400, top_level_code(code))
    assert [(error["field"], error["code"]) for error in body["errors"]] == [(field, code)]


def test_purge_refuses_an_unknown_metric_id(api):
    response = api.post(PURGE_URL, {"metric_id": "conversion_rate"})

    body = assert_error_body(response, 400, "unknown_metric")
    assert body["errors"][0]["field"] == "metric_id"


@pytest.mark.parametrize("path", [RESOLVE_URL, PURGE_URL])
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"slug": "checkout", "metrics": []}'),
        ("application/x-www-form-urlencoded", b"slug=checkout"),
        ("multipart/form-data; boundary=xyz", b"--xyz--\r\n"),
        ("application/xml", b"<slug>checkout</slug>"),
        ("", b'{"slug": "checkout", "metrics": []}'),
    ],
)
def test_a_body_that_is_not_json_is_415(api, path, content_type, body):
    response = api.post(path, body, content_type=content_type)

    assert_error_body(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("path", [RESOLVE_URL, PURGE_URL])
@pytest.mark.parametrize("size", [70_000, 3_000_000], ids=["over-64-kib", "over-django-limit"])
def test_a_body_over_64_kib_is_413(api, path, size):
    body = b'{"slug": "' + b"a" * size + b'"}'

    response = api.post(path, body)

    assert_error_body(response, 413, "request_too_large")


WRONG_METHODS = [
    ("get", PURGE_URL),
    ("put", PURGE_URL),
    ("delete", PURGE_URL),
    ("put", RESOLVE_URL),
    ("patch", RESOLVE_URL),
    ("delete", RESOLVE_URL),
    ("post", f"{EXPERIENCES_URL}checkout/"),
    ("put", f"{EXPERIENCES_URL}checkout/"),
    ("delete", f"{EXPERIENCES_URL}checkout"),
]


@pytest.mark.parametrize(("method", "path"), WRONG_METHODS)
def test_a_wrong_method_is_405(api, method, path):
    TrustExperienceFactory(slug="checkout")

    response = api.client.generic(
        method.upper(), path, b"{}", content_type="application/json", headers={"X-API-Key": api.key}
    )

    body = assert_error_body(response, 405, "method_not_allowed")
    assert method.upper() in body["detail"]
    assert response["Allow"]


@pytest.mark.parametrize(
    "path",
    [f"{EXPERIENCES_URL}missing/", "/api/v1/trust/nothing", "/api/v2/trust/experiences/", "/api/"],
)
def test_an_unknown_path_or_slug_is_a_json_404(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] in {"experience_not_found", "not_found"}


def test_an_unknown_slug_is_named_in_the_404(api):
    response = api.get(f"{EXPERIENCES_URL}missing/")

    assert response.json() == {
        "detail": "No experience “missing” in this deployment's environment “development”.",
        "code": "experience_not_found",
    }


def test_a_request_without_the_key_is_401(api):
    response = api.client.get(EXPERIENCES_URL)

    assert_error_body(response, 401, "api_key_missing")
    assert response["WWW-Authenticate"]


def test_accept_without_json_is_406_in_json(api):
    response = api.get(EXPERIENCES_URL, HTTP_ACCEPT="text/html")

    assert_error_body(response, 406, "not_acceptable")


# Every path, with and without its trailing slash: same answer, never a redirect.
SLASH_VARIANTS = [
    ("post", RESOLVE_URL, {"slug": "checkout", "metrics": []}, 200),
    ("get", EXPERIENCES_URL.rstrip("/"), None, 200),
    ("get", f"{EXPERIENCES_URL}checkout", None, 200),
    ("post", PURGE_URL, {}, 200),
    ("get", "/api/schema", None, 200),
    ("get", "/api/docs", None, 200),
    ("get", "/api/redoc", None, 200),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), SLASH_VARIANTS)
@pytest.mark.parametrize("slash", ["", "/"])
def test_every_path_answers_with_and_without_a_trailing_slash(
    api: JsonClient, method, path, body, status, slash
):
    TrustExperienceFactory(slug="checkout")

    url = path.rstrip("/") + slash
    response = api.get(url) if method == "get" else api.post(url, body)

    assert response.status_code == status
