"""
Storefront API routes, mounted under /api/ by trustsite.urls.

Every path answers with and without a trailing slash: the patterns accept
both, so a POST is never redirected by APPEND_SLASH (which would lose its body).
"""

from __future__ import annotations

from django.urls import include, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import Route, SimpleRouter

import trust.api.schema  # noqa: F401  (registers the OpenAPI extensions)
from trust.api.views import ExperienceViewSet, MetricViewSet, api_not_found

app_name = "trust-api"

OPTIONAL_SLASH = "/?"


class StorefrontRouter(SimpleRouter):
    """
    A SimpleRouter with optional trailing slashes whose collection POST calls
    the viewset's `resolve` action instead of `create` (nothing is created).
    """

    routes = [
        route._replace(mapping={"get": "list", "post": "resolve"})
        if isinstance(route, Route) and route.name == "{basename}-list"
        else route
        for route in SimpleRouter.routes
    ]

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = OPTIONAL_SLASH


router = StorefrontRouter()
router.register("experiences", ExperienceViewSet, basename="experience")
router.register("metrics", MetricViewSet, basename="metric")

urlpatterns = [
    re_path(r"^v1/trust/", include(router.urls)),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="trust-api:schema"), name="docs"),
    re_path(r"^redoc/?$", SpectacularRedocView.as_view(url_name="trust-api:schema"), name="redoc"),
    # Anything else under /api/ answers a JSON 404, like every API error.
    re_path(r"", api_not_found),
]
