"""
Storefront authentication: the `X-API-Key` header, compared in constant time
with `CHECKOUT_API_KEY`, read from settings on every request.
"""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from trust.api.exceptions import ApiKeyInvalid

logger = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"
API_KEY_META = "HTTP_X_API_KEY"


class StorefrontClient:
    """The caller a valid API key authenticates: a storefront, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    pk = None

    def __str__(self) -> str:
        return "storefront"


def configured_api_key() -> str:
    return settings.CHECKOUT_API_KEY


def api_key_matches(given: str, expected: str) -> bool:
    # Header values may hold any code point; comparing bytes keeps
    # compare_digest constant-time and free of its ASCII-only TypeError.
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


class ApiKeyAuthentication(BaseAuthentication):
    """
    Authenticate a storefront by its `X-API-Key` header.

    Without a configured key the header is ignored (the read endpoints are
    open then). With one, a request without the header is left to the next
    authenticator (a staff session) and a wrong key fails at once.
    """

    def authenticate(self, request: Request) -> tuple[StorefrontClient, None] | None:
        expected = configured_api_key()
        given = request.META.get(API_KEY_META)
        if not expected or given is None:
            return None
        if not api_key_matches(given, expected):
            # Never log the key sent: it may be a real key of another deployment.
            logger.warning("api key rejected method=%s path=%s", request.method, request.path)
            raise ApiKeyInvalid()
        return StorefrontClient(), None

    def authenticate_header(self, request: Request) -> str:
        return f'{API_KEY_HEADER} realm="checkout-trust"'
