"""
The demo shop that `manage.py seed_demo` builds: a month of fulfillment history
for a handful of products, a staffing roster for the next day and a half, and a
`checkout` experience whose cards are bound to every catalog metric.

The data is drawn from a seeded random generator, so every run builds the same
shop relative to the moment it runs.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from fulfillment.models import (
    FulfillmentStaffingShift,
    FulfillmentTask,
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

logger = logging.getLogger(__name__)

DEMO_SLUG = "checkout"
HISTORY_DAYS = 30
ORDERS_PER_DAY = 60
ROSTER_HOURS = 36


@dataclass(frozen=True)
class DemoProduct:
    slug: str
    title: str
    task_type: str
    median_minutes: int  # typical time from start to completion
    hourly_capacity: float  # tasks one shift completes per hour


PRODUCTS = (
    DemoProduct("logo-refresh", "Logo refresh", "design", 150, 6.0),
    DemoProduct("landing-page-copy", "Landing page copy", "copywriting", 90, 8.0),
    DemoProduct("seo-audit", "SEO audit", "audit", 240, 4.0),
    DemoProduct("social-media-kit", "Social media kit", "design", 120, 6.0),
    DemoProduct("product-photo-retouch", "Product photo retouch", "retouching", 45, 10.0),
)
# Items sold before the catalog existed: no product row, only a title.
LEGACY_TITLES = ("Rush Consultation", "Brand Voice Workshop")


@dataclass
class SeedReport:
    created: bool
    products: int = 0
    orders: int = 0
    tasks: int = 0
    shifts: int = 0
    experience_created: bool = False


def seed_demo(*, now: datetime | None = None, seed: int = 20261203) -> SeedReport:
    """
    Fill an empty database with the demo shop and its `checkout` experience.

    Each half is skipped when its data is already there, so a second run
    changes nothing.
    """
    now = now or timezone.now()
    report = SeedReport(created=False)
    with transaction.atomic():
        if not Product.objects.exists() and not FulfillmentTask.objects.exists():
            _seed_shop(report, now=now, rng=random.Random(seed))
            report.created = True
        if not TrustExperience.objects.filter(
            slug=DEMO_SLUG, environment=Environment.DEVELOPMENT
        ).exists():
            _seed_experience()
            report.experience_created = True
            report.created = True
    logger.info(
        "seed_demo created=%s products=%d orders=%d tasks=%d shifts=%d experience_created=%s",
        report.created,
        report.products,
        report.orders,
        report.tasks,
        report.shifts,
        report.experience_created,
    )
    return report


def _seed_shop(report: SeedReport, *, now: datetime, rng: random.Random) -> None:
    products = Product.objects.bulk_create(
        [Product(slug=item.slug, title=item.title) for item in PRODUCTS]
    )
    profiles = dict(zip(products, PRODUCTS, strict=True))

    orders: list[Order] = []
    lines: list[tuple[Order, Product | None, str]] = []
    for day in range(HISTORY_DAYS, -1, -1):
        for _ in range(ORDERS_PER_DAY):
            created_at = now - timedelta(days=day, minutes=rng.uniform(0, 24 * 60))
            if created_at > now:
                continue
            order = Order(
                reference=f"DEMO-{len(orders) + 1:05d}",
                status=Order.Status.PAID,
                customer_email=f"customer{len(orders) + 1}@example.com",
                created_at=created_at,
            )
            orders.append(order)
            for _ in range(rng.choice((1, 1, 1, 2))):
                if rng.random() < 0.05:
                    lines.append((order, None, rng.choice(LEGACY_TITLES)))
                else:
                    product = rng.choice(products)
                    lines.append((order, product, product.title))
    Order.objects.bulk_create(orders, batch_size=500)

    items = OrderItem.objects.bulk_create(
        [
            OrderItem(order=order, product=product, product_title=title)
            for order, product, title in lines
        ],
        batch_size=500,
    )
    tasks = [
        _demo_task(item, profiles.get(item.product), now=now, rng=rng)
        for item in items
        for _ in range(rng.choice((1, 1, 2)))
    ]
    FulfillmentTask.objects.bulk_create(tasks, batch_size=500)
    shifts = FulfillmentStaffingShift.objects.bulk_create(_demo_roster(now=now))

    report.products = len(products)
    report.orders = len(orders)
    report.tasks = len(tasks)
    report.shifts = len(shifts)


def _demo_task(
    item: OrderItem, profile: DemoProduct | None, *, now: datetime, rng: random.Random
) -> FulfillmentTask:
    order_created = item.order.created_at
    median = profile.median_minutes if profile else 180
    created_at = order_created + timedelta(minutes=rng.uniform(1, 20))
    scheduled_at = created_at + timedelta(hours=rng.uniform(4, 30))
    age_hours = (now - created_at).total_seconds() / 3600
    task = FulfillmentTask(
        order_item=item,
        task_type=profile.task_type if profile else "consultation",
        title=f"{item.product_title} for {item.order.reference}",
        payload={"brief": f"Deliver {item.product_title.lower()}", "priority": "standard"},
        created_at=created_at,
        scheduled_at=scheduled_at,
    )

    # Older work has finished one way or another; the last day and a half is
    # still moving, some of it past its schedule.
    roll = rng.random()
    if age_hours > 36:
        status = (
            FulfillmentTask.Status.COMPLETED
            if roll < 0.9
            else FulfillmentTask.Status.FAILED
            if roll < 0.95
            else FulfillmentTask.Status.CANCELLED
        )
    else:
        status = (
            FulfillmentTask.Status.PENDING
            if roll < 0.2
            else FulfillmentTask.Status.IN_PROGRESS
            if roll < 0.4
            else FulfillmentTask.Status.COMPLETED
            if roll < 0.95
            else FulfillmentTask.Status.CANCELLED
        )
    task.status = status
    if status == FulfillmentTask.Status.PENDING:
        return task

    task.started_at = min(created_at + timedelta(minutes=rng.uniform(5, 240)), now)
    if status == FulfillmentTask.Status.COMPLETED:
        duration = max(5.0, rng.gauss(median, median * 0.35))
        task.completed_at = min(task.started_at + timedelta(minutes=duration), now)
        task.result = _demo_result(rng)
    elif status == FulfillmentTask.Status.FAILED:
        task.result = {"error": "Customer assets missing"}
    return task


def _demo_result(rng: random.Random) -> dict[str, object]:
    roll = rng.random()
    if roll < 0.55:
        return {"delivered": True}
    if roll < 0.93:
        return {"delivered": True, "nps_score": rng.choice((10, 10, 9, 9, 9, 8, 8, 7, 6, 4))}
    # What real feedback forms also send: strings, booleans and nulls.
    return {"delivered": True, "nps_score": rng.choice(("9", "n/a", True, None, ""))}


def _demo_roster(*, now: datetime) -> list[FulfillmentStaffingShift]:
    first_start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    shifts = []
    for profile in PRODUCTS:
        for offset_hours in range(0, ROSTER_HOURS, 12):
            starts_at = first_start + timedelta(hours=offset_hours)
            shifts.append(
                FulfillmentStaffingShift(
                    sku=profile.slug,
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(hours=8),
                    hourly_capacity=profile.hourly_capacity,
                    notes="Demo roster",
                )
            )
    return shifts


def _seed_experience() -> None:
    experience = TrustExperience.objects.create(
        name="Checkout trust modules",
        slug=DEMO_SLUG,
        environment=Environment.DEVELOPMENT,
        guarantee_headline="Delivered on schedule, or your next order is on us",
        guarantee_description=(
            "If we miss the delivery time shown at checkout, we credit the full order value "
            "to your account. No forms, no waiting."
        ),
    )
    AssurancePoint.objects.bulk_create(
        [
            AssurancePoint(
                experience=experience,
                position=1,
                key="on-schedule",
                title="Work lands on schedule",
                description="Our fulfillment team tracks every task against its promised time.",
                evidence="Measured over every scheduled task we have completed.",
                metric_id="fulfillment_sla_on_time_pct",
                metric_source="fulfillment",
                provenance_note="Fulfillment tasks with a schedule and a completion time.",
            ),
            AssurancePoint(
                experience=experience,
                position=2,
                key="fast-start",
                title="A specialist starts quickly",
                description="Work begins soon after you order, day or night.",
                metric_id="first_response_minutes",
                metric_source="support_analytics",
                provenance_note="Time from order to the first task starting.",
            ),
            AssurancePoint(
                experience=experience,
                position=3,
                key="secure-payment",
                title="Secure payment",
                description="Card details are handled by our payment provider, never stored.",
            ),
        ]
    )
    PerformanceSnapshot.objects.bulk_create(
        [
            PerformanceSnapshot(
                experience=experience,
                position=1,
                key="nps",
                label="Customer score",
                caption="Average rating after delivery, last 30 days",
                fallback_value="9.1",
                metric_id="nps_trailing_30d",
                metric_source="fulfillment",
            ),
            PerformanceSnapshot(
                experience=experience,
                position=2,
                key="backlog",
                label="Queue delay right now",
                caption="Total time overdue across open work",
                fallback_value="Under 1h",
                metric_id="fulfillment_backlog_minutes",
                metric_source="fulfillment",
                freshness_window_minutes=60,
            ),
            PerformanceSnapshot(
                experience=experience,
                position=3,
                key="coverage",
                label="Staffing coverage",
                caption="Completed versus scheduled work, last 24 hours",
                fallback_value="100%",
                metric_id="fulfillment_staffing_coverage_pct",
                metric_source="operator_staffing",
            ),
            PerformanceSnapshot(
                experience=experience,
                position=4,
                key="customers",
                label="Happy customers",
                caption="Shops we have delivered for",
                fallback_value="1,200+",
            ),
        ]
    )
    SupportChannel.objects.bulk_create(
        [
            SupportChannel(
                experience=experience,
                position=1,
                key="chat",
                channel=SupportChannel.Channel.CHAT,
                label="Chat with a specialist",
                target="https://shop.example.com/help/chat",
                availability="Every day, 07:00 to 23:00 UTC",
            ),
            SupportChannel(
                experience=experience,
                position=2,
                key="email",
                channel=SupportChannel.Channel.EMAIL,
                label="Email support",
                target="help@shop.example.com",
                availability="Answered within 4 hours",
            ),
            SupportChannel(
                experience=experience,
                position=3,
                key="phone",
                channel=SupportChannel.Channel.PHONE,
                label="Call us",
                target="+44 20 7946 0000",
                availability="Weekdays, 09:00 to 17:00 UTC",
            ),
        ]
    )
    Testimonial.objects.bulk_create(
        [
            Testimonial(
                experience=experience,
                position=1,
                key="ana",
                quote="The logo arrived a day early and needed no changes.",
                author="Ana Ruiz",
                role="Founder, Hilo Coffee",
                segment="small business",
            ),
            Testimonial(
                experience=experience,
                position=2,
                key="tom",
                quote="Clear timelines and honest updates when a brief changed.",
                author="Tom Becker",
                role="Marketing lead",
                segment="agency",
            ),
        ]
    )
    BundleOffer.objects.bulk_create(
        [
            BundleOffer(
                experience=experience,
                position=1,
                key="launch-kit",
                slug="launch-kit",
                title="Launch kit",
                description="Logo refresh, landing page copy and a social media kit together.",
                savings="Save 15%",
            ),
        ]
    )
    DeliveryTimeline.objects.create(
        experience=experience,
        headline="When your order will be ready",
        narrative="Estimated from our current queue and the team on shift.",
        fallback_min_minutes=120,
        fallback_average_minutes=240,
        fallback_max_minutes=480,
        fallback_confidence="Typical delivery times",
        metric_id="fulfillment_delivery_sla_forecast",
        metric_source="operator_staffing",
    )
