"""
Who may call what: the API key, a staff session, and the purge that is never
open (SPEC §7), for every endpoint.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.factories import TrustExperienceFactory
from tests.trust.api.conftest import API_KEY, EXPERIENCES_URL, PURGE_URL, RESOLVE_URL

pytestmark = pytest.mark.django_db

WWW_AUTHENTICATE = 'X-API-Key realm="checkout-trust"'
RESOLVE_BODY = {"slug": "checkout", "metrics": [{"metric_id": "not_a_metric"}]}

# (endpoint name, method, path, body)
ENDPOINTS = {
    "resolve": ("post", RESOLVE_URL, RESOLVE_BODY),
    "list": ("get", EXPERIENCES_URL, None),
    "detail": ("get", f"{EXPERIENCES_URL}checkout/", None),
    "purge": ("post", PURGE_URL, {"metric_id": "nps_trailing_30d"}),
}
OPEN = {"resolve": 200, "list": 200, "detail": 200, "purge": 200}


def call(client: Client, endpoint: str, key: str | None) -> Any:
    method, path, body = ENDPOINTS[endpoint]
    headers = {} if key is None else {"X-API-Key": key}
    if method == "get":
        return client.get(path, headers=headers)
    return client.post(path, data=body, content_type="application/json", headers=headers)


@pytest.fixture
def login(client: Client, django_user_model: Any):
    def log_in(*, staff: bool) -> None:
        user = django_user_model.objects.create_user(
            username="staff" if staff else "shopper", is_staff=staff
        )
        client.force_login(user)

    return log_in


# configured key, credential, {endpoint: (status, code)}
MATRIX = [
    pytest.param(
        "",
        "none",
        {**OPEN, "purge": (401, "staff_session_required")},
        id="no-key-configured-anonymous",
    ),
    pytest.param(
        "",
        "some-key",
        {**OPEN, "purge": (401, "staff_session_required")},
        id="no-key-configured-header-ignored",
    ),
    pytest.param("", "staff", OPEN, id="no-key-configured-staff-session"),
    pytest.param(
        "",
        "shopper",
        {**OPEN, "purge": (403, "staff_only")},
        id="no-key-configured-non-staff-session",
    ),
    pytest.param(API_KEY, "right-key", OPEN, id="right-key"),
    pytest.param(
        API_KEY, "wrong-key", dict.fromkeys(OPEN, (401, "api_key_invalid")), id="wrong-key"
    ),
    pytest.param(
        API_KEY, "empty-key", dict.fromkeys(OPEN, (401, "api_key_invalid")), id="empty-key"
    ),
    pytest.param(
        API_KEY, "none", dict.fromkeys(OPEN, (401, "api_key_missing")), id="missing-header"
    ),
    pytest.param(API_KEY, "staff", OPEN, id="staff-session"),
    pytest.param(
        API_KEY,
        "staff+wrong-key",
        dict.fromkeys(OPEN, (401, "api_key_invalid")),
        id="staff-session-with-wrong-key",
    ),
    pytest.param(
        API_KEY, "shopper", dict.fromkeys(OPEN, (403, "staff_only")), id="non-staff-session"
    ),
]
KEYS = {
    "none": None,
    "some-key": "anything",
    "right-key": API_KEY,
    "wrong-key": API_KEY + "x",
    "empty-key": "",
    "staff": None,
    "staff+wrong-key": "wrong",
    "shopper": None,
}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize(("configured", "credential", "expected"), MATRIX)
def test_authentication_matrix(client, settings, login, endpoint, configured, credential, expected):
    # given a deployment with or without a key, and a caller's credential
    settings.CHECKOUT_API_KEY = configured
    TrustExperienceFactory(slug="checkout")
    if credential.startswith(("staff", "shopper")):
        login(staff=credential.startswith("staff"))

    # when the caller calls the endpoint
    response = call(client, endpoint, KEYS[credential])

    # then it is let in, or refused with a JSON body that says why
    status, code = expected[endpoint] if expected[endpoint] != 200 else (200, None)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    if status == 200:
        return
    assert response.json()["code"] == code
    assert response.json()["detail"]
    if status == 401:
        assert response["WWW-Authenticate"] == WWW_AUTHENTICATE
    else:
        assert "WWW-Authenticate" not in response


def test_missing_key_says_what_to_send(client, settings):
    settings.CHECKOUT_API_KEY = API_KEY

    response = client.get(EXPERIENCES_URL)

    assert response.json() == {
        "detail": "Send the API key in the X-API-Key header, or log in with a staff account.",
        "code": "api_key_missing",
    }


def test_anonymous_purge_without_a_configured_key_asks_for_a_staff_session(client, settings):
    settings.CHECKOUT_API_KEY = ""

    response = client.post(PURGE_URL, data={}, content_type="application/json")

    assert response.status_code == 401
    assert response.json() == {
        "detail": (
            "Purging metrics needs a logged-in staff session: this deployment has no API key."
        ),
        "code": "staff_session_required",
    }


@pytest.mark.parametrize(
    "given",
    [API_KEY.upper(), f" {API_KEY}", f"{API_KEY} ", API_KEY[:-1], "ключ-✓", "\x7f"],
)
def test_a_near_miss_key_is_refused_without_a_server_error(client, settings, given):
    settings.CHECKOUT_API_KEY = API_KEY

    response = client.get(EXPERIENCES_URL, headers={"X-API-Key": given})

    assert response.status_code == 401
    assert response.json()["code"] == "api_key_invalid"


def test_a_rejected_key_is_logged_without_the_key(client, settings, caplog):
    settings.CHECKOUT_API_KEY = API_KEY

    client.get(EXPERIENCES_URL, headers={"X-API-Key": "leaked-secret"})

    assert "api key rejected method=GET path=/api/v1/trust/experiences/" in caplog.text
    assert "leaked-secret" not in caplog.text


def test_the_key_is_read_at_request_time(client, settings):
    settings.CHECKOUT_API_KEY = "first"
    assert client.get(EXPERIENCES_URL, headers={"X-API-Key": "first"}).status_code == 200

    settings.CHECKOUT_API_KEY = "second"

    assert client.get(EXPERIENCES_URL, headers={"X-API-Key": "first"}).status_code == 401
    assert client.get(EXPERIENCES_URL, headers={"X-API-Key": "second"}).status_code == 200


def test_a_staff_session_purge_needs_its_csrf_token(settings, django_user_model):
    # given a staff user whose browser enforces CSRF, as a real one does
    settings.CHECKOUT_API_KEY = API_KEY
    staff = django_user_model.objects.create_user(username="staff", is_staff=True)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff)

    # when it purges without, then with, the CSRF token
    refused = browser.post(PURGE_URL, data={}, content_type="application/json")
    token = "c" * 32
    browser.cookies["csrftoken"] = token
    accepted = browser.post(
        PURGE_URL, data={}, content_type="application/json", headers={"X-CSRFToken": token}
    )

    # then only the request carrying the token purges
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert refused.json()["detail"].startswith("CSRF Failed")
    assert accepted.status_code == 200
