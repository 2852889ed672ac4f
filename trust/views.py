"""
Server-rendered pages: the operator preview of an experience and the
storefront rendering of its trust modules. Both render from
`trust.selectors.enrich_experience`, the same data the API serves.
"""

from __future__ import annotations

import hmac
import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from fulfillment.metrics.service import MetricUnavailableError
from trust.models import TrustExperience
from trust.preview import build_preview, legend
from trust.selectors import enrich_experience, experience_with_sections

logger = logging.getLogger(__name__)


def may_preview(request: HttpRequest) -> bool:
    """
    Return whether `request` may see preview pages: a staff session, or a
    `?token=` equal to `CHECKOUT_PREVIEW_TOKEN` when that setting is not empty.
    """
    user = request.user
    if user.is_active and user.is_staff:
        return True
    expected = settings.CHECKOUT_PREVIEW_TOKEN
    offered = request.GET.get("token", "")
    if not expected or not offered:
        return False
    return hmac.compare_digest(offered.encode(), expected.encode())


def _experience_or_404(slug: str) -> TrustExperience:
    try:
        return experience_with_sections(slug)
    except TrustExperience.DoesNotExist:
        raise Http404("No experience with this slug in this environment.") from None


def _enriched(experience: TrustExperience, *, now: datetime) -> tuple[dict[str, Any], str | None]:
    """Return the enriched experience, with fallbacks only when metrics are unavailable."""
    try:
        return enrich_experience(experience, now=now), None
    except MetricUnavailableError as error:
        logger.warning(
            "live metrics unavailable; rendering fallbacks slug=%s metric_id=%s reason=%s",
            experience.slug,
            error.metric_id,
            error.reason,
        )
        return enrich_experience(experience, now=now, with_metrics=False), error.reason


@require_safe
def experience_preview(request: HttpRequest, slug: str) -> HttpResponse:
    """Show an experience's edited copy beside its live metric overlay, for operators."""
    # Everyone without access gets the same 404 as an unknown slug, so the
    # page does not confirm which experiences exist.
    if not may_preview(request):
        raise Http404("No experience with this slug in this environment.")
    experience = _experience_or_404(slug)
    now = timezone.now()
    enriched, unavailable_reason = _enriched(experience, now=now)

    preview = build_preview(
        experience, enriched, live_available=unavailable_reason is None, now=now
    )
    response = render(
        request,
        "trust/preview.html",
        {
            "preview": preview,
            "legend": legend(),
            "unavailable_reason": unavailable_reason,
            "now": now,
        },
    )
    # The page shows unpublished copy and may be opened with a token in the
    # URL: no shared cache may keep it, and no link may leak the token.
    patch_cache_control(response, private=True, no_cache=True, no_store=True, max_age=0)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_safe
def storefront_experience(request: HttpRequest, slug: str) -> HttpResponse:
    """Render the trust modules a shopper sees at checkout."""
    experience = _experience_or_404(slug)
    now = timezone.now()
    enriched, _ = _enriched(experience, now=now)

    response = render(request, "trust/storefront.html", {"experience": enriched, "now": now})
    # Figures change with every refresh, so nothing may serve this page
    # without asking again.
    patch_cache_control(response, private=True, no_cache=True, max_age=0)
    return response
