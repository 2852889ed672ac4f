"""Admin for checkout trust experiences, with every section edited inline."""

from __future__ import annotations

from django.contrib import admin

from trust.models import (
    AssurancePoint,
    BundleOffer,
    DeliveryTimeline,
    PerformanceSnapshot,
    SupportChannel,
    Testimonial,
    TrustExperience,
)

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


@admin.register(TrustExperience)
class TrustExperienceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "environment", "updated_at")
    list_filter = ("environment",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")
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
