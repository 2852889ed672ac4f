"""
Request and response shapes of the storefront API (SPEC §7).

Input serializers are strict: each field takes only its JSON type, and a
field the request does not define is refused, so that a misspelt
`freshness_window_minutes` is a 400 instead of a silently default window.
Output serializers shape the payloads `trust.selectors` builds and are the
source of the OpenAPI schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.validators import RegexValidator
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

from fulfillment.metrics.catalog import MAX_FRESHNESS_WINDOW_MINUTES, MIN_FRESHNESS_WINDOW_MINUTES
from fulfillment.metrics.snapshots import CacheLayer, VerificationState
from trust.api.fields import (
    CatalogMetricIdField,
    ForecastField,
    MetadataField,
    MetricIdField,
    PercentileBandsField,
    StrictCharField,
    StrictIntegerField,
)
from trust.models import Environment, PreviewState, SupportChannel, TrustExperience
from trust.selectors import Confidence

MAX_METRICS_PER_REQUEST = 50
MAX_METRIC_ID_LENGTH = 100
MAX_SLUG_LENGTH = TrustExperience._meta.get_field("slug").max_length
SLUG_PATTERN = r"^[-a-zA-Z0-9_]+\Z"

UNKNOWN_FIELD_MESSAGE = _("Remove “{field}”: it is not a field of this request.")
WINDOW_MESSAGE = _(
    "Send a whole number of minutes from {min} to {max}, or null for the metric's default window."
).format(min=MIN_FRESHNESS_WINDOW_MINUTES, max=MAX_FRESHNESS_WINDOW_MINUTES)
METRIC_ID_MESSAGE = _(
    "Send the metric id as a non-empty string of at most {max} characters."
).format(max=MAX_METRIC_ID_LENGTH)
SLUG_MESSAGE = _(
    "Send the experience slug: 1 to {max} letters, digits, hyphens or underscores."
).format(max=MAX_SLUG_LENGTH)
METRICS_MESSAGE = _("Send `metrics` as a list of at most {max} objects.").format(
    max=MAX_METRICS_PER_REQUEST
)
PURGE_METRIC_ID_MESSAGE = _(
    "Send a catalog metric id as a string, or leave `metric_id` out to purge every metric."
)

ALERTS = (
    "forecast_unavailable",
    "sla_breach_risk",
    "sla_watch",
    "limited_history",
    "no_staffing_capacity",
    "partial_support",
)
UNSUPPORTED_GUARDS = ("metric_not_registered", "all_skus_unsupported", "partial_sku_support")
CACHE_LAYERS = (CacheLayer.MEMORY, CacheLayer.PERSISTENT, CacheLayer.COMPUTED, CacheLayer.NONE)


def _messages(message: str, *codes: str) -> dict[str, str]:
    return dict.fromkeys(codes, message)


# Input ----------------------------------------------------------------------


class StrictInputSerializer(serializers.Serializer):
    """A request object that refuses the fields it does not define."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        errors: dict[str, Any] = {}
        value: dict[str, Any] = {}
        try:
            value = super().to_internal_value(data)
        except ValidationError as error:
            errors.update(error.detail)
        if isinstance(data, Mapping):
            for field in data:
                if field not in self.fields:
                    message = UNKNOWN_FIELD_MESSAGE.format(field=field)
                    errors[str(field)] = [ErrorDetail(message, code="unknown_field")]
        if errors:
            raise ValidationError(errors)
        return value


class MetricRequestSerializer(StrictInputSerializer):
    """One metric to resolve, with the window that decides whether it is fresh."""

    metric_id = MetricIdField(
        max_length=MAX_METRIC_ID_LENGTH,
        trim_whitespace=False,
        error_messages=_messages(METRIC_ID_MESSAGE, "invalid", "blank", "max_length", "null"),
        help_text=(
            "A catalog metric id. An id outside the catalog is answered as `unsupported`, "
            "not refused."
        ),
    )
    freshness_window_minutes = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=MIN_FRESHNESS_WINDOW_MINUTES,
        max_value=MAX_FRESHNESS_WINDOW_MINUTES,
        error_messages=_messages(WINDOW_MESSAGE, "invalid", "min_value", "max_value"),
        help_text="The window that decides `fresh` or `stale`; omit or null for the default.",
    )


class ResolveRequestSerializer(StrictInputSerializer):
    """The metrics a storefront wants resolved for one of its experiences."""

    slug = StrictCharField(
        max_length=MAX_SLUG_LENGTH,
        trim_whitespace=False,
        validators=[RegexValidator(SLUG_PATTERN, message=SLUG_MESSAGE, code="invalid")],
        error_messages=_messages(SLUG_MESSAGE, "invalid", "blank", "max_length", "null"),
        help_text=(
            "The storefront's experience slug, echoed back. It need not name a stored "
            "experience: the metrics are resolved either way."
        ),
    )
    metrics = MetricRequestSerializer(
        many=True,
        max_length=MAX_METRICS_PER_REQUEST,
        error_messages=_messages(METRICS_MESSAGE, "not_a_list", "max_length", "null"),
        help_text="The metrics to resolve, at most 50; answered in the same order.",
    )


class PurgeRequestSerializer(StrictInputSerializer):
    """One catalog metric to purge, or none to purge every cached metric."""

    metric_id = CatalogMetricIdField(
        required=False,
        max_length=MAX_METRIC_ID_LENGTH,
        trim_whitespace=False,
        error_messages=_messages(PURGE_METRIC_ID_MESSAGE, "invalid", "blank", "max_length", "null"),
        help_text="The catalog metric to purge; leave it out to purge every cached metric.",
    )


# Output: metrics ------------------------------------------------------------


class ProvenanceSerializer(serializers.Serializer):
    source = serializers.CharField(
        help_text="Where the figure comes from; `unknown` if unsupported."
    )
    cache_layer = serializers.ChoiceField(choices=CACHE_LAYERS)
    cache_refreshed_at = serializers.DateTimeField(
        allow_null=True, help_text="The snapshot's `computed_at`."
    )
    cache_expires_at = serializers.DateTimeField(allow_null=True)
    cache_ttl_minutes = serializers.IntegerField(
        allow_null=True, help_text="The persistent tier's lifetime for this metric."
    )
    notes = serializers.ListField(child=serializers.CharField())
    unsupported_reason = serializers.ChoiceField(choices=["metric_not_registered"], allow_null=True)


class ResolvedMetricSerializer(serializers.Serializer):
    metric_id = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    formatted_value = serializers.CharField(allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)
    sample_size = serializers.IntegerField()
    freshness_window_minutes = serializers.IntegerField(
        allow_null=True,
        help_text="The window applied: the request's, else the metric's default.",
    )
    verification_state = serializers.ChoiceField(choices=VerificationState.ALL)
    metadata = MetadataField()
    provenance = ProvenanceSerializer()
    percentile_bands = PercentileBandsField(allow_null=True)
    freshness_minutes_elapsed = serializers.FloatField(
        allow_null=True, help_text="Minutes from `computed_at` to the moment of resolving."
    )
    unsupported_guard = serializers.ChoiceField(
        choices=UNSUPPORTED_GUARDS,
        allow_null=True,
        help_text="Why a storefront should hold the figure back, if it should.",
    )
    forecast = ForecastField(allow_null=True)
    alerts = serializers.ListField(
        child=serializers.ChoiceField(choices=ALERTS),
        help_text="The delivery forecast's alerts in their fixed order; [] otherwise.",
    )
    fallback_copy = serializers.CharField(
        allow_null=True, help_text="An operator-facing sentence chosen by the worst alert."
    )


class ResolveResponseSerializer(serializers.Serializer):
    slug = serializers.CharField()
    metrics = ResolvedMetricSerializer(many=True)


class PurgeResponseSerializer(serializers.Serializer):
    purged_metric_ids = serializers.ListField(child=serializers.CharField())


# Output: experiences --------------------------------------------------------


class ExperienceSummarySerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    environment = serializers.ChoiceField(choices=Environment.choices)
    guarantee_headline = serializers.CharField()
    guarantee_description = serializers.CharField()
    updated_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField(help_text="The enriched detail of this experience.")

    def get_url(self, experience: TrustExperience) -> str:
        # `reverse` drops the optional trailing slash; the canonical URL has one.
        path = reverse("trust-api:experience-detail", kwargs={"slug": experience.slug}) + "/"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class BoundMetricSerializer(ResolvedMetricSerializer):
    metric_source = serializers.CharField(help_text="The binding's source label.")
    preview_state = serializers.ChoiceField(
        choices=[*PreviewState.values, ""], help_text="The operator's preview state; may be blank."
    )
    provenance_note = serializers.CharField(allow_blank=True)


class SectionEntrySerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Stable within the experience across edits.")


class AssuranceSerializer(SectionEntrySerializer):
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    evidence = serializers.CharField(allow_blank=True)
    metric = BoundMetricSerializer(allow_null=True, help_text="Null for an unbound card.")


class PerformanceSnapshotSerializer(SectionEntrySerializer):
    label = serializers.CharField()
    caption = serializers.CharField(allow_blank=True)
    fallback_value = serializers.CharField(allow_blank=True)
    metric = BoundMetricSerializer(allow_null=True, help_text="Null for an unbound card.")
    value = serializers.CharField(
        allow_blank=True,
        help_text="What to show: the metric's formatted value when it has one, else the fallback.",
    )


class SupportChannelSerializer(SectionEntrySerializer):
    channel = serializers.ChoiceField(choices=SupportChannel.Channel.choices)
    label = serializers.CharField()
    target = serializers.CharField()
    availability = serializers.CharField(allow_blank=True)


class TestimonialSerializer(SectionEntrySerializer):
    quote = serializers.CharField()
    author = serializers.CharField(allow_blank=True)
    role = serializers.CharField(allow_blank=True)
    segment = serializers.CharField(allow_blank=True)


class BundleOfferSerializer(SectionEntrySerializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    savings = serializers.CharField(allow_blank=True)


class ResolvedTimelineSerializer(serializers.Serializer):
    min_minutes = serializers.FloatField(
        allow_null=True, help_text="The smallest SKU clearing estimate, else the fallback minimum."
    )
    average_minutes = serializers.FloatField(
        allow_null=True, help_text="The overall p50, else the fallback average."
    )
    max_minutes = serializers.FloatField(
        allow_null=True,
        help_text="The metric's value, else the overall p90, else the fallback maximum.",
    )
    confidence = serializers.ChoiceField(
        choices=[Confidence.LIVE, Confidence.STALE, Confidence.FALLBACK]
    )
    alerts = serializers.ListField(child=serializers.ChoiceField(choices=ALERTS))
    fallback_copy = serializers.CharField(allow_null=True)


class DeliveryTimelineSerializer(serializers.Serializer):
    headline = serializers.CharField()
    narrative = serializers.CharField(allow_blank=True)
    fallback_min_minutes = serializers.IntegerField(allow_null=True)
    fallback_average_minutes = serializers.IntegerField(allow_null=True)
    fallback_max_minutes = serializers.IntegerField(allow_null=True)
    fallback_confidence = serializers.CharField(allow_blank=True)
    metric = BoundMetricSerializer(allow_null=True, help_text="Null for an unbound timeline.")
    resolved = ResolvedTimelineSerializer()


class ExperienceDetailSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    environment = serializers.ChoiceField(choices=Environment.choices)
    guarantee_headline = serializers.CharField(allow_blank=True)
    guarantee_description = serializers.CharField(allow_blank=True)
    updated_at = serializers.DateTimeField()
    assurances = AssuranceSerializer(many=True)
    performance_snapshots = PerformanceSnapshotSerializer(many=True)
    support_channels = SupportChannelSerializer(many=True)
    testimonials = TestimonialSerializer(many=True)
    bundle_offers = BundleOfferSerializer(many=True)
    delivery_timeline = DeliveryTimelineSerializer(allow_null=True)


# Errors (documentation only) ------------------------------------------------


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text="Path of the field in the request body, e.g. `metrics[2].metric_id`; "
        "`body` when the body as a whole is wrong."
    )
    message = serializers.CharField()
    code = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable machine code, e.g. `api_key_invalid`.")


class ValidationErrorSerializer(ErrorSerializer):
    errors = FieldErrorSerializer(many=True)
    valid_metric_ids = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="With code `unknown_metric`: the ids the purge accepts.",
    )


class MetricUnavailableErrorSerializer(ErrorSerializer):
    metric_id = serializers.CharField(
        required=False, help_text="With code `metric_unavailable`: the metric that failed."
    )
