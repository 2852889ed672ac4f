from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from fulfillment.metrics.catalog import CATALOG
from fulfillment.models import (
    FulfillmentStaffingShift,
    FulfillmentTask,
    Order,
    OrderItem,
    Product,
)
from trust.models import AssurancePoint, DeliveryTimeline, PerformanceSnapshot, TrustExperience

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    models = [
        Product,
        Order,
        OrderItem,
        FulfillmentTask,
        FulfillmentStaffingShift,
        TrustExperience,
        AssurancePoint,
        PerformanceSnapshot,
        DeliveryTimeline,
    ]
    return {model.__name__: model.objects.count() for model in models}


def test_seed_demo_fills_an_empty_database_with_a_realistic_shop():
    call_command("seed_demo", stdout=StringIO())

    assert Product.objects.count() >= 3
    assert FulfillmentTask.objects.count() >= 2000
    statuses = set(FulfillmentTask.objects.values_list("status", flat=True))
    assert statuses == {status for status, _ in FulfillmentTask.Status.choices}
    scores = [
        task.result["nps_score"]
        for task in FulfillmentTask.objects.filter(result__has_key="nps_score")
    ]
    assert any(isinstance(score, int) and not isinstance(score, bool) for score in scores)
    assert any(not isinstance(score, int) or isinstance(score, bool) for score in scores)
    assert FulfillmentStaffingShift.objects.exists()


def test_seed_demo_binds_every_catalog_metric_in_the_checkout_experience():
    call_command("seed_demo", stdout=StringIO())

    experience = TrustExperience.objects.get(slug="checkout", environment="development")
    bound = {
        *experience.assurances.exclude(metric_id="").values_list("metric_id", flat=True),
        *experience.performance_snapshots.exclude(metric_id="").values_list("metric_id", flat=True),
        experience.delivery_timeline.metric_id,
    }
    assert bound == set(CATALOG)
    for related in ["support_channels", "testimonials", "bundle_offers"]:
        assert getattr(experience, related).exists(), related


def test_seed_demo_twice_changes_nothing_the_second_time():
    call_command("seed_demo", stdout=StringIO())
    before = _counts()
    output = StringIO()

    call_command("seed_demo", stdout=output)

    assert _counts() == before
    assert "nothing changed" in output.getvalue()


def test_create_operator_prints_a_password_once(django_user_model):
    first, second = StringIO(), StringIO()

    call_command("create_operator", stdout=first)
    call_command("create_operator", stdout=second)

    assert "Password:" in first.getvalue()
    assert "Password:" not in second.getvalue()
    assert "exists already" in second.getvalue()
    assert django_user_model.objects.get(username="admin").is_superuser
