from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fulfillment.metrics import cache
from fulfillment.models import MetricCacheEntry
from tests import factories
from trust.admin import freshness_by_experience

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:trust_trustexperience_changelist"


def cache_row(metric_id: str, *, minutes_ago: float = 0, ttl_minutes: int = 1440, **fields):
    computed_at = timezone.now() - timedelta(minutes=minutes_ago)
    return factories.MetricCacheEntryFactory(
        metric_id=metric_id,
        computed_at=computed_at,
        expires_at=computed_at + timedelta(minutes=ttl_minutes),
        **fields,
    )


@pytest.fixture
def experience():
    experience = factories.TrustExperienceFactory(name="Checkout modules", slug="checkout")
    factories.AssurancePointFactory(experience=experience, metric_id="fulfillment_sla_on_time_pct")
    factories.PerformanceSnapshotFactory(
        experience=experience, metric_id="nps_trailing_30d", freshness_window_minutes=60
    )
    factories.PerformanceSnapshotFactory(experience=experience, metric_id="retired_metric")
    factories.PerformanceSnapshotFactory(experience=experience)  # unbound
    factories.DeliveryTimelineFactory(
        experience=experience, metric_id="fulfillment_delivery_sla_forecast"
    )
    return experience


def purge_url(experience) -> str:
    return reverse("admin:trust_trustexperience_purge_metrics", args=[experience.pk])


def change_url(experience) -> str:
    return reverse("admin:trust_trustexperience_change", args=[experience.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# Preview link and purge button -------------------------------------------------------


def test_change_form_links_to_the_preview_and_offers_the_purge_button(staff_client, experience):
    content = staff_client.get(change_url(experience)).content.decode()

    assert f'href="{reverse("trust:preview", args=["checkout"])}"' in content
    assert f'action="{purge_url(experience)}"' in content
    assert "Purge bound metrics" in content


def test_changelist_links_previews_served_by_this_deployment_only(staff_client, experience):
    factories.TrustExperienceFactory(name="Live shop", slug="live", environment="production")

    content = staff_client.get(reverse(CHANGELIST)).content.decode()

    assert f'<a href="{reverse("trust:preview", args=["checkout"])}">Preview</a>' in content
    assert reverse("trust:preview", args=["live"]) not in content
    assert "Previewed on the production deployment." in content


def test_purge_button_purges_every_catalog_metric_the_experience_binds(staff_client, experience):
    for metric_id in ("fulfillment_sla_on_time_pct", "nps_trailing_30d", "first_response_minutes"):
        cache_row(metric_id)

    response = staff_client.post(purge_url(experience), follow=True)

    assert response.redirect_chain[-1][0] == change_url(experience)
    assert list(MetricCacheEntry.objects.values_list("metric_id", flat=True)) == [
        "first_response_minutes"
    ]
    success, skipped = messages_of(response)
    assert success.startswith("Purged 3 metrics bound by “Checkout modules”: ")
    assert "fulfillment_delivery_sla_forecast, fulfillment_sla_on_time_pct, nps_trailing_30d" in (
        success
    )
    assert skipped == (
        "Skipped metric ids the catalog does not know: retired_metric. Rebind or clear those cards."
    )


def test_purge_button_logs_who_purged(staff_client, experience, caplog):
    with caplog.at_level("INFO", logger="fulfillment.metrics.service"):
        staff_client.post(purge_url(experience))

    assert "actor=admin:operator" in caplog.text


def test_purge_button_refuses_get(staff_client, experience):
    cache_row("nps_trailing_30d")

    response = staff_client.get(purge_url(experience))

    assert response.status_code == 405
    assert MetricCacheEntry.objects.exists()


def test_purge_button_needs_a_csrf_token(experience):
    user = get_user_model().objects.create_superuser(username="admin", password="x")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(purge_url(experience))

    assert response.status_code == 403


def test_purge_button_needs_change_permission(client, experience):
    viewer = get_user_model().objects.create_user(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_trustexperience"))
    client.force_login(viewer)
    cache_row("nps_trailing_30d")

    response = client.post(purge_url(experience))

    assert response.status_code == 403
    assert MetricCacheEntry.objects.exists()


def test_purge_button_for_an_unknown_experience_is_404(staff_client):
    assert staff_client.post("/admin/trust/trustexperience/999/purge-metrics/").status_code == 404


def test_experience_without_bindings_purges_nothing_and_says_so(staff_client):
    bare = factories.TrustExperienceFactory(name="Bare")
    cache_row("nps_trailing_30d")

    response = staff_client.post(purge_url(bare), follow=True)

    assert messages_of(response) == ["“Bare” bind no catalog metric, so nothing was purged."]
    assert MetricCacheEntry.objects.exists()


def test_changelist_action_purges_the_selected_experiences(staff_client, experience):
    other = factories.TrustExperienceFactory(name="Other")
    factories.AssurancePointFactory(experience=other, metric_id="first_response_minutes")
    untouched = factories.TrustExperienceFactory(name="Untouched")
    factories.AssurancePointFactory(experience=untouched, metric_id="fulfillment_backlog_minutes")
    for metric_id in ("nps_trailing_30d", "first_response_minutes", "fulfillment_backlog_minutes"):
        cache_row(metric_id)

    response = staff_client.post(
        reverse(CHANGELIST),
        {"action": "purge_bound_metrics", "_selected_action": [experience.pk, other.pk]},
        follow=True,
    )

    assert list(MetricCacheEntry.objects.values_list("metric_id", flat=True)) == [
        "fulfillment_backlog_minutes"
    ]
    assert messages_of(response)[0].startswith("Purged 4 metrics bound by ")


def test_purge_empties_the_memory_tier_too(staff_client, experience):
    row = cache_row("nps_trailing_30d")
    cache.write_memory(cache.snapshot_from_entry(row), now=timezone.now())

    staff_client.post(purge_url(experience))

    assert cache.read_memory("nps_trailing_30d") is None


# Fresh metrics column ------------------------------------------------------------------


def test_fresh_metrics_column_counts_fresh_bindings_without_computing(staff_client, experience):
    cache_row("fulfillment_sla_on_time_pct")  # fresh
    cache_row("nps_trailing_30d", minutes_ago=90)  # older than the card's 60-minute window
    cache_row("fulfillment_delivery_sla_forecast", minutes_ago=90, ttl_minutes=60)  # expired

    content = staff_client.get(reverse(CHANGELIST)).content.decode()

    assert ">1 / 4</span>" in content
    assert "1 fresh, 1 not cached, 1 stale, 1 unsupported" in content
    assert MetricCacheEntry.objects.count() == 3


def test_fresh_metrics_column_reads_the_memory_tier(experience):
    row = cache_row("nps_trailing_30d")
    snapshot = cache.snapshot_from_entry(row)
    row.delete()
    cache.write_memory(snapshot, now=timezone.now())

    freshness = freshness_by_experience([experience], now=timezone.now())[experience.pk]

    assert freshness.fresh == 1
    assert freshness.total == 4


def test_changelist_queries_do_not_grow_with_experiences(
    staff_client, experience, django_assert_max_num_queries
):
    # The purge generation is read at most once a second: read it on both requests.
    cache.purge_tracker.expire()
    with CaptureQueriesContext(connection) as one:
        staff_client.get(reverse(CHANGELIST))
    for _ in range(4):
        more = factories.TrustExperienceFactory()
        factories.AssurancePointFactory(experience=more, metric_id="nps_trailing_30d")

    cache.purge_tracker.expire()
    with django_assert_max_num_queries(len(one)):
        staff_client.get(reverse(CHANGELIST))


# Metric cache layer state ----------------------------------------------------------------


def test_metric_cache_rows_show_their_layer_state(staff_client):
    in_both = cache_row("nps_trailing_30d")
    cache.write_memory(cache.snapshot_from_entry(in_both), now=timezone.now())
    cache_row("fulfillment_sla_on_time_pct")
    cache_row("fulfillment_backlog_minutes", minutes_ago=200, ttl_minutes=120)

    content = staff_client.get(
        reverse("admin:fulfillment_metriccacheentry_changelist")
    ).content.decode()

    assert content.count("memory + persistent") == 1
    assert content.count("persistent only") == 2
    assert content.count("expired, recomputed on the next request") == 1
