"""
The storefront API (SPEC §7): resolve metrics, purge them, and read the
experiences of this deployment, enriched with their resolved metrics.

Views validate, call a selector or service, and shape the answer; errors
are raised as exceptions that `trust.api.exception_handlers` turns into JSON.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from fulfillment.metrics.service import purge_metrics, resolve_metrics
from fulfillment.metrics.snapshots import MetricRequest
from trust.api import serializers, wire
from trust.api.exceptions import ExperienceNotFound
from trust.api.permissions import PurgeAccess, StorefrontAccess
from trust.models import TrustExperience
from trust.selectors import (
    enrich_experience,
    experience_with_sections,
    experiences_for_environment,
    metric_payload,
)

SLUG_RE = re.compile(serializers.SLUG_PATTERN)

ERROR_RESPONSES = {
    401: OpenApiResponse(
        serializers.ErrorSerializer,
        description="The X-API-Key header is missing or wrong (see WWW-Authenticate).",
    ),
    403: OpenApiResponse(
        serializers.ErrorSerializer,
        description="A logged-in user who is not staff, or a session without its CSRF token.",
    ),
    406: OpenApiResponse(serializers.ErrorSerializer, description="Accept excludes JSON."),
}
BODY_ERROR_RESPONSES = {
    **ERROR_RESPONSES,
    400: OpenApiResponse(
        serializers.ValidationErrorSerializer,
        description="Malformed JSON or invalid fields; `errors` names each field.",
    ),
    413: OpenApiResponse(serializers.ErrorSerializer, description="The body exceeds 64 KiB."),
    415: OpenApiResponse(serializers.ErrorSerializer, description="The body is not JSON."),
}
UNAVAILABLE_RESPONSE = {
    503: OpenApiResponse(
        serializers.MetricUnavailableErrorSerializer,
        description="A metric can be neither read from a cache tier nor computed right now.",
    ),
}


class StorefrontViewSet(viewsets.ViewSet):
    """Base of the API's viewsets: a refusal names what the caller must send."""

    permission_classes = [StorefrontAccess]

    def check_permissions(self, request: Request) -> None:
        for permission in self.get_permissions():
            if permission.has_permission(request, self):
                continue
            if request.authenticators and not request.successful_authenticator:
                unauthenticated = getattr(permission, "unauthenticated_error", None)
                raise unauthenticated() if unauthenticated else exceptions.NotAuthenticated()
            raise exceptions.PermissionDenied(
                detail=getattr(permission, "message", None), code=getattr(permission, "code", None)
            )


class ExperienceViewSet(StorefrontViewSet):
    """Experiences: resolve metrics for a storefront, list and read them enriched."""

    lookup_field = "slug"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        operation_id="trust_experiences_resolve",
        summary="Resolve metrics for a storefront",
        description=(
            "Resolve each requested metric through the two-tier cache and answer one entry "
            "per metric, in request order. An id outside the catalog is answered as "
            "`unsupported`, not refused. The slug is echoed; it need not name a stored "
            "experience."
        ),
        request=serializers.ResolveRequestSerializer,
        responses={
            200: serializers.ResolveResponseSerializer,
            **BODY_ERROR_RESPONSES,
            **UNAVAILABLE_RESPONSE,
        },
        examples=[
            OpenApiExample(
                "Two metrics",
                request_only=True,
                value={
                    "slug": "checkout",
                    "metrics": [
                        {"metric_id": "fulfillment_sla_on_time_pct"},
                        {
                            "metric_id": "fulfillment_delivery_sla_forecast",
                            "freshness_window_minutes": 60,
                        },
                    ],
                },
            )
        ],
    )
    def resolve(self, request: Request) -> Response:
        payload = serializers.ResolveRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        slug, metrics = payload.validated_data["slug"], payload.validated_data["metrics"]

        resolved = resolve_metrics([MetricRequest(**metric) for metric in metrics])

        return Response(
            {"slug": slug, "metrics": [wire.metric(metric_payload(metric)) for metric in resolved]}
        )

    @extend_schema(
        operation_id="trust_experiences_list",
        summary="List this deployment's experiences",
        description="The experiences of this deployment's TRUST_ENVIRONMENT, by slug.",
        responses={200: serializers.ExperienceSummarySerializer(many=True), **ERROR_RESPONSES},
    )
    def list(self, request: Request) -> Response:
        experiences = experiences_for_environment().order_by("slug")
        answer = serializers.ExperienceSummarySerializer(
            experiences, many=True, context={"request": request}
        )
        return Response(answer.data)

    @extend_schema(
        operation_id="trust_experiences_retrieve",
        summary="Read one experience, enriched",
        description=(
            "The experience with every section in position order, each bound card carrying "
            "its resolved metric, performance snapshots with the value to show, and the "
            "delivery timeline's resolved figures."
        ),
        parameters=[
            OpenApiParameter(
                "slug",
                str,
                OpenApiParameter.PATH,
                description="The experience's slug in this deployment's environment.",
                examples=[OpenApiExample("Checkout", value="checkout")],
            )
        ],
        responses={
            200: serializers.ExperienceDetailSerializer,
            404: OpenApiResponse(
                serializers.ErrorSerializer, description="No experience with this slug."
            ),
            **ERROR_RESPONSES,
            **UNAVAILABLE_RESPONSE,
        },
    )
    def retrieve(self, request: Request, slug: str) -> Response:
        experience = _experience_or_404(slug)
        return Response(wire.experience(enrich_experience(experience)))


class MetricViewSet(StorefrontViewSet):
    """Metrics: purge them from both cache tiers."""

    @extend_schema(
        operation_id="trust_metrics_purge",
        summary="Purge cached metrics",
        description=(
            "Clear one metric, or every metric when `metric_id` is left out, from both "
            "cache tiers; every worker honours the purge within 2 seconds. Needs the API "
            "key, or a staff session (with its CSRF token)."
        ),
        request=serializers.PurgeRequestSerializer,
        responses={200: serializers.PurgeResponseSerializer, **BODY_ERROR_RESPONSES},
        examples=[
            OpenApiExample(
                "One metric",
                request_only=True,
                value={"metric_id": "fulfillment_backlog_minutes"},
            ),
            OpenApiExample("Every metric", request_only=True, value={}),
        ],
    )
    @action(detail=False, methods=["post"], permission_classes=[PurgeAccess])
    def purge(self, request: Request) -> Response:
        payload = serializers.PurgeRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        metric_id = payload.validated_data.get("metric_id")

        purged = purge_metrics(metric_id=metric_id, actor=_actor(request))

        return Response(serializers.PurgeResponseSerializer({"purged_metric_ids": purged}).data)


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Answer a path under /api/ that names no endpoint, in JSON like every API error."""
    return JsonResponse(
        {"detail": "No API endpoint at this path.", "code": "not_found"}, status=404
    )


def _experience_or_404(slug: str) -> TrustExperience:
    # A slug that could never be stored is refused before it reaches the
    # database (PostgreSQL rejects NUL characters in a query parameter).
    if not SLUG_RE.match(slug) or len(slug) > serializers.MAX_SLUG_LENGTH:
        raise ExperienceNotFound()
    try:
        return experience_with_sections(slug)
    except TrustExperience.DoesNotExist:
        raise ExperienceNotFound(
            f"No experience “{slug}” in this deployment's environment "
            f"“{settings.TRUST_ENVIRONMENT}”."
        ) from None


def _actor(request: Request) -> str:
    user = request.user
    return f"api:{user}" if user.is_authenticated else "api:anonymous"
