"""
The shop's fulfillment tables, which the metrics read, and the persistent tier
of the metric cache.

Other systems write the fulfillment tables all day; the indexes below serve
the filters of the metric computations in `fulfillment/metrics/`.
"""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Product(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.title


class Order(models.Model):
    class Status(models.TextChoices):
        PLACED = "placed", "Placed"
        PAID = "paid", "Paid"
        FULFILLED = "fulfilled", "Fulfilled"
        CANCELLED = "cancelled", "Cancelled"

    reference = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLACED)
    customer_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.reference


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="order_items"
    )
    product_title = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.order.reference}: {self.product_title}"


class FulfillmentTask(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATUSES = (Status.PENDING, Status.IN_PROGRESS)

    order_item = models.ForeignKey(OrderItem, on_delete=models.CASCADE, related_name="tasks")
    task_type = models.CharField(max_length=50)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    title = models.CharField(max_length=200)
    payload = models.JSONField(default=dict, blank=True)
    result = models.JSONField(
        null=True, blank=True, help_text="May carry an `nps_score` given by the customer."
    )
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Open tasks by anchor (backlog, coverage, forecast backlog).
            models.Index(fields=["status", "scheduled_at"], name="ftask_status_scheduled"),
            # Completions in a trailing window (NPS, coverage, forecast history).
            models.Index(fields=["status", "completed_at"], name="ftask_status_completed"),
            models.Index(fields=["completed_at"], name="ftask_completed"),
            models.Index(fields=["started_at"], name="ftask_started"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"


class FulfillmentStaffingShift(models.Model):
    sku = models.CharField(
        max_length=200, help_text="Product slug or item title; matched case-insensitively."
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    hourly_capacity = models.FloatField(
        validators=[MinValueValidator(0)], help_text="Tasks this shift completes per hour."
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["ends_at", "starts_at"], name="fshift_window")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="fshift_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(hourly_capacity__gte=0), name="fshift_capacity_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%H:%M}"


class MetricCacheEntry(models.Model):
    """
    The persistent tier of the metric cache: one computed snapshot per metric.

    The JSON columns are named `metadata` and `forecast` in the database; the
    attributes carry a `_json` suffix so that no ORM's own `metadata` is ever
    shadowed.
    """

    metric_id = models.CharField(max_length=100, primary_key=True)
    value = models.FloatField(null=True, blank=True)
    formatted_value = models.CharField(max_length=64, blank=True)
    sample_size = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    metadata_json = models.JSONField(db_column="metadata", default=dict, blank=True)
    forecast_json = models.JSONField(db_column="forecast", null=True, blank=True)

    class Meta:
        db_table = "fulfillment_metric_cache"
        ordering = ["metric_id"]
        verbose_name = "metric cache entry"
        verbose_name_plural = "metric cache entries"

    def __str__(self) -> str:
        return f"{self.metric_id} @ {self.computed_at:%Y-%m-%d %H:%M}"


class MetricPurgeGeneration(models.Model):
    """
    Counters every purge moves forward, in the database all workers share:
    one row per purged metric, and the row `*` for purges of every metric.

    Each worker compares them with the values it last saw at most once a
    second and drops from its memory tier what a purge has touched since, so
    a purge made anywhere reaches every worker within two seconds. The `*` row
    also serves as the lock that orders purges and cache writes.
    """

    ALL_METRICS = "*"

    scope = models.CharField(max_length=100, primary_key=True, help_text="A metric id, or *.")
    generation = models.BigIntegerField(default=0)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "fulfillment_metric_purge_generation"
        ordering = ["scope"]

    def __str__(self) -> str:
        return f"purge generation {self.scope}={self.generation}"
