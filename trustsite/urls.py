"""Root URLs: admin, probes, the storefront API under /api/, and the server-rendered pages."""

from django.contrib import admin
from django.urls import include, path, re_path

from trustsite import health

urlpatterns = [
    path("admin/", admin.site.urls),
    re_path(r"^healthz/?$", health.healthz, name="healthz"),
    re_path(r"^readyz/?$", health.readyz, name="readyz"),
    path("api/", include("trust.api.urls")),
    path("", include("trust.urls")),
]
