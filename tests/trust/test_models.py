from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests import factories
from trust.models import AssurancePoint, Environment, PerformanceSnapshot

pytestmark = pytest.mark.django_db


def test_slug_is_unique_within_an_environment():
    factories.TrustExperienceFactory(slug="checkout", environment=Environment.DEVELOPMENT)

    duplicate = factories.TrustExperienceFactory.build(
        slug="checkout", environment=Environment.DEVELOPMENT
    )

    with pytest.raises(ValidationError) as excinfo:
        duplicate.full_clean()
    assert "already exists in this environment" in str(excinfo.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_same_slug_may_serve_another_environment():
    factories.TrustExperienceFactory(slug="checkout", environment=Environment.DEVELOPMENT)

    factories.TrustExperienceFactory(slug="checkout", environment=Environment.PRODUCTION)


@pytest.mark.parametrize("window", [5, 60, 20160, None])
def test_window_inside_bounds_is_accepted(window):
    card = factories.PerformanceSnapshotFactory.build(
        experience=factories.TrustExperienceFactory(),
        metric_id="nps_trailing_30d",
        freshness_window_minutes=window,
    )

    card.full_clean()


@pytest.mark.parametrize("window", [0, 4, 20161])
def test_window_outside_bounds_is_refused_by_validation_and_database(window):
    card = factories.PerformanceSnapshotFactory.build(
        experience=factories.TrustExperienceFactory(),
        metric_id="nps_trailing_30d",
        freshness_window_minutes=window,
    )

    with pytest.raises(ValidationError) as excinfo:
        card.full_clean()
    assert "freshness_window_minutes" in excinfo.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        card.save()


def test_binding_to_an_unknown_metric_is_refused_with_the_valid_ids():
    card = factories.AssurancePointFactory.build(
        experience=factories.TrustExperienceFactory(), metric_id="made_up_metric"
    )

    with pytest.raises(ValidationError) as excinfo:
        card.full_clean()

    messages = excinfo.value.message_dict["metric_id"]
    assert any("made_up_metric" in message for message in messages)
    assert any("fulfillment_delivery_sla_forecast" in message for message in messages)


def test_window_without_a_metric_is_refused():
    card = factories.AssurancePointFactory.build(
        experience=factories.TrustExperienceFactory(), freshness_window_minutes=60
    )

    with pytest.raises(ValidationError) as excinfo:
        card.full_clean()

    assert excinfo.value.message_dict["freshness_window_minutes"] == [
        "Choose a metric before setting its window."
    ]


def test_blank_metric_source_is_filled_from_the_catalog():
    card = factories.AssurancePointFactory.build(
        experience=factories.TrustExperienceFactory(), metric_id="first_response_minutes"
    )

    card.full_clean()

    assert card.metric_source == "support_analytics"


def test_sections_come_back_in_position_order():
    experience = factories.TrustExperienceFactory()
    for position, title in [(3, "Third"), (1, "First"), (2, "Second")]:
        factories.AssurancePointFactory(experience=experience, position=position, title=title)

    titles = [point.title for point in experience.assurances.all()]

    assert titles == ["First", "Second", "Third"]


def test_blank_key_is_generated_from_content_and_kept_unique():
    experience = factories.TrustExperienceFactory()

    first = factories.PerformanceSnapshotFactory(experience=experience, label="On-time work")
    second = factories.PerformanceSnapshotFactory(experience=experience, label="On-time work")
    first.label = "Renamed"
    first.save()

    assert first.key == "on-time-work"
    assert second.key == "on-time-work-2"
    assert PerformanceSnapshot.objects.get(pk=first.pk).key == "on-time-work"


def test_key_is_unique_within_an_experience_only():
    one, other = factories.TrustExperienceFactory(), factories.TrustExperienceFactory()
    factories.AssurancePointFactory(experience=one, key="shared")
    factories.AssurancePointFactory(experience=other, key="shared")

    with pytest.raises(IntegrityError), transaction.atomic():
        AssurancePoint.objects.create(experience=one, key="shared", title="Again")


def test_delivery_timeline_fallbacks_must_be_ordered():
    timeline = factories.DeliveryTimelineFactory.build(
        experience=factories.TrustExperienceFactory(),
        fallback_min_minutes=300,
        fallback_average_minutes=120,
    )

    with pytest.raises(ValidationError) as excinfo:
        timeline.full_clean()

    assert "fallback_average_minutes" in excinfo.value.message_dict


def test_an_experience_has_at_most_one_delivery_timeline():
    timeline = factories.DeliveryTimelineFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        factories.DeliveryTimelineFactory(experience=timeline.experience)
