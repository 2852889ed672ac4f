"""factory_boy factories for every model; the whole suite builds its data here."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from fulfillment.models import (
    FulfillmentStaffingShift,
    FulfillmentTask,
    MetricCacheEntry,
    Order,
    OrderItem,
    Product,
)
from trust.models import (
    AssurancePoint,
    BundleOffer,
    DeliveryTimeline,
    Environment,
    PerformanceSnapshot,
    SupportChannel,
    Testimonial,
    TrustExperience,
)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"product-{n}")
    title = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    reference = factory.Sequence(lambda n: f"ORD-{n:06d}")
    status = Order.Status.PAID
    customer_email = factory.Sequence(lambda n: f"customer{n}@example.com")
    created_at = factory.LazyFunction(timezone.now)


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    product_title = factory.LazyAttribute(lambda o: o.product.title if o.product else "Item")


class FulfillmentTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FulfillmentTask

    order_item = factory.SubFactory(OrderItemFactory)
    task_type = "design"
    status = FulfillmentTask.Status.PENDING
    title = factory.Sequence(lambda n: f"Task {n}")
    payload = factory.LazyFunction(dict)
    result = None
    created_at = factory.LazyFunction(timezone.now)


class FulfillmentStaffingShiftFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FulfillmentStaffingShift

    sku = "product-0"
    starts_at = factory.LazyFunction(timezone.now)
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=8))
    hourly_capacity = 2.0
    notes = ""


class MetricCacheEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MetricCacheEntry

    metric_id = "fulfillment_sla_on_time_pct"
    value = 0.9
    formatted_value = "90%"
    sample_size = 10
    computed_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.computed_at + timedelta(minutes=1440))
    metadata_json = factory.LazyFunction(lambda: {"source": "fulfillment", "on_time_tasks": 9})
    forecast_json = None


class TrustExperienceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrustExperience

    name = factory.Sequence(lambda n: f"Experience {n}")
    slug = factory.Sequence(lambda n: f"experience-{n}")
    environment = Environment.DEVELOPMENT
    guarantee_headline = "Delivered on schedule"
    guarantee_description = "Or your next order is on us."


class AssurancePointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AssurancePoint

    experience = factory.SubFactory(TrustExperienceFactory)
    position = factory.Sequence(int)
    title = factory.Sequence(lambda n: f"Assurance {n}")
    description = "What we promise."


class PerformanceSnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PerformanceSnapshot

    experience = factory.SubFactory(TrustExperienceFactory)
    position = factory.Sequence(int)
    label = factory.Sequence(lambda n: f"Figure {n}")
    fallback_value = "95%"


class SupportChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupportChannel

    experience = factory.SubFactory(TrustExperienceFactory)
    position = factory.Sequence(int)
    channel = SupportChannel.Channel.EMAIL
    label = "Email us"
    target = "help@example.com"


class TestimonialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Testimonial

    experience = factory.SubFactory(TrustExperienceFactory)
    position = factory.Sequence(int)
    quote = "Quick and careful."
    author = factory.Sequence(lambda n: f"Customer {n}")


class BundleOfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BundleOffer

    experience = factory.SubFactory(TrustExperienceFactory)
    position = factory.Sequence(int)
    slug = factory.Sequence(lambda n: f"bundle-{n}")
    title = "Launch kit"
    description = "Three services together."


class DeliveryTimelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryTimeline

    experience = factory.SubFactory(TrustExperienceFactory)
    headline = "When your order will be ready"
    fallback_min_minutes = 60
    fallback_average_minutes = 120
    fallback_max_minutes = 240
    fallback_confidence = "Typical delivery times"
