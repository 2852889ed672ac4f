"""Admin for the fulfillment tables and a read-only view of the metric cache."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.timesince import timesince

from fulfillment.metrics import cache
from fulfillment.models import (
    FulfillmentStaffingShift,
    FulfillmentTask,
    MetricCacheEntry,
    Order,
    OrderItem,
    Product,
)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("title", "slug")
    search_fields = ("title", "slug")


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    autocomplete_fields = ("product",)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("reference", "status", "customer_email", "created_at")
    list_filter = ("status",)
    search_fields = ("reference", "customer_email")
    date_hierarchy = "created_at"
    inlines = (OrderItemInline,)


@admin.register(OrderItem)
class OrderItemAdmin(admin.ModelAdmin):
    list_display = ("product_title", "order", "product", "quantity")
    list_select_related = ("order", "product")
    search_fields = ("product_title", "order__reference")
    raw_id_fields = ("order",)
    autocomplete_fields = ("product",)


@admin.register(FulfillmentTask)
class FulfillmentTaskAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "task_type",
        "status",
        "scheduled_at",
        "started_at",
        "completed_at",
        "created_at",
    )
    list_filter = ("status", "task_type")
    search_fields = ("title", "order_item__order__reference", "order_item__product_title")
    raw_id_fields = ("order_item",)
    readonly_fields = ("updated_at",)
    show_full_result_count = False  # a count over millions of rows is slow on PostgreSQL


@admin.register(FulfillmentStaffingShift)
class FulfillmentStaffingShiftAdmin(admin.ModelAdmin):
    list_display = ("sku", "starts_at", "ends_at", "hourly_capacity", "notes")
    list_filter = ("sku",)
    search_fields = ("sku", "notes")
    date_hierarchy = "starts_at"


@admin.register(MetricCacheEntry)
class MetricCacheEntryAdmin(admin.ModelAdmin):
    """
    The persistent metric tier, read-only: purge through the purge command, the
    endpoint or the experience admin. "layer state" is this process's view.
    """

    list_display = (
        "metric_id",
        "formatted_value",
        "sample_size",
        "computed_at",
        "age",
        "expires_at",
        "is_live",
        "layer_state",
    )
    readonly_fields = (
        "metric_id",
        "value",
        "formatted_value",
        "sample_size",
        "computed_at",
        "age",
        "expires_at",
        "is_live",
        "layer_state",
        "metadata_json",
        "forecast_json",
    )

    @admin.display(description="age")
    def age(self, entry: MetricCacheEntry) -> str:
        return timesince(entry.computed_at, now=timezone.now()) or "just now"

    @admin.display(description="unexpired", boolean=True)
    def is_live(self, entry: MetricCacheEntry) -> bool:
        return entry.expires_at > timezone.now()

    @admin.display(description="layer state")
    def layer_state(self, entry: MetricCacheEntry) -> str:
        """Say which tiers of this process hold the metric, reading them without computing."""
        cache.purge_tracker.sync()
        in_memory = cache.read_memory(entry.metric_id)
        if in_memory is None:
            layers = "persistent only"
        elif in_memory.computed_at == entry.computed_at:
            layers = "memory + persistent"
        else:
            layers = "memory (another snapshot) + persistent"
        if entry.expires_at <= timezone.now():
            return f"{layers} · expired, recomputed on the next request"
        return layers

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
