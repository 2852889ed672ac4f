"""
Large fulfillment datasets for benchmarks (`manage.py generate_fulfillment_dataset`).

The generator streams orders, order items and fulfillment tasks in batches, so
its memory stays flat whether it writes ten thousand tasks or ten million. On
PostgreSQL each batch goes in through `COPY ... FROM STDIN` with primary keys
chosen here; elsewhere it falls back to `bulk_create`. Products and the
staffing roster are small and always go through the ORM.

The shape of the data follows what the metric computations look at:

- about 90% of the tasks belong to orders of the last 30 days (busier towards
  today), the rest to the 60 days before;
- about 1.3 tasks per order item and 1 or 2 items per order; about 3% of the
  items have no product, only a title spelled in several ways, so that the
  "else the item's title" SKU rule is exercised;
- every status: mostly completed, some failed and cancelled, and an open
  backlog of pending and in-progress work, part of it overdue;
- timestamps consistent with the status, with the untidiness of real data:
  completions after the schedule, a few completed tasks without `started_at`,
  a few starts before the order was created, some tasks without a schedule;
- `result` on completed tasks, with a numeric `nps_score` on about 35% of them
  and a malformed one (`"9"`, `true`, `null`, ...) on about 3%;
- a staffing roster over the next 36 hours sized to each SKU's demand, with
  shifts already under way, a few past shifts, and some SKUs left unstaffed.

Every run ends with a metric purge (both tiers, every worker), since figures
cached before the load no longer describe the data.

Every draw comes from one seeded `random.Random` and every time is an offset
from `now`, so the same seed builds the same data relative to the moment it
runs. `updated_at` is the moment of generation, as `auto_now` would record it.
"""

from __future__ import annotations

import bisect
import itertools
import json
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from fulfillment.metrics.expressions import normalise_sku_text
from fulfillment.metrics.service import purge_metrics
from fulfillment.models import (
    FulfillmentStaffingShift,
    FulfillmentTask,
    Order,
    OrderItem,
    Product,
)

logger = logging.getLogger(__name__)

DEFAULT_SKUS = 50
DEFAULT_SEED = 20261203
DEFAULT_BATCH_SIZE = 25_000
MAX_TASKS = 100_000_000
MAX_SKUS = 10_000

HISTORY_DAYS = 30  # the window the trailing metrics look at
OLDER_HISTORY_DAYS = 60  # older orders before that window
OLDER_SHARE = 0.10  # share of the orders placed before the 30-day window
ROSTER_HOURS = 36  # the horizon of the delivery forecast

TITLE_ONLY_ITEM_SHARE = 0.03
SECOND_ITEM_SHARE = 0.4  # orders with two items instead of one
SECOND_TASK_SHARE = 0.3  # items with a review task after the main task: 1.3 tasks per item
UNSCHEDULED_SHARE = 0.06
PICKUP_LOG_MEDIAN = math.log(75)  # minutes from a task's creation to a specialist starting
SCHEDULED_WORK_SHARE = 0.1  # tasks worked just before their schedule, not on arrival
LATE_START_SHARE = 0.12
CANCELLED_SHARE = 0.04
FAILED_SHARE = 0.03
STUCK_SHARE = 0.03  # of the work due in the last week, still open: the overdue backlog
STUCK_WINDOW_MINUTES = 7 * 24 * 60
NO_START_SHARE = 0.02  # completed tasks whose start the source system never recorded
EARLY_START_SHARE = 0.01  # started tasks whose start precedes the order (clock skew)
NUMERIC_NPS_SHARE = 0.35
MALFORMED_NPS_SHARE = 0.03
UNSTAFFED_SKU_SHARE = 0.12
MAX_PARALLEL_SHIFTS = 100

ProgressCallback = Callable[["Progress"], None]
NoticeCallback = Callable[[str], None]
Row = tuple[Any, ...]


class DatasetError(Exception):
    """Input or database state that the generator refuses."""


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a run stands after a batch."""

    done: int
    total: int
    elapsed_seconds: float
    streaming_seconds: float

    @property
    def percent(self) -> int:
        return self.done * 100 // self.total

    @property
    def remaining_seconds(self) -> float:
        if not self.done:
            return 0.0
        return self.streaming_seconds / self.done * (self.total - self.done)


@dataclass
class DatasetReport:
    """What a run created."""

    tasks: int = 0
    order_items: int = 0
    title_only_items: int = 0
    orders: int = 0
    products: int = 0
    shifts: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)
    replaced: bool = False
    method: str = ""
    seed: int = DEFAULT_SEED
    elapsed_seconds: float = 0.0


# The catalog ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Service:
    slug: str
    title: str
    task_type: str
    median_minutes: int


SERVICES = (
    _Service("logo-refresh", "Logo refresh", "design", 150),
    _Service("landing-page-copy", "Landing page copy", "copywriting", 90),
    _Service("seo-audit", "SEO audit", "audit", 240),
    _Service("social-media-kit", "Social media kit", "design", 120),
    _Service("product-photo-retouch", "Product photo retouch", "retouching", 45),
    _Service("brand-guidelines", "Brand guidelines", "design", 300),
    _Service("newsletter-template", "Newsletter template", "design", 100),
    _Service("blog-post", "Blog post", "copywriting", 120),
    _Service("product-descriptions", "Product descriptions", "copywriting", 60),
    _Service("video-subtitles", "Video subtitles", "localisation", 75),
    _Service("website-translation", "Website translation", "localisation", 180),
    _Service("accessibility-review", "Accessibility review", "audit", 150),
    _Service("page-speed-tuning", "Page speed tuning", "engineering", 210),
    _Service("analytics-setup", "Analytics setup", "engineering", 120),
    _Service("email-automation", "Email automation", "engineering", 160),
    _Service("packaging-mockup", "Packaging mockup", "design", 200),
    _Service("banner-set", "Banner set", "design", 80),
    _Service("podcast-edit", "Podcast edit", "audio", 110),
    _Service("voiceover", "Voiceover", "audio", 70),
    _Service("background-removal", "Background removal", "retouching", 20),
    _Service("icon-set", "Icon set", "design", 180),
    _Service("pitch-deck", "Pitch deck", "design", 240),
    _Service("press-release", "Press release", "copywriting", 90),
    _Service("ad-copy", "Ad copy", "copywriting", 40),
    _Service("competitor-research", "Competitor research", "research", 200),
    _Service("keyword-research", "Keyword research", "research", 120),
    _Service("store-setup", "Store setup", "engineering", 270),
    _Service("checkout-audit", "Checkout audit", "audit", 150),
    _Service("menu-design", "Menu design", "design", 130),
    _Service("business-cards", "Business cards", "design", 50),
)
# Variants that stretch the catalog past the base services: (slug suffix, duration factor).
TIERS = (
    ("", 1.0),
    ("express", 0.6),
    ("premium", 1.5),
    ("starter", 0.8),
    ("plus", 1.2),
    ("team", 1.8),
    ("mini", 0.5),
    ("pro", 1.4),
)
# Items sold before the catalog existed: no product, only a title (staffed?, share).
TITLE_ONLY_SKUS = (
    ("Rush Consultation", True, 0.5),
    ("Brand Voice Workshop", False, 0.3),
    ("Custom Illustration", False, 0.2),
)
NUMERIC_SCORES = (10,) * 7 + (9,) * 6 + (8,) * 3 + (7, 7, 6, 5, 3, 0)  # mean 8
MALFORMED_SCORES = ("9", "10", "n/a", "", True, False, None)
CANCEL_REASONS = ("customer_request", "duplicate_order", "payment_reversed")
FAILURE_REASONS = ("customer_assets_missing", "brief_unclear", "specialist_unavailable")
LEAD_TIME_HOURS = (4, 24, 24, 24, 24, 24, 48, 48, 72, 72)  # SLA tiers, weighted


@dataclass(frozen=True, slots=True)
class _Sku:
    sku: str  # the normalised SKU the metrics group by
    title: str
    task_type: str
    median_minutes: float
    share: float  # of the item volume
    has_product: bool
    staffed: bool


def _build_catalog(*, rng: random.Random, skus: int) -> list[_Sku]:
    """Draw the product SKUs (popularity, staffing) and append the title-only SKUs."""
    entries: list[tuple[str, str, str, float]] = []
    for index in range(skus):
        service = SERVICES[index % len(SERVICES)]
        repeat, tier = divmod(index // len(SERVICES), len(TIERS))
        suffix, factor = TIERS[tier]
        number = str(repeat + 1) if repeat else ""
        entries.append(
            (
                "-".join(part for part in (service.slug, suffix, number) if part),
                " ".join(part for part in (service.title, suffix, number) if part),
                service.task_type,
                service.median_minutes * factor,
            )
        )
    # A long tail of popularity (Zipf-like), in an order drawn from the seed.
    ranks = list(range(1, skus + 1))
    rng.shuffle(ranks)
    weights = [1 / rank**0.8 for rank in ranks]
    total = sum(weights)
    unstaffed_count = max(1, round(skus * UNSTAFFED_SKU_SHARE)) if skus >= 3 else 0
    # Niche services are the ones left without staff: pick among the less popular half.
    niche = sorted(range(skus), key=lambda index: ranks[index])[skus // 2 :]
    unstaffed = set(rng.sample(niche, unstaffed_count))
    catalog = [
        _Sku(
            sku=slug,
            title=title,
            task_type=task_type,
            median_minutes=median,
            share=(1 - TITLE_ONLY_ITEM_SHARE) * weight / total,
            has_product=True,
            staffed=index not in unstaffed,
        )
        for index, ((slug, title, task_type, median), weight) in enumerate(
            zip(entries, weights, strict=True)
        )
    ]
    catalog.extend(
        _Sku(
            sku=normalise_sku_text(title),
            title=title,
            task_type="consultation",
            median_minutes=120,
            share=TITLE_ONLY_ITEM_SHARE * share,
            has_product=False,
            staffed=staffed,
        )
        for title, staffed, share in TITLE_ONLY_SKUS
    )
    return catalog


def _spellings(*, title: str) -> tuple[str, ...]:
    """Return how hand-typed item titles spell one title (all normalise to one SKU)."""
    return (title, title, title, title, title, title.lower(), f" {title} ", title.upper())


# Time ---------------------------------------------------------------------------


def _order_time_curve(*, rng: random.Random) -> list[float]:
    """
    Return the cumulative share of orders per hour, oldest hour first.

    The 60 older days carry `OLDER_SHARE`; the last 30 days grow by about a
    third towards today, with weekly dips and day-to-day noise. Hours are
    counted back from `now`, so the curve does not depend on the clock.
    """
    older = [rng.uniform(0.75, 1.25) for _ in range(OLDER_HISTORY_DAYS)]
    recent = []
    for day in range(HISTORY_DAYS):  # 0 is 30 days ago
        weekly = 0.8 if (HISTORY_DAYS - day) % 7 in (2, 3) else 1.0
        recent.append((1 + 0.35 * day / HISTORY_DAYS) * weekly * rng.uniform(0.85, 1.15))
    hourly: list[float] = []
    for days, share in ((older, OLDER_SHARE), (recent, 1 - OLDER_SHARE)):
        total = sum(days) * 24
        hourly.extend(weight * share / total for weight in days for _ in range(24))
    cumulative = list(itertools.accumulate(hourly))
    cumulative[-1] = 1.0
    return cumulative


def _minutes_before_now(*, curve: Sequence[float], share: float) -> float:
    """Return how long before `now` the order at `share` of the stream was placed."""
    hour = min(bisect.bisect_right(curve, share), len(curve) - 1)
    low = curve[hour - 1] if hour else 0.0
    within = (share - low) / ((curve[hour] - low) or 1.0)
    return (len(curve) - hour - within) * 60


# Streaming ----------------------------------------------------------------------


@dataclass
class _Batch:
    orders: list[Row] = field(default_factory=list)
    items: list[Row] = field(default_factory=list)
    tasks: list[Row] = field(default_factory=list)


class _Stream:
    """Draw orders, their items and their tasks, and hand them out in batches."""

    def __init__(
        self,
        *,
        rng: random.Random,
        now: datetime,
        tasks: int,
        catalog: Sequence[_Sku],
        product_ids: dict[str, int],
        first_order_id: int,
        first_item_id: int,
        first_task_id: int,
    ) -> None:
        self.rng = rng
        self.now = now
        self.total = tasks
        self.catalog = list(catalog)
        self.product_ids = product_ids
        self.order_ids = itertools.count(first_order_id)
        self.item_ids = itertools.count(first_item_id)
        self.task_ids = itertools.count(first_task_id)
        self.curve = _order_time_curve(rng=rng)
        self.cumulative_shares = list(itertools.accumulate(sku.share for sku in self.catalog))
        self.spellings = {sku.sku: _spellings(title=sku.title) for sku in self.catalog}
        expected_orders = tasks / (1 + SECOND_TASK_SHARE) / (1 + SECOND_ITEM_SHARE)
        self.customers = max(10, int(expected_orders / 3))
        self.emitted = 0
        self.items = 0
        self.title_only_items = 0
        self.orders = 0
        self.status_counts: Counter[str] = Counter()
        self._payloads: dict[tuple[str, str, int, bool], str] = {}
        self._delivered = (
            json.dumps({"delivered": True}),
            json.dumps({"delivered": True, "files": 3}),
        )
        self._numeric = [
            json.dumps({"delivered": True, "nps_score": score}) for score in NUMERIC_SCORES
        ]
        self._malformed = [
            json.dumps({"delivered": True, "nps_score": score}) for score in MALFORMED_SCORES
        ]
        self._failures = [json.dumps({"error": reason}) for reason in FAILURE_REASONS]
        self._cancellations = [json.dumps({"reason": reason}) for reason in CANCEL_REASONS]

    def batches(self, *, batch_size: int) -> Iterator[_Batch]:
        """Yield batches of at least `batch_size` tasks (the last one smaller) until done."""
        batch = _Batch()
        while self.emitted < self.total:
            self._order(batch=batch)
            if len(batch.tasks) >= batch_size:
                yield batch
                batch = _Batch()
        if batch.tasks:
            yield batch

    def _order(self, *, batch: _Batch) -> None:
        rng = self.rng
        order_id = next(self.order_ids)
        reference = f"BENCH-{order_id:08d}"
        placed = -_minutes_before_now(curve=self.curve, share=self.emitted / self.total)
        placed = min(placed + rng.uniform(-8, 8), -0.5)
        statuses: list[str] = []
        for _ in range(2 if rng.random() < SECOND_ITEM_SHARE else 1):
            if self.emitted >= self.total:
                break
            self._item(
                batch=batch, order_id=order_id, reference=reference, placed=placed, out=statuses
            )
        if all(status == "cancelled" for status in statuses):
            order_status = Order.Status.CANCELLED.value
        elif all(status in ("completed", "failed", "cancelled") for status in statuses):
            order_status = Order.Status.FULFILLED.value
        elif placed > -30 and all(status == "pending" for status in statuses):
            order_status = Order.Status.PLACED.value
        else:
            order_status = Order.Status.PAID.value
        email = f"customer{rng.randrange(self.customers)}@example.com"
        batch.orders.append(
            (order_id, reference, order_status, email, self.now + timedelta(minutes=placed))
        )
        self.orders += 1

    def _item(
        self, *, batch: _Batch, order_id: int, reference: str, placed: float, out: list[str]
    ) -> None:
        rng = self.rng
        index = bisect.bisect_right(
            self.cumulative_shares, rng.random() * self.cumulative_shares[-1]
        )
        sku = self.catalog[min(index, len(self.catalog) - 1)]
        if sku.has_product:
            product_id: int | None = self.product_ids[sku.sku]
            title = sku.title
        else:
            product_id = None
            title = rng.choice(self.spellings[sku.sku])
            self.title_only_items += 1
        roll = rng.random()
        quantity = 1 if roll < 0.85 else 2 if roll < 0.95 else 3
        item_id = next(self.item_ids)
        batch.items.append((item_id, order_id, product_id, title, quantity))
        self.items += 1
        count = 2 if rng.random() < SECOND_TASK_SHARE else 1
        for review in (False, True)[: min(count, self.total - self.emitted)]:
            status = self._task(
                batch=batch,
                item_id=item_id,
                sku=sku,
                title=title,
                reference=reference,
                quantity=quantity,
                placed=placed,
                review=review,
            )
            out.append(status)

    def _task(
        self,
        *,
        batch: _Batch,
        item_id: int,
        sku: _Sku,
        title: str,
        reference: str,
        quantity: int,
        placed: float,
        review: bool,
    ) -> str:
        """Append one task, drawn in minutes relative to `now`; return its status."""
        rng = self.rng
        created = placed + rng.uniform(0.5, 15) + (rng.uniform(10, 120) if review else 0)
        created = min(created, -0.1)
        lead_hours = rng.choice(LEAD_TIME_HOURS)
        typical = sku.median_minutes * (0.3 if review else 1) * quantity**0.5
        # Most work is picked up as it arrives; some waits for the date the customer chose.
        start = created + rng.lognormvariate(PICKUP_LOG_MEDIAN, 0.9)
        scheduled: float | None = None
        if rng.random() >= UNSCHEDULED_SHARE:
            lead = lead_hours * 60 * rng.uniform(0.9, 1.1)
            scheduled = created + lead
            if rng.random() < SCHEDULED_WORK_SHARE:
                slack = lead * rng.uniform(0.05, 0.4)
                start = max(start, scheduled - typical - slack)
        if rng.random() < LATE_START_SHARE:
            start += rng.expovariate(1 / 360)
        completion = start + max(3.0, typical * rng.lognormvariate(0, 0.45))

        started: float | None = None
        completed: float | None = None
        result: str | None = None
        roll = rng.random()
        if roll < CANCELLED_SHARE:
            status = "cancelled"
            if start <= 0 and rng.random() < 0.3:
                started = start
            if rng.random() < 0.5:
                result = rng.choice(self._cancellations)
        elif roll < CANCELLED_SHARE + FAILED_SHARE and start <= 0:
            status = "failed"
            started = start
            result = rng.choice(self._failures)
        elif (
            roll < CANCELLED_SHARE + FAILED_SHARE + STUCK_SHARE
            and -STUCK_WINDOW_MINUTES <= completion <= -60
        ):
            # Due a while ago and still open: never picked up, or picked up and abandoned.
            if rng.random() < 0.5:
                status = "pending"
            else:
                status = "in_progress"
                started = start
        elif completion <= 0:
            status = "completed"
            started = None if rng.random() < NO_START_SHARE else start
            completed = completion
            result = self._result()
        elif start <= 0:
            status = "in_progress"
            started = start
        else:
            status = "pending"
        if started is not None and rng.random() < EARLY_START_SHARE:
            started = placed - rng.uniform(1, 90)

        now = self.now
        batch.tasks.append(
            (
                next(self.task_ids),
                item_id,
                "quality_review" if review else sku.task_type,
                status,
                f"{'Review: ' if review else ''}{title.strip()} for {reference}",
                self._payload(sku=sku.sku, lead_hours=lead_hours, quantity=quantity, review=review),
                result,
                None if scheduled is None else now + timedelta(minutes=scheduled),
                None if started is None else now + timedelta(minutes=started),
                None if completed is None else now + timedelta(minutes=completed),
                now + timedelta(minutes=created),
                now,
            )
        )
        self.emitted += 1
        self.status_counts[status] += 1
        return status

    def _result(self) -> str:
        roll = self.rng.random()
        if roll < NUMERIC_NPS_SHARE:
            return self.rng.choice(self._numeric)
        if roll < NUMERIC_NPS_SHARE + MALFORMED_NPS_SHARE:
            return self.rng.choice(self._malformed)
        return self._delivered[0 if roll < 0.8 else 1]

    def _payload(self, *, sku: str, lead_hours: int, quantity: int, review: bool) -> str:
        priority = "rush" if lead_hours <= 4 else "standard"
        key = (sku, priority, quantity, review)
        text = self._payloads.get(key)
        if text is None:
            payload: dict[str, object] = {"sku": sku, "priority": priority, "quantity": quantity}
            if review:
                payload["checklist"] = ["files", "brief", "tone"]
            text = self._payloads[key] = json.dumps(payload)
        return text


# Writing ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    model: type[models.Model]
    attnames: tuple[str, ...]

    @property
    def json_positions(self) -> tuple[int, ...]:
        return tuple(
            position
            for position, name in enumerate(self.attnames)
            if isinstance(self.model._meta.get_field(name), models.JSONField)
        )

    @property
    def copy_sql(self) -> str:
        quote = connection.ops.quote_name
        columns = ", ".join(
            quote(self.model._meta.get_field(name).column) for name in self.attnames
        )
        return f"COPY {quote(self.model._meta.db_table)} ({columns}) FROM STDIN"


ORDERS = _Table(Order, ("id", "reference", "status", "customer_email", "created_at"))
ITEMS = _Table(OrderItem, ("id", "order_id", "product_id", "product_title", "quantity"))
TASKS = _Table(
    FulfillmentTask,
    (
        "id",
        "order_item_id",
        "task_type",
        "status",
        "title",
        "payload",
        "result",
        "scheduled_at",
        "started_at",
        "completed_at",
        "created_at",
        "updated_at",
    ),
)
STREAMED_MODELS = (Order, OrderItem, FulfillmentTask)
ANALYZED_MODELS = (*STREAMED_MODELS, Product, FulfillmentStaffingShift)
# Children first, so that plain DELETEs never trip a foreign key. The persistent
# metric cache (`MetricCacheEntry`) is emptied by the purge that ends every run.
DATA_MODELS = (FulfillmentTask, OrderItem, Order, Product, FulfillmentStaffingShift)


class _CopyWriter:
    """Write rows with PostgreSQL's `COPY ... FROM STDIN` (psycopg 3)."""

    method = "PostgreSQL COPY"

    def __init__(self, *, cursor: Any) -> None:
        self._cursor = cursor  # the raw psycopg cursor

    def write(self, *, table: _Table, rows: Sequence[Row]) -> None:
        with self._cursor.copy(table.copy_sql) as copy:
            for row in rows:
                copy.write_row(row)


class _BulkCreateWriter:
    """Write rows through `bulk_create`, for SQLite and any other backend."""

    method = "bulk_create"

    def __init__(self) -> None:
        self._documents: dict[str, object] = {}

    def write(self, *, table: _Table, rows: Sequence[Row]) -> None:
        json_positions = table.json_positions
        objects = []
        for row in rows:
            values = list(row)
            for position in json_positions:
                if values[position] is not None:
                    values[position] = self._document(text=values[position])
            objects.append(table.model(**dict(zip(table.attnames, values, strict=True))))
        table.model.objects.bulk_create(objects)

    def _document(self, *, text: str) -> object:
        document = self._documents.get(text)
        if document is None:
            document = self._documents[text] = json.loads(text)
        return document


# The run --------------------------------------------------------------------------


def validate_options(*, tasks: int, skus: int, batch_size: int) -> None:
    """Refuse sizes the generator cannot honour, with a message fit for an operator."""
    if tasks < 1:
        raise DatasetError(f"The number of tasks must be at least 1 (got {tasks}).")
    if tasks > MAX_TASKS:
        raise DatasetError(f"The number of tasks must be at most {MAX_TASKS} (got {tasks}).")
    if not 1 <= skus <= MAX_SKUS:
        raise DatasetError(f"The number of SKUs must be between 1 and {MAX_SKUS} (got {skus}).")
    if batch_size < 1:
        raise DatasetError(f"The batch size must be at least 1 (got {batch_size}).")


def generate_dataset(
    *,
    tasks: int,
    skus: int = DEFAULT_SKUS,
    seed: int = DEFAULT_SEED,
    replace: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
    notice: NoticeCallback | None = None,
) -> DatasetReport:
    """
    Generate a fulfillment dataset of `tasks` tasks in one transaction.

    Refuse a database that already has fulfillment tasks unless `replace` is
    set; then delete every fulfillment table's rows first. Finish with a purge
    of the cached metrics. Call `progress` after each batch and `notice` at
    each phase.
    """
    validate_options(tasks=tasks, skus=skus, batch_size=batch_size)
    now = now or timezone.now()
    if timezone.is_naive(now):
        raise DatasetError("`now` must be a timezone-aware datetime.")
    started = time.monotonic()
    rng = random.Random(seed)
    report = DatasetReport(seed=seed, replaced=replace)
    postgres = connection.vendor == "postgresql"

    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            # Check foreign keys as rows arrive rather than queueing millions of
            # deferred checks for the commit; this also fires any checks still
            # pending in the caller's transaction, which TRUNCATE requires.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # Other writers wait until we are done: the primary keys are chosen here.
            cursor.execute(
                f"LOCK TABLE {_tables(models_=STREAMED_MODELS)} IN SHARE ROW EXCLUSIVE MODE"
            )
        if not replace and FulfillmentTask.objects.exists():
            raise DatasetError(
                "The database already has fulfillment tasks; pass --replace to delete all "
                "fulfillment data (tasks, items, orders, products, shifts and cached metrics) "
                "first."
            )
        if replace:
            _delete_fulfillment_data(cursor=cursor, postgres=postgres)
            if notice:
                notice("Deleted the existing fulfillment data.")

        catalog = _build_catalog(rng=rng, skus=skus)
        product_ids = _ensure_products(catalog=catalog)
        report.products = len(product_ids)
        writer: _CopyWriter | _BulkCreateWriter = (
            _CopyWriter(cursor=cursor.cursor) if postgres else _BulkCreateWriter()
        )
        report.method = writer.method
        stream = _Stream(
            rng=rng,
            now=now,
            tasks=tasks,
            catalog=catalog,
            product_ids=product_ids,
            first_order_id=_next_id(model=Order),
            first_item_id=_next_id(model=OrderItem),
            first_task_id=_next_id(model=FulfillmentTask),
        )
        streaming_started = time.monotonic()
        for batch in stream.batches(batch_size=batch_size):
            writer.write(table=ORDERS, rows=batch.orders)
            writer.write(table=ITEMS, rows=batch.items)
            writer.write(table=TASKS, rows=batch.tasks)
            if connection.queries_logged:
                connection.queries_log.clear()  # DEBUG keeps every query otherwise
            if progress:
                clock = time.monotonic()
                progress(
                    Progress(
                        done=stream.emitted,
                        total=tasks,
                        elapsed_seconds=clock - started,
                        streaming_seconds=clock - streaming_started,
                    )
                )

        shifts = _roster(rng=rng, now=now, catalog=catalog, tasks=tasks)
        report.shifts = len(FulfillmentStaffingShift.objects.bulk_create(shifts))
        for sql in connection.ops.sequence_reset_sql(no_style(), list(STREAMED_MODELS)):
            cursor.execute(sql)
        if postgres:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys' default
            if notice:
                notice("Refreshing the planner statistics (ANALYZE).")
            cursor.execute(f"ANALYZE {_tables(models_=ANALYZED_MODELS)}")
        # Deletes every `MetricCacheEntry` and moves the purge generation, so that
        # every worker drops figures computed before the load once this commits.
        purged = purge_metrics(actor="manage.py generate_fulfillment_dataset")
        if notice:
            notice(f"Purged {len(purged)} cached metric(s).")

    report.tasks = stream.emitted
    report.order_items = stream.items
    report.title_only_items = stream.title_only_items
    report.orders = stream.orders
    report.status_counts = dict(sorted(stream.status_counts.items()))
    report.elapsed_seconds = time.monotonic() - started
    logger.info(
        "generate_fulfillment_dataset tasks=%d items=%d title_only_items=%d orders=%d "
        "products=%d shifts=%d statuses=%s seed=%d replaced=%s method=%s elapsed=%.1fs",
        report.tasks,
        report.order_items,
        report.title_only_items,
        report.orders,
        report.products,
        report.shifts,
        report.status_counts,
        report.seed,
        report.replaced,
        report.method,
        report.elapsed_seconds,
    )
    return report


def _tables(*, models_: Sequence[type[models.Model]]) -> str:
    return ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models_)


def _delete_fulfillment_data(*, cursor: Any, postgres: bool) -> None:
    """Delete every fulfillment row, without loading any of them into Python."""
    if postgres:
        cursor.execute(f"TRUNCATE TABLE {_tables(models_=DATA_MODELS)}")
        return
    for model in DATA_MODELS:
        cursor.execute(f"DELETE FROM {_tables(models_=[model])}")


def _next_id(*, model: type[models.Model]) -> int:
    return (model.objects.aggregate(highest=Max("id"))["highest"] or 0) + 1


def _ensure_products(*, catalog: Sequence[_Sku]) -> dict[str, int]:
    """Create the catalog's products (reusing any with the same slug); map slug to id."""
    slugs = [sku.sku for sku in catalog if sku.has_product]
    existing = dict(Product.objects.filter(slug__in=slugs).values_list("slug", "id"))
    Product.objects.bulk_create(
        [
            Product(slug=sku.sku, title=sku.title)
            for sku in catalog
            if sku.has_product and sku.sku not in existing
        ]
    )
    return dict(Product.objects.filter(slug__in=slugs).values_list("slug", "id"))


def _roster(
    *, rng: random.Random, now: datetime, catalog: Sequence[_Sku], tasks: int
) -> list[FulfillmentStaffingShift]:
    """
    Draw shifts for the staffed SKUs, sized to each SKU's recent demand.

    Each SKU works in slots of 6 to 10 hours with gaps between them; a slot
    runs as many parallel crews (1 to 8 tasks an hour each) as its demand
    needs, give or take a staffing factor that leaves some SKUs short. Most
    SKUs have a slot already under way, and some a slot that ended yesterday.
    """
    hourly_demand = tasks * (1 - OLDER_SHARE) / (HISTORY_DAYS * 24) * 1.15
    shifts = []
    for sku in catalog:
        if not sku.staffed:
            continue
        label = sku.title if not sku.has_product else sku.sku
        if sku.has_product and rng.random() < 0.1:
            label = rng.choice((sku.sku.upper(), f" {sku.sku} "))  # typed by hand
        team = rng.randint(2, 6)  # people on one shift
        base_capacity = team * 60 / sku.median_minutes * rng.uniform(0.8, 1.3)
        base_capacity = min(8.0, max(1.0, round(base_capacity * 2) / 2))
        demand = hourly_demand * sku.share * rng.uniform(0.7, 1.5)
        parallel = min(MAX_PARALLEL_SHIFTS, max(1, round(demand / base_capacity)))
        first = -rng.uniform(0.5, 6) if rng.random() < 0.65 else rng.uniform(0.5, 5)
        slots = []
        if rng.random() < 0.5:
            slots.append((first - 24, 8.0))  # yesterday's slot, outside the roster
        start = first
        while start < ROSTER_HOURS:
            length = rng.choice((6.0, 8.0, 8.0, 10.0))
            slots.append((start, length))
            start += length + rng.choice((0.0, 1.0, 4.0, 8.0))
        for slot_start, length in slots:
            for member in range(parallel):
                begins = slot_start + (rng.uniform(0, 0.75) if member else 0)
                capacity = min(
                    8.0, max(1.0, round(base_capacity * rng.uniform(0.75, 1.25) * 2) / 2)
                )
                starts_at = now + timedelta(hours=begins)
                shifts.append(
                    FulfillmentStaffingShift(
                        sku=label,
                        starts_at=starts_at,
                        ends_at=starts_at + timedelta(hours=length),
                        hourly_capacity=capacity,
                        notes=f"Benchmark roster, crew {member + 1} of {parallel}",
                    )
                )
    return shifts
