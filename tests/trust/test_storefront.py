from __future__ import annotations

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from fulfillment.metrics.service import MetricUnavailableError
from tests import factories
from trust.selectors import enrich_experience, experience_with_sections

pytestmark = pytest.mark.django_db


def cache_row(metric_id: str, *, minutes_ago: float = 0, **fields: object):
    computed_at = timezone.now() - timedelta(minutes=minutes_ago)
    return factories.MetricCacheEntryFactory(
        metric_id=metric_id,
        computed_at=computed_at,
        expires_at=computed_at + timedelta(days=1),
        **fields,
    )


@pytest.fixture
def experience():
    experience = factories.TrustExperienceFactory(
        slug="checkout", guarantee_headline="Delivered on schedule"
    )
    factories.AssurancePointFactory(
        experience=experience,
        title="Work lands on schedule",
        metric_id="fulfillment_sla_on_time_pct",
        provenance_note="Measured over every scheduled task.",
    )
    factories.PerformanceSnapshotFactory(
        experience=experience,
        key="score",
        label="Customer score",
        fallback_value="9.1",
        metric_id="nps_trailing_30d",
        freshness_window_minutes=60,
    )
    factories.PerformanceSnapshotFactory(
        experience=experience,
        key="queue",
        label="Queue delay",
        fallback_value="Under 1h",
        metric_id="fulfillment_backlog_minutes",
    )
    factories.PerformanceSnapshotFactory(
        experience=experience, key="customers", label="Happy customers", fallback_value="1,200+"
    )
    factories.SupportChannelFactory(experience=experience, label="Email us")
    factories.DeliveryTimelineFactory(experience=experience, fallback_confidence="Typical times")

    cache_row("fulfillment_sla_on_time_pct", minutes_ago=12, value=0.97, formatted_value="97%")
    cache_row("nps_trailing_30d", minutes_ago=180, value=8.4, formatted_value="8.4")
    cache_row("fulfillment_backlog_minutes", value=None, formatted_value="", sample_size=0)
    return experience


def card(content: str, key: str) -> str:
    start = content.index(f'data-key="{key}"')
    return content[start : content.index("</li>", start)]


def test_fresh_figure_shows_a_verified_badge_with_its_time(client, experience):
    response = client.get(reverse("trust:storefront", args=["checkout"]))

    assert response.status_code == 200
    point = card(response.content.decode(), "work-lands-on-schedule")
    assert '<p class="trust-figure">97%</p>' in point
    assert "Verified · updated" in point
    assert "12\xa0minutes ago" in point
    assert '<time datetime="' in point
    assert "Measured over every scheduled task." in point


def test_stale_figure_is_still_shown_with_its_true_age(client, experience):
    content = client.get(reverse("trust:storefront", args=["checkout"])).content.decode()

    score = card(content, "score")
    assert '<p class="trust-figure">8.4</p>' in score
    assert "3\xa0hours ago" in score


@pytest.mark.parametrize(("key", "fallback"), [("queue", "Under 1h"), ("customers", "1,200+")])
def test_card_without_a_figure_shows_the_fallback_and_no_badge(client, experience, key, fallback):
    content = client.get(reverse("trust:storefront", args=["checkout"])).content.decode()

    snapshot = card(content, key)
    assert f'<p class="trust-figure">{fallback}</p>' in snapshot
    assert "Verified" not in snapshot


def test_delivery_timeline_falls_back_to_the_operator_figures(client, experience):
    content = client.get(reverse("trust:storefront", args=["checkout"])).content.decode()

    assert "About 2 h" in content
    assert "between 1 h and 4 h" in content
    assert "Typical times" in content


def test_storefront_shows_no_operator_details(client, experience):
    content = client.get(reverse("trust:storefront", args=["checkout"])).content.decode()

    modules = content[content.index('<section class="trust-modules"') :]
    for operator_only in ("Cache layer", "persistent", "Sample size", "preview", "fulfillment_"):
        assert operator_only not in modules


def test_storefront_is_public_but_never_cached_as_is(client, experience):
    response = client.get(reverse("trust:storefront", args=["checkout"]))

    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-cache", "max-age=0"} <= cache_control
    assert "<script" not in response.content.decode()


def test_storefront_answers_404_outside_this_environment(client, experience):
    factories.TrustExperienceFactory(slug="elsewhere", environment="production")

    assert client.get(reverse("trust:storefront", args=["elsewhere"])).status_code == 404
    assert client.get(reverse("trust:storefront", args=["missing"])).status_code == 404


def test_storefront_shows_fallbacks_when_metrics_are_unavailable(client, experience, monkeypatch):
    def unavailable(*args: object, **kwargs: object) -> None:
        raise MetricUnavailableError("nps_trailing_30d", "the database is unreachable")

    monkeypatch.setattr("trust.selectors.resolve_metrics", unavailable)

    response = client.get(reverse("trust:storefront", args=["checkout"]))

    assert response.status_code == 200
    content = response.content.decode()
    assert '<p class="trust-figure">9.1</p>' in card(content, "score")
    assert "Verified" not in content


def test_fragment_renders_from_the_enriched_experience_alone(experience):
    enriched = enrich_experience(experience_with_sections("checkout"))

    html = render_to_string(
        "trust/includes/trust_modules.html", {"experience": enriched, "now": timezone.now()}
    )

    assert 'data-experience="checkout"' in html
    assert "Delivered on schedule" in html
    assert "Email us" in html
