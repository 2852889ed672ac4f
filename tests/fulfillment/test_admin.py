from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:fulfillment_product_changelist",
        "admin:fulfillment_order_changelist",
        "admin:fulfillment_orderitem_changelist",
        "admin:fulfillment_fulfillmenttask_changelist",
        "admin:fulfillment_fulfillmentstaffingshift_changelist",
        "admin:fulfillment_metriccacheentry_changelist",
    ],
)
def test_fulfillment_changelists_render_for_staff(staff_client, url_name):
    factories.FulfillmentTaskFactory(status="completed")
    factories.FulfillmentStaffingShiftFactory()
    factories.MetricCacheEntryFactory()

    response = staff_client.get(reverse(url_name))

    assert response.status_code == 200


def test_metric_cache_rows_are_read_only_with_age_and_expiry(staff_client):
    entry = factories.MetricCacheEntryFactory(
        computed_at=timezone.now() - timedelta(hours=2),
    )
    change_url = reverse("admin:fulfillment_metriccacheentry_change", args=[entry.pk])

    listing = staff_client.get(reverse("admin:fulfillment_metriccacheentry_changelist"))
    detail = staff_client.get(change_url)
    add = staff_client.get(reverse("admin:fulfillment_metriccacheentry_add"))

    assert "2\xa0hours" in listing.content.decode()
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert add.status_code == 403
