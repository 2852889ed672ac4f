"""
Who may call which endpoint.

- With `CHECKOUT_API_KEY` empty, resolve, list and detail are open.
- With it set, every endpoint needs the right `X-API-Key` or a staff session.
- Purging is never open: it needs the key (when one is set) or a staff session.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from trust.api.authentication import StorefrontClient, configured_api_key
from trust.api.exceptions import ApiKeyMissing, StaffOnly, StaffSessionRequired


def is_storefront(request: Request) -> bool:
    return isinstance(request.user, StorefrontClient)


def is_staff(request: Request) -> bool:
    user = request.user
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


class StorefrontAccess(BasePermission):
    """Open without a configured key; otherwise the key or a staff session."""

    message = StaffOnly.default_detail
    code = StaffOnly.default_code

    def unauthenticated_error(self) -> NotAuthenticated:
        """Return the 401 for a caller who sent neither a key nor a session."""
        return ApiKeyMissing()

    def has_permission(self, request: Request, view: Any) -> bool:
        if not configured_api_key():
            return True
        return is_storefront(request) or is_staff(request)


class PurgeAccess(StorefrontAccess):
    """Never open: the key (only valid when configured) or a staff session."""

    def unauthenticated_error(self) -> NotAuthenticated:
        return ApiKeyMissing() if configured_api_key() else StaffSessionRequired()

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_storefront(request) or is_staff(request)
