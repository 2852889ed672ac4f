"""Hand-built fulfillment data for the metric tests, with times relative to a fixed now."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fulfillment.models import FulfillmentTask, OrderItem
from tests import factories

OPEN = FulfillmentTask.Status.PENDING
STARTED = FulfillmentTask.Status.IN_PROGRESS
DONE = FulfillmentTask.Status.COMPLETED


def minutes(count: float) -> timedelta:
    return timedelta(minutes=count)


def item_for_sku(sku: str | None, *, title: str = "Item", order_created_at=None) -> OrderItem:
    """An order item whose product slug is `sku`, or a title-only item when `sku` is None."""
    order_fields = {"order__created_at": order_created_at} if order_created_at else {}
    if sku is None:
        return factories.OrderItemFactory(product=None, product_title=title, **order_fields)
    product = factories.ProductFactory(slug=sku)
    return factories.OrderItemFactory(product=product, product_title=title, **order_fields)


def task(item: OrderItem | None = None, **fields: Any) -> FulfillmentTask:
    if item is None:
        return factories.FulfillmentTaskFactory(**fields)
    return factories.FulfillmentTaskFactory(order_item=item, **fields)


def completed_with_duration(
    item: OrderItem, *, now: datetime, duration_minutes: float, ago_minutes: float = 60
) -> FulfillmentTask:
    completed_at = now - minutes(ago_minutes)
    return task(
        item,
        status=DONE,
        started_at=completed_at - minutes(duration_minutes),
        completed_at=completed_at,
    )


def bulk_tasks(count: int, *, now: datetime) -> None:
    """`count` tasks of every kind over three SKUs, for query-count comparisons."""
    items = [item_for_sku(f"sku-{n}", order_created_at=now - timedelta(days=3)) for n in range(3)]
    items.append(item_for_sku(None, title="Legacy Item", order_created_at=now - timedelta(days=3)))
    statuses = [OPEN, STARTED, DONE, FulfillmentTask.Status.FAILED]
    tasks = []
    for n in range(count):
        status = statuses[n % len(statuses)]
        scheduled = now - minutes(n % 900) + minutes(300)
        started = scheduled - minutes(n % 120) if status != OPEN else None
        completed = started + minutes(20 + n % 200) if status == DONE else None
        tasks.append(
            FulfillmentTask(
                order_item=items[n % len(items)],
                task_type="design",
                status=status,
                title=f"Bulk {n}",
                scheduled_at=scheduled if n % 7 else None,
                started_at=started,
                completed_at=min(completed, now) if completed else None,
                created_at=now - timedelta(hours=30),
                result={"nps_score": n % 11} if status == DONE else None,
            )
        )
    FulfillmentTask.objects.bulk_create(tasks, batch_size=500)
