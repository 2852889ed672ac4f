"""Root URLs: admin, the storefront API under /api/, and the server-rendered pages."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("trust.api.urls")),
    path("", include("trust.urls")),
]
