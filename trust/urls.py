"""Server-rendered pages: the operator preview and the storefront fragment."""

from __future__ import annotations

app_name = "trust"

urlpatterns: list = []
