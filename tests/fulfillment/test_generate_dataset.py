from __future__ import annotations

import logging
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F, Max
from django.utils import timezone

from fulfillment.datasets import SERVICES
from fulfillment.metrics.cache import ALL_METRICS, read_generations
from fulfillment.models import (
    FulfillmentStaffingShift,
    FulfillmentTask,
    MetricCacheEntry,
    Order,
    OrderItem,
    Product,
)
from tests.factories import (
    FulfillmentStaffingShiftFactory,
    FulfillmentTaskFactory,
    MetricCacheEntryFactory,
    OrderFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db

COMMAND = "generate_fulfillment_dataset"
PROGRESS_LINE = re.compile(r"^tasks (\d+)/(\d+) \((\d+)%\) \d+s elapsed, ~\d+s left$")


def _generate(**options: object) -> str:
    output = StringIO()
    call_command(COMMAND, stdout=output, **options)
    return output.getvalue()


def _status_counts() -> dict[str, int]:
    return dict(FulfillmentTask.objects.order_by().values_list("status").annotate(n=Count("id")))


def _nps_scores() -> list[object]:
    return [
        result["nps_score"]
        for result in FulfillmentTask.objects.filter(
            status=FulfillmentTask.Status.COMPLETED, result__has_key="nps_score"
        ).values_list("result", flat=True)
    ]


def test_a_small_run_builds_exactly_n_tasks_in_every_status():
    _generate(tasks=500, skus=10)

    assert FulfillmentTask.objects.count() == 500
    assert set(_status_counts()) == set(FulfillmentTask.Status.values)
    assert Product.objects.count() == 10
    items = OrderItem.objects.count()
    assert 500 / 2 <= items < 500
    assert 1 <= items / Order.objects.count() <= 2
    assert OrderItem.objects.filter(product__isnull=True).exists()
    assert not OrderItem.objects.filter(tasks__isnull=True).exists()


def test_timestamps_are_consistent_with_each_status_and_as_untidy_as_real_data():
    _generate(tasks=500, skus=10)
    now = timezone.now()
    tasks = FulfillmentTask.objects.all()

    assert not tasks.filter(created_at__gt=now).exists()
    assert tasks.filter(created_at__lt=now - timedelta(days=30)).exists()
    assert tasks.filter(created_at__gte=now - timedelta(days=30)).exists()
    pending = tasks.filter(status=FulfillmentTask.Status.PENDING)
    assert not pending.filter(started_at__isnull=False).exists()
    assert (
        not tasks.exclude(status=FulfillmentTask.Status.COMPLETED)
        .filter(completed_at__isnull=False)
        .exists()
    )
    completed = tasks.filter(status=FulfillmentTask.Status.COMPLETED)
    assert not completed.filter(completed_at__isnull=True).exists()
    assert not completed.filter(completed_at__gt=now).exists()
    assert not completed.filter(completed_at__lt=F("started_at")).exists()
    assert not completed.filter(result__isnull=True).exists()
    assert completed.filter(completed_at__gt=F("scheduled_at")).exists()
    assert completed.filter(completed_at__lte=F("scheduled_at")).exists()
    assert completed.filter(started_at__isnull=True).exists()
    assert tasks.filter(scheduled_at__isnull=True).exists()
    assert tasks.filter(started_at__lt=F("order_item__order__created_at")).exists()
    open_tasks = tasks.filter(status__in=FulfillmentTask.OPEN_STATUSES)
    assert open_tasks.filter(scheduled_at__lt=now).exists()
    assert open_tasks.filter(scheduled_at__gt=now).exists()


def test_completed_tasks_carry_numeric_and_malformed_nps_scores():
    _generate(tasks=500, skus=10)

    scores = _nps_scores()
    numeric = [s for s in scores if isinstance(s, int | float) and not isinstance(s, bool)]
    completed = FulfillmentTask.objects.filter(status=FulfillmentTask.Status.COMPLETED).count()
    assert 0.25 < len(numeric) / completed < 0.45
    assert all(0 <= score <= 10 for score in numeric)
    assert any(isinstance(score, str) for score in scores)
    assert any(isinstance(score, bool) or score is None for score in scores)


def test_the_roster_covers_most_skus_over_the_next_36_hours():
    _generate(tasks=500, skus=10)
    now = timezone.now()
    roster = FulfillmentStaffingShift.objects.filter(
        ends_at__gt=now, starts_at__lt=now + timedelta(hours=36)
    )

    assert roster.filter(starts_at__lte=now).exists()  # already under way
    assert roster.filter(starts_at__gt=now).exists()
    assert all(1 <= shift.hourly_capacity <= 8 for shift in roster)
    staffed = {
        sku.strip().lower().replace(" ", "-") for sku in roster.values_list("sku", flat=True)
    }
    slugs = set(Product.objects.values_list("slug", flat=True))
    assert len(slugs & staffed) >= len(slugs) // 2
    assert slugs - staffed, "some SKUs are left unstaffed on purpose"


def test_the_same_seed_builds_the_same_dataset_again():
    _generate(tasks=500, skus=10, seed=7)
    first = (_status_counts(), OrderItem.objects.count(), Order.objects.count(), _nps_scores())

    _generate(tasks=500, skus=10, seed=7, replace=True)

    again = (_status_counts(), OrderItem.objects.count(), Order.objects.count(), _nps_scores())
    assert again == first
    assert FulfillmentTask.objects.count() == 500


def test_a_database_with_fulfillment_tasks_is_refused_without_replace():
    FulfillmentTaskFactory()

    with pytest.raises(CommandError, match="already has fulfillment tasks; pass --replace"):
        _generate(tasks=50)

    assert FulfillmentTask.objects.count() == 1


def test_replace_deletes_every_fulfillment_row_and_purges_the_cached_metrics():
    old_task = FulfillmentTaskFactory()
    FulfillmentStaffingShiftFactory(sku="retired-sku")
    MetricCacheEntryFactory()
    generation = read_generations().get(ALL_METRICS, 0)

    output = _generate(tasks=50, skus=3, replace=True)

    assert "Deleted the existing fulfillment data." in output
    assert "Purged 1 cached metric(s)." in output
    assert read_generations()[ALL_METRICS] == generation + 1
    assert FulfillmentTask.objects.count() == 50
    # Keys start over, so look the old rows up by what they said.
    assert not FulfillmentTask.objects.filter(title=old_task.title).exists()
    assert not Order.objects.filter(reference=old_task.order_item.order.reference).exists()
    assert not Product.objects.filter(slug=old_task.order_item.product.slug).exists()
    assert not FulfillmentStaffingShift.objects.filter(sku="retired-sku").exists()
    assert not MetricCacheEntry.objects.exists()


def test_products_and_orders_without_tasks_are_kept_and_reused():
    existing = ProductFactory(slug=SERVICES[0].slug)
    order = OrderFactory()

    _generate(tasks=100, skus=3)

    assert Product.objects.count() == 3
    assert OrderItem.objects.filter(product=existing).exists()
    assert Order.objects.filter(pk=order.pk).exists()
    # The sequences were moved past the generated keys: the ORM inserts right after them.
    highest_order = Order.objects.aggregate(highest=Max("id"))["highest"]
    highest_task = FulfillmentTask.objects.aggregate(highest=Max("id"))["highest"]
    task = FulfillmentTaskFactory()
    assert task.pk == highest_task + 1
    assert task.order_item.order_id == highest_order + 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tasks": 0}, "number of tasks must be at least 1 (got 0)"),
        ({"tasks": -5}, "number of tasks must be at least 1 (got -5)"),
        ({"tasks": "many"}, "argument --tasks: expected a whole number"),
        ({"tasks": 10, "skus": 0}, "number of SKUs must be between 1 and"),
        ({"tasks": 10, "batch_size": 0}, "batch size must be at least 1"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(options, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        _generate(**options)

    assert not FulfillmentTask.objects.exists()


def test_tasks_accept_a_thousands_suffix():
    call_command(COMMAND, "--tasks=1k", "--skus=2", stdout=StringIO())

    assert FulfillmentTask.objects.count() == 1000


def test_progress_lines_are_printed_per_batch_then_a_summary():
    output = _generate(tasks=500, skus=10, batch_size=100)

    lines = output.splitlines()
    progress = [line for line in lines if PROGRESS_LINE.match(line)]
    done = [int(PROGRESS_LINE.match(line)[1]) for line in progress]
    assert len(progress) >= 4
    assert done == sorted(done)
    assert all(PROGRESS_LINE.match(line)[2] == "500" for line in progress)
    assert progress[-1].startswith("tasks 500/500 (100%)")
    assert lines[-1].startswith("Created 500 tasks (")
    method = "PostgreSQL COPY" if connection.vendor == "postgresql" else "bulk_create"
    assert re.search(rf"in \d+\.\ds with {method} \(seed \d+\)\.$", lines[-1])


def test_verbosity_zero_prints_nothing():
    assert _generate(tasks=200, skus=3, batch_size=50, replace=True, verbosity=0) == ""
    assert FulfillmentTask.objects.count() == 200


def test_a_summary_is_logged_with_lazy_arguments(caplog):
    with caplog.at_level(logging.INFO, logger="fulfillment.datasets"):
        _generate(tasks=100, skus=3, verbosity=0)

    (record,) = [r for r in caplog.records if r.name == "fulfillment.datasets"]
    assert record.args
    assert "tasks=100 " in record.getMessage()
