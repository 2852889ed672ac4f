"""
Admin for checkout trust experiences, with every section edited inline, a
link to each experience's preview and a purge of the metrics it binds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from fulfillment.metrics import cache, catalog
from fulfillment.metrics.service import purge_metrics, verification_state
from fulfillment.metrics.snapshots import MetricSnapshot, VerificationState
from fulfillment.models import MetricCacheEntry
from trust.models import (
    AssurancePoint,
    BundleOffer,
    DeliveryTimeline,
    PerformanceSnapshot,
    SupportChannel,
    Testimonial,
    TrustExperience,
)

BOUND_MODELS = (AssurancePoint, PerformanceSnapshot, DeliveryTimeline)
NOT_CACHED = "not cached"

BINDING_FIELDSET = (
    "Live metric",
    {
        "fields": (
            ("metric_id", "metric_source"),
            ("freshness_window_minutes", "preview_state"),
            "provenance_note",
        ),
        "description": "Bind the card to a catalog metric to show a live, verified figure.",
    },
)


class SectionInlineMixin:
    extra = 0
    ordering = ("position", "pk")


class AssurancePointInline(SectionInlineMixin, admin.StackedInline):
    model = AssurancePoint
    fieldsets = (
        (None, {"fields": (("position", "key"), "title", "description", "evidence")}),
        BINDING_FIELDSET,
    )


class PerformanceSnapshotInline(SectionInlineMixin, admin.StackedInline):
    model = PerformanceSnapshot
    fieldsets = (
        (None, {"fields": (("position", "key"), "label", "caption", "fallback_value")}),
        BINDING_FIELDSET,
    )


class SupportChannelInline(SectionInlineMixin, admin.TabularInline):
    model = SupportChannel
    fields = ("position", "key", "channel", "label", "target", "availability")


class TestimonialInline(SectionInlineMixin, admin.TabularInline):
    model = Testimonial
    fields = ("position", "key", "quote", "author", "role", "segment")


class BundleOfferInline(SectionInlineMixin, admin.TabularInline):
    model = BundleOffer
    fields = ("position", "key", "slug", "title", "description", "savings")


class DeliveryTimelineInline(admin.StackedInline):
    model = DeliveryTimeline
    max_num = 1
    extra = 0
    fieldsets = (
        (None, {"fields": ("headline", "narrative")}),
        (
            "Fallback figures",
            {
                "fields": (
                    ("fallback_min_minutes", "fallback_average_minutes", "fallback_max_minutes"),
                    "fallback_confidence",
                ),
                "description": "Shown when the live forecast is missing or unsupported.",
            },
        ),
        BINDING_FIELDSET,
    )


# Bound metrics ----------------------------------------------------------------


def bound_metric_ids(experiences: Iterable[TrustExperience]) -> list[str]:
    """Return the sorted, distinct metric ids the cards of `experiences` bind."""
    experience_ids = [experience.pk for experience in experiences]
    metric_ids: set[str] = set()
    for model in BOUND_MODELS:
        metric_ids.update(
            model.objects.filter(experience_id__in=experience_ids)
            .exclude(metric_id="")
            .values_list("metric_id", flat=True)
        )
    return sorted(metric_ids)


def _bindings_of(experience: TrustExperience) -> set[tuple[str, int | None]]:
    """Return the distinct (metric id, window) pairs of an experience with loaded sections."""
    cards: list[Any] = [*experience.assurances.all(), *experience.performance_snapshots.all()]
    timeline = getattr(experience, "delivery_timeline", None)
    if timeline is not None:
        cards.append(timeline)
    return {(card.metric_id, card.freshness_window_minutes) for card in cards if card.is_bound}


def cached_snapshots(metric_ids: Iterable[str], *, now: datetime) -> dict[str, MetricSnapshot]:
    """
    Return the snapshot each metric would be served from right now: this
    process's memory tier, else an unexpired persistent row. Never computes.
    """
    metric_ids = [metric_id for metric_id in metric_ids if catalog.is_registered(metric_id)]
    cache.purge_tracker.sync()
    rows = MetricCacheEntry.objects.filter(metric_id__in=metric_ids, expires_at__gt=now)
    snapshots = {entry.metric_id: cache.snapshot_from_entry(entry) for entry in rows}
    for metric_id in metric_ids:
        in_memory = cache.read_memory(metric_id)
        if in_memory is not None:
            snapshots[metric_id] = in_memory
    return snapshots


@dataclass(frozen=True, slots=True)
class Freshness:
    """How many of an experience's bound metrics are fresh in the cache right now."""

    states: Counter[str]

    @property
    def fresh(self) -> int:
        return self.states[VerificationState.FRESH]

    @property
    def total(self) -> int:
        return sum(self.states.values())

    def describe(self) -> str:
        return ", ".join(f"{count} {state}" for state, count in sorted(self.states.items()))


def freshness_by_experience(
    experiences: Sequence[TrustExperience], *, now: datetime
) -> dict[int, Freshness]:
    """Return each experience's `Freshness`, reading both cache tiers once for all."""
    bindings = {experience.pk: _bindings_of(experience) for experience in experiences}
    metric_ids = {metric_id for pairs in bindings.values() for metric_id, _ in pairs}
    snapshots = cached_snapshots(metric_ids, now=now)
    return {
        pk: Freshness(Counter(_cached_state(pair, snapshots, now=now) for pair in pairs))
        for pk, pairs in bindings.items()
    }


def _cached_state(
    binding: tuple[str, int | None], snapshots: dict[str, MetricSnapshot], *, now: datetime
) -> str:
    metric_id, window = binding
    definition = catalog.get_definition(metric_id)
    if definition is None:
        return VerificationState.UNSUPPORTED
    snapshot = snapshots.get(metric_id)
    if snapshot is None:
        return NOT_CACHED
    window = window or definition.default_freshness_minutes
    return verification_state(snapshot, window_minutes=window, now=now)


# Experience admin ---------------------------------------------------------------


@admin.register(TrustExperience)
class TrustExperienceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "slug",
        "environment",
        "updated_at",
        "fresh_metrics",
        "preview_link",
    )
    list_filter = ("environment",)
    list_select_related = ("delivery_timeline",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")
    actions = ("purge_bound_metrics",)
    change_form_template = "admin/trust/trustexperience/change_form.html"
    fieldsets = (
        (None, {"fields": ("name", ("slug", "environment"))}),
        ("Guarantee", {"fields": ("guarantee_headline", "guarantee_description")}),
        ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    inlines = (
        AssurancePointInline,
        PerformanceSnapshotInline,
        SupportChannelInline,
        TestimonialInline,
        BundleOfferInline,
        DeliveryTimelineInline,
    )

    def get_urls(self) -> list[URLPattern]:
        purge = path(
            "<path:object_id>/purge-metrics/",
            self.admin_site.admin_view(self.purge_metrics_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_purge_metrics",
        )
        # Before the defaults, whose `<path:object_id>/` would swallow this path.
        return [purge, *super().get_urls()]

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        """Read the cache tiers once for the whole page of the "Fresh metrics" column."""
        changelist = super().get_changelist_instance(request)
        experiences = list(changelist.result_list)
        prefetch_related_objects(experiences, "assurances", "performance_snapshots")
        freshness = freshness_by_experience(experiences, now=timezone.now())
        for experience in experiences:
            experience.freshness = freshness[experience.pk]
        return changelist

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: TrustExperience | None = None,
    ) -> HttpResponse:
        if obj is not None and obj.pk:
            context["preview_url"] = preview_url(obj)
            if self.has_change_permission(request, obj):
                context["purge_url"] = reverse(
                    f"{self.admin_site.name}:trust_trustexperience_purge_metrics",
                    args=[obj.pk],
                )
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="Fresh metrics")
    def fresh_metrics(self, experience: TrustExperience) -> str:
        freshness = getattr(experience, "freshness", None)
        if freshness is None:
            freshness = freshness_by_experience([experience], now=timezone.now())[experience.pk]
        if not freshness.total:
            return format_html('<span title="{}">—</span>', "No card is bound to a metric.")
        return format_html(
            '<span title="{}">{} / {}</span>',
            f"Cached right now: {freshness.describe()}.",
            freshness.fresh,
            freshness.total,
        )

    @admin.display(description="Preview")
    def preview_link(self, experience: TrustExperience) -> str:
        url = preview_url(experience)
        if url is None:
            return format_html(
                '<span title="{}">—</span>',
                f"Previewed on the {experience.environment} deployment.",
            )
        return format_html('<a href="{}">Preview</a>', url)

    @admin.action(description="Purge bound metrics", permissions=["change"])
    def purge_bound_metrics(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.purge_for(request, list(queryset))

    def purge_metrics_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        experience = self.get_object(request, unquote(object_id))
        if experience is None:
            raise Http404("No experience with this id.")
        if not self.has_change_permission(request, experience):
            raise PermissionDenied
        self.purge_for(request, [experience])
        return redirect(f"{self.admin_site.name}:trust_trustexperience_change", experience.pk)

    def purge_for(self, request: HttpRequest, experiences: Sequence[TrustExperience]) -> None:
        """Purge every catalog metric the experiences bind, and say what happened."""
        metric_ids = bound_metric_ids(experiences)
        known = [metric_id for metric_id in metric_ids if catalog.is_registered(metric_id)]
        unknown = [metric_id for metric_id in metric_ids if metric_id not in known]
        names = ", ".join(f"“{experience.name}”" for experience in experiences)

        actor = f"admin:{request.user.get_username()}"
        for metric_id in known:
            purge_metrics(metric_id=metric_id, actor=actor)

        if known:
            noun = "metric" if len(known) == 1 else "metrics"
            self.message_user(
                request,
                f"Purged {len(known)} {noun} bound by {names}: {', '.join(known)}. "
                "Every worker drops them within 2 seconds, and the next request computes "
                "them afresh, also for other experiences that bind them.",
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request, f"{names} bind no catalog metric, so nothing was purged.", messages.WARNING
            )
        if unknown:
            self.message_user(
                request,
                f"Skipped metric ids the catalog does not know: {', '.join(unknown)}. "
                "Rebind or clear those cards.",
                messages.WARNING,
            )


def preview_url(experience: TrustExperience) -> str | None:
    """Return the preview page of `experience`, or None when another deployment serves it."""
    if experience.environment != settings.TRUST_ENVIRONMENT:
        return None
    return reverse("trust:preview", args=[experience.slug])
