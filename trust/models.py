"""
Checkout trust experiences: the copy operators write in admin, its ordered
sections, and the bindings that tie a card to a live metric.
"""

from __future__ import annotations

from itertools import pairwise

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.text import slugify

from fulfillment.metrics import catalog


class Environment(models.TextChoices):
    DEVELOPMENT = "development", "Development"
    TEST = "test", "Test"
    PRODUCTION = "production", "Production"


class PreviewState(models.TextChoices):
    FRESH = "fresh", "Fresh"
    STALE = "stale", "Stale"
    MISSING = "missing", "Missing"


class TrustExperience(models.Model):
    name = models.CharField(max_length=200, help_text="For operators; shoppers never see it.")
    slug = models.SlugField(max_length=100, help_text="What storefronts ask for, e.g. checkout.")
    environment = models.CharField(
        max_length=20, choices=Environment.choices, default=Environment.DEVELOPMENT
    )
    guarantee_headline = models.CharField(max_length=200, blank=True)
    guarantee_description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["environment", "slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["slug", "environment"],
                name="trust_experience_unique_slug_per_environment",
                violation_error_message=(
                    "An experience with this slug already exists in this environment. "
                    "Choose another slug or another environment."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug}, {self.environment})"


class MetricBinding(models.Model):
    """
    Ties a card to a catalog metric. A blank `metric_id` means the card is
    unbound and renders the operator's copy as written.
    """

    metric_id = models.CharField(
        "metric",
        max_length=100,
        blank=True,
        choices=catalog.metric_choices,
        help_text="Leave blank to show the copy as written, with no live figure.",
    )
    metric_source = models.CharField(
        max_length=30,
        blank=True,
        choices=catalog.BindingSource.CHOICES,
        help_text="Filled from the catalog when left blank.",
    )
    freshness_window_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[
            MinValueValidator(catalog.MIN_FRESHNESS_WINDOW_MINUTES),
            MaxValueValidator(catalog.MAX_FRESHNESS_WINDOW_MINUTES),
        ],
        help_text=(
            f"{catalog.MIN_FRESHNESS_WINDOW_MINUTES} to {catalog.MAX_FRESHNESS_WINDOW_MINUTES} "
            "minutes. Blank uses the metric's default window."
        ),
    )
    preview_state = models.CharField(
        max_length=20,
        blank=True,
        choices=PreviewState.choices,
        help_text="Shown on the preview page while no live figure is resolved.",
    )
    provenance_note = models.TextField(
        blank=True, help_text="Where the figure comes from, in words a shopper can read."
    )

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=Q(freshness_window_minutes__isnull=True)
                | Q(
                    freshness_window_minutes__gte=catalog.MIN_FRESHNESS_WINDOW_MINUTES,
                    freshness_window_minutes__lte=catalog.MAX_FRESHNESS_WINDOW_MINUTES,
                ),
                name="%(app_label)s_%(class)s_window_in_range",
            ),
        ]

    @property
    def is_bound(self) -> bool:
        return bool(self.metric_id)

    def clean(self) -> None:
        super().clean()
        if not self.metric_id:
            if self.freshness_window_minutes is not None:
                raise ValidationError(
                    {"freshness_window_minutes": "Choose a metric before setting its window."}
                )
            return
        definition = catalog.get_definition(self.metric_id)
        if definition is None:
            raise ValidationError(
                {
                    "metric_id": (
                        f"“{self.metric_id}” is not a registered metric. Choose one of: "
                        f"{', '.join(catalog.registered_ids())}."
                    )
                }
            )
        if not self.metric_source:
            self.metric_source = definition.binding_source


class ExperienceSection(models.Model):
    """An ordered child of an experience, with a key stable across edits."""

    position = models.PositiveIntegerField(default=0)
    key = models.SlugField(
        max_length=60,
        blank=True,
        help_text="Stable identifier for storefronts. Generated from the content when blank.",
    )

    # The content field a generated key is made from.
    key_source_field: str = ""

    class Meta:
        abstract = True
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["experience", "key"],
                name="%(app_label)s_%(class)s_unique_key",
                violation_error_message="Another entry of this section already uses this key.",
            ),
        ]

    def save(self, *args, **kwargs) -> None:
        if not self.key:
            self.key = self.generate_key()
        super().save(*args, **kwargs)

    def generate_key(self) -> str:
        """Return a slug of the content, unique among this section's entries."""
        base = slugify(getattr(self, self.key_source_field, ""))[:50].strip("-")
        base = base or self._meta.model_name
        siblings = type(self).objects.filter(experience_id=self.experience_id)
        if self.pk:
            siblings = siblings.exclude(pk=self.pk)
        taken = set(siblings.filter(key__startswith=base).values_list("key", flat=True))
        candidate, suffix = base, 2
        while candidate in taken:
            candidate = f"{base}-{suffix}"
            suffix += 1
        return candidate


class AssurancePoint(ExperienceSection, MetricBinding):
    experience = models.ForeignKey(
        TrustExperience, on_delete=models.CASCADE, related_name="assurances"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    evidence = models.TextField(blank=True)

    key_source_field = "title"

    class Meta(ExperienceSection.Meta):
        constraints = ExperienceSection.Meta.constraints + MetricBinding.Meta.constraints

    def __str__(self) -> str:
        return self.title


class PerformanceSnapshot(ExperienceSection, MetricBinding):
    experience = models.ForeignKey(
        TrustExperience, on_delete=models.CASCADE, related_name="performance_snapshots"
    )
    label = models.CharField(max_length=200)
    caption = models.TextField(blank=True)
    fallback_value = models.CharField(
        max_length=64, blank=True, help_text="Shown when the card is unbound or has no figure."
    )

    key_source_field = "label"

    class Meta(ExperienceSection.Meta):
        constraints = ExperienceSection.Meta.constraints + MetricBinding.Meta.constraints

    def __str__(self) -> str:
        return self.label


class SupportChannel(ExperienceSection):
    class Channel(models.TextChoices):
        CHAT = "chat", "Live chat"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        SMS = "sms", "SMS"
        HELP_CENTER = "help_center", "Help center"

    experience = models.ForeignKey(
        TrustExperience, on_delete=models.CASCADE, related_name="support_channels"
    )
    channel = models.CharField(max_length=30, choices=Channel.choices)
    label = models.CharField(max_length=200)
    target = models.CharField(max_length=300, help_text="Address, number or URL.")
    availability = models.CharField(max_length=200, blank=True)

    key_source_field = "label"

    class Meta(ExperienceSection.Meta):
        pass

    def __str__(self) -> str:
        return self.label


class Testimonial(ExperienceSection):
    experience = models.ForeignKey(
        TrustExperience, on_delete=models.CASCADE, related_name="testimonials"
    )
    quote = models.TextField()
    author = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=200, blank=True)
    segment = models.CharField(max_length=200, blank=True)

    key_source_field = "author"

    class Meta(ExperienceSection.Meta):
        pass

    def __str__(self) -> str:
        return self.quote[:60]


class BundleOffer(ExperienceSection):
    experience = models.ForeignKey(
        TrustExperience, on_delete=models.CASCADE, related_name="bundle_offers"
    )
    slug = models.SlugField(max_length=100)
    title = models.CharField(max_length=200)
    description = models.TextField()
    savings = models.CharField(max_length=100, blank=True)

    key_source_field = "slug"

    class Meta(ExperienceSection.Meta):
        pass

    def __str__(self) -> str:
        return self.title


class DeliveryTimeline(MetricBinding):
    """The delivery forecast card; at most one per experience."""

    experience = models.OneToOneField(
        TrustExperience, on_delete=models.CASCADE, related_name="delivery_timeline"
    )
    headline = models.CharField(max_length=200)
    narrative = models.TextField(blank=True)
    fallback_min_minutes = models.PositiveIntegerField(null=True, blank=True)
    fallback_average_minutes = models.PositiveIntegerField(null=True, blank=True)
    fallback_max_minutes = models.PositiveIntegerField(null=True, blank=True)
    fallback_confidence = models.CharField(
        max_length=200, blank=True, help_text="Shown when no live forecast is available."
    )

    class Meta(MetricBinding.Meta):
        pass

    def __str__(self) -> str:
        return self.headline

    def clean(self) -> None:
        super().clean()
        figures = [
            ("fallback_min_minutes", self.fallback_min_minutes),
            ("fallback_average_minutes", self.fallback_average_minutes),
            ("fallback_max_minutes", self.fallback_max_minutes),
        ]
        given = [(name, value) for name, value in figures if value is not None]
        for (_, lower), (name, upper) in pairwise(given):
            if upper < lower:
                raise ValidationError(
                    {name: "Fallback minutes must run minimum ≤ average ≤ maximum."}
                )
