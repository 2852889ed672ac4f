from __future__ import annotations

import pytest
from django.urls import reverse

from tests import factories
from trust.models import TrustExperience

pytestmark = pytest.mark.django_db

INLINE_PREFIXES = [
    "assurances",
    "performance_snapshots",
    "support_channels",
    "testimonials",
    "bundle_offers",
    "delivery_timeline",
]


@pytest.fixture
def experience():
    experience = factories.TrustExperienceFactory(name="Checkout modules", slug="checkout")
    factories.AssurancePointFactory(experience=experience, title="Second", position=2)
    factories.AssurancePointFactory(experience=experience, title="First", position=1)
    factories.PerformanceSnapshotFactory(experience=experience, metric_id="nps_trailing_30d")
    factories.SupportChannelFactory(experience=experience)
    factories.TestimonialFactory(experience=experience)
    factories.BundleOfferFactory(experience=experience)
    factories.DeliveryTimelineFactory(experience=experience)
    return experience


def test_changelist_lists_experiences_for_staff(staff_client, experience):
    response = staff_client.get(reverse("admin:trust_trustexperience_changelist"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Checkout modules" in content
    assert "development" in content


def test_changelist_searches_and_filters(staff_client, experience):
    factories.TrustExperienceFactory(name="Other", slug="other", environment="production")
    url = reverse("admin:trust_trustexperience_changelist")

    by_search = staff_client.get(url, {"q": "checkout"})
    by_filter = staff_client.get(url, {"environment__exact": "production"})

    assert list(by_search.context["cl"].result_list) == [experience]
    assert [e.slug for e in by_filter.context["cl"].result_list] == ["other"]


def test_change_form_renders_every_inline_in_position_order(staff_client, experience):
    url = reverse("admin:trust_trustexperience_change", args=[experience.pk])

    response = staff_client.get(url)

    assert response.status_code == 200
    prefixes = [formset.formset.prefix for formset in response.context["inline_admin_formsets"]]
    assert prefixes == INLINE_PREFIXES
    assurances = response.context["inline_admin_formsets"][0].formset.queryset
    assert [point.title for point in assurances] == ["First", "Second"]


@pytest.mark.parametrize(
    "url_name",
    ["admin:trust_trustexperience_changelist", "admin:fulfillment_metriccacheentry_changelist"],
)
def test_admin_refuses_anonymous_users(client, url_name):
    response = client.get(reverse(url_name))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def _management_form(prefix: str, total: int = 0, initial: int = 0) -> dict[str, int]:
    return {
        f"{prefix}-TOTAL_FORMS": total,
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }


def _add_form_data(**assurance: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Checkout",
        "slug": "checkout",
        "environment": "development",
    }
    for prefix in INLINE_PREFIXES:
        data.update(_management_form(prefix))
    data["assurances-TOTAL_FORMS"] = 1
    data.update({f"assurances-0-{field}": value for field, value in assurance.items()})
    return data


def test_saving_with_a_blank_key_generates_one(staff_client):
    data = _add_form_data(position=1, title="Secure payment", key="")

    response = staff_client.post(reverse("admin:trust_trustexperience_add"), data)

    assert response.status_code == 302
    experience = TrustExperience.objects.get(slug="checkout")
    assert [point.key for point in experience.assurances.all()] == ["secure-payment"]


def test_saving_an_out_of_range_window_shows_what_is_wrong(staff_client):
    data = _add_form_data(
        position=1,
        title="On schedule",
        metric_id="fulfillment_sla_on_time_pct",
        freshness_window_minutes=3,
    )

    response = staff_client.post(reverse("admin:trust_trustexperience_add"), data)

    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 5." in response.content.decode()
    assert not TrustExperience.objects.exists()
