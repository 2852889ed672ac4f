from __future__ import annotations

import pytest

from tests import factories
from trust.models import AssurancePoint
from trust.selectors import experience_with_sections

pytestmark = pytest.mark.django_db


def _titles(experience) -> list[str]:
    return [point.title for point in experience.assurances.all()]


def test_loaded_experience_is_reused_without_queries(django_assert_num_queries):
    experience = factories.TrustExperienceFactory(slug="checkout")
    factories.AssurancePointFactory(experience=experience, title="Before")
    experience_with_sections("checkout")
    experience_with_sections("checkout")

    with django_assert_num_queries(0):
        again = experience_with_sections("checkout")

    assert _titles(again) == ["Before"]


def test_any_write_to_an_experience_table_is_seen_on_the_next_read():
    experience = factories.TrustExperienceFactory(slug="checkout")
    factories.AssurancePointFactory(experience=experience, title="Before")
    experience_with_sections("checkout")
    experience_with_sections("checkout")

    # A bulk update sends no signal and calls no save(): only cachalot sees it.
    AssurancePoint.objects.filter(experience=experience).update(title="After")

    assert _titles(experience_with_sections("checkout")) == ["After"]


def test_experiences_of_other_environments_are_kept_apart():
    factories.TrustExperienceFactory(slug="checkout", environment="development", name="Dev")
    factories.TrustExperienceFactory(slug="checkout", environment="production", name="Prod")

    development = experience_with_sections("checkout", "development")
    production = experience_with_sections("checkout", "production")

    assert (development.name, production.name) == ("Dev", "Prod")
