"""Storefront API routes, mounted under /api/ by trustsite.urls."""

from __future__ import annotations

app_name = "trust-api"

urlpatterns: list = []
